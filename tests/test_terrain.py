import numpy as np
import pytest
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
