"""Horizons from a terrain stack (nested DEMs), for grids and for single points.

Grid path (:func:`grid_horizons`). The grid is extended by a halo of the near-field
distance and filled from the stack (finest DEM at each place, finer ones averaged to the
grid's pixel); the exact windowed sweep of :mod:`lunatlas.illumination.horizon` gives the
near field. Terrain farther than that, out to ``max_distance_m``, comes from a coarser grid
of the same CRS, also filled from the stack, through which every cell marches its own rays
(:func:`~lunatlas.illumination.horizon.far_field_horizons`). When the grid with a halo of
the full distance is small (≤ :data:`SINGLE_SWEEP_CELLS`) the sweep covers everything.
Both lattices are anchored to the CRS origin, so a tile computes the same bits as the
whole grid.

Point path (:func:`point_horizons`). Rays leave the point along true azimuths in a local
azimuthal-equidistant frame (exact distances); each DEM of the stack is sampled every one
of its own pixels along the part of the ray that no finer DEM covers, block by block. Memory
grows with azimuths × samples per ray, never with the size of the DEMs.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import xarray as xr
from affine import Affine
from pyproj import CRS

from lunatlas.crs import normalize_longitude, transformer
from lunatlas.errors import InputError
from lunatlas.illumination.horizon import (
    far_field_horizons,
    halo_pixels,
    horizon_angles,
    ray_horizons,
)
from lunatlas.terrain.stack import TerrainStack

SINGLE_SWEEP_CELLS = 2_000_000
"""Largest haloed grid (cells) swept at the full horizon distance in one piece."""
NEAR_FIELD_M = 20_000.0
"""Near-field distance (m) when the grid is too large for one sweep."""
FAR_SAMPLES_IN_NEAR = 16
"""The far grid's pixel is near-field distance / 16 (at least the grid's pixel): at the
near-field edge one far pixel subtends 1/16 rad of azimuth or less."""
AZIMUTH_CHUNK = 8

Progress = Callable[[str], None]


def grid_from_stack(stack: TerrainStack, crs: CRS, transform: Affine,
                    shape: tuple[int, int], heights: np.ndarray | None = None
                    ) -> xr.DataArray:
    """Heights of the stack on a north-up grid, as a georeferenced DataArray (``heights``:
    the ones :func:`grid_horizons` already read for this grid, to avoid reading twice)."""
    heights = (stack.grid(crs, transform, shape) if heights is None else heights
               ).astype("float32")
    ny, nx = shape
    xs = transform.c + transform.a * (np.arange(nx) + 0.5)
    ys = transform.f + transform.e * (np.arange(ny) + 0.5)
    dem = xr.DataArray(heights, dims=("y", "x"), coords={"y": ys, "x": xs}, name="elevation",
                       attrs={"units": "m", "reference_radius_m": stack.radius_m,
                              "source": stack.describe(),
                              "nodata_cells": int(np.isnan(heights).sum())})
    return dem.rio.write_crs(crs).rio.write_transform(transform).rio.write_nodata(np.nan)


def near_field_m(shape: tuple[int, int], pixel_m: float, max_distance_m: float) -> float:
    """Distance swept on the grid itself: all of it when the haloed grid is small enough."""
    halo = halo_pixels(max_distance_m, pixel_m)
    if (shape[0] + 2 * halo) * (shape[1] + 2 * halo) <= SINGLE_SWEEP_CELLS:
        return max_distance_m
    return min(max_distance_m, max(NEAR_FIELD_M, 32 * pixel_m))


def grid_horizons(stack: TerrainStack, crs: CRS, transform: Affine, shape: tuple[int, int],
                  azimuths_deg: np.ndarray, max_distance_m: float,
                  observer_height_m: float = 0.0, progress: Progress | None = None,
                  near_m: float | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Horizons (A, ny, nx; degrees from grid north) and heights (ny, nx) of a grid.

    The grid must be projected, north-up, with square pixels. Tiles of one grid give the
    whole grid's bits when they are offset by whole pixels and share ``near_m`` (default:
    :func:`near_field_m` of the grid itself).
    """
    say = progress or (lambda _m: None)
    pixel = abs(transform.a)
    if crs.is_geographic or not math.isclose(pixel, abs(transform.e), rel_tol=1e-6):
        raise InputError("horizon grids must be projected (metres) with square pixels")
    azimuths = np.asarray(azimuths_deg, dtype=float)
    ny, nx = shape
    near = near_m if near_m is not None else near_field_m(shape, pixel, max_distance_m)
    halo = halo_pixels(near, pixel)
    haloed = transform * Affine.translation(-halo, -halo)
    say(f"terrain: {ny + 2 * halo}×{nx + 2 * halo} cells of {pixel:g} m from the stack")
    heights = stack.grid(crs, haloed, (ny + 2 * halo, nx + 2 * halo))
    core = heights[halo:halo + ny, halo:halo + nx]
    # Sweep anchoring: global pixel indices of the haloed corner. Grids of this package
    # have corners on whole or half pixels; +0.25 then floors both the same way in every tile.
    origin = (math.floor(haloed.f / transform.e + 0.25), math.floor(haloed.c / transform.a + 0.25))
    out = np.empty((azimuths.size, ny, nx), dtype=np.float32)
    for a0 in range(0, azimuths.size, AZIMUTH_CHUNK):
        chunk = azimuths[a0:a0 + AZIMUTH_CHUNK]
        swept = horizon_angles(heights, pixel, chunk, near, stack.radius_m, origin,
                               observer_height_m)
        out[a0:a0 + chunk.size] = swept[:, halo:halo + ny, halo:halo + nx]
        say(f"near-field horizons to {near / 1000:g} km: {a0 + chunk.size}/{azimuths.size}")
    if near < max_distance_m:
        far_pixel = max(pixel, near / FAR_SAMPLES_IN_NEAR)
        reach = max_distance_m + 2 * far_pixel
        x0 = math.floor((transform.c - reach) / far_pixel) * far_pixel
        y1 = math.ceil((transform.f + reach) / far_pixel) * far_pixel
        x1 = transform.c + nx * pixel + reach
        y0 = transform.f - ny * pixel - reach
        far_shape = (int(math.ceil((y1 - y0) / far_pixel)), int(math.ceil((x1 - x0) / far_pixel)))
        far_transform = Affine(far_pixel, 0, x0, 0, -far_pixel, y1)
        say(f"far-field terrain: {far_shape[0]}×{far_shape[1]} cells of {far_pixel:g} m")
        far = stack.grid(crs, far_transform, far_shape)
        far_field_horizons(out, core, (transform.c, transform.f), pixel, far, (x0, y1),
                           far_pixel, azimuths, near, max_distance_m, stack.radius_m,
                           observer_height_m)
        say(f"far-field horizons {near / 1000:g}–{max_distance_m / 1000:g} km")
    out[:, ~np.isfinite(core)] = np.nan
    return out, core


def local_aeqd(lat_deg: float, lon_deg: float, radius_m: float) -> CRS:
    """Azimuthal equidistant CRS centred on a point of the sphere (exact distances from it)."""
    lon = float(normalize_longitude(lon_deg))
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat_deg} +lon_0={lon} +x_0=0 +y_0=0 "
                          f"+R={radius_m} +units=m +no_defs +type=crs")


@dataclass
class PointHorizon:
    """Horizon of one point, from the stack."""

    azimuths_deg: np.ndarray
    """True azimuths (° clockwise from north)."""
    horizon_deg: np.ndarray
    height_m: float
    """Ground height at the point (m above the sphere), before the observer's height."""
    dem_label: str
    dem_pixel_m: float
    samples: int
    """Terrain samples taken along all rays."""


def point_horizons(stack: TerrainStack, lat_deg: float, lon_deg: float,
                   azimuths_deg: np.ndarray, max_distance_m: float,
                   observer_height_m: float = 0.0, azimuth_chunk: int = 16) -> PointHorizon:
    """Horizon at (lat, lon) from the stack; rays sampled at each DEM's own pixel."""
    if not -90.0 <= lat_deg <= 90.0 or not math.isfinite(lon_deg):
        raise InputError(f"point {lat_deg}, {lon_deg}: latitude must lie in [-90, 90]")
    local = local_aeqd(lat_deg, lon_deg, stack.radius_m)
    try:
        ground, layer = stack.point_height(local, 0.0, 0.0)
    except InputError:
        raise InputError(f"point {lat_deg}, {lon_deg} lies outside every DEM "
                         f"({stack.describe()}) or on their nodata") from None
    observer = ground + observer_height_m
    azimuths = np.asarray(azimuths_deg, dtype=float)
    best = np.full(azimuths.size, -np.inf)
    samples = 0
    to_layer = [transformer(local, lay.crs) for lay in stack.layers]
    for a0 in range(0, azimuths.size, azimuth_chunk):
        az = np.radians(azimuths[a0:a0 + azimuth_chunk])[:, None]
        for i, lay in enumerate(stack.layers):
            step = lay.pixel_m * (math.cos(math.radians(lat_deg)) if lay.wraps else 1.0)
            step = max(step, 1.0)
            distances = np.arange(1, int(max_distance_m / step) + 1) * step
            if distances.size == 0:
                continue
            xs = np.sin(az) * distances
            ys = np.cos(az) * distances
            covered = np.zeros(xs.shape, dtype=bool)
            for j in range(i):  # a finer DEM answers there
                fx, fy = to_layer[j].transform(xs, ys)
                covered |= stack.layers[j].footprint_contains(fx, fy)
            heights = np.full(xs.shape, np.nan)
            todo = ~covered
            lx, ly = to_layer[i].transform(xs[todo], ys[todo])
            heights[todo] = lay.sample(np.asarray(lx), np.asarray(ly))
            samples += int(todo.sum())
            best[a0:a0 + az.shape[0]] = np.maximum(
                best[a0:a0 + az.shape[0]],
                ray_horizons(distances, heights, observer, stack.radius_m, empty=-np.inf))
    horizon = np.where(np.isfinite(best), best, 0.0)
    return PointHorizon(azimuths, horizon, ground, layer.label, layer.pixel_m, samples)
