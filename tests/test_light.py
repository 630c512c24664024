"""Illumination and Earth visibility: analytic cases on a smooth sphere, a pit in sunlight,
single-process vs dask.distributed equality, and the CLI."""

import json
import math

import numpy as np
import pytest
import rasterio
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from affine import Affine
from click.testing import CliRunner

from lunatlas.cli.main import cli
from lunatlas.crs import MOON_RADIUS_M, lonlat_to
from lunatlas.ephemeris import sun_earth_vectors_me, time_grid
from lunatlas.errors import InputError
from lunatlas.illumination import light_map, light_map_distributed, light_point
from lunatlas.illumination.light import _disc_fraction
from lunatlas.terrain import local_crs

CHANGE_6 = (-41.625, -153.978)  # landing site (Li et al. 2024)


def flat_grid(lat, lon, n=41, pixel=500.0, heights=None):
    """A smooth-sphere DEM (heights 0) on a local stereographic grid centred on (lat, lon)."""
    crs = local_crs(lat, lon)
    cx, cy = (float(v) for v in lonlat_to(crs, lon, lat))
    transform = Affine(pixel, 0, cx - n * pixel / 2, 0, -pixel, cy + n * pixel / 2)
    values = np.zeros((n, n), "float32") if heights is None else heights.astype("float32")
    da = xr.DataArray(values, dims=("y", "x"),
                      coords={"y": cy + n * pixel / 2 - pixel * (np.arange(n) + 0.5),
                              "x": cx - n * pixel / 2 + pixel * (np.arange(n) + 0.5)},
                      attrs={"units": "m", "reference_radius_m": MOON_RADIUS_M})
    return da.rio.write_crs(crs).rio.write_transform(transform)


@pytest.fixture(scope="module")
def year_6h():
    times = time_grid("2026-01-01", "2026-12-31", 6)
    return times, sun_earth_vectors_me(times)


def test_disc_fraction_is_the_circular_segment():
    assert _disc_fraction(1.0, 0.0, 0.27) == 1.0
    assert _disc_fraction(-1.0, 0.0, 0.27) == 0.0
    assert _disc_fraction(0.0, 0.0, 0.27) == pytest.approx(0.5)
    # Centre 0.135° below the line, radius 0.27°: segment of height r/2 → 0.1955.
    assert _disc_fraction(-0.135, 0.0, 0.27) == pytest.approx(
        (math.acos(0.5) - 0.5 * math.sqrt(0.75)) / math.pi, abs=1e-12)


def test_earth_never_rises_at_change_6_and_never_sets_at_the_sub_earth_point(year_6h):
    times, sun_earth = year_6h
    far = light_map(flat_grid(*CHANGE_6), times, 6, 32, 8_000.0, sun_earth)
    assert np.all(far.earth_visibility_fraction == 0.0)
    assert np.all(far.longest_earth_gap_days >= 364.0)
    near = light_map(flat_grid(0.0, 0.0), times, 6, 32, 8_000.0, sun_earth)
    assert np.all(near.earth_visibility_fraction == 1.0)
    assert np.all(near.longest_earth_gap_days == 0.0)
    # Day and night alternate everywhere away from the poles: ~half lit, nights ~14.8 days.
    assert np.allclose(far.illumination_fraction, 0.5, atol=0.03)
    assert np.all(np.abs(far.longest_darkness_days - 14.8) < 0.6)


def test_exact_pole_on_a_smooth_sphere_sees_the_sun_about_half_the_time(year_6h):
    times, sun_earth = year_6h
    maps = light_map(flat_grid(-90.0, 0.0, n=41, pixel=250.0), times, 6, 64, 5_000.0, sun_earth)
    assert maps.illumination_fraction[20, 20] == pytest.approx(0.5, abs=0.06)
    assert not maps.never_lit.any()


def test_pit_floor_is_dark_while_the_sun_is_lower_than_its_rim(year_6h):
    times, sun_earth = year_6h
    from tests.test_horizon import conical_pit

    pit = conical_pit(radius_px=20, floor_px=5, depth=1500.0, size=61)
    grid = flat_grid(-70.0, 30.0, n=61, pixel=100.0, heights=pit)
    maps = light_map(grid, times, 6, 64, 5_000.0, sun_earth)
    point = light_point(grid, -70.0, 30.0, "2026-01-01", "2026-12-31", 6, n_azimuths=64,
                        max_distance_m=5_000.0)
    s = point.series
    rim = math.degrees(math.atan(1500.0 / 2000.0))
    assert np.all(s.sun_fraction[s.sun_elevation_deg < rim - 1.0] == 0.0)
    assert np.all(s.sun_fraction[s.sun_elevation_deg > rim + 1.0] == 1.0)
    flat = light_map(flat_grid(-70.0, 30.0, n=61, pixel=100.0), times, 6, 64, 5_000.0,
                     sun_earth)
    assert maps.illumination_fraction[30, 30] < flat.illumination_fraction[30, 30] - 0.1
    # The point path and the map path agree on the same cell.
    assert point.summary()["illumination_fraction"] == pytest.approx(
        maps.illumination_fraction[30, 30], abs=1e-12)


def test_distributed_tiles_equal_single_process_bit_for_bit(global_dem):
    from dask.distributed import Client, LocalCluster

    from lunatlas.terrain import polar_grid

    grid = polar_grid(global_dem, "south", -86.0, 3000.0)
    times = time_grid("2026-01-01", "2026-02-15", 12)
    sun_earth = sun_earth_vectors_me(times)
    single = light_map(grid, times, 12, 32, 40_000.0, sun_earth)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        tiled = light_map_distributed(grid, times, 12, client, 32, 40_000.0, tile_px=25,
                                      sun_earth=sun_earth)
    for name in ("illumination_fraction", "longest_darkness_days",
                 "earth_visibility_fraction", "longest_earth_gap_days", "never_lit"):
        assert np.array_equal(getattr(single, name), getattr(tiled, name), equal_nan=True), name
    assert grid.shape[0] > 3 * 25  # really tiled (4 × 4 tiles)


def test_distributed_tiles_with_a_terrain_stack_equal_single_process(global_dem, monkeypatch):
    """Halo and far field from a stack (here the global DEM around a polar grid, the near
    field cut at 96 km and terrain to 150 km marched through the far grid): tiles give the
    single-process bits."""
    from dask.distributed import Client, LocalCluster

    from lunatlas.illumination import stacked
    from lunatlas.illumination.stacked import grid_from_stack
    from lunatlas.terrain.grids import polar_cap_spec
    from lunatlas.terrain.stack import TerrainStack, layer_from_array

    monkeypatch.setattr(stacked, "SINGLE_SWEEP_CELLS", 1000)
    stack = TerrainStack([layer_from_array(global_dem, "global")])
    spec = polar_cap_spec("south", -87.0, 3000.0)
    grid = grid_from_stack(stack, spec.crs, spec.transform, spec.shape)
    times = time_grid("2026-01-01", "2026-02-15", 12)
    sun_earth = sun_earth_vectors_me(times)
    single = light_map(grid, times, 12, 16, 150_000.0, sun_earth, 2.0, stack)
    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                      dashboard_address=None) as cluster, Client(cluster) as client:
        tiled = light_map_distributed(grid, times, 12, client, 16, 150_000.0, tile_px=20,
                                      sun_earth=sun_earth, observer_height_m=2.0,
                                      stack=stack)
    for name in ("illumination_fraction", "longest_darkness_days", "never_lit",
                 "darkness_window_limited", "earth_visibility_fraction"):
        assert np.array_equal(getattr(single, name), getattr(tiled, name), equal_nan=True), name
    assert grid.shape[0] > 2 * 20


def test_bad_point_requests(global_dem):
    with pytest.raises(InputError, match="outside"):
        light_point(flat_grid(-70, 30), 10.0, 10.0, "2026-01-01", "2026-01-02", 1)
    with pytest.raises(InputError, match="reversed"):
        light_point(global_dem, 0, 0, "2026-01-02", "2026-01-01", 1)
    with pytest.raises(InputError, match="step"):
        light_point(global_dem, 0, 0, "2026-01-01", "2026-01-02", 0)
    holes = flat_grid(-70, 30, heights=np.where(np.eye(41) > 0, np.nan, 0.0))
    with pytest.raises(InputError, match="nodata"):
        light_point(holes, -70.0, 30.0, "2026-01-01", "2026-01-02", 1,
                    max_distance_m=2000.0)


def test_cli_light_point_json_and_plot(tmp_path):
    plot = tmp_path / "ce6.png"
    result = CliRunner().invoke(cli, [
        "light", "point", "--lat", str(CHANGE_6[0]), "--lon", str(CHANGE_6[1]),
        "--start", "2026-01-01", "--end", "2026-02-01", "--step", "6", "--json",
        "--plot", str(plot)])
    assert result.exit_code == 0, result.output
    summary = json.loads(result.output[result.output.index("{"):])
    assert {"illumination_fraction", "earth_visibility_fraction", "longest_darkness_days",
            "longest_earth_gap_days"} <= set(summary)
    assert summary["earth_visibility_fraction"] == 0.0 and plot.stat().st_size > 10_000


def test_cli_light_map_writes_lunar_cog(tmp_path):
    result = CliRunner().invoke(cli, [
        "light", "map", "--start", "2026-01-01", "--end", "2026-01-15", "--step", "12",
        "--lat-limit", "87", "--pixel-m", "4000", "--scheduler", "none", "--out",
        str(tmp_path)])
    assert result.exit_code == 0, result.output
    with rasterio.open(tmp_path / "illumination.tif") as src:
        assert src.count == 6 and src.descriptions[0] == "illumination_fraction"
        assert "darkness_window_limited" in src.descriptions
        assert "South Polar" in src.crs.to_wkt() and "Moon" in src.crs.to_wkt()
        lit = src.read(1)
        assert np.nanmax(lit) <= 1.0 and np.nanmin(lit) >= 0.0


@pytest.mark.parametrize("args, message", [
    (["--start", "2026-02-01", "--end", "2026-01-01"], "empty or reversed"),
    (["--start", "2026-01-01", "--end", "2026-01-02", "--step", "-1"], "step"),
])
def test_cli_light_map_bad_times_write_nothing(tmp_path, args, message):
    result = CliRunner().invoke(cli, ["light", "map", *args, "--scheduler", "none", "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 1 and message in result.output
    assert not (tmp_path / "out").exists()


def test_cli_light_map_refuses_earth_dem(tmp_path):
    path = tmp_path / "earth.tif"
    with rasterio.open(path, "w", driver="GTiff", width=10, height=10, count=1,
                       dtype="float32", crs="EPSG:4326",
                       transform=Affine(1, 0, 0, 0, -1, 10)) as dst:
        dst.write(np.zeros((10, 10), "float32"), 1)
    result = CliRunner().invoke(cli, ["light", "map", "--dem", str(path), "--start",
                                      "2026-01-01", "--end", "2026-01-02", "--out",
                                      str(tmp_path / "out")])
    assert result.exit_code == 1 and "not lunar" in result.output


@pytest.fixture(scope="module")
def year_hourly():
    times = time_grid("2026-01-01T00:00", "2026-12-31T23:00", 1)
    return times, sun_earth_vectors_me(times)


@pytest.mark.parametrize("lat, lon, pixel", [(-89.6, 40.0, 150.0), (-87.0, 200.0, 150.0),
                                             (-70.0, 30.0, 150.0), (2.0, 88.0, 150.0),
                                             (-89.3, 120.0, 75.0), (-88.5, 300.0, 1_500.0)])
def test_bounded_light_maps_equal_the_direct_computation(year_hourly, lat, lon, pixel):
    """The default light maps skip instants whose outcome bounds on the Sun's and Earth's
    motion settle, for blocks of cells at once; every summary must equal evaluating every
    instant at every cell: fractions to rounding, longest night and Earth gap exactly, the
    same never-lit and cut-night cells. Rough terrain near the pole (Sun grazing a jagged
    horizon), at mid-latitude, and at the limb (Earth rising and setting with libration),
    hourly for a year; a grid that blocks do not tile, with holes (NaN heights); blocks of
    16 cells of 75 m and of 8 of 1.5 km (12 km across: their cells see the Sun and Earth
    further apart)."""
    from lunatlas.illumination.horizon import horizon_angles
    from lunatlas.illumination.light import light_maps_counted
    from lunatlas.illumination.pipeline import azimuths, geometry_of
    from tests.test_horizon import conical_pit

    _, (sun, earth) = year_hourly
    rng = np.random.default_rng(7)
    n = 25
    heights = (0.6 * conical_pit(radius_px=9, floor_px=2, depth=900.0, size=n)
               + rng.normal(0.0, 60.0, (n, n))) * (pixel / 150.0)
    heights[3:5, 17:20] = np.nan
    grid = flat_grid(lat, lon, n=n, pixel=pixel, heights=heights)
    horizons = horizon_angles(grid.to_numpy(), pixel, azimuths(64), 3_000.0)
    geometry = geometry_of(grid)
    direct, all_pairs = light_maps_counted(horizons, geometry, sun, earth, 1.0, "direct")
    bounded, evaluated = light_maps_counted(horizons, geometry, sun, earth, 1.0, "bounded")
    for name in ("illumination_fraction", "earth_visibility_fraction"):
        np.testing.assert_allclose(getattr(bounded, name), getattr(direct, name), atol=1e-9)
    for name in ("longest_darkness_days", "longest_earth_gap_days", "never_lit",
                 "darkness_window_limited"):
        np.testing.assert_array_equal(getattr(bounded, name), getattr(direct, name))
    assert 0.0 < np.nanmean(direct.illumination_fraction) < 1.0
    assert np.isnan(direct.illumination_fraction[3:5, 17:20]).all()
    assert evaluated.sum() < 0.5 * all_pairs.sum()  # the bounds do settle most instants
