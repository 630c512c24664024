"""Counting catalogue craters in areas: the rule, the area on the sphere, the .scc file,
and the atlas's catalogue-dated units."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import shapely

from lunatlas.chronology.catalog import (
    area_km2,
    count_in_area,
    get_catalogue,
    largest_on,
    scc_text,
)
from lunatlas.chronology.counts import read_scc
from lunatlas.crs import MOON_RADIUS_M
from lunatlas.errors import InputError

HEAD = get_catalogue("head2010-craters")
LU = get_catalogue("lu1319381-south")


def test_area_on_the_sphere_matches_the_band_formula():
    """A 10° × 10° lon/lat box at the equator: 2πR²·(sin 5° − sin −5°)·10/360."""
    box = shapely.box(0, -5, 10, 5)
    exact = 2 * np.pi * (MOON_RADIUS_M / 1e3) ** 2 * 2 * np.sin(np.radians(5)) * 10 / 360
    assert area_km2(box) == pytest.approx(exact, rel=1e-4)


def test_centres_inside_in_range_and_not_wider_than_the_area(tmp_path):
    box = shapely.box(0, 0, 5, 5)  # ≈ 23 000 km²: equivalent circle ≈ 171 km
    craters = pd.DataFrame({"lon": [1, 2, 3, 4, 6, 2.5, 1.5], "lat": [1, 2, 3, 4, 1, 2.5, 3],
                            "diameter_km": [25, 30, 19, 40, 50, 200, 21]})
    count = count_in_area(box, craters, HEAD, "box")
    # in: 25, 30, 40, 21; out: 19 (< 20 km), the one at lon 6 (outside), 200 km (> 171 km)
    assert sorted(count.diameters_km) == [21, 25, 30, 40]
    assert largest_on(count.area_km2) == pytest.approx(171, abs=2)
    path = tmp_path / "box.scc"
    path.write_text(scc_text(count, box))
    again = read_scc(path)
    assert again.area_km2 == pytest.approx(count.area_km2, rel=1e-6)
    np.testing.assert_allclose(again.diameters_km, count.diameters_km)
    assert again.perimeter_km == pytest.approx(count.perimeter_km, rel=1e-6)


def test_area_is_cut_to_the_catalogue_coverage():
    straddling = shapely.box(0, -65, 10, -55)  # half north of LU1319381's 60°S limit
    craters = pd.DataFrame({"lon": [5, 5], "lat": [-62, -57], "diameter_km": [2, 2]})
    count = count_in_area(straddling, craters, LU, "straddling")
    assert list(count.diameters_km) == [2]
    assert count.area_km2 == pytest.approx(area_km2(shapely.box(0, -65, 10, -60)), rel=1e-6)
    with pytest.raises(InputError, match="outside LU1319381"):
        count_in_area(shapely.box(0, 0, 1, 1), craters, LU, "equator")


@pytest.mark.shared_data
@pytest.mark.parametrize("args", [
    ["--unit", "Em", "--catalog", "head2010-craters"],
    ["--unit", "Nc", "--region", "south-pole", "--catalog", "lu1319381-south"],
])
def test_cli_count_dates_a_unit_from_a_catalogue(shared_data, built_atlas, tmp_path, args):
    from click.testing import CliRunner

    from lunatlas.chronology.counts import read_count
    from lunatlas.cli.main import cli

    out = tmp_path / "count.scc"
    result = CliRunner().invoke(cli, ["--data-dir", str(shared_data), "chronology", "count",
                                      *args, "--atlas", str(built_atlas), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "model age" in result.output and "Ga" in result.output
    count = read_count(out)
    assert count.diameters_km.size >= 10 and count.area_km2 > 1000


@pytest.mark.shared_data
def test_atlas_units_get_catalogue_ages_with_an_epoch_check(shared_data, built_atlas):
    from lunatlas.atlas import Atlas
    from lunatlas.samples.enrich import fitted_system
    from lunatlas.workflows.build import catalogue_dated

    store = Atlas(built_atlas)
    units = store.layer("units")
    polar = units[units.geometry.bounds["maxy"] < -80]
    dated, used = catalogue_dated(polar, shared_data, fitted_system(store.layer("chronologies")))
    assert "lu1319381-south" in used
    ages = dated.dropna(subset=["catalogue_age_ga"])
    assert len(ages) > 10 and (ages["catalogue_craters"] >= 10).all()
    assert (ages["catalogue_age_minus_ga"] > 0).all()
    few = dated[dated["catalogue_note"].fillna("").str.startswith("too few")]
    assert few["catalogue_age_ga"].isna().all()
    flagged = ages["catalogue_note"].str.contains("outside the mapped")
    young_edge = ages["catalogue_age_ga"] + ages["catalogue_age_plus_ga"]
    old_edge = ages["catalogue_age_ga"] - ages["catalogue_age_minus_ga"]
    consistent = (young_edge >= ages["epoch_young_ga"]) & (old_edge <= ages["epoch_old_ga"])
    assert (flagged == ~consistent).all()


@pytest.mark.shared_data
def test_counts_fit_like_craterstats(shared_data, built_atlas, tmp_path):
    """The .scc a catalogue count writes, fitted by craterstats 3.6.11 (its own Python ≥ 3.12
    environment; `LUNATLAS_CRATERSTATS` names the executable, .ci/run installs it) and by
    lunatlas: same craters, area, age within 0.015 Ga and N(1) within 2 %."""
    import importlib.util
    import os
    from pathlib import Path

    from click.testing import CliRunner

    from lunatlas.chronology import fit_age, get_system, read_count
    from lunatlas.cli.main import cli

    executable = os.environ.get("LUNATLAS_CRATERSTATS")
    if not executable or not Path(executable).exists():
        pytest.skip("craterstats not installed: set LUNATLAS_CRATERSTATS (see .ci/run)")
    script = Path(__file__).resolve().parents[1] / "scripts" / "check_counts_with_craterstats.py"
    spec = importlib.util.spec_from_file_location("check_counts", script)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    system = get_system("neukum2001")
    for args, d_range in ((["--unit", "Nc", "--region", "south-pole", "--catalog",
                            "lu1319381-south"], (1.0, 45.0)),
                          (["--unit", "Em", "--catalog", "lroc-5-20km-craters"], (5.0, 20.0))):
        out = tmp_path / f"{args[1]}.scc"
        result = CliRunner().invoke(cli, ["--data-dir", str(shared_data), "chronology",
                                          "count", *args, "--atlas", str(built_atlas),
                                          "--out", str(out)])
        assert result.exit_code == 0, result.output
        theirs = module.craterstats_fit(executable, out, system.name, d_range)
        ours = fit_age(read_count(out), system, d_range, "poisson")
        assert theirs["n"] == ours.n_craters
        assert theirs["age"] == pytest.approx(ours.age_ga, abs=0.015)
        assert theirs["n1"] == pytest.approx(ours.n1_per_km2, rel=0.02)
