"""Chronology: our fits against craterstats' published results on its own sample files.

Expected values were produced once with craterstats 3.6 (Python 3.12, separate venv, not a
dependency of Lunatlas), one run per row, with the command

    craterstats -cs <CS> -o out -f csv -p source=<shared/data/crater_counts/FILE> \
        -p type=<METHOD>,range=[<D_MIN>,<D_MAX>]

(the files are also the registry's ``craterstats-sample-counts`` dataset, which the tests
use), reading the Age, Age-, Age+ (median and 16/84 % points, Ga) and N(1) columns (3 significant
figures, as craterstats writes them). Tolerances: 0.02 Ga in age, 2 % in N(1).
"""

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lunatlas.chronology.counts import (
    CraterCount,
    bin_count,
    presentation,
    read_count,
    read_diam,
    read_stat,
)
from lunatlas.chronology.fitting import fit_age, poisson_fit
from lunatlas.chronology.functions import SYSTEMS, get_system
from lunatlas.errors import InputError

# file, (D_min, D_max) km, our chronology, craterstats -cs, method, age, age-, age+, N(1)
CRATERSTATS = [
    ("CE-6_8km_vicinity.scc", (.1,.5), "neukum1983", "moonneukum1983", "poisson", 1.68, 1.57, 1.79, 1.41e-03),
    ("CE-6_8km_vicinity.scc", (.2,.8), "neukum1983", "moonneukum1983", "poisson", 2.59, 2.2, 2.97, 2.17e-03),
    ("c1.scc", (.02,.12), "neukum1983", "moonneukum1983", "poisson", 0.0165, 0.0148, 0.0183, 1.38e-05),
    ("c2.scc", (.02,.2), "neukum1983", "moonneukum1983", "poisson", 0.00324, 0.00285, 0.00366, 2.71e-06),
    ("c5.scc", (.02,.3), "neukum1983", "moonneukum1983", "poisson", 0.0189, 0.0161, 0.022, 1.58e-05),
    ("Im2.scc", (1.4,7), "neukum1983", "moonneukum1983", "poisson", 2.88, 2.28, 3.25, 2.44e-03),
    ("CE-6_8km_vicinity.scc", (.1,.5), "neukum1983", "moonneukum1983", "c-fit", 1.84, 1.73, 1.96, 1.55e-03),
    ("CE-6_8km_vicinity.scc", (.2,.8), "neukum1983", "moonneukum1983", "c-fit", 2.49, 2.09, 2.86, 2.09e-03),
    ("c1.scc", (.02,.12), "neukum1983", "moonneukum1983", "c-fit", 0.0158, 0.0141, 0.0174, 1.32e-05),
    ("c2.scc", (.02,.2), "neukum1983", "moonneukum1983", "c-fit", 0.00484, 0.00425, 0.00543, 4.06e-06),
    ("c5.scc", (.02,.3), "neukum1983", "moonneukum1983", "c-fit", 0.0321, 0.0272, 0.037, 2.69e-05),
    ("Im2.scc", (1.4,7), "neukum1983", "moonneukum1983", "c-fit", 3.33, 3.01, 3.44, 3.36e-03),
    ("CE-6_8km_vicinity.scc", (.1,.5), "neukum1983", "moonneukum1983", "d-fit", 1.6, 1.38, 1.82, 1.34e-03),
    ("CE-6_8km_vicinity.scc", (.2,.8), "neukum1983", "moonneukum1983", "d-fit", 2.73, 2.08, 3.18, 2.30e-03),
    ("c1.scc", (.02,.12), "neukum1983", "moonneukum1983", "d-fit", 0.0173, 0.0146, 0.02, 1.45e-05),
    ("c2.scc", (.02,.2), "neukum1983", "moonneukum1983", "d-fit", 0.00422, 0.00326, 0.00519, 3.54e-06),
    ("c5.scc", (.02,.3), "neukum1983", "moonneukum1983", "d-fit", 0.0244, 0.0167, 0.0322, 2.05e-05),
    ("Im2.scc", (1.4,7), "neukum1983", "moonneukum1983", "d-fit", 2.37, 0.0426, 3.42, 1.99e-03),
    ("CE-6_8km_vicinity.scc", (.1,.5), "neukum2001", "moonneukumetal2001", "poisson", 1.64, 1.54, 1.74, 1.37e-03),
    ("CE-6_8km_vicinity.scc", (.2,.8), "neukum2001", "moonneukumetal2001", "poisson", 2.48, 2.1, 2.87, 2.08e-03),
    ("c1.scc", (.02,.12), "neukum2001", "moonneukumetal2001", "poisson", 0.0161, 0.0144, 0.0179, 1.35e-05),
    ("c2.scc", (.02,.2), "neukum2001", "moonneukumetal2001", "poisson", 0.00316, 0.00279, 0.00357, 2.65e-06),
    ("c5.scc", (.02,.3), "neukum2001", "moonneukumetal2001", "poisson", 0.0184, 0.0157, 0.0215, 1.55e-05),
    ("Im2.scc", (1.4,7), "neukum2001", "moonneukumetal2001", "poisson", 2.81, 2.22, 3.22, 2.37e-03),
    ("CE-6_8km_vicinity.scc", (.1,.5), "neukum2001", "moonneukumetal2001", "c-fit", 1.79, 1.68, 1.9, 1.50e-03),
    ("CE-6_8km_vicinity.scc", (.2,.8), "neukum2001", "moonneukumetal2001", "c-fit", 2.39, 2.01, 2.76, 2.00e-03),
    ("c1.scc", (.02,.12), "neukum2001", "moonneukumetal2001", "c-fit", 0.0154, 0.0138, 0.017, 1.29e-05),
    ("c2.scc", (.02,.2), "neukum2001", "moonneukumetal2001", "c-fit", 0.00473, 0.00415, 0.0053, 3.96e-06),
    ("c5.scc", (.02,.3), "neukum2001", "moonneukumetal2001", "c-fit", 0.0313, 0.0265, 0.0361, 2.62e-05),
    ("Im2.scc", (1.4,7), "neukum2001", "moonneukumetal2001", "c-fit", 3.23, 2.74, 3.39, 3.00e-03),
    ("CE-6_8km_vicinity.scc", (.1,.5), "neukum2001", "moonneukumetal2001", "d-fit", 1.56, 1.35, 1.78, 1.31e-03),
    ("CE-6_8km_vicinity.scc", (.2,.8), "neukum2001", "moonneukumetal2001", "d-fit", 2.62, 1.99, 3.11, 2.20e-03),
    ("c1.scc", (.02,.12), "neukum2001", "moonneukumetal2001", "d-fit", 0.0169, 0.0143, 0.0195, 1.41e-05),
    ("c2.scc", (.02,.2), "neukum2001", "moonneukumetal2001", "d-fit", 0.00411, 0.00317, 0.00505, 3.45e-06),
    ("c5.scc", (.02,.3), "neukum2001", "moonneukumetal2001", "d-fit", 0.0238, 0.0163, 0.0313, 1.99e-05),
    ("Im2.scc", (1.4,7), "neukum2001", "moonneukumetal2001", "d-fit", 2.28, 0.0414, 3.4, 1.91e-03),
    ("CE-6_8km_vicinity.scc", (.1,.5), "yue2022", "moonyue", "poisson", 1.79, 1.68, 1.91, 1.37e-03),
    ("CE-6_8km_vicinity.scc", (.2,.8), "yue2022", "moonyue", "poisson", 2.7, 2.3, 3.05, 2.08e-03),
    ("c1.scc", (.02,.12), "yue2022", "moonyue", "poisson", 0.0176, 0.0158, 0.0196, 1.35e-05),
    ("c2.scc", (.02,.2), "yue2022", "moonyue", "poisson", 0.00346, 0.00305, 0.00391, 2.65e-06),
    ("c5.scc", (.02,.3), "yue2022", "moonyue", "poisson", 0.0202, 0.0172, 0.0235, 1.55e-05),
    ("Im2.scc", (1.4,7), "yue2022", "moonyue", "poisson", 3, 2.43, 3.27, 2.36e-03),
    ("CE-6_8km_vicinity.scc", (.1,.5), "yue2022", "moonyue", "c-fit", 1.95, 1.83, 2.08, 1.50e-03),
    ("CE-6_8km_vicinity.scc", (.2,.8), "yue2022", "moonyue", "c-fit", 2.61, 2.2, 2.96, 2.00e-03),
    ("c1.scc", (.02,.12), "yue2022", "moonyue", "c-fit", 0.0168, 0.015, 0.0186, 1.29e-05),
    ("c2.scc", (.02,.2), "yue2022", "moonyue", "c-fit", 0.00517, 0.00454, 0.0058, 3.96e-06),
    ("c5.scc", (.02,.3), "yue2022", "moonyue", "c-fit", 0.0343, 0.029, 0.0395, 2.62e-05),
    ("Im2.scc", (1.4,7), "yue2022", "moonyue", "c-fit", 3.29, 2.94, 3.41, 3.00e-03),
    ("CE-6_8km_vicinity.scc", (.1,.5), "yue2022", "moonyue", "d-fit", 1.71, 1.48, 1.94, 1.31e-03),
    ("CE-6_8km_vicinity.scc", (.2,.8), "yue2022", "moonyue", "d-fit", 2.84, 2.17, 3.21, 2.20e-03),
    ("c1.scc", (.02,.12), "yue2022", "moonyue", "d-fit", 0.0185, 0.0156, 0.0213, 1.41e-05),
    ("c2.scc", (.02,.2), "yue2022", "moonyue", "d-fit", 0.0045, 0.00347, 0.00553, 3.45e-06),
    ("c5.scc", (.02,.3), "yue2022", "moonyue", "d-fit", 0.026, 0.0178, 0.0342, 1.99e-05),
    ("Im2.scc", (1.4,7), "yue2022", "moonyue", "d-fit", 2.49, 0.0453, 3.42, 1.91e-03),
    ("CE-6_8km_vicinity.scc", (.1,.5), "hartmann2010", "moonhartmann2010", "poisson", 2.41, 2.26, 2.57, 9.58e-04),
    ("CE-6_8km_vicinity.scc", (.2,.8), "hartmann2010", "moonhartmann2010", "poisson", 3.47, 3.4, 3.53, 2.09e-03),
    ("c1.scc", (.02,.12), "hartmann2010", "moonhartmann2010", "poisson", 0.00822, 0.00737, 0.00913, 3.26e-06),
    ("c2.scc", (.02,.2), "hartmann2010", "moonhartmann2010", "poisson", 0.00162, 0.00143, 0.00183, 6.42e-07),
    ("c5.scc", (.02,.3), "hartmann2010", "moonhartmann2010", "poisson", 0.00944, 0.00805, 0.011, 3.75e-06),
    ("Im2.scc", (1.4,7), "hartmann2010", "moonhartmann2010", "poisson", 3.36, 3.14, 3.47, 1.67e-03),
    ("CE-6_8km_vicinity.scc", (.1,.5), "hartmann2010", "moonhartmann2010", "c-fit", 2.96, 2.81, 3.08, 1.20e-03),
    ("CE-6_8km_vicinity.scc", (.2,.8), "hartmann2010", "moonhartmann2010", "c-fit", 3.48, 3.4, 3.53, 2.14e-03),
    ("c1.scc", (.02,.12), "hartmann2010", "moonhartmann2010", "c-fit", 0.00927, 0.00829, 0.0103, 3.68e-06),
    ("c2.scc", (.02,.2), "hartmann2010", "moonhartmann2010", "c-fit", 0.00315, 0.00276, 0.00353, 1.25e-06),
    ("c5.scc", (.02,.3), "hartmann2010", "moonhartmann2010", "c-fit", 0.0211, 0.0178, 0.0243, 8.36e-06),
    ("Im2.scc", (1.4,7), "hartmann2010", "moonhartmann2010", "c-fit", 3.32, 2.98, 3.44, 1.57e-03),
    ("CE-6_8km_vicinity.scc", (.1,.5), "hartmann2010", "moonhartmann2010", "d-fit", 2.33, 2.01, 2.64, 9.25e-04),
    ("CE-6_8km_vicinity.scc", (.2,.8), "hartmann2010", "moonhartmann2010", "d-fit", 3.51, 3.39, 3.58, 2.33e-03),
    ("c1.scc", (.02,.12), "hartmann2010", "moonhartmann2010", "d-fit", 0.00967, 0.00817, 0.0112, 3.84e-06),
    ("c2.scc", (.02,.2), "hartmann2010", "moonhartmann2010", "d-fit", 0.00256, 0.00196, 0.00315, 1.01e-06),
    ("c5.scc", (.02,.3), "hartmann2010", "moonhartmann2010", "d-fit", 0.0145, 0.0099, 0.0192, 5.77e-06),
    ("Im2.scc", (1.4,7), "hartmann2010", "moonhartmann2010", "d-fit", 3.18, 0.0665, 3.55, 1.35e-03),]


@pytest.mark.parametrize("name, d_range, system, cs, method, age, low, high, n1", CRATERSTATS)
def test_fits_reproduce_craterstats(crater_counts, name, d_range, system, cs, method, age, low,
                                    high, n1):
    count = read_count(crater_counts / name)
    fit = fit_age(count, get_system(system), d_range, method)
    assert fit.age_ga == pytest.approx(age, abs=0.02)
    assert fit.n1_per_km2 == pytest.approx(n1, rel=0.02)
    # craterstats prints 3 significant figures: allow that rounding on the bounds.
    assert fit.age_low_ga == pytest.approx(low, abs=max(0.02, 0.006 * low))
    assert fit.age_high_ga == pytest.approx(high, abs=max(0.02, 0.006 * high))


@settings(max_examples=200, deadline=None)
@given(age=st.floats(0.001, 4.5), system=st.sampled_from(sorted(SYSTEMS)))
def test_chronology_inverse_round_trip(age, system):
    cf = SYSTEMS[system].cf
    assert cf.age(cf.n1(age)) == pytest.approx(age, rel=1e-9, abs=1e-12)


def test_published_anchor_values():
    # Neukum (1983): N(1) = 8.38e-4·T for young surfaces; ~3.0e-3 at 3.5 Ga… computed directly.
    npf = SYSTEMS["neukum2001"].cf
    assert npf.n1(1.0) == pytest.approx(5.44e-14 * (np.exp(6.93) - 1) + 8.38e-4)
    # The PF is normalised at 1 km: N(≥1 km) = N(1).
    for system in SYSTEMS.values():
        assert system.pf.cumulative(1.0, 3e-3) == pytest.approx(3e-3, rel=1e-9)
    # Yue et al. (2022) ages Chang'e-5 (N(1) of its unit) near the sample age of 2.03 Ga.
    yue = SYSTEMS["yue2022"].cf
    assert yue.age(yue.n1(2.03)) == pytest.approx(2.03)


def _simulate(system, age, area, d_range, rng):
    """A crater population of known age drawn from the PF (inverse-CDF sampling)."""
    pf, cf = system.pf, system.cf
    n1 = cf.n1(age)
    lo, hi = d_range
    expected = area * n1 * (pf.cumulative(lo) - pf.cumulative(hi))
    k = rng.poisson(expected)
    grid = np.geomspace(lo, hi, 4000)
    cdf = (pf.cumulative(lo) - pf.cumulative(grid)) / (pf.cumulative(lo) - pf.cumulative(hi))
    diam = np.interp(rng.uniform(size=k), cdf, grid)
    return CraterCount("sim", area, np.clip(diam, lo, hi * 0.999), np.ones(k))


def test_poisson_bounds_cover_the_true_age_about_68_percent():
    rng = np.random.default_rng(1)
    system = SYSTEMS["neukum2001"]
    hits = 0
    trials = 200
    for _ in range(trials):
        true_age = rng.uniform(0.5, 3.8)
        count = _simulate(system, true_age, 200.0, (0.3, 3.0), rng)
        fit = poisson_fit(count, system, (0.3, 3.0))
        hits += fit.age_low_ga <= true_age <= fit.age_high_ga
    assert 0.60 <= hits / trials <= 0.76


@settings(max_examples=25, deadline=None)
@given(age=st.floats(0.3, 3.9), seed=st.integers(0, 2**31 - 1))
def test_fits_recover_simulated_ages(age, seed):
    rng = np.random.default_rng(seed)
    system = SYSTEMS["yue2022"]
    count = _simulate(system, age, 3000.0, (0.25, 2.0), rng)
    for method in ("poisson", "c-fit", "d-fit"):
        fit = fit_age(count, system, (0.25, 2.0), method)
        assert abs(np.log(fit.n1_per_km2 / system.cf.n1(age))) < 0.5, method


def test_buffered_poisson_uses_the_perimeter(crater_counts):
    count = read_count(crater_counts / "c1.scc")
    assert count.perimeter_km is not None and count.fractions.min() < 1
    plain = fit_age(count, SYSTEMS["neukum2001"], (0.02, 0.12), "poisson")
    buffered = fit_age(count, SYSTEMS["neukum2001"], (0.02, 0.12), "b-poisson")
    # Buffers enlarge the effective area, so the same craters mean a younger surface.
    assert buffered.age_ga < plain.age_ga
    with pytest.raises(InputError, match="perimeter"):
        fit_age(read_count(crater_counts / "Im2.scc"), SYSTEMS["neukum2001"],
                (1.4, 7), "b-poisson")


def test_resurfacing_correction_fits_the_small_crater_range(crater_counts):
    count = read_count(crater_counts / "CE-6_8km_vicinity.scc")
    system = SYSTEMS["neukum2001"]
    plain = fit_age(count, system, (0.1, 0.2), "c-fit")
    corrected = fit_age(count, system, (0.1, 0.2), "c-fit", resurfacing=True)
    assert corrected.resurfacing and corrected.age_ga < plain.age_ga


def test_presentations_are_consistent(crater_counts):
    count = read_count(crater_counts / "CE-6_8km_vicinity.scc")
    binned = bin_count(count)
    cum = presentation(binned, count.area_km2, "cumulative")
    assert cum["y"][0] == pytest.approx(count.fractions.sum() / count.area_km2)
    r = presentation(binned, count.area_km2, "R")
    raw = binned.n / binned.width / count.area_km2
    np.testing.assert_allclose(r["y"], binned.d_mean**3 * raw)
    for binning in ("10/decade", "root-2", "20/decade", "x2"):
        assert bin_count(count, binning).n.sum() == pytest.approx(count.fractions.sum())


def test_diam_and_stat_readers(tmp_path):
    diam = tmp_path / "a.diam"
    diam.write_text("# test\narea = 100.\ncrater = {diameter, fraction\n1.1 1\n2.3 0.5\n3.0 1\n}\n")
    count = read_diam(diam)
    assert count.area_km2 == 100 and count.diameters_km.tolist() == [1.1, 2.3, 3.0]
    stat = tmp_path / "a.stat"
    stat.write_text("# exported\n0.1 3 1 1 5 5.000E-002 1\n0.2 2 1 1 2 2.000E-002 1\n")
    binned = read_stat(stat)
    assert binned.area_km2 == pytest.approx(100.0)
    fit = fit_age(binned, SYSTEMS["neukum2001"], (0.1, 0.3), "c-fit")
    assert fit.n_craters == 5
    csv = tmp_path / "c.csv"
    csv.write_text("diameter_km,area_km2\n1.0,50\n2.0,50\n")
    assert read_count(csv).area_km2 == 50


@pytest.mark.parametrize("content, message", [
    ("area = 0\ncrater = {diameter\n1.0\n}\n", "positive area"),
    ("area = 10\ncrater = {diameter\n-1.0\n}\n", "crater 1: diameter -1.0"),
    ("area = 10\ncrater = {diameter\n0\n}\n", "diameter 0.0"),
    ("area = 10\ncrater = {size\n1.0\n}\n", "expected 'diameter'"),
    ("crater = {diameter\n1.0\n}\n", "no 'area"),
    ("area = 10\ncrater = {diameter\nabc\n}\n", "row 1, field 'diameter'"),
])
def test_bad_crater_files(tmp_path, content, message):
    path = tmp_path / "bad.diam"
    path.write_text(content)
    with pytest.raises(InputError, match=message) as info:
        read_diam(path)
    assert "bad.diam" in str(info.value)


def test_unknown_chronology_and_bad_range(tmp_path):
    with pytest.raises(InputError, match="unknown chronology 'nuke'"):
        get_system("nuke")
    count = CraterCount("x", 10.0, np.array([1.0, 2.0]), np.ones(2))
    with pytest.raises(InputError, match="range"):
        fit_age(count, SYSTEMS["yue2022"], (2.0, 1.0))
    with pytest.raises(InputError, match="unknown crater-count format"):
        read_count(tmp_path / "x.xyz")


def test_cli_fit_prints_age_bounds_and_n1(crater_counts, tmp_path):
    import json

    from click.testing import CliRunner

    from lunatlas.cli.main import cli

    path = crater_counts / "CE-6_8km_vicinity.scc"
    runner = CliRunner()
    result = runner.invoke(cli, ["chronology", "fit", str(path), "--chronology", "yue2022",
                                 "--range", "0.2", "0.8", "--method", "poisson", "--plot",
                                 str(tmp_path / "ce6.svg")])
    assert result.exit_code == 0, result.output
    assert result.output.startswith("2.71 Ga (+0.3") and "N(1) = 2.1e-3 km^-2" in result.output
    assert (tmp_path / "ce6.svg").read_text().lstrip().startswith("<?xml")
    result = runner.invoke(cli, ["chronology", "fit", str(path), "--chronology", "yue2022",
                                 "--range", "0.2", "0.8", "--method", "c-fit", "--json"])
    fit = json.loads(result.output)
    assert fit["age_ga"] == pytest.approx(2.61, abs=0.02) and fit["method"] == "c-fit"
    result = runner.invoke(cli, ["chronology", "fit", str(path), "--chronology", "nope",
                                 "--range", "0.2", "0.8"])
    assert result.exit_code == 1 and "unknown chronology 'nope'" in result.output
    result = runner.invoke(cli, ["chronology", "list", "--json"])
    assert {r["key"] for r in json.loads(result.output)} == set(SYSTEMS)


def test_craterstats_names_and_short_names_are_accepted():
    from lunatlas.chronology.functions import get_system

    for name, key in (("neukum83", "neukum1983"), ("Moon, Neukum (1983)", "neukum1983"),
                      ("N01", "neukum2001"), ("Moon, Neukum et al. (2001)", "neukum2001"),
                      ("Moon, Hartmann 2010 iteration", "hartmann2010"), ("yue22", "yue2022")):
        assert get_system(name).key == key


def test_fit_defaults_to_the_atlas_chronology(crater_counts, built_atlas):
    """Without --chronology the fit uses the atlas's fitted chronology (the one that dates
    its units), and says so when no atlas is at hand (then: its base, yue2022)."""
    from click.testing import CliRunner

    from lunatlas.atlas import Atlas
    from lunatlas.cli.main import cli

    path = crater_counts / "CE-6_8km_vicinity.scc"
    runner = CliRunner()
    with_atlas = runner.invoke(cli, ["chronology", "fit", str(path), "--range", "0.2", "0.8",
                                     "--atlas", str(built_atlas), "--json"])
    assert with_atlas.exit_code == 0, with_atlas.output
    fitted = json.loads(with_atlas.output)
    dated = Atlas(built_atlas).layer("count_areas").loc["count:CE-6_8km_vicinity"]
    assert "atlas" in fitted["chronology"]
    assert fitted["age_ga"] == pytest.approx(dated["model_age_ga"], abs=0.02)
    no_atlas = runner.invoke(cli, ["chronology", "fit", str(path), "--range", "0.2", "0.8",
                                   "--atlas", "/nonexistent/atlas.gpkg"])
    assert no_atlas.exit_code == 0 and "using Moon, Yue et al. (2022)" in no_atlas.output
