"""Workflows: DEM + time range → horizons → illumination/Earth-visibility maps or series.

Single-process path: :func:`light_map`. Scale-out path: :func:`light_map_distributed`, which
splits the grid into tiles with a halo of ``max_distance`` and runs them on a
``dask.distributed`` cluster; because the horizon sweep is anchored to global grid indices
and windowed exactly, the result equals the single-process array bit for bit.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import xarray as xr
from pyproj import CRS

from lunatlas.crs import MOON_RADIUS_M, require_lunar
from lunatlas.ephemeris import grid_convergence_deg, sun_earth_vectors_me, time_grid
from lunatlas.errors import InputError
from lunatlas.illumination.horizon import halo_pixels, horizon_angles
from lunatlas.illumination.light import (
    CellGeometry,
    LightMaps,
    LightSeries,
    cell_geometry,
    light_maps,
    light_series,
    longest_run_days,
)
from lunatlas.terrain.grids import cell_lonlat, local_grid
from lunatlas.terrain.relief import nominal_pixel_m

Progress = Callable[[str], None]


def azimuths(n: int) -> np.ndarray:
    """``n`` uniformly spaced azimuths from 0° (degrees)."""
    if n < 4:
        raise InputError(f"need at least 4 azimuths, got {n}")
    return np.arange(n) * (360.0 / n)


def _square_pixel(dem: xr.DataArray) -> float:
    crs = require_lunar(CRS.from_user_input(dem.rio.crs) if dem.rio.crs else None, "DEM")
    if crs.is_geographic:
        raise InputError("horizons need a projected DEM grid (metres); reproject it first, e.g. "
                         "with lunatlas.terrain.polar_grid or local_grid")
    a, e = dem.rio.transform().a, dem.rio.transform().e
    if not math.isclose(abs(a), abs(e), rel_tol=1e-6):
        raise InputError(f"horizons need square pixels, got {abs(a)} × {abs(e)} m")
    return abs(a)


def geometry_of(dem: xr.DataArray) -> CellGeometry:
    """Per-cell latitude, longitude, MOON_ME position and grid convergence of a DEM grid."""
    lon, lat = cell_lonlat(dem)
    crs = CRS.from_user_input(dem.rio.crs)
    conv = np.zeros_like(lon) if crs.is_geographic else grid_convergence_deg(crs, lon, lat)
    radius = float(dem.attrs.get("reference_radius_m", MOON_RADIUS_M))
    return cell_geometry(lat, lon, dem.to_numpy(), conv, radius)


def _tile_light(heights, origin, pixel, az, max_distance, radius, geometry, sun, earth,
                step_hours, core):
    """Horizons and light summaries of one tile (with halo); returns the core's arrays."""
    horizons = horizon_angles(heights, pixel, az, max_distance, radius, origin)
    r0, r1, c0, c1 = core
    sub = horizons[:, r0:r1, c0:c1]
    maps = light_maps(np.ascontiguousarray(sub), geometry, sun, earth, step_hours)
    return maps


def light_map(dem: xr.DataArray, times: np.ndarray, step_hours: float, n_azimuths: int = 64,
              max_distance_m: float = 100_000.0,
              sun_earth: tuple[np.ndarray, np.ndarray] | None = None) -> LightMaps:
    """Illumination / Earth-visibility summaries for every cell (single process)."""
    pixel = _square_pixel(dem)
    sun, earth = sun_earth if sun_earth is not None else sun_earth_vectors_me(times)
    radius = float(dem.attrs.get("reference_radius_m", MOON_RADIUS_M))
    horizons = horizon_angles(dem.to_numpy(), pixel, azimuths(n_azimuths), max_distance_m,
                              radius)
    return light_maps(horizons, geometry_of(dem), sun, earth, step_hours)


def light_map_distributed(dem: xr.DataArray, times: np.ndarray, step_hours: float,
                          client, n_azimuths: int = 64, max_distance_m: float = 100_000.0,
                          tile_px: int = 256,
                          sun_earth: tuple[np.ndarray, np.ndarray] | None = None,
                          progress: Progress | None = None) -> LightMaps:
    """Same as :func:`light_map`, tile by tile (halo = max distance) on a dask cluster."""
    pixel = _square_pixel(dem)
    sun, earth = sun_earth if sun_earth is not None else sun_earth_vectors_me(times)
    radius = float(dem.attrs.get("reference_radius_m", MOON_RADIUS_M))
    heights = dem.to_numpy().astype(np.float64)
    geometry = geometry_of(dem)
    ny, nx = heights.shape
    halo = halo_pixels(max_distance_m, pixel)
    az = azimuths(n_azimuths)
    sun_f, earth_f = client.scatter([sun, earth], broadcast=True)
    futures = []
    for r in range(0, ny, tile_px):
        for c in range(0, nx, tile_px):
            rr0, rr1 = max(0, r - halo), min(ny, r + tile_px + halo)
            cc0, cc1 = max(0, c - halo), min(nx, c + tile_px + halo)
            core = (r - rr0, min(r + tile_px, ny) - rr0, c - cc0, min(c + tile_px, nx) - cc0)
            rows = slice(r, min(r + tile_px, ny))
            cols = slice(c, min(c + tile_px, nx))
            idx = np.ravel_multi_index(np.mgrid[rows, cols].reshape(2, -1), (ny, nx))
            tile_geometry = CellGeometry(geometry.lat_deg[idx], geometry.lon_deg[idx],
                                         geometry.position_km[idx],
                                         geometry.convergence_deg[idx])
            future = client.submit(_tile_light, heights[rr0:rr1, cc0:cc1], (rr0, cc0), pixel,
                                   az, max_distance_m, radius, tile_geometry, sun_f, earth_f,
                                   step_hours, core, pure=False)
            futures.append(((rows, cols), future))
    result = {f.name: np.empty((ny, nx), dtype=float) for f in fields(LightMaps)}
    result["permanently_shadowed"] = np.zeros((ny, nx), dtype=bool)
    for done, ((rows, cols), future) in enumerate(futures, 1):
        tile = future.result()
        for name, array in result.items():
            array[rows, cols] = getattr(tile, name)
        if progress:
            progress(f"tile {done}/{len(futures)}")
    return LightMaps(**result)


@dataclass
class PointLight:
    """Light and Earth visibility at one point over a period."""

    lat_deg: float
    lon_deg: float
    times: np.ndarray
    series: LightSeries
    step_hours: float
    grid_pixel_m: float
    max_distance_m: float

    def summary(self) -> dict[str, float]:
        """The headline numbers (fractions 0–1, durations in days)."""
        return {
            "lat": self.lat_deg, "lon": self.lon_deg,
            "start": str(self.times[0]), "end": str(self.times[-1]),
            "step_hours": self.step_hours, "samples": int(self.times.size),
            "illumination_fraction": float(self.series.sun_fraction.mean()),
            "earth_visibility_fraction": float(self.series.earth_visible.mean()),
            "longest_darkness_days": longest_run_days(self.series.sun_fraction <= 0.0,
                                                      self.step_hours),
            "longest_earth_gap_days": longest_run_days(~self.series.earth_visible,
                                                       self.step_hours),
            "max_sun_elevation_deg": float(self.series.sun_elevation_deg.max()),
            "max_earth_elevation_deg": float(self.series.earth_elevation_deg.max()),
            "horizon_pixel_m": self.grid_pixel_m, "horizon_max_distance_m": self.max_distance_m,
        }


def light_point(dem: xr.DataArray, lat_deg: float, lon_deg: float, start: str, end: str,
                step_hours: float, n_azimuths: int = 180, max_distance_m: float = 150_000.0,
                pixel_m: float | None = None) -> PointLight:
    """Sun/Earth time series at (lat, lon) using horizons from a local grid of ``dem``."""
    if not -90.0 <= lat_deg <= 90.0:
        raise InputError(f"--lat {lat_deg}: outside [-90, 90]")
    times = time_grid(start, end, step_hours)
    if pixel_m is None:
        pixel_m = nominal_pixel_m(dem)
    _check_inside(dem, lat_deg, lon_deg)
    grid = local_grid(dem, lat_deg, lon_deg, max_distance_m + pixel_m, pixel_m)
    centre = grid.shape[0] // 2
    if not np.isfinite(grid.to_numpy()[centre, centre]):
        raise InputError(f"point {lat_deg}, {lon_deg}: the DEM has no height there (nodata)")
    horizons = horizon_angles(grid.to_numpy(), pixel_m, azimuths(n_azimuths), max_distance_m,
                              float(dem.attrs.get("reference_radius_m", MOON_RADIUS_M)))
    geometry = geometry_of(grid)
    cell = centre * grid.shape[1] + centre
    one = CellGeometry(geometry.lat_deg[cell:cell + 1], geometry.lon_deg[cell:cell + 1],
                       geometry.position_km[cell:cell + 1],
                       geometry.convergence_deg[cell:cell + 1])
    sun, earth = sun_earth_vectors_me(times)
    series = light_series(horizons, centre, centre, one, sun, earth)
    return PointLight(lat_deg, lon_deg, times, series, step_hours, pixel_m, max_distance_m)


def _check_inside(dem: xr.DataArray, lat_deg: float, lon_deg: float) -> None:
    from lunatlas.crs import lonlat_to

    crs = CRS.from_user_input(dem.rio.crs)
    if crs.is_geographic:
        x, y = float(((lon_deg + 180) % 360) - 180), lat_deg
    else:
        x, y = (float(v) for v in lonlat_to(crs, lon_deg, lat_deg))
    left, bottom, right, top = dem.rio.bounds()
    if not (left <= x <= right and bottom <= y <= top):
        raise InputError(f"point {lat_deg}, {lon_deg} lies outside the DEM "
                         f"(bounds {left:.0f}, {bottom:.0f}, {right:.0f}, {top:.0f})")
