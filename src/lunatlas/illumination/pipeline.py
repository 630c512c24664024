"""Workflows: DEM + time range → horizons → illumination/Earth-visibility maps or series.

Single-process path: :func:`light_map`. Scale-out path: :func:`light_map_distributed`, which
splits the grid into tiles with a halo of ``max_distance`` and runs them on a
``dask.distributed`` cluster; because the horizon sweep is anchored to global grid indices
and windowed exactly, the result equals the single-process array bit for bit.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Callable
from dataclasses import dataclass, fields

import numpy as np
import xarray as xr
from affine import Affine
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
    longest_run,
)
from lunatlas.illumination.stacked import grid_horizons, near_field_m, point_horizons
from lunatlas.terrain.grids import cell_lonlat
from lunatlas.terrain.stack import TerrainStack, layer_from_array

Progress = Callable[[str], None]

LIGHT_BAND_ROWS = 128
"""Rows of a light map computed together (the per-cell geometry exists for one band)."""
BOOLEAN_MAPS = ("never_lit", "darkness_window_limited")


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


def _tile_light(heights, origin, pixel, az, max_distance, radius, tile_dem, sun, earth,
                step_hours, core, observer_height_m=0.0, stack=None, tile_grid=None,
                near_m=None):
    """Horizons and light summaries of one tile; returns the core's maps.

    Without a stack the tile is ``heights`` with a halo (core slice in ``core``); with a
    stack, ``tile_grid`` = (crs, transform, shape) of the core and the stack fills halo and
    far field. ``tile_dem`` is the core's DEM: its cells' geometry is computed here, on the
    worker."""
    geometry = geometry_of(tile_dem)
    if stack is not None:
        crs, transform, shape = tile_grid
        horizons, _ = grid_horizons(stack, crs, transform, shape, az, max_distance,
                                    observer_height_m, near_m=near_m)
        return light_maps(horizons, geometry, sun, earth, step_hours)
    horizons = horizon_angles(heights, pixel, az, max_distance, radius, origin,
                              observer_height_m)
    r0, r1, c0, c1 = core
    sub = horizons[:, r0:r1, c0:c1]
    return light_maps(np.ascontiguousarray(sub), geometry, sun, earth, step_hours)


def _empty_maps(shape: tuple[int, int]) -> dict[str, np.ndarray]:
    """Arrays for the :class:`LightMaps` of a grid: float32 maps (7 digits; fractions and
    durations need 4) and boolean masks."""
    return {f.name: np.empty(shape, dtype=bool if f.name in BOOLEAN_MAPS else np.float32)
            for f in fields(LightMaps)}


def light_map(dem: xr.DataArray, times: np.ndarray, step_hours: float, n_azimuths: int = 64,
              max_distance_m: float = 100_000.0,
              sun_earth: tuple[np.ndarray, np.ndarray] | None = None,
              observer_height_m: float = 0.0, stack: TerrainStack | None = None,
              progress: Progress | None = None) -> LightMaps:
    """Illumination / Earth-visibility summaries for every cell of ``dem``'s grid.

    Without ``stack`` only the grid's own terrain casts horizons; with one, terrain around
    and beyond the grid comes from the stack (nested DEMs, near and far field).
    """
    pixel = _square_pixel(dem)
    sun, earth = sun_earth if sun_earth is not None else sun_earth_vectors_me(times)
    radius = float(dem.attrs.get("reference_radius_m", MOON_RADIUS_M))
    say = progress or (lambda _m: None)
    if stack is None:
        horizons = horizon_angles(dem.to_numpy(), pixel, azimuths(n_azimuths), max_distance_m,
                                  radius, observer_height_m=observer_height_m)
    else:
        horizons, _ = grid_horizons(stack, CRS.from_user_input(dem.rio.crs),
                                    dem.rio.transform(), dem.shape, azimuths(n_azimuths),
                                    max_distance_m, observer_height_m, progress)
    say(f"horizons: {n_azimuths} azimuths × {dem.shape[0]}×{dem.shape[1]} cells")
    # Band by band: the per-cell geometry (and the kernel's scratch) exists for one band
    # at a time beside the horizons, which dominate the memory; the maps are float32
    # (7 digits: fractions and durations need 4).
    ny, nx = dem.shape
    result = _empty_maps((ny, nx))
    for r0 in range(0, ny, LIGHT_BAND_ROWS):
        rows = slice(r0, min(r0 + LIGHT_BAND_ROWS, ny))
        band = light_maps(horizons[:, rows], geometry_of(dem.isel(y=rows)), sun, earth,
                          step_hours)
        for name, array in result.items():
            array[rows] = getattr(band, name)
        say(f"light maps: rows {rows.stop}/{ny}")
    return LightMaps(**result)


def light_map_distributed(dem: xr.DataArray, times: np.ndarray, step_hours: float,
                          client, n_azimuths: int = 64, max_distance_m: float = 100_000.0,
                          tile_px: int = 256,
                          sun_earth: tuple[np.ndarray, np.ndarray] | None = None,
                          progress: Progress | None = None, observer_height_m: float = 0.0,
                          stack: TerrainStack | None = None) -> LightMaps:
    """Same as :func:`light_map`, tile by tile on a dask cluster (halo = max distance, or
    the stack's near field; the stack's files must be readable by the workers)."""
    from dask.distributed import as_completed

    pixel = _square_pixel(dem)
    sun, earth = sun_earth if sun_earth is not None else sun_earth_vectors_me(times)
    radius = float(dem.attrs.get("reference_radius_m", MOON_RADIUS_M))
    heights = dem.to_numpy().astype(np.float64)
    ny, nx = heights.shape
    halo = 0 if stack is not None else halo_pixels(max_distance_m, pixel)
    az = azimuths(n_azimuths)
    crs = CRS.from_user_input(dem.rio.crs)
    transform = dem.rio.transform()
    sun_f, earth_f = client.scatter([sun, earth], broadcast=True)
    stack_f = client.scatter(stack, broadcast=True) if stack is not None else None
    near = near_field_m((ny, nx), pixel, max_distance_m)  # the whole grid's, for every tile
    corners = [(r, c) for r in range(0, ny, tile_px) for c in range(0, nx, tile_px)]
    places = {}

    def submit(r: int, c: int):
        rr0, rr1 = max(0, r - halo), min(ny, r + tile_px + halo)
        cc0, cc1 = max(0, c - halo), min(nx, c + tile_px + halo)
        core = (r - rr0, min(r + tile_px, ny) - rr0, c - cc0, min(c + tile_px, nx) - cc0)
        rows = slice(r, min(r + tile_px, ny))
        cols = slice(c, min(c + tile_px, nx))
        tile_grid = (crs, transform * Affine.translation(c, r),
                     (rows.stop - rows.start, cols.stop - cols.start))
        block = (client.scatter(np.ascontiguousarray(heights[rr0:rr1, cc0:cc1]))
                 if stack is None else None)  # data, not part of the task graph
        future = client.submit(_tile_light, block, (rr0, cc0), pixel, az, max_distance_m,
                               radius, dem.isel(y=rows, x=cols), sun_f, earth_f, step_hours,
                               core, observer_height_m, stack_f, tile_grid, near, pure=False)
        places[future.key] = (rows, cols)
        return future

    # A bounded number of tiles in flight (twice the workers' threads): their heights are
    # sent when they are submitted, and finished tiles are copied in and released at once,
    # so the workers hold a few tiles, not the whole grid.
    in_flight = max(2, 2 * sum(client.nthreads().values()))
    queue = iter(corners)
    running = as_completed([submit(*corner) for corner in itertools.islice(queue, in_flight)])
    result = _empty_maps((ny, nx))
    for done, future in enumerate(running, 1):
        rows, cols = places.pop(future.key)
        tile = future.result()
        for name, array in result.items():
            array[rows, cols] = getattr(tile, name)
        future.release()
        following = next(queue, None)
        if following is not None:
            running.add(submit(*following))
        if progress:
            progress(f"tile {done}/{len(corners)}")
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
    """Pixel (m) of the finest DEM at the point."""
    max_distance_m: float
    observer_height_m: float = 0.0
    dem_label: str = ""
    ground_height_m: float = float("nan")

    def summary(self) -> dict[str, float | bool | str]:
        """The headline numbers (fractions 0–1, durations in days)."""
        dark, dark_cut = longest_run(self.series.sun_fraction <= 0.0, self.step_hours)
        gap, gap_cut = longest_run(~self.series.earth_visible, self.step_hours)
        return {
            "lat": self.lat_deg, "lon": self.lon_deg,
            "start": str(self.times[0]), "end": str(self.times[-1]),
            "step_hours": self.step_hours, "samples": int(self.times.size),
            "observer_height_m": self.observer_height_m,
            "illumination_fraction": float(self.series.sun_fraction.mean()),
            "earth_visibility_fraction": float(self.series.earth_visible.mean()),
            "longest_darkness_days": dark, "longest_darkness_window_limited": dark_cut,
            "never_lit": bool(self.series.sun_fraction.max() <= 0.0),
            "longest_earth_gap_days": gap, "longest_earth_gap_window_limited": gap_cut,
            "max_sun_elevation_deg": float(self.series.sun_elevation_deg.max()),
            "max_earth_elevation_deg": float(self.series.earth_elevation_deg.max()),
            "dem": self.dem_label, "ground_height_m": round(self.ground_height_m, 1),
            "horizon_pixel_m": self.grid_pixel_m, "horizon_max_distance_m": self.max_distance_m,
        }


def light_point(terrain: xr.DataArray | TerrainStack, lat_deg: float, lon_deg: float,
                start: str, end: str, step_hours: float, n_azimuths: int = 180,
                max_distance_m: float = 150_000.0, observer_height_m: float = 0.0
                ) -> PointLight:
    """Sun/Earth time series at (lat, lon), the horizon traced along rays through the
    stack (or one in-memory DEM) at each DEM's own resolution."""
    if not -90.0 <= lat_deg <= 90.0:
        raise InputError(f"--lat {lat_deg}: outside [-90, 90]")
    times = time_grid(start, end, step_hours)
    stack = terrain if isinstance(terrain, TerrainStack) else TerrainStack(
        [layer_from_array(terrain, str(terrain.attrs.get("source", "DEM")))])
    horizon = point_horizons(stack, lat_deg, lon_deg, azimuths(n_azimuths), max_distance_m,
                             observer_height_m)
    radius = stack.radius_m
    one = cell_geometry([lat_deg], [lon_deg], [horizon.height_m], [0.0], radius)
    sun, earth = sun_earth_vectors_me(times)
    series = light_series(horizon.horizon_deg.reshape(-1, 1, 1).astype(np.float32), 0, 0, one,
                          sun, earth)
    return PointLight(lat_deg, lon_deg, times, series, step_hours, horizon.dem_pixel_m,
                      max_distance_m, observer_height_m, horizon.dem_label, horizon.height_m)
