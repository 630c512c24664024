"""Sample registry, validated ingest of analyses, calibration and the enrichment loop."""

import json
import shutil

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from lunatlas.atlas import Atlas
from lunatlas.chronology.calibration import CURVE_AGES_GA, CalibrationPoint, fit_chronology
from lunatlas.chronology.functions import SYSTEMS, ChronologyFunction
from lunatlas.cli.main import cli
from lunatlas.data.fetch import sha256_of
from lunatlas.errors import InputError
from lunatlas.samples import missions, read_analyses, unit_ages
from lunatlas.samples.enrich import literature_calibration_points
from lunatlas.samples.registry import calibration_table

HEADER = "institution,sample_id,mission,method,age_ga,age_sigma_ga,lat\n"


def test_registry_covers_every_sample_return_mission():
    expected = {"Apollo 11", "Apollo 12", "Apollo 14", "Apollo 15", "Apollo 16", "Apollo 17",
                "Luna 16", "Luna 20", "Luna 24", "Chang'e 5", "Chang'e 6"}
    assert set(missions()["mission"]) == expected
    ages = unit_ages()
    assert ages["doi"].str.startswith("10.").all() and ages["reference"].str.len().gt(10).all()
    ce5 = ages[ages["mission"] == "Chang'e 5"].iloc[0]
    assert ce5["age_ga"] == pytest.approx(2.03, abs=0.01)
    ce6 = ages[ages["mission"] == "Chang'e 6"].set_index("unit")["age_ga"]
    assert ce6["Apollo basin mare (South Pole–Aitken)"].between(2.79, 2.85).all()
    # The older, non-mare material from the South Pole–Aitken basin (≈ 4.2 Ga).
    assert ce6["South Pole–Aitken basin impact melt sheet"] == pytest.approx(4.25, abs=0.05)


def test_landing_sites_agree_with_the_gazetteer(shared_data):
    lutz = pd.read_csv(shared_data / "gazetteer" / "landing_sites_lutz.csv").set_index("name")
    for m in missions().itertuples():
        if m.mission in lutz.index:
            assert abs(lutz.loc[m.mission, "NS"] - m.landing_lat) < 0.3, m.mission
            assert abs(lutz.loc[m.mission, "EW"] - m.landing_lon) < 0.3, m.mission


@pytest.mark.parametrize("row, message", [
    ("Lab,S1,Apollo 11,Ar-Ar,5.1,0.1,", "row 2, field 'age_ga'"),
    ("Lab,S1,Apollo 11,Ar-Ar,0,0.1,", "row 2, field 'age_ga'"),
    ("Lab,S1,Apollo 11,Ar-Ar,3.5,0.1,95", "row 2, field 'lat'"),
    ("Lab,S1,Apollo 99,Ar-Ar,3.5,0.1,", "mission 'Apollo 99' is not in the registry"),
    ("Lab,S1,Apollo 11,Ar-Ar,3.5,,", "age_ga and age_sigma_ga go together"),
    (",S1,Apollo 11,Ar-Ar,3.5,0.1,", "field 'institution'"),
    ("Lab,S1,Apollo 11,Ar-Ar,3.5,0.1,\nLab,S1,Apollo 11,Ar-Ar,3.6,0.1,", "row 3, field "
     "'sample_id': duplicate 'S1'"),
])
def test_bad_analyses_are_rejected_with_row_and_field(tmp_path, row, message):
    path = tmp_path / "new.csv"
    path.write_text(HEADER + row + "\n")
    with pytest.raises(InputError, match=message) as info:
        read_analyses(path)
    assert "new.csv" in str(info.value) and "nothing written" in str(info.value)


def test_unknown_field_and_json_input(tmp_path):
    path = tmp_path / "new.json"
    path.write_text(json.dumps([{"institution": "Lab", "sample_id": "X", "mission": "Luna 24",
                                 "method": "XRF", "feo_wt_pct": 20.1, "colour": "grey"}]))
    with pytest.raises(InputError, match="row 1, field 'colour'"):
        read_analyses(path)
    path.write_text(json.dumps([{"institution": "Lab", "sample_id": "X", "mission": "Luna 24",
                                 "method": "XRF", "feo_wt_pct": 20.1}]))
    (analysis,) = read_analyses(path)
    assert analysis.feo_wt_pct == 20.1 and analysis.age_ga is None


def test_full_refit_recovers_a_known_chronology():
    """Points drawn from Neukum (1983) with 3 % scatter: the refit follows it over 1–4 Ga."""
    rng = np.random.default_rng(11)
    truth = SYSTEMS["neukum1983"].cf
    ages = np.array([0.025, 0.05, 0.11, 0.8, 2.03, 3.15, 3.22, 3.3, 3.41, 3.58, 3.75, 3.85,
                     3.92])
    points = [CalibrationPoint(f"p{i}", float(truth.n1(t) * np.exp(rng.normal(0, 0.03))),
                               float(truth.n1(t) * 0.03), float(t), 0.01)
              for i, t in enumerate(ages)]
    fit = fit_chronology(points, "refit", SYSTEMS["yue2022"].cf, free_b=True)
    assert fit.mode == "full"
    ratio = fit.cf.n1(CURVE_AGES_GA) / truth.n1(CURVE_AGES_GA)
    assert np.max(np.abs(ratio - 1)) < 0.06
    assert set(fit.leave_one_out) == {p.name for p in points}
    assert all(v >= 0 for v in fit.leave_one_out.values())
    assert np.all(fit.sigmas > 0)


def test_scale_fit_passes_through_a_single_point():
    base = SYSTEMS["yue2022"].cf
    point = CalibrationPoint("site", float(base.n1(2.5) * 1.1), 1e-5, 2.5, 0.001)
    fit = fit_chronology([point], "one", base)
    assert fit.mode == "scale" and fit.scale == pytest.approx(1.1, rel=1e-3)
    assert fit.cf.age(point.n1) == pytest.approx(2.5, abs=0.005)


def test_samples_add_refits_and_redates_units(built_atlas, tmp_path):
    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    before = Atlas(atlas)
    units_before = before.layer("count_areas")
    assert len(units_before) == 8 and "count:CE-6_8km_vicinity" in units_before.index
    ce6_age_before = units_before.loc["count:CE-6_8km_vicinity", "model_age_ga"]
    # The atlas chronology is a fit to every point with N(1) ± σ and age ± σ: the classic
    # set (second-hand densities), Chang'e 5 (published density) and the CE-6 count (its N(1)
    # from the count, its age from the samples). The CE-6 unit's model age is what that
    # curve gives the count's density.
    chronology = before.layer("chronologies").iloc[0]
    assert chronology["mode"] == "fixed-b" and "second-hand" in chronology["choice"]
    points = {p.name: p for p in _atlas_points(before)}
    assert {"Chang'e 5", "Chang'e 6", "Apollo 12", "Luna 24"} <= set(points)
    cf = ChronologyFunction("atlas", "atlas", "", chronology["a"], chronology["b"],
                            chronology["c"])
    assert ce6_age_before == pytest.approx(float(cf.age(points["Chang'e 6"].n1)), abs=0.02)
    analyses = tmp_path / "ce6.csv"
    analyses.write_text(HEADER + "Test Lab,CE6-T1,Chang'e 6,Pb-Pb,2.60,0.002,\n")
    result = CliRunner().invoke(cli, ["samples", "add", str(analyses), "--atlas", str(atlas)])
    assert result.exit_code == 0, result.output
    assert "edition 2" in result.output and "unit(s) re-dated" in result.output
    store = Atlas(atlas)
    after = store.layer("count_areas")
    assert after.loc["count:CE-6_8km_vicinity", "model_age_ga"] < ce6_age_before - 0.005
    assert store.layer("count_areas", 1).loc["count:CE-6_8km_vicinity", "model_age_ga"] == \
        ce6_age_before
    result = CliRunner().invoke(cli, ["atlas", "diff", "1", "2", "--atlas", str(atlas)])
    assert "~ count:CE-6_8km_vicinity: model_age_ga: " in result.output
    assert "+ analysis:Test_Lab:CE6-T1" in result.output
    # the geologic unit under the count gains the new sample age and its conflict note
    ce6_unit = after.loc["count:CE-6_8km_vicinity", "unit_id"]
    assert f"~ {ce6_unit}: " in result.output and "sample_age_ga" in result.output
    assert "2.6 ± 0.002 Ga outside the mapped Imbrian" in store.layer("units").loc[
        ce6_unit, "age_conflict"]
    # Adding the same analysis again is rejected and writes nothing.
    digest = sha256_of(atlas)
    result = CliRunner().invoke(cli, ["samples", "add", str(analyses), "--atlas", str(atlas)])
    assert result.exit_code == 1 and "duplicate 'CE6-T1'" in result.output
    assert sha256_of(atlas) == digest


def _atlas_points(store: Atlas) -> list[CalibrationPoint]:
    frame = store.layer("calibration")
    return [CalibrationPoint(r.site, r.n1_per_km2, r.n1_sigma_per_km2, r.age_ga,
                             r.age_sigma_ga) for r in frame.itertuples()]


def test_calibrate_cli_with_points_file(tmp_path):
    truth = SYSTEMS["neukum2001"].cf
    ages = [0.05, 0.8, 2.0, 3.2, 3.5, 3.8]
    frame = pd.DataFrame({"site": [f"s{i}" for i in range(6)],
                          "n1_per_km2": [float(truth.n1(t)) for t in ages],
                          "n1_sigma_per_km2": [float(truth.n1(t)) * 0.05 for t in ages],
                          "age_ga": ages, "age_sigma_ga": [0.01] * 6})
    points = tmp_path / "points.csv"
    frame.to_csv(points, index=False)
    out, plot = tmp_path / "cf.json", tmp_path / "calibration.svg"
    result = CliRunner().invoke(cli, ["chronology", "calibrate", "--points", str(points),
                                      "--free-b", "--out", str(out), "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    svg = plot.read_text()
    assert "<svg" in svg and "Lunar chronology calibration" in svg and "s5" in svg
    assert "full fit, 6 points" in result.output and "leave one out" in result.output
    assert "s3" in result.output
    fitted = json.loads(out.read_text())
    assert fitted["c"] == pytest.approx(truth.c, rel=0.05)


# --- The bundled calibration table -------------------------------------------------------

def test_calibration_table_rows_are_referenced():
    table = calibration_table()
    assert table["site"].is_unique and len(table) >= 17
    assert table["age_doi"].str.startswith("10.").all()
    assert table["age_reference"].str.len().gt(20).all()
    assert set(table["mission"]) <= set(missions()["mission"])
    with_n1 = table["n1_per_km2"].notna()
    # A row gives a published N(1) with its σ and reference, or says where N(1) comes from,
    # or says that it is missing.
    assert (table.loc[with_n1, "n1_sigma_per_km2"] > 0).all()
    assert table.loc[with_n1, "n1_reference"].str.len().gt(20).all()
    assert table.loc[~with_n1 & (table["n1_source"] == ""), "status"].str.startswith(
        "age only").all()
    names = {p.name for p in literature_calibration_points()}
    assert names == set(table.loc[with_n1 & table["age_sigma_ga"].notna(), "site"])


def test_count_sourced_calibration_rows_name_a_count_in_the_atlas(built_atlas):
    table = calibration_table()
    counted = table[table["n1_source"].str.startswith("count:")]
    assert not counted.empty
    counts = Atlas(built_atlas).layer("counts")
    assert set(counted["n1_source"]) <= set(counts.index)
    sites = set(Atlas(built_atlas).layer("calibration")["site"])
    assert set(counted["mission"]) <= sites and {p.name for p in
                                                 literature_calibration_points()} <= sites


def test_yue2022_reproduces_its_published_difference_from_neukum():
    """Yue et al. (2022, abstract): older ages than the Neukum model for most of lunar
    history, by at most 0.24 Gyr, at 2.55 Gyr. Our Yue 2022 and Neukum 1983 coefficients
    (craterstats' functions.txt) must reproduce that."""
    neukum, yue = SYSTEMS["neukum1983"].cf, SYSTEMS["yue2022"].cf
    ages = np.linspace(0.1, 4.0, 391)
    older_by = np.array([yue.age(float(neukum.n1(t))) - t for t in ages])
    assert np.mean(older_by > 0) > 0.5
    worst = int(np.argmax(older_by))
    assert older_by[worst] == pytest.approx(0.24, abs=0.025)
    assert ages[worst] == pytest.approx(2.55, abs=0.15)


def test_published_chang_e_5_density_cannot_tell_neukum_from_yue():
    """The CE-5 crater density of the table, (1.696 ± 0.221)×10⁻³ km⁻² at 2.030 Ga, lies
    within 1σ of both Neukum (1983) and Yue et al. (2022): a scale fit to it alone moves
    either curve by less than its own uncertainty. (Yue et al. moved Neukum by up to
    0.24 Gyr with CE-5 and the classic points; this density alone does not.)"""
    (ce5,) = [p for p in literature_calibration_points() if p.name == "Chang'e 5"]
    for key in ("neukum1983", "yue2022"):
        fit = fit_chronology([ce5], key, SYSTEMS[key].cf)
        assert abs(fit.scale - 1) < fit.sigmas[0], key
    assert SYSTEMS["neukum1983"].cf.n1(ce5.age_ga) == pytest.approx(ce5.n1, rel=0.01)


def test_points_cli_round_trips_into_calibrate(tmp_path):
    runner = CliRunner()
    table = tmp_path / "table.csv"
    result = runner.invoke(cli, ["chronology", "points", "--csv"])
    assert result.exit_code == 0
    table.write_text(result.output)
    result = runner.invoke(cli, ["chronology", "calibrate", "--points", str(table),
                                 "--base", "neukum1983"])
    assert result.exit_code == 0, result.output
    incomplete = len(calibration_table()) - len(literature_calibration_points())
    assert f"skipped {incomplete} site(s)" in result.output and "Apollo 12" in result.output
    assert f"fixed-b fit, {len(calibration_table()) - incomplete} points" in result.output
    frame = pd.read_csv(table, dtype=str)
    frame.loc[frame["site"] == "Apollo 12", "n1_sigma_per_km2"] = "abc"
    frame.to_csv(table, index=False)
    result = runner.invoke(cli, ["chronology", "calibrate", "--points", str(table)])
    assert result.exit_code == 1
    assert "table.csv: line 4, field 'n1_sigma_per_km2': expected a number" in result.output
    result = runner.invoke(cli, ["chronology", "points", "--json"])
    rows = json.loads(result.output)
    assert {r["site"] for r in rows} == set(calibration_table()["site"])


def test_a_chang_e_5_analysis_moves_the_literature_point_and_redates(built_atlas, tmp_path):
    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    before = Atlas(atlas)
    ce5_before = before.layer("calibration").set_index("site").loc["Chang'e 5"]
    analyses = tmp_path / "ce5.csv"
    analyses.write_text(HEADER + "Test Lab,CE5-T1,Chang'e 5,Pb-Pb,1.90,0.004,\n")
    result = CliRunner().invoke(cli, ["samples", "add", str(analyses), "--atlas", str(atlas)])
    assert result.exit_code == 0, result.output
    after = Atlas(atlas)
    ce5_after = after.layer("calibration").set_index("site").loc["Chang'e 5"]
    # Two equal-σ ages, 2.030 and 1.90 Ga: the point's age is their mean; N(1) stays.
    assert ce5_after["age_ga"] == pytest.approx((2.030 + 1.90) / 2, abs=1e-3)
    assert ce5_after["n1_per_km2"] == ce5_before["n1_per_km2"]
    # A younger age for the same density: a higher rate, so every counted unit gets younger.
    old = after.layer("count_areas", 1)["model_age_ga"]
    new = after.layer("count_areas")["model_age_ga"]
    assert (new < old).all()
    result = CliRunner().invoke(cli, ["atlas", "diff", "1", "2", "--atlas", str(atlas)])
    assert "~ site:Chang'e_5: age_ga: 2.03 → 1.965" in result.output, result.output


def test_an_age_of_another_unit_does_not_move_the_calibration_site(built_atlas, tmp_path):
    """A Chang'e 6 age of the SPA melt sheet dates that unit, not the mare of the CE-6
    count: the calibration and the unit ages stay; the sample is added all the same."""
    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    analyses = tmp_path / "spa.csv"
    analyses.write_text("institution,sample_id,mission,method,age_ga,age_sigma_ga,unit\n"
                        "Test Lab,SPA-1,Chang'e 6,Pb-Pb,4.247,0.005,"
                        "South Pole–Aitken basin impact melt sheet\n")
    result = CliRunner().invoke(cli, ["samples", "add", str(analyses), "--atlas", str(atlas)])
    assert result.exit_code == 0, result.output
    store = Atlas(atlas)
    assert "analysis:Test_Lab:SPA-1" in store.layer("samples").index
    pd.testing.assert_frame_equal(store.layer("calibration", 1).drop(columns="edition_added"),
                                  store.layer("calibration").drop(columns="edition_added"))
    assert (store.layer("count_areas", 1)["model_age_ga"]
            == store.layer("count_areas")["model_age_ga"]).all()


def test_discordant_age_is_flagged_or_refused_with_strict(built_atlas, tmp_path):
    """A Chang'e 5 age of 2.10 ± 0.02 Ga is 3.4σ from the accepted 2.030 ± 0.004 Ga: added
    with a discordance flag (samples list, the diff, the edition's reason), refused with
    --strict; a concordant age is added without one."""
    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    bad = tmp_path / "ce5_bad.csv"
    bad.write_text(HEADER + "Lab B,CE5-X1,Chang'e 5,Pb-Pb,2.10,0.02,\n")
    digest = sha256_of(atlas)
    runner = CliRunner()
    refused = runner.invoke(cli, ["samples", "add", str(bad), "--atlas", str(atlas), "--strict"])
    assert refused.exit_code == 1 and "CE5-X1: 2.1 ± 0.02 Ga is 3.4σ" in refused.output
    assert sha256_of(atlas) == digest
    added = runner.invoke(cli, ["samples", "add", str(bad), "--atlas", str(atlas)])
    assert added.exit_code == 0, added.output
    assert "warning: discordant age, added with a flag" in added.output
    store = Atlas(atlas)
    record = store.layer("samples").loc["analysis:Lab_B:CE5-X1"]
    assert "3.4σ from the accepted 2.030 ± 0.004 Ga" in record["discordance"]
    assert "1 discordant, flagged: CE5-X1" in store.editions()[-1].reason
    diff = runner.invoke(cli, ["atlas", "diff", "1", "2", "--atlas", str(atlas)])
    assert "discordance" in diff.output or "3.4σ" in diff.output
    listing = runner.invoke(cli, ["samples", "list", "--atlas", str(atlas), "--json"])
    rows = {r["record_id"]: r for r in json.loads(listing.output)}
    assert "3.4σ" in rows["analysis:Lab_B:CE5-X1"]["discordance"]
    good = tmp_path / "ce5_good.csv"
    good.write_text(HEADER + "Lab C,CE5-Y1,Chang'e 5,Pb-Pb,2.033,0.005,\n")
    concordant = runner.invoke(cli, ["samples", "add", str(good), "--atlas", str(atlas)])
    assert concordant.exit_code == 0 and "warning: discordant" not in concordant.output
    assert Atlas(atlas).layer("samples").loc["analysis:Lab_C:CE5-Y1", "discordance"] == ""


def test_samples_list_prints_an_age_without_sigma_alone():
    result = CliRunner().invoke(cli, ["samples", "list", "--atlas", "/nonexistent/a.gpkg"],
                                env={"COLUMNS": "250"})
    assert result.exit_code == 0 and "nan" not in result.output
    assert "4.250 " in result.output  # the SPA norites: no σ in the source


def test_parallel_samples_add_derive_every_edition_from_its_own_inputs(built_atlas, tmp_path):
    """Six `samples add` processes at once: every sample lands, and the final edition's
    chronology and unit ages equal a refit of the samples stored in it (the refit runs under
    the write lock, from the edition it extends)."""
    import subprocess
    import sys

    from lunatlas.samples.enrich import date_atlas

    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    ages = [2.55, 2.62, 2.70, 2.74, 2.78, 2.85]
    files = []
    for i, age in enumerate(ages):
        path = tmp_path / f"a{i}.csv"
        path.write_text(HEADER + f"Lab {i},CE6-P{i},Chang'e 6,Pb-Pb,{age},0.01,\n")
        files.append(path)
    procs = [subprocess.Popen([sys.executable, "-m", "lunatlas.cli.main", "samples", "add",
                               str(f), "--atlas", str(atlas)], stdout=subprocess.PIPE,
                              stderr=subprocess.STDOUT, text=True) for f in files]
    outputs = [p.communicate(timeout=300)[0] for p in procs]
    assert all(p.returncode == 0 for p in procs), outputs
    store = Atlas(atlas)
    assert store.latest == 1 + len(files)
    samples = store.layer("samples").reset_index()
    assert {f"CE6-P{i}" for i in range(len(files))} <= set(samples["sample_id"])
    areas = store.layer("count_areas")
    outlines = areas.reset_index()[["record_id", "unit_code", "name", "geometry"]]
    refit = date_atlas(samples, outlines, store.layer("counts").reset_index())
    stored = store.layer("chronologies").iloc[0]
    assert stored["a"] == pytest.approx(refit.calibration.cf.a, rel=1e-5)
    assert stored["c"] == pytest.approx(refit.calibration.cf.c, rel=1e-5)
    fresh = refit.count_areas.set_index("record_id")["model_age_ga"]
    for rid, age in areas["model_age_ga"].items():
        assert age == pytest.approx(fresh[rid], abs=1e-4), rid


@pytest.mark.parametrize("row, message", [
    ({"sample_id": "CE5\x00X"}, "control character"),
    ({"age_ga": True, "age_sigma_ga": 0.01}, "expected a number, got true"),
    ({"institution": "Lab\nX"}, "control character"),
])
def test_no_silent_coercion_of_analyses(tmp_path, row, message):
    base = {"institution": "Lab", "sample_id": "S1", "mission": "Chang'e 5", "method": "Pb-Pb",
            "age_ga": 2.03, "age_sigma_ga": 0.01}
    path = tmp_path / "a.json"
    path.write_text(json.dumps([{**base, **row}]))
    with pytest.raises(InputError, match=message):
        read_analyses(path)


def test_min_crater_km_nan_is_refused(tmp_path):
    result = CliRunner().invoke(cli, ["atlas", "build", "--atlas", str(tmp_path / "a.gpkg"),
                                      "--min-crater-km", "nan"])
    assert result.exit_code != 0 and not (tmp_path / "a.gpkg").exists()
    assert "Traceback" not in result.output


def test_a_rebuild_keeps_added_analyses_in_the_dating(built_atlas, tmp_path):
    """`atlas build` after `samples add` keeps the analysis and dates with it: the CE-6
    count's age and the chronology are what they were after the add."""
    from lunatlas.workflows import build_atlas

    atlas = tmp_path / "atlas.gpkg"
    shutil.copyfile(built_atlas, atlas)
    analyses = tmp_path / "ce6.csv"
    analyses.write_text(HEADER + "Lab R,CE6-R1,Chang'e 6,Pb-Pb,2.60,0.002,\n")
    assert CliRunner().invoke(cli, ["samples", "add", str(analyses), "--atlas",
                                    str(atlas)]).exit_code == 0
    after_add = Atlas(atlas)
    age = after_add.layer("count_areas").loc["count:CE-6_8km_vicinity", "model_age_ga"]
    a = after_add.layer("chronologies").iloc[0]["a"]
    build_atlas(atlas)
    rebuilt = Atlas(atlas)
    assert "analysis:Lab_R:CE6-R1" in rebuilt.layer("samples").index
    assert rebuilt.layer("count_areas").loc["count:CE-6_8km_vicinity", "model_age_ga"] == \
        pytest.approx(age, abs=1e-4)
    assert rebuilt.layer("chronologies").iloc[0]["a"] == pytest.approx(a, rel=1e-6)
