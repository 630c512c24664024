"""Slope, aspect and roughness of a DEM, corrected for the projection's scale factor.

Engines on :class:`xarray.DataArray` (heights in metres); dask-backed arrays are processed
chunk by chunk with a one-cell halo (``map_overlap``), so large DEMs stream.
"""

from __future__ import annotations

import dask.array as da
import numpy as np
import xarray as xr
from pyproj import CRS, Proj

from lunatlas.terrain.grids import cell_lonlat
from lunatlas.terrain.relief import pixel_size_m


def scale_factor(dem: xr.DataArray) -> np.ndarray:
    """Point scale factor k of the DEM's projection at each cell (1 for geographic grids)."""
    crs = CRS.from_user_input(dem.rio.crs)
    if crs.is_geographic:
        return np.ones(dem.shape)
    lon, lat = cell_lonlat(dem)
    factors = Proj(crs).get_factors(lon, lat)
    return np.asarray(factors.meridional_scale, dtype=float)


def _gradients(z: np.ndarray, dx: np.ndarray, dy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    dz_drow, dz_dcol = np.gradient(z)
    return dz_dcol / dx, -dz_drow / dy  # east-ish (+x), north-ish (+y) components


def _ground_spacing(dem: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    dx, dy = pixel_size_m(dem)
    k = scale_factor(dem)
    return np.broadcast_to(dx / k, dem.shape), np.broadcast_to(dy / k, dem.shape)


def _apply(func, dem: xr.DataArray, *extra: np.ndarray, depth: int = 1) -> xr.DataArray:
    data = dem.data
    if isinstance(data, da.Array):
        extra_da = [da.from_array(np.ascontiguousarray(e), chunks=data.chunks) for e in extra]
        result = da.map_overlap(func, data, *extra_da, depth=depth, boundary="none",
                                dtype="float32", trim=True)
    else:
        result = func(np.asarray(data), *extra)
    return dem.copy(data=result)


def _slope_block(z, dx, dy):
    gx, gy = _gradients(z.astype("float64"), dx, dy)
    return np.degrees(np.arctan(np.hypot(gx, gy))).astype("float32")


def _aspect_block(z, dx, dy):
    gx, gy = _gradients(z.astype("float64"), dx, dy)
    return (np.degrees(np.arctan2(-gx, -gy)) % 360.0).astype("float32")


def slope_deg(dem: xr.DataArray) -> xr.DataArray:
    """Slope (degrees) over one-pixel baselines (central differences), with ground distances
    = grid distances / scale factor."""
    dx, dy = _ground_spacing(dem)
    out = _apply(_slope_block, dem, dx, dy)
    out.name = "slope"
    out.attrs = {"units": "deg", "baseline_m": float(np.median(dx) * 2)}
    return out


def aspect_deg(dem: xr.DataArray) -> xr.DataArray:
    """Downslope direction, degrees clockwise from the grid's +y axis (grid north)."""
    dx, dy = _ground_spacing(dem)
    out = _apply(_aspect_block, dem, dx, dy)
    out.name = "aspect"
    out.attrs = {"units": "deg", "reference": "grid north, clockwise"}
    return out


def rms_slope_deg(dem: xr.DataArray, window_px: int = 3) -> xr.DataArray:
    """Roughness: RMS of the one-pixel slope (°) in a ``window_px`` × ``window_px`` box."""
    from scipy.ndimage import uniform_filter

    if window_px < 1 or window_px % 2 == 0:
        from lunatlas.errors import InputError

        raise InputError(f"roughness window must be an odd number of pixels ≥ 1, got {window_px}")
    slope = slope_deg(dem)
    half = window_px // 2

    def block(s):
        mean_square = uniform_filter(s.astype("float64") ** 2, size=window_px, mode="nearest")
        return np.sqrt(np.maximum(mean_square, 0.0)).astype("float32")  # filter round-off

    data = slope.data
    if isinstance(data, da.Array):
        result = da.map_overlap(block, data, depth=half, boundary="none", dtype="float32")
    else:
        result = block(np.asarray(data))
    out = slope.copy(data=result)
    out.name = "rms_slope"
    out.attrs = {"units": "deg", "window_px": window_px,
                 "baseline_m": float(slope.attrs["baseline_m"]) * window_px / 2}
    return out
