"""Nested DEM stacks: heights from the finest DEM, datum checks, horizons from the stack
(grid and point paths) against one DEM built at the fine resolution, bad input."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from click.testing import CliRunner

from lunatlas.cli.main import cli
from lunatlas.crs import MOON_SOUTH_POLAR, to_lonlat
from lunatlas.errors import InputError, LunarCRSError, RasterError
from lunatlas.illumination import stacked
from lunatlas.illumination.horizon import horizon_angles
from lunatlas.illumination.light import longest_run
from lunatlas.illumination.pipeline import azimuths
from lunatlas.illumination.stacked import grid_horizons, point_horizons
from lunatlas.terrain import stack as stack_module
from lunatlas.terrain.stack import TerrainStack, open_layer, open_stack

AZ = azimuths(32)


def terrain(x, y):
    """Smooth synthetic relief (m): broad hills and a crater-like bowl, features ≥ 8 km."""
    return (1500.0 * np.exp(-((x - 30_000) ** 2 + (y + 10_000) ** 2) / (2 * 12_000.0**2))
            - 1200.0 * np.exp(-((x + 25_000) ** 2 + (y - 20_000) ** 2) / (2 * 9_000.0**2))
            + 800.0 * np.sin(x / 23_000.0) * np.cos(y / 31_000.0))


def write_dem(path, pixel, half_cells, center=(0.0, 0.0), offset_m=0.0, crs=None, fn=terrain,
              nodata=None):
    n = 2 * half_cells
    x0, y1 = center[0] - half_cells * pixel, center[1] + half_cells * pixel
    xs = x0 + (np.arange(n) + 0.5) * pixel
    ys = y1 - (np.arange(n) + 0.5) * pixel
    xx, yy = np.meshgrid(xs, ys)
    with rasterio.open(path, "w", driver="GTiff", width=n, height=n, count=1, dtype="float32",
                       crs=(crs or MOON_SOUTH_POLAR).to_wkt(), nodata=nodata,
                       transform=Affine(pixel, 0, x0, 0, -pixel, y1), tiled=True,
                       blockxsize=128, blockysize=128) as dst:
        dst.write((fn(xx, yy) + offset_m).astype("float32"), 1)
    return path


@pytest.fixture(scope="module")
def dems(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stack")
    return {
        "coarse": write_dem(folder / "coarse_800m.tif", 800.0, 150),
        "fine": write_dem(folder / "fine_100m.tif", 100.0, 100, center=(4_000.0, -3_000.0)),
        "reference": write_dem(folder / "reference_100m.tif", 100.0, 700),
    }


def test_heights_come_from_the_finest_dem(dems, tmp_path):
    shifted = write_dem(tmp_path / "fine_hi.tif", 100.0, 100, center=(4_000.0, -3_000.0),
                        fn=lambda x, y: terrain(x, y) + 2.0 * (x > 0))
    stack = open_stack([dems["coarse"], shifted], correct_datum=False)
    assert [layer.pixel_m for layer in stack.layers] == [100.0, 800.0]
    x = np.array([5_050.0, 60_000.0])
    y = np.array([-3_050.0, 60_000.0])
    which = stack.layer_at(MOON_SOUTH_POLAR, x, y)
    assert which.tolist() == [0, 1]
    h = stack.heights(MOON_SOUTH_POLAR, x, y)
    assert h[0] == pytest.approx(terrain(5_050.0, -3_050.0) + 2.0, abs=1.0)
    assert h[1] == pytest.approx(terrain(60_000.0, 60_000.0), abs=15.0)


def test_datum_offset_is_measured_and_removed(dems, tmp_path):
    low = write_dem(tmp_path / "low.tif", 100.0, 100, center=(4_000.0, -3_000.0),
                    offset_m=-150.0)
    stack = open_stack([low, dems["coarse"]])
    check = stack.datum_checks[0]
    assert check.offset_m == pytest.approx(150.0, abs=5.0) and check.corrected
    assert "reads -150 m" in check.describe()
    h, layer = stack.point_height(MOON_SOUTH_POLAR, 4_050.0, -3_050.0)
    assert layer.path == low and h == pytest.approx(terrain(4_050.0, -3_050.0), abs=6.0)
    kept = open_stack([low, dems["coarse"]], correct_datum=False)
    assert not kept.datum_checks[0].corrected
    assert kept.point_height(MOON_SOUTH_POLAR, 4_050.0, -3_050.0)[0] == pytest.approx(
        terrain(4_050.0, -3_050.0) - 150.0, abs=1.0)
    same = open_stack([dems["fine"], dems["coarse"]])
    assert not same.datum_checks[0].corrected  # no offset beyond the scatter


def test_nested_horizons_match_one_fine_dem_over_the_whole_area(dems, monkeypatch):
    """A 100 m tile nested in an 800 m DEM gives the horizons of a 100 m DEM covering
    everything, within 0.3° (the coarse DEM smooths far terrain); both nested paths (one
    sweep; near sweep + far rays) agree with it."""
    stack = open_stack([dems["fine"], dems["coarse"]])
    fine = stack.finest
    transform = fine.transform * Affine.translation(60, 60)
    shape = (80, 80)
    max_distance = 40_000.0
    whole, core = grid_horizons(stack, MOON_SOUTH_POLAR, transform, shape, AZ, max_distance)
    monkeypatch.setattr(stacked, "SINGLE_SWEEP_CELLS", 10_000)
    monkeypatch.setattr(stacked, "NEAR_FIELD_M", 6_000.0)
    split, _ = grid_horizons(stack, MOON_SOUTH_POLAR, transform, shape, AZ, max_distance)
    with rasterio.open(dems["reference"]) as src:
        ref_t = src.transform
        z = src.read(1).astype(float)
    r0 = int(round((transform.f - ref_t.f) / ref_t.e))
    c0 = int(round((transform.c - ref_t.c) / ref_t.a))
    halo = 402
    window = z[r0 - halo:r0 + shape[0] + halo, c0 - halo:c0 + shape[1] + halo]
    reference = horizon_angles(window, 100.0, AZ, max_distance)[:, halo:-halo, halo:-halo]
    np.testing.assert_allclose(core, z[r0:r0 + shape[0], c0:c0 + shape[1]], atol=0.5)
    for nested in (whole, split):
        diff = np.abs(nested - reference)
        assert np.median(diff) < 0.05 and diff.max() < 0.3, (np.median(diff), diff.max())
    assert np.abs(split - whole).max() < 0.3


def test_point_path_equals_the_map_path(dems):
    """Rays through the stack at a cell centre give the map's horizons there (true azimuths
    turned to grid azimuths by the convergence)."""
    from lunatlas.ephemeris import grid_convergence_deg

    stack = open_stack([dems["fine"], dems["coarse"]])
    transform = stack.finest.transform * Affine.translation(50, 50)
    maps, _ = grid_horizons(stack, MOON_SOUTH_POLAR, transform, (100, 100), AZ, 40_000.0)
    for r, c in ((10, 20), (55, 70), (90, 5)):
        x = transform.c + (c + 0.5) * transform.a
        y = transform.f + (r + 0.5) * transform.e
        lon, lat = (float(v) for v in to_lonlat(MOON_SOUTH_POLAR, x, y))
        point = point_horizons(stack, lat, lon, azimuths(360), 40_000.0)
        conv = float(grid_convergence_deg(MOON_SOUTH_POLAR, np.array([lon]),
                                          np.array([lat]))[0])
        true_of_grid = (AZ - conv) % 360.0
        from_point = np.interp(true_of_grid, np.append(point.azimuths_deg, 360.0),
                               np.append(point.horizon_deg, point.horizon_deg[0]))
        diff = np.abs(from_point - maps[:, r, c])
        assert np.median(diff) < 0.1 and diff.max() < 0.4, (r, c, diff.max())
        assert point.dem_label == "fine_100m.tif"


def test_observer_height_lowers_the_horizon(dems):
    stack = open_stack([dems["fine"], dems["coarse"]])
    lon, lat = (float(v) for v in to_lonlat(MOON_SOUTH_POLAR, 4_000.0, -3_000.0))
    ground = point_horizons(stack, lat, lon, AZ, 30_000.0)
    mast = point_horizons(stack, lat, lon, AZ, 30_000.0, observer_height_m=10.0)
    assert (mast.horizon_deg <= ground.horizon_deg + 1e-9).all()
    assert (mast.horizon_deg < ground.horizon_deg).any()


def test_point_memory_follows_the_rays_not_the_dem(tmp_path, monkeypatch):
    """A 4 000² DEM of 25 m read for one point: only blocks under the rays are read and the
    block cache never holds more than its bound."""
    monkeypatch.setattr(stack_module, "CACHE_BLOCKS", 6)
    big = write_dem(tmp_path / "big.tif", 25.0, 2000)
    stack = open_stack([big])
    layer = stack.finest
    reads = []
    original = layer._block

    def counting(level, brow, bcol):
        if (level, brow, bcol) not in layer._cache:
            reads.append((level, brow, bcol))
        result = original(level, brow, bcol)
        assert len(layer._cache) <= 6
        return result

    monkeypatch.setattr(layer, "_block", counting)
    point = point_horizons(stack, -89.5, 30.0, azimuths(8), 40_000.0)
    blocks_total = (4000 // stack_module.BLOCK + 1) ** 2
    assert 0 < len({r[1:] for r in reads}) < blocks_total / 2
    assert point.samples == 8 * 1600


def test_longest_night_cut_by_the_period_is_flagged():
    assert longest_run(np.array([1, 1, 1, 0, 1, 0], bool), 6.0) == (0.75, True)
    assert longest_run(np.array([0, 1, 1, 0, 1, 1, 1, 1, 0], bool), 24.0) == (4.0, False)
    assert longest_run(np.array([0, 1, 1, 0, 1, 1], bool), 24.0) == (2.0, True)
    assert longest_run(np.ones(4, bool), 24.0) == (4.0, True)


# -- bad input: one clear line each ------------------------------------------------------

def test_stack_of_different_bodies_or_spheres_is_refused(dems, tmp_path):
    from pyproj import CRS

    mars = write_dem(tmp_path / "mars.tif", 800.0, 10, crs=CRS.from_user_input("IAU_2015:49935"))
    with pytest.raises(LunarCRSError, match="mars.tif"):
        open_stack([dems["coarse"], mars])
    other = CRS.from_proj4("+proj=stere +lat_0=-90 +lon_0=0 +R=1738100 +units=m +type=crs")
    sphere = write_dem(tmp_path / "other_sphere.tif", 100.0, 20, crs=other)
    with pytest.raises(InputError, match="share one body and reference radius"):
        open_stack([dems["coarse"], sphere])


def test_tile_without_overlap_point_outside_and_wild_heights(dems, tmp_path):
    far = write_dem(tmp_path / "far.tif", 100.0, 20, center=(400_000.0, 0.0))
    with pytest.raises(InputError, match="far.tif has no overlap with its parent"):
        open_stack([far, dems["coarse"]])
    stack = open_stack([dems["fine"], dems["coarse"]])
    with pytest.raises(InputError, match="outside every DEM"):
        point_horizons(stack, -70.0, 0.0, AZ, 10_000.0)
    wild = write_dem(tmp_path / "km.tif", 100.0, 20, fn=lambda x, y: 25_000.0 + 0 * x)
    with pytest.raises(RasterError, match=r"km.tif: heights span 25000..25000 m"):
        open_layer(wild)
    deep = write_dem(tmp_path / "deep.tif", 100.0, 20, fn=lambda x, y: -21_000.0 + 0 * x)
    with pytest.raises(RasterError, match="within ±20 km"):
        open_layer(deep)
    assert isinstance(TerrainStack([open_layer(dems["coarse"])]), TerrainStack)


@pytest.mark.parametrize("case", ["no-overlap", "outside", "wild", "body"])
def test_cli_bad_stack_input_is_one_line_and_exit_1(dems, tmp_path, case):
    from pyproj import CRS

    dem_args = ["--dem", str(dems["coarse"])]
    lat = "-89.9"
    if case == "no-overlap":
        dem_args += ["--dem", str(write_dem(tmp_path / "far.tif", 100.0, 20,
                                            center=(400_000.0, 0.0)))]
    elif case == "outside":
        lat = "-75"
    elif case == "wild":
        dem_args = ["--dem", str(write_dem(tmp_path / "km.tif", 100.0, 20,
                                           fn=lambda x, y: 30_000.0 + 0 * x))]
    else:
        dem_args += ["--dem", str(write_dem(tmp_path / "earth.tif", 100.0, 20,
                                            crs=CRS.from_epsg(3031)))]
    result = CliRunner().invoke(cli, ["light", "point", "--lat", lat, "--lon", "0",
                                      "--start", "2026-01-01", "--end", "2026-01-02",
                                      "--step", "12", *dem_args])
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "Traceback" not in result.output


def test_tiles_are_referred_to_the_coarsest_dem_not_a_patched_parent(dems, tmp_path):
    """A middle DEM 150 m low with a 300 m low patch exactly under the finest tile (as the
    shared 200 m south-pole tile is around the 40 m one): the middle DEM is lifted onto the
    reference, and the finest, already on the reference, is kept, not pulled down to the
    patch."""
    def middle(x, y):
        patch = (np.abs(x - 4_000.0) < 10_000.0) & (np.abs(y + 3_000.0) < 10_000.0)
        return terrain(x, y) - 150.0 - 150.0 * patch

    mid = write_dem(tmp_path / "mid_200m.tif", 200.0, 150, fn=middle)
    stack = open_stack([dems["fine"], mid, dems["coarse"]])
    fine_check, mid_check = stack.datum_checks
    assert mid_check.corrected and mid_check.offset_m == pytest.approx(150.0, abs=10.0)
    assert fine_check.coarse == "coarse_800m.tif" and not fine_check.corrected
    h, layer = stack.point_height(MOON_SOUTH_POLAR, 4_050.0, -3_050.0)
    assert layer.path == dems["fine"] and h == pytest.approx(terrain(4_050.0, -3_050.0),
                                                             abs=1.0)
