import numpy as np
import pytest
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from affine import Affine

from lunatlas.crs import MOON_SOUTH_POLAR
from lunatlas.terrain import dem_summary, hillshade, pixel_size_m


def _grid(values, pixel=100.0):
    ny, nx = values.shape
    coords = {"y": -pixel * (np.arange(ny) + 0.5), "x": pixel * (np.arange(nx) + 0.5)}
    da = xr.DataArray(values.astype("float32"), dims=("y", "x"), coords=coords)
    return da.rio.write_crs(MOON_SOUTH_POLAR).rio.write_transform(Affine(pixel, 0, 0, 0, -pixel, 0))


def test_hillshade_of_planes_matches_lambert():
    x = np.arange(50) * 100.0
    # Plane rising to the east with slope 30°: facing west. Light from the west (270°) at 30°.
    east_rising = _grid(np.tile(x * np.tan(np.radians(30)), (40, 1)))
    shade = hillshade(east_rising, azimuth_deg=270, altitude_deg=30).to_numpy()
    # Angle between the surface normal (tilted 30° toward west) and the light: 30° → cos = 0.866.
    assert np.allclose(shade[5:-5, 5:-5], np.cos(np.radians(30)), atol=1e-4)
    flat = hillshade(_grid(np.zeros((20, 20))), altitude_deg=35).to_numpy()
    assert np.allclose(flat, np.sin(np.radians(35)), atol=1e-6)


def test_pixel_size_on_a_geographic_grid(global_dem):
    dx, dy = pixel_size_m(global_dem)
    assert dy[0, 0] == pytest.approx(10_660.6, rel=1e-4)
    row_60s = int(np.argmin(np.abs(global_dem.y.to_numpy() + 60)))
    assert dx[row_60s, 0] == pytest.approx(dy[0, 0] * np.cos(np.radians(-60)), rel=1e-2)


def test_dem_summary_matches_numpy(global_dem):
    summary = dem_summary(global_dem)
    values = global_dem.to_numpy()
    assert summary["min_m"] == float(values.min()) and summary["max_m"] == float(values.max())
    assert summary["mean_m"] == pytest.approx(float(values.mean()), rel=1e-6)
    assert summary["width"] == 1024 and summary["height"] == 512


def test_slope_aspect_of_a_tilted_plane():
    x = np.arange(40) * 100.0
    plane = _grid(np.tile(x * np.tan(np.radians(20)), (30, 1)))  # rises to +x (east)
    from lunatlas.terrain import aspect_deg, rms_slope_deg, slope_deg

    slope = slope_deg(plane).to_numpy()[3:-3, 3:-3]
    # At the pole (this grid sits at x, y ≥ 0 near it) the scale factor is ~1.
    assert np.allclose(slope, 20.0, atol=0.01)
    assert np.allclose(aspect_deg(plane).to_numpy()[3:-3, 3:-3], 270.0, atol=0.01)  # faces west
    assert np.allclose(rms_slope_deg(plane, 5).to_numpy()[5:-5, 5:-5], 20.0, atol=0.01)


def test_slope_uses_the_projection_scale_factor():
    """A plane of true slope 10° far from the pole: grid distances are k× ground distances."""
    from lunatlas.crs import polar_stereographic_scale_factor
    from lunatlas.terrain import scale_factor, slope_deg

    pixel = 500.0
    ny, nx = 20, 20
    y0 = -900_000.0  # ~60°S on the 0° meridian side... scale factor ≈ 1.07
    coords = {"y": y0 - pixel * (np.arange(ny) + 0.5), "x": pixel * (np.arange(nx) + 0.5)}
    ground_x = np.arange(nx) * pixel  # grid metres
    da = xr.DataArray(np.zeros((ny, nx), "float32"), dims=("y", "x"), coords=coords)
    da = da.rio.write_crs(MOON_SOUTH_POLAR).rio.write_transform(
        Affine(pixel, 0, 0, 0, -pixel, y0))
    k = scale_factor(da)
    from lunatlas.crs import to_lonlat

    _, lat = to_lonlat(MOON_SOUTH_POLAR, coords["x"][10], coords["y"][10])
    assert k[10, 10] == pytest.approx(float(polar_stereographic_scale_factor(lat)), rel=1e-6)
    heights = np.tile(ground_x / k[10, 10] * np.tan(np.radians(10)), (ny, 1))
    slope = slope_deg(da.copy(data=heights.astype("float32"))).to_numpy()
    assert slope[10, 10] == pytest.approx(10.0, abs=0.05)


def test_slope_streams_through_dask_with_identical_results(global_dem):
    import dask.array as da

    from lunatlas.terrain import polar_grid, rms_slope_deg, slope_deg

    grid = polar_grid(global_dem, "south", -80.0, 2000.0)
    lazy = grid.copy(data=da.from_array(grid.to_numpy(), chunks=64))
    eager_slope = slope_deg(grid).to_numpy()
    lazy_slope = slope_deg(lazy)
    assert isinstance(lazy_slope.data, da.Array)
    np.testing.assert_array_equal(lazy_slope.compute().to_numpy(), eager_slope)
    np.testing.assert_allclose(rms_slope_deg(lazy, 5).compute().to_numpy(),
                               rms_slope_deg(grid, 5).to_numpy(), rtol=1e-6)


def test_polar_grid_is_centred_on_the_pole(global_dem):
    from lunatlas.terrain import polar_grid

    grid = polar_grid(global_dem, "south", -85.0, 3000.0)
    assert grid.shape[0] % 2 == 1
    centre = grid.shape[0] // 2
    assert float(grid.x[centre]) == pytest.approx(0.0) and float(grid.y[centre]) == pytest.approx(0)
    assert np.isfinite(grid.to_numpy()).all()  # no antimeridian seam, no hole at the pole
