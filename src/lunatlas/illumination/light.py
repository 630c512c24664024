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
def _degrees_0_360(angle_deg):
    """An angle in [0°, 360°) (floor arithmetic: numba's float ``%`` is several times
    slower)."""
    wrapped = angle_deg - 360.0 * math.floor(angle_deg * (1.0 / 360.0))
    return wrapped if wrapped < 360.0 else 0.0


@njit(cache=True, inline="always")
def _horizon_at(horizons, row, col, grid_azimuth_deg):
    """Horizon (°) toward a grid azimuth, linear between the A uniform azimuth nodes."""
    n = horizons.shape[0]
    pos = _degrees_0_360(grid_azimuth_deg) * n / 360.0
    base = math.floor(pos)
    i0 = int(base)
    if i0 >= n:
        i0 = n - 1
    w = pos - base
    i1 = i0 + 1 if i0 + 1 < n else 0
    return (1.0 - w) * horizons[i0, row, col] + w * horizons[i1, row, col]


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


@njit(cache=True)
def _extrema_tables(horizons, row, col, low, high):
    """One cell's horizon nodes laid out three times over (node j − A … 2A, so azimuths
    from −360° to 720° need no wrapping), as sparse tables: ``low[l, j]`` / ``high[l, j]``
    are the min / max of laid-out nodes j … j + 2ˡ − 1 (for O(1) range queries)."""
    n = horizons.shape[0]
    width = low.shape[1]
    for j in range(width):
        value = horizons[(j + 2 * n) % n, row, col]
        low[0, j] = value
        high[0, j] = value
    span = 1
    for level in range(1, low.shape[0]):
        for j in range(width - 2 * span + 1):
            low[level, j] = min(low[level - 1, j], low[level - 1, j + span])
            high[level, j] = max(high[level - 1, j], high[level - 1, j + span])
        span *= 2


@njit(cache=True, inline="always")
def _horizon_extrema(low, high, n, lo_deg, hi_deg):
    """Lowest and highest horizon (°) over grid azimuths [lo, hi] ⊂ [−360°, 720°), with the
    linear interpolation between nodes of :func:`_horizon_at` (up to rounding: callers
    keep a margin), from the tables of :func:`_extrema_tables` for ``n`` nodes."""
    top = low.shape[0] - 1
    if hi_deg - lo_deg >= 360.0 or lo_deg < -360.0 or hi_deg >= 720.0:
        return low[top, n], high[top, n]
    scale = n / 360.0
    lo = lo_deg * scale + n
    hi = hi_deg * scale + n
    i = int(math.floor(lo))
    w = lo - i
    h0 = (1.0 - w) * low[0, i] + w * low[0, i + 1]
    i = int(math.floor(hi))
    w = hi - i
    h1 = (1.0 - w) * low[0, i] + w * low[0, i + 1]
    h_min = min(h0, h1)
    h_max = max(h0, h1)
    first = int(math.floor(lo)) + 1
    count = i - first + 1
    if count > 0:
        level = 0
        while (2 << level) <= count:
            level += 1
        last = first + count - (1 << level)
        h_min = min(h_min, low[level, first], low[level, last])
        h_max = max(h_max, high[level, first], high[level, last])
    return h_min, h_max


SKIP_LEVELS = 13
"""Skips are 2⁰ … 2¹² instants long (one bound check each)."""
SKIP_MAX_ELEVATION_DEG = 45.0
"""Bounds are used only while the body stays within this elevation (and 5° more)."""
_BOUND_EPS_DEG = 1e-6
"""Safety margin (°) on every bound check, far above the rounding of the evaluations."""


@njit(cache=True, inline="always")
def _skip_ok(low, high, n_az, el, grid_az, windows, level, t, slat, clat, inv_cos, pad,
             above):
    """Whether the body surely stays on its side of the horizon over a window of instants.

    ``windows[t, level]`` = (Λ min, Λ max, |Δβ| max, parallax shift) over it, radians
    (see :func:`motion_windows`). Turning about the Moon's axis by Λ is turning about the
    cell's vertical by Λ·sin(lat) (azimuth −Λ·sin(lat), elevation kept) up to a displacement
    ≤ |Λ|·cos(lat); the body's latitude change and the parallax shift add theirs. So the
    elevation stays within el ± reach and the azimuth within the drifted range widened by
    reach/cos(elevation)."""
    turn_lo = windows[t, level, 0]
    turn_hi = windows[t, level, 1]
    reach = math.degrees((clat * max(-turn_lo, turn_hi) + windows[t, level, 2]) * 1.001
                         + windows[t, level, 3])
    if reach > 5.0:
        return False
    spread = reach * inv_cos
    a = -math.degrees(slat * turn_lo)
    b = -math.degrees(slat * turn_hi)
    lo = grid_az + min(0.0, min(a, b)) - spread
    hi = grid_az + max(0.0, max(a, b)) + spread
    h_min, h_max = _horizon_extrema(low, high, n_az, lo, hi)
    if above:
        return el - reach - pad - _BOUND_EPS_DEG >= h_max
    return el + reach + pad + _BOUND_EPS_DEG <= h_min


@njit(cache=True)
def _skip(low, high, n_az, el, grid_az, t, windows, slat, clat, pad, above, hint):
    """How many instants after ``t`` are surely on the same side of the horizon as ``t``
    (``above``: ≥ ``pad`` above the highest horizon the body can reach; else ≥ ``pad``
    below the lowest): 0 or a power of two. The search starts at level ``hint`` (the last
    skip's), going up while the bound holds or down until it does."""
    if abs(el) > SKIP_MAX_ELEVATION_DEG:
        return 0, 0
    x = math.radians(abs(el) + 5.0)
    inv_cos = 1.0 / (1.0 - 0.5 * x * x)  # ≥ 1 / cos x
    n_t = windows.shape[0]
    if t + 1 >= n_t:
        return 0, 0
    top = windows.shape[1] - 1
    while t + (1 << top) >= n_t:
        top -= 1
    level = min(hint, top)
    if _skip_ok(low, high, n_az, el, grid_az, windows, level, t, slat, clat, inv_cos, pad,
                above):
        while level < top and _skip_ok(low, high, n_az, el, grid_az, windows, level + 1, t,
                                       slat, clat, inv_cos, pad, above):
            level += 1
        return 1 << level, level
    while level > 0:
        level -= 1
        if _skip_ok(low, high, n_az, el, grid_az, windows, level, t, slat, clat, inv_cos,
                    pad, above):
            return 1 << level, level
    return 0, 0


@njit(cache=True, inline="always")
def _grid_azimuth(east, north, convergence):
    """Grid azimuth (°) of a direction given by its local east and north components."""
    return math.degrees(math.atan2(east, north)) + convergence


@njit(cache=True, parallel=True)
def _light_map_kernel(horizons, lat, lon, pos, conv, sun, sun_radius, earth, valid, bounded,
                      sun_windows, earth_windows, sun_sum, dark_max, dark_edge, earth_sum,
                      gap_max, evaluations):
    """Per-cell light summaries. Every instant is evaluated unless ``bounded``: then, after
    an instant with the body wholly on one side of the horizon, the instants that bounds on
    its motion (``*_windows``, :func:`motion_windows`) put on that side too are counted
    without evaluating them. Evaluated instants are the same arithmetic either way."""
    n_az, ny, nx = horizons.shape
    n_t = sun.shape[0]
    r_max = 0.0
    for t in range(n_t):
        r_max = max(r_max, sun_radius[t])
    levels = 1  # the top level spans all A nodes
    while (1 << (levels - 1)) < n_az:
        levels += 1
    width = 3 * n_az + 1 if bounded else 1
    for idx in prange(ny * nx):
        row = idx // nx
        col = idx % nx
        if not valid[idx]:
            sun_sum[idx] = np.nan
            dark_max[idx] = -1
            dark_edge[idx] = 0
            earth_sum[idx] = np.nan
            gap_max[idx] = -1
            evaluations[idx] = 0
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
        low = np.empty((levels, width))
        high = np.empty((levels, width))
        if bounded:
            _extrema_tables(horizons, row, col, low, high)
        total = 0.0
        dark_run = 0
        dark_best = 0  # runs that start and end inside the period
        edge_best = 0  # runs cut by the start or the end of the period
        from_start = True
        count = 0
        hint = 0
        t = 0
        while t < n_t:
            up, east, north, dist = _up_east_north(sun[t, 0], sun[t, 1], sun[t, 2], px, py, pz,
                                                   slat, clat, slon, clon)
            el = math.degrees(math.asin(min(1.0, max(-1.0, up / dist))))
            radius = sun_radius[t]
            grid_az = np.nan
            if el - radius >= h_hi:
                frac = 1.0
            elif el + radius <= h_lo:
                frac = 0.0
            else:
                grid_az = _grid_azimuth(east, north, conv[idx])
                frac = _disc_fraction(el, _horizon_at(horizons, row, col, grid_az), radius)
            count += 1
            k = 0
            if bounded and (frac >= 1.0 or frac <= 0.0):
                if math.isnan(grid_az):
                    grid_az = _grid_azimuth(east, north, conv[idx])
                k, hint = _skip(low, high, n_az, el, _degrees_0_360(grid_az), t, sun_windows,
                                slat, clat, r_max, frac >= 1.0, hint)
            total += frac + k * frac
            if frac <= 0.0:
                dark_run += 1 + k
            else:
                if from_start:
                    edge_best = max(edge_best, dark_run)
                else:
                    dark_best = max(dark_best, dark_run)
                dark_run = 0
                from_start = False
            t += 1 + k
        edge_best = max(edge_best, dark_run)
        seen = 0
        gap_run = 0
        gap_best = 0
        hint = 0
        t = 0
        while t < n_t:
            up, east, north, dist = _up_east_north(earth[t, 0], earth[t, 1], earth[t, 2], px,
                                                   py, pz, slat, clat, slon, clon)
            el = math.degrees(math.asin(min(1.0, max(-1.0, up / dist))))
            grid_az = np.nan
            if el > h_hi:
                visible = True
            elif el <= h_lo:
                visible = False
            else:
                grid_az = _grid_azimuth(east, north, conv[idx])
                visible = el > _horizon_at(horizons, row, col, grid_az)
            count += 1
            k = 0
            if bounded:
                if math.isnan(grid_az):
                    grid_az = _grid_azimuth(east, north, conv[idx])
                k, hint = _skip(low, high, n_az, el, _degrees_0_360(grid_az), t,
                                earth_windows, slat, clat, 0.0, visible, hint)
            if visible:
                seen += 1 + k
                gap_run = 0
            else:
                gap_run += 1 + k
                gap_best = max(gap_best, gap_run)
            t += 1 + k
        sun_sum[idx] = total / n_t
        dark_max[idx] = max(dark_best, edge_best)
        dark_edge[idx] = 1 if edge_best > 0 and edge_best >= dark_best else 0
        earth_sum[idx] = seen / n_t
        gap_max[idx] = gap_best
        evaluations[idx] = count


def motion_windows(body_km: np.ndarray, max_cell_radius_km: float,
                   levels: int = SKIP_LEVELS) -> np.ndarray:
    """How far a body moves in the Moon-fixed frame over windows of instants: array
    (T, levels, 4) whose ``[t, l]`` row covers instants t … t + 2ˡ (clipped at the end):
    min and max of λ − λ_t, max |β − β_t| (λ, β: longitude (unwrapped) and latitude of its
    direction from the Moon's centre, radians), and a bound on how much more the direction
    seen from a cell (≤ ``max_cell_radius_km`` from the centre) can move: 2p·(|Λ| + |Δβ| +
    |Δ ln distance|) · 1.01, p = cell radius / (closest distance − cell radius)."""
    body = np.asarray(body_km, float)
    n = len(body)
    distance = np.linalg.norm(body, axis=1)
    longitude = np.unwrap(np.arctan2(body[:, 1], body[:, 0]))
    latitude = np.arcsin(np.clip(body[:, 2] / distance, -1.0, 1.0))
    log_distance = np.log(distance)
    parallax = max_cell_radius_km / (distance.min() - max_cell_radius_km)
    stats = [(longitude.copy(), longitude.copy()), (latitude.copy(), latitude.copy()),
             (log_distance.copy(), log_distance.copy())]
    out = np.empty((n, levels, 4))  # one instant's windows together in memory
    for level in range(levels):
        # [t, t + 1] from single instants; then [t, t + 2ˡ] = [t, t + 2ˡ⁻¹] ∪ [t + 2ˡ⁻¹, …]
        shifted = np.minimum(np.arange(n) + (1 << max(level - 1, 0)), n - 1)
        for low, high in stats:
            np.minimum(low, low[shifted], out=low)
            np.maximum(high, high[shifted], out=high)
        (lon_lo, lon_hi), (lat_lo, lat_hi), (ld_lo, ld_hi) = stats
        turn_lo, turn_hi = lon_lo - longitude, lon_hi - longitude
        lat_dev = np.maximum(latitude - lat_lo, lat_hi - latitude)
        ld_dev = np.maximum(log_distance - ld_lo, ld_hi - log_distance)
        out[:, level, 0] = turn_lo
        out[:, level, 1] = turn_hi
        out[:, level, 2] = lat_dev
        out[:, level, 3] = 2.02 * parallax * (np.maximum(-turn_lo, turn_hi) + lat_dev + ld_dev)
    out[..., 3] += 1e-12
    return out


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
               earth_km: np.ndarray, step_hours: float, method: str = "bounded") -> LightMaps:
    """Illumination and Earth-visibility summaries for every cell of a horizon map.

    ``method="bounded"`` (default) evaluates an instant only where bounds on the bodies'
    motion cannot tell its outcome: after an instant with the Sun wholly above (or below)
    the horizon, the next k instants are counted as the same when the Sun, moving at most
    its per-step elevation and azimuth bounds, stays clear of the highest (lowest) horizon
    over the azimuths it could reach; likewise for the Earth. Evaluated instants use the
    same arithmetic as ``method="direct"`` (every instant), so the outcomes are the same
    instant by instant; the means differ only by summation rounding (~10⁻¹⁵).
    """
    return light_maps_counted(horizons_deg, geometry, sun_km, earth_km, step_hours,
                              method)[0]


def light_maps_counted(horizons_deg: np.ndarray, geometry: CellGeometry, sun_km: np.ndarray,
                       earth_km: np.ndarray, step_hours: float, method: str = "bounded"
                       ) -> tuple[LightMaps, np.ndarray]:
    """:func:`light_maps` and, per cell, how many (body, instant) pairs were evaluated
    (2 × instants for ``method="direct"``)."""
    if method not in ("bounded", "direct"):
        raise ValueError(f"method must be 'bounded' or 'direct', got {method!r}")
    _, ny, nx = horizons_deg.shape
    n = ny * nx
    valid = np.ones(n, dtype=bool)
    for azimuth_map in horizons_deg:  # one azimuth at a time: no (A, ny, nx) temporary
        valid &= np.isfinite(azimuth_map).ravel()
    outs = [np.empty(n), np.empty(n, np.int64), np.empty(n, np.int8), np.empty(n),
            np.empty(n, np.int64)]
    sun = np.ascontiguousarray(sun_km, dtype=float)
    earth = np.ascontiguousarray(earth_km, dtype=float)
    horizons = np.asarray(horizons_deg)  # a strided band of a larger map is fine
    common = (horizons, geometry.lat_deg, geometry.lon_deg, geometry.position_km,
              geometry.convergence_deg, sun, sun_angular_radius_deg(sun), earth, valid)
    bounded = method == "bounded"
    cell_radius = float(np.linalg.norm(geometry.position_km, axis=1).max())
    windows = [motion_windows(body, cell_radius) if bounded else np.empty((0, 1, 4))
               for body in (sun, earth)]
    evaluations = np.empty(n, np.int64)
    _light_map_kernel(*common, bounded, *windows, *outs, evaluations)
    fraction, dark, dark_edge, earth_fraction, gap = outs
    to_days = step_hours / 24.0
    dark_days = np.where(dark >= 0, dark * to_days, np.nan)
    maps = LightMaps(
        illumination_fraction=fraction.reshape(ny, nx),
        longest_darkness_days=dark_days.reshape(ny, nx),
        earth_visibility_fraction=earth_fraction.reshape(ny, nx),
        longest_earth_gap_days=np.where(gap >= 0, gap * to_days, np.nan).reshape(ny, nx),
        never_lit=(fraction == 0.0).reshape(ny, nx),
        darkness_window_limited=(dark_edge == 1).reshape(ny, nx),
    )
    return maps, evaluations.reshape(ny, nx)


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
