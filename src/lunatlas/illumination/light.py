"""Sunlight and Earth visibility from horizon maps and ephemeris vectors (numba engines).

Pure functions: inputs are arrays (horizons in degrees, per-cell geometry, body vectors in
MOON_ME km), outputs are arrays. A cell is *lit* at an instant by the fraction of the solar
disc above its local horizon (disc radius from the Sun's distance, ≈0.27°); it is *dark*
when no part of the disc shows. The Earth is *visible* when its centre is above the
horizon. Horizons are interpolated linearly between the A azimuths (uniform from 0°).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numba import njit, prange

SUN_RADIUS_KM = 695_700.0
"""IAU 2015 nominal solar radius."""


@njit(cache=True, inline="always")
def _disc_fraction(elevation_deg, horizon_deg, radius_deg):
    """Fraction of a disc of angular radius r whose centre is (el − hor) above a level line."""
    u = (elevation_deg - horizon_deg) / radius_deg
    if u >= 1.0:
        return 1.0
    if u <= -1.0:
        return 0.0
    return (0.5 * math.pi + math.asin(u) + u * math.sqrt(1.0 - u * u)) / math.pi


@njit(cache=True, inline="always")
def _horizon_at(horizons, row, col, grid_azimuth_deg):
    n = horizons.shape[0]
    pos = (grid_azimuth_deg % 360.0) * n / 360.0
    i0 = int(math.floor(pos)) % n
    w = pos - math.floor(pos)
    return (1.0 - w) * horizons[i0, row, col] + w * horizons[(i0 + 1) % n, row, col]


@njit(cache=True, inline="always")
def _up_east_north(vx, vy, vz, px, py, pz, slat, clat, slon, clon):
    """Local (up, east, north) components of v − p and |v − p|."""
    rx, ry, rz = vx - px, vy - py, vz - pz
    dist = math.sqrt(rx * rx + ry * ry + rz * rz)
    up = clat * clon * rx + clat * slon * ry + slat * rz
    east = -slon * rx + clon * ry
    north = -slat * clon * rx - slat * slon * ry + clat * rz
    return up, east, north, dist


@njit(cache=True, inline="always")
def _topocentric(vx, vy, vz, px, py, pz, slat, clat, slon, clon):
    """Elevation (°), true azimuth (°) and distance (km) of body vector v from point p."""
    up, east, north, dist = _up_east_north(vx, vy, vz, px, py, pz, slat, clat, slon, clon)
    return (math.degrees(math.asin(min(1.0, max(-1.0, up / dist)))),
            math.degrees(math.atan2(east, north)), dist)


@dataclass(frozen=True)
class CellGeometry:
    """Per-cell geometry (flattened arrays of equal length, float64)."""

    lat_deg: np.ndarray
    lon_deg: np.ndarray
    position_km: np.ndarray
    """(N, 3) MOON_ME positions of the cells (km)."""
    convergence_deg: np.ndarray
    """Grid azimuth of true north at each cell (° clockwise from grid +y)."""


def cell_geometry(lat_deg, lon_deg, height_m, convergence_deg, radius_m) -> CellGeometry:
    """Assemble :class:`CellGeometry` from per-cell latitude, longitude, height, convergence."""
    lat = np.asarray(lat_deg, float).ravel()
    lon = np.asarray(lon_deg, float).ravel()
    h = np.nan_to_num(np.asarray(height_m, float).ravel())
    r = (radius_m + h) / 1000.0
    la, lo = np.radians(lat), np.radians(lon)
    pos = np.stack([r * np.cos(la) * np.cos(lo), r * np.cos(la) * np.sin(lo), r * np.sin(la)], 1)
    return CellGeometry(lat, lon, pos, np.asarray(convergence_deg, float).ravel())


@njit(cache=True, parallel=True)
def _light_map_kernel(horizons, lat, lon, pos, conv, sun, sun_radius, earth, valid,
                      sun_sum, dark_max, dark_edge, earth_sum, gap_max):
    n_az, ny, nx = horizons.shape
    n_t = sun.shape[0]
    for idx in prange(ny * nx):
        row = idx // nx
        col = idx % nx
        if not valid[idx]:
            sun_sum[idx] = np.nan
            dark_max[idx] = -1
            dark_edge[idx] = 0
            earth_sum[idx] = np.nan
            gap_max[idx] = -1
            continue
        slat = math.sin(math.radians(lat[idx]))
        clat = math.cos(math.radians(lat[idx]))
        slon = math.sin(math.radians(lon[idx]))
        clon = math.cos(math.radians(lon[idx]))
        px, py, pz = pos[idx, 0], pos[idx, 1], pos[idx, 2]
        # Elevations beyond the cell's lowest/highest horizon need no azimuth lookup.
        h_lo = np.inf
        h_hi = -np.inf
        for a in range(n_az):
            h_lo = min(h_lo, horizons[a, row, col])
            h_hi = max(h_hi, horizons[a, row, col])
        total = 0.0
        seen = 0
        dark_run = 0
        dark_best = 0  # runs that start and end inside the period
        edge_best = 0  # runs cut by the start or the end of the period
        from_start = True
        gap_run = 0
        gap_best = 0
        for t in range(n_t):
            up, east, north, dist = _up_east_north(sun[t, 0], sun[t, 1], sun[t, 2], px, py, pz,
                                                   slat, clat, slon, clon)
            el = math.degrees(math.asin(min(1.0, max(-1.0, up / dist))))
            radius = sun_radius[t]
            if el - radius >= h_hi:
                frac = 1.0
            elif el + radius <= h_lo:
                frac = 0.0
            else:
                az = math.degrees(math.atan2(east, north))
                frac = _disc_fraction(el, _horizon_at(horizons, row, col, az + conv[idx]),
                                      radius)
            total += frac
            if frac <= 0.0:
                dark_run += 1
            else:
                if from_start:
                    edge_best = max(edge_best, dark_run)
                else:
                    dark_best = max(dark_best, dark_run)
                dark_run = 0
                from_start = False
            up, east, north, dist = _up_east_north(earth[t, 0], earth[t, 1], earth[t, 2], px,
                                                   py, pz, slat, clat, slon, clon)
            el = math.degrees(math.asin(min(1.0, max(-1.0, up / dist))))
            if el > h_hi or (el > h_lo and el > _horizon_at(
                    horizons, row, col, math.degrees(math.atan2(east, north)) + conv[idx])):
                seen += 1
                gap_run = 0
            else:
                gap_run += 1
                gap_best = max(gap_best, gap_run)
        edge_best = max(edge_best, dark_run)
        sun_sum[idx] = total / n_t
        dark_max[idx] = max(dark_best, edge_best)
        dark_edge[idx] = 1 if edge_best > 0 and edge_best >= dark_best else 0
        earth_sum[idx] = seen / n_t
        gap_max[idx] = gap_best


def sun_angular_radius_deg(sun_km: np.ndarray) -> np.ndarray:
    """Apparent solar radius (°) from the Moon's centre at each instant (≈0.26–0.27°).

    The observer's offset from the centre changes it by < 1e-5 relative: ignored.
    """
    return np.degrees(np.arcsin(SUN_RADIUS_KM / np.linalg.norm(sun_km, axis=1)))


@dataclass
class LightMaps:
    """Per-cell summaries over a period (arrays of the grid's shape)."""

    illumination_fraction: np.ndarray
    """Mean visible fraction of the solar disc (0–1)."""
    longest_darkness_days: np.ndarray
    """Longest run of instants with no part of the Sun above the horizon (days)."""
    earth_visibility_fraction: np.ndarray
    """Fraction of instants with the Earth's centre above the horizon (0–1)."""
    longest_earth_gap_days: np.ndarray
    never_lit: np.ndarray
    """True where no part of the Sun rose above the horizon during the whole period (a
    permanently shadowed region only if the period spans the 18.6-year precession cycle)."""
    darkness_window_limited: np.ndarray
    """True where the longest night touches the start or end of the period: the night
    may be longer than reported (read it as ≥)."""


def light_maps(horizons_deg: np.ndarray, geometry: CellGeometry, sun_km: np.ndarray,
               earth_km: np.ndarray, step_hours: float) -> LightMaps:
    """Illumination and Earth-visibility summaries for every cell of a horizon map."""
    _, ny, nx = horizons_deg.shape
    n = ny * nx
    valid = np.isfinite(horizons_deg).all(axis=0).ravel()
    outs = [np.empty(n), np.empty(n, np.int64), np.empty(n, np.int8), np.empty(n),
            np.empty(n, np.int64)]
    sun = np.ascontiguousarray(sun_km, dtype=float)
    _light_map_kernel(np.ascontiguousarray(horizons_deg), geometry.lat_deg, geometry.lon_deg,
                      geometry.position_km, geometry.convergence_deg, sun,
                      sun_angular_radius_deg(sun), np.ascontiguousarray(earth_km, dtype=float),
                      valid, *outs)
    fraction, dark, dark_edge, earth, gap = outs
    to_days = step_hours / 24.0
    dark_days = np.where(dark >= 0, dark * to_days, np.nan)
    return LightMaps(
        illumination_fraction=fraction.reshape(ny, nx),
        longest_darkness_days=dark_days.reshape(ny, nx),
        earth_visibility_fraction=earth.reshape(ny, nx),
        longest_earth_gap_days=np.where(gap >= 0, gap * to_days, np.nan).reshape(ny, nx),
        never_lit=(fraction == 0.0).reshape(ny, nx),
        darkness_window_limited=(dark_edge == 1).reshape(ny, nx),
    )


@dataclass
class LightSeries:
    """Time series at one point."""

    sun_elevation_deg: np.ndarray
    sun_azimuth_deg: np.ndarray
    sun_horizon_deg: np.ndarray
    sun_fraction: np.ndarray
    earth_elevation_deg: np.ndarray
    earth_azimuth_deg: np.ndarray
    earth_horizon_deg: np.ndarray
    earth_visible: np.ndarray


@njit(cache=True, inline="always")
def _sight(body, t, horizons, row, col, slat, clat, slon, clon, p, conv):
    """Elevation, azimuth (0–360°) and horizon under it for body vector ``body[t]``."""
    el, az, _ = _topocentric(body[t, 0], body[t, 1], body[t, 2], p[0], p[1], p[2],
                             slat, clat, slon, clon)
    return el, az % 360.0, _horizon_at(horizons, row, col, az + conv)


@njit(cache=True)
def _point_kernel(horizons, row, col, slat, clat, slon, clon, p, conv, sun, sun_radius, earth,
                  out):
    for t in range(sun.shape[0]):
        el, az, hor = _sight(sun, t, horizons, row, col, slat, clat, slon, clon, p, conv)
        out[0, t], out[1, t], out[2, t] = el, az, hor
        out[3, t] = _disc_fraction(el, hor, sun_radius[t])
        el, az, hor = _sight(earth, t, horizons, row, col, slat, clat, slon, clon, p, conv)
        out[4, t], out[5, t], out[6, t] = el, az, hor
        out[7, t] = 1.0 if el > hor else 0.0


def light_series(horizons_deg: np.ndarray, row: int, col: int, geometry: CellGeometry,
                 sun_km: np.ndarray, earth_km: np.ndarray) -> LightSeries:
    """Sun and Earth time series at cell (row, col) of a horizon map (same maths as maps).

    ``geometry`` holds the single cell's geometry (arrays of length 1).
    """
    out = np.empty((8, sun_km.shape[0]))
    lat, lon = math.radians(geometry.lat_deg[0]), math.radians(geometry.lon_deg[0])
    _point_kernel(np.ascontiguousarray(horizons_deg), row, col, math.sin(lat), math.cos(lat),
                  math.sin(lon), math.cos(lon), geometry.position_km[0],
                  float(geometry.convergence_deg[0]), np.ascontiguousarray(sun_km, float),
                  sun_angular_radius_deg(np.asarray(sun_km, float)),
                  np.ascontiguousarray(earth_km, float), out)
    return LightSeries(*out[:7], out[7].astype(bool))


def longest_run(mask: np.ndarray, step_hours: float) -> tuple[float, bool]:
    """Longest run of consecutive True values (days), and whether a run cut by the start
    or end of the series is that long (then the true run may be longer: read it as ≥)."""
    values = np.asarray(mask, dtype=bool)
    if not values.any():
        return 0.0, False
    steps = np.diff(np.concatenate([[0], values.astype(np.int8), [0]]))
    starts, ends = np.flatnonzero(steps == 1), np.flatnonzero(steps == -1)
    lengths = ends - starts
    cut = (starts == 0) | (ends == values.size)
    best = int(lengths.max())
    edge = int(lengths[cut].max()) if cut.any() else 0
    interior = int(lengths[~cut].max()) if (~cut).any() else 0
    return best * step_hours / 24.0, bool(edge > 0 and edge >= interior)
