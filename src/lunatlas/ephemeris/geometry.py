"""Topocentric geometry on the Moon (pure functions, MOON_ME frame, spherical body).

Azimuths are degrees clockwise from true north; elevations degrees above the local
horizontal plane (the plane tangent to the 1 737.4 km sphere).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS

from lunatlas.crs import MOON_RADIUS_M, lonlat_to


def surface_point_me(lat_deg: ArrayLike, lon_deg: ArrayLike, height_m: ArrayLike = 0.0,
                     radius_m: float = MOON_RADIUS_M) -> NDArray[np.float64]:
    """Body-fixed position (km, MOON_ME) of points at ``height_m`` above the sphere."""
    lat, lon = np.radians(np.asarray(lat_deg, float)), np.radians(np.asarray(lon_deg, float))
    r = (radius_m + np.asarray(height_m, float)) / 1000.0
    return np.stack([r * np.cos(lat) * np.cos(lon), r * np.cos(lat) * np.sin(lon),
                     r * np.sin(lat)], axis=-1)


def enu_basis(lat_deg: ArrayLike, lon_deg: ArrayLike) -> tuple[NDArray, NDArray, NDArray]:
    """Unit east, north, up vectors (…, 3) in MOON_ME at the given points."""
    lat, lon = np.radians(np.asarray(lat_deg, float)), np.radians(np.asarray(lon_deg, float))
    east = np.stack([-np.sin(lon), np.cos(lon), np.zeros_like(lon)], axis=-1)
    north = np.stack([-np.sin(lat) * np.cos(lon), -np.sin(lat) * np.sin(lon), np.cos(lat)],
                     axis=-1)
    up = np.stack([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)], axis=-1)
    return east, north, up


def azimuth_elevation(target_me_km: ArrayLike, lat_deg: ArrayLike, lon_deg: ArrayLike,
                      height_m: ArrayLike = 0.0) -> tuple[NDArray, NDArray, NDArray]:
    """Azimuth (° from north, clockwise), elevation (°) and distance (km) of a target.

    ``target_me_km`` has shape (T, 3) (Moon-centred MOON_ME positions at T times); the
    points broadcast to shape P; results have shape (T, *P). Parallax from the observer's
    position is included (it matters for the Earth: up to ~0.26°).
    """
    target = np.asarray(target_me_km, float)
    lat, lon = np.broadcast_arrays(np.asarray(lat_deg, float), np.asarray(lon_deg, float))
    observer = surface_point_me(lat, lon, height_m)
    east, north, up = enu_basis(lat, lon)
    shape = (target.shape[0], *lat.shape)
    rel = target.reshape((target.shape[0],) + (1,) * lat.ndim + (3,)) - observer
    dist = np.linalg.norm(rel, axis=-1)
    e, n, u = ((rel * b).sum(axis=-1) for b in (east, north, up))
    az = np.degrees(np.arctan2(e, n)) % 360.0
    el = np.degrees(np.arcsin(np.clip(u / dist, -1.0, 1.0)))
    return az.reshape(shape), el.reshape(shape), dist.reshape(shape)


def sub_point(vectors_me_km: ArrayLike) -> tuple[NDArray, NDArray]:
    """Latitude and east longitude (°, −180..180) where the direction pierces the sphere."""
    v = np.asarray(vectors_me_km, float)
    lat = np.degrees(np.arctan2(v[..., 2], np.hypot(v[..., 0], v[..., 1])))
    lon = np.degrees(np.arctan2(v[..., 1], v[..., 0]))
    return lat, lon


def grid_convergence_deg(crs: CRS, lon_deg: ArrayLike, lat_deg: ArrayLike) -> NDArray:
    """Grid azimuth of true north (° clockwise from the grid's +y axis) in a projected CRS.

    Add it to a true azimuth to get a grid azimuth. Computed numerically from the projection
    (a point 1e-4° further north), so it holds for any PROJ projection.
    """
    lon, lat = np.broadcast_arrays(np.asarray(lon_deg, float), np.asarray(lat_deg, float))
    step = np.where(lat > 89.9999, -1e-4, 1e-4)
    x0, y0 = lonlat_to(crs, lon, lat)
    x1, y1 = lonlat_to(crs, lon, lat + step)
    sign = np.where(step > 0, 1.0, -1.0)
    return np.degrees(np.arctan2(sign * (x1 - x0), sign * (y1 - y0)))
