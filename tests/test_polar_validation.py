"""South-polar illumination on the 200 m tile nested in the 1.6 km LOLA DEM against
published and NASA reference values (a coarser, faster run of
scripts/validate_south_pole_light.py; the full table is in its output)."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "validate_south_pole_light.py"


@pytest.fixture(scope="module")
def validation(shared_data):
    spec = importlib.util.spec_from_file_location("validate_south_pole_light", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.run(shared_data, year=2020, step_hours=12.0, n_az=32, heights=(0.0, 2.0),
                      cap=False)


@pytest.mark.shared_data
def test_shackleton_floor_is_never_lit(validation):
    for entry in validation["heights"].values():
        assert entry["Shackleton floor never lit"] == 1.0


@pytest.mark.shared_data
def test_ordering_agrees_with_nasa_avgvisib(validation):
    """Rank correlation with AVGVISIB block-averaged to 1.08 km (ordering, not values)."""
    for entry in validation["heights"].values():
        assert entry["AVGVISIB"]["cells"] == 562
        assert entry["AVGVISIB"]["spearman_rho"] > 0.9


@pytest.mark.shared_data
def test_best_lit_ridge_and_rim_near_published_values(validation):
    """Connecting Ridge and the Shackleton rim: 77–95 % published (Bussey 2010: 86 % at the
    surface in 2020; Gläser 2014: 92 % at 2 m; Gläser 2018: 77–88 % at 2 m over 20 years).
    The ridge's best cell lies near 89.45°S 222°E, where those studies put it."""
    ground, mast = validation["heights"]["0 m"], validation["heights"]["2 m"]
    for zone in ("Connecting Ridge", "Shackleton rim"):
        assert 0.75 < ground[zone]["illumination"] <= mast[zone]["illumination"] < 0.97
        assert 0.5 < mast[zone]["longest_night_days"] < 10.0
    ridge = mast["Connecting Ridge"]
    assert abs(ridge["lat"] + 89.45) < 0.1 and abs(ridge["lon_e"] - 222.0) < 5.0


@pytest.mark.shared_data
def test_never_lit_cells_match_the_lola_psr_polygons_in_the_tile(validation):
    psr = validation["heights"]["0 m"]["PSR in the 200 m tile"]
    assert psr["iou"] > 0.7 and psr["psr_covered_by_never_lit"] > 0.85
