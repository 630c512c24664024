"""The classic calibration set (second-hand) and what the calibration does with it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from lunatlas.chronology.calibration import CalibrationPoint, fit_chronology
from lunatlas.chronology.classic import classic_points, classic_table
from lunatlas.chronology.functions import SYSTEMS

NEUKUM_1983 = SYSTEMS["neukum1983"].cf
MID_AGES = np.linspace(1.0, 3.9, 59)
CHANGE_5 = CalibrationPoint("Chang'e 5", 1.696e-3, 0.221e-3, 2.030, 0.004)
"""Published CE-5 unit density (calibration table) and Li et al. 2021 Pb-Pb age."""


def test_bundled_table_says_it_is_second_hand_and_where_each_row_was_read():
    table = classic_table()
    assert set(table["compilation"]) == {"neukum_counts", "lefeuvre2011", "robbins2014",
                                         "change5"}
    assert (table["second_hand"] == "yes").all()
    assert table["read_from"].str.contains("commit|abstract").all()
    points = classic_points()
    assert len(points) == 11 and all("second-hand" in p.reference for p in points)


@pytest.mark.shared_data
def test_build_script_reproduces_the_bundled_table(shared_data, tmp_path):
    script = Path(__file__).resolve().parents[1] / "scripts" / "build_classic_calibration.py"
    subprocess.run([sys.executable, str(script), "--data-dir", str(shared_data), "--out",
                    str(tmp_path)], check=True, capture_output=True)
    bundled = Path(__file__).resolve().parents[1] / \
        "src/lunatlas/chronology/data/classic_calibration_points.csv"
    assert (tmp_path / "classic_calibration_points.csv").read_text() == bundled.read_text()


def _ln_scatter(fit, points) -> float:
    return float(np.sqrt(np.mean([np.log(p.n1 / fit.cf.n1(p.age_ga)) ** 2 for p in points])))


def test_neukum_counts_reproduce_the_neukum_1983_curve_within_their_scatter():
    """b held at Neukum's 6.93: a lands within 2 % of Neukum (1983), and over 1–3.9 Ga the
    curve stays within the points' own scatter about it (RMS 0.48 in ln N, a factor 1.6)."""
    points = classic_points()
    fit = fit_chronology(points, "neukum counts", NEUKUM_1983)
    assert fit.mode == "fixed-b" and fit.cf.b == NEUKUM_1983.b
    assert fit.cf.a == pytest.approx(NEUKUM_1983.a, rel=0.02)
    scatter = _ln_scatter(fit, points)
    assert 0.3 < scatter < 0.6
    deviation = np.max(np.abs(np.log(fit.cf.n1(MID_AGES) / NEUKUM_1983.n1(MID_AGES))))
    assert deviation < scatter


def test_apollo_11_old_and_apollo_17_fall_below_the_curve():
    """Their densities give curve ages 0.07–0.15 Ga younger than the ages now accepted
    (Stöffler & Ryder 2001 revised those basalts' ages upward after Neukum 1983): the
    points sit below the curve, more than 2σ of their ages."""
    fit = fit_chronology(classic_points(), "neukum counts", NEUKUM_1983)
    by_name = {p.name: p for p in classic_points()}
    for name in ("Apollo 11 old (high-Ti mare)", "Apollo 17 mare"):
        p = by_name[name]
        assert p.n1 < fit.cf.n1(p.age_ga)
        assert float(fit.cf.age(p.n1)) < p.age_ga - 2 * p.age_sigma_ga - 0.05
    young = by_name["Apollo 11 young mare"]
    assert abs(float(fit.cf.age(young.n1)) - young.age_ga) < 0.05


def test_chang_e_5_then_chang_e_6_make_the_1_to_3_ga_curve_older():
    """Yue et al. (2022): with the CE-5 age, model ages for a given density grow by up to
    ~0.24 Ga near 2.5 Ga. Adding CE-5, then CE-6 (density from the CE-6 count), to the
    classic points moves the 1–3 Ga curve the same way: ages for the classic curve's
    densities at 1, 2, 3 Ga grow by ≈ 0.09 / 0.18 / 0.15 Ga, then ≈ 0.2 / 0.4 / 0.26 Ga."""
    from lunatlas.samples.enrich import registry_calibration_points

    change_6 = next(p for p in registry_calibration_points() if p.name == "Chang'e 6")
    classic = classic_points()
    fits = [fit_chronology(pts, "f", NEUKUM_1983, leave_one_out=False)
            for pts in (classic, [*classic, CHANGE_5], [*classic, CHANGE_5, change_6])]
    ages = np.array([1.0, 2.0, 3.0])
    density = fits[0].cf.n1(ages)
    shift_ce5 = fits[1].cf.age(density) - ages
    shift_ce6 = fits[2].cf.age(density) - ages
    assert np.all(shift_ce5 > 0.05) and np.all(shift_ce5 < 0.3)
    assert np.all(shift_ce6 > shift_ce5)
    assert shift_ce5[1] == max(shift_ce5)  # largest mid-range, as Yue et al. report


def test_b_free_is_unconstrained_and_basins_set_it():
    """Fitted freely on the classic counts, b is either pushed to the search bound by the
    basin points or known only to ±5 (against b ≈ 7): hence b is held by default."""
    with_basins = fit_chronology(classic_points(), "free", NEUKUM_1983, free_b=True,
                                 leave_one_out=False)
    without = fit_chronology(classic_points(basins=False), "free", NEUKUM_1983, free_b=True,
                             leave_one_out=False)
    assert with_basins.mode == without.mode == "full"
    assert with_basins.cf.b > 15 or with_basins.sigmas[1] > 3
    assert without.sigmas[1] > 0.5 * without.cf.b


def test_leave_one_out_names_every_point_and_the_influential_ones():
    fit = fit_chronology(classic_points(), "neukum counts", NEUKUM_1983)
    assert set(fit.leave_one_out) == {p.name for p in classic_points()}
    top = max(fit.leave_one_out, key=fit.leave_one_out.get)
    assert top in {"Apollo 11 old (high-Ti mare)", "Nectaris basin", "Imbrium basin"}


def test_calibrate_with_no_arguments_fits_classic_and_new_points(tmp_path):
    from click.testing import CliRunner

    from lunatlas.cli.main import cli

    plot = tmp_path / "calibration.svg"
    result = CliRunner().invoke(cli, ["chronology", "calibrate", "--plot", str(plot)],
                                env={"COLUMNS": "160"})
    assert result.exit_code == 0, result.output
    assert "fixed-b fit, 13 points" in result.output and "held at" in result.output
    for name in ("Chang'e 5", "Chang'e 6", "Apollo 12", "Nectaris basin"):
        assert name in result.output
    assert "second-hand N(1) (classic set)" in result.output
    svg = plot.read_text()
    assert "Luna 24" in svg and "second-hand N(1)" in svg
