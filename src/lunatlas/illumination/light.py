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
    """Fraction of a disc of angular radius r whose centre is (el − hor) above a level line:
    (π/2 + asin u + u√(1 − u²))/π for u = (el − hor)/r clamped to [−1, 1] (exactly 0 and 1
    there; no branches: in the light kernels whether a disc is cut is hard to predict)."""
    u = min(1.0, max(-1.0, (elevation_deg - horizon_deg) / radius_deg))
    return (0.5 * math.pi + math.asin(u) + u * math.sqrt(1.0 - u * u)) / math.pi


@njit(cache=True, inline="always")
def _degrees_0_360(angle_deg):
    """An angle in [0°, 360°) (floor arithmetic: numba's float ``%`` is several times
    slower)."""
    wrapped = angle_deg - 360.0 * math.floor(angle_deg * (1.0 / 360.0))
    return wrapped if wrapped < 360.0 else 0.0


@njit(cache=True, inline="always")
def _horizon_at(nodes, q, grid_azimuth_deg):
    """Horizon (°) toward a grid azimuth, linear between the A uniform azimuth nodes
    ``nodes[:, q]`` (the nodes of several cells are columns of one array)."""
    n = nodes.shape[0]
    pos = _degrees_0_360(grid_azimuth_deg) * n / 360.0
    base = math.floor(pos)
    i0 = int(base)
    if i0 >= n:
        i0 = n - 1
    w = pos - base
    i1 = i0 + 1 if i0 + 1 < n else 0
    return (1.0 - w) * nodes[i0, q] + w * nodes[i1, q]


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
def _elevation(up, dist):
    """Elevation (°) of a direction from its local up component and length."""
    return math.degrees(math.asin(min(1.0, max(-1.0, up / dist))))


@njit(cache=True, inline="always")
def _grid_azimuth(east, north, convergence):
    """Grid azimuth (°) of a direction given by its local east and north components."""
    return math.degrees(math.atan2(east, north)) + convergence


@njit(cache=True, inline="always")
def _grid_components(east, north, sin_conv, cos_conv):
    """(grid east, grid north) components of a direction given by its local east and north
    ones: the local axes turned by the convergence."""
    return cos_conv * east + sin_conv * north, cos_conv * north - sin_conv * east


@njit(cache=True, inline="always")
def _topocentric(vx, vy, vz, px, py, pz, slat, clat, slon, clon):
    """Elevation (°), true azimuth (°) and distance (km) of body vector v from point p."""
    up, east, north, dist = _up_east_north(vx, vy, vz, px, py, pz, slat, clat, slon, clon)
    return _elevation(up, dist), math.degrees(math.atan2(east, north)), dist


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
def _extrema_tables(node_low, node_high, low, high):
    """Horizon nodes (lowest and highest over a block of cells) laid out three times over
    (node j − A … 2A, so azimuths from −360° to 720° need no wrapping), as sparse tables:
    ``low[l, j]`` / ``high[l, j]`` are the min / max of laid-out nodes j … j + 2ˡ − 1 (for
    O(1) range queries)."""
    n = node_low.shape[0]
    width = low.shape[1]
    for j in range(width):
        low[0, j] = node_low[j % n]
        high[0, j] = node_high[j % n]
    span = 1
    for level in range(1, low.shape[0]):
        for j in range(width - 2 * span + 1):
            low[level, j] = min(low[level - 1, j], low[level - 1, j + span])
            high[level, j] = max(high[level - 1, j], high[level - 1, j + span])
        span *= 2


@njit(cache=True)
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
    h_min = (1.0 - w) * low[0, i] + w * low[0, i + 1]
    h_max = (1.0 - w) * high[0, i] + w * high[0, i + 1]
    first = i + 1
    i = int(math.floor(hi))
    w = hi - i
    h_min = min(h_min, (1.0 - w) * low[0, i] + w * low[0, i + 1])
    h_max = max(h_max, (1.0 - w) * high[0, i] + w * high[0, i + 1])
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
BLOCK_SPAN_M = 1_200.0
"""The bounded method settles instants for square blocks about this wide, of 8 to 16
cells a side (measured fastest: 16 cells of 74 m, 8 of 1.9 km)."""
_NEAR_EDGE_DEG = 1e-9
"""Where a body's limb (Sun) or centre (Earth) is this close to the horizon, the
azimuth is recomputed exactly rather than from the block's reference cell."""
_NEAR_MAX_ELEVATION_DEG = 60.0
"""Azimuths are taken from the reference cell's only below this elevation and for blocks
whose spread is < 0.5°: then the block cells' azimuths differ by < 1° (0.0175 rad)."""


@njit(cache=True)
def _skip_ok(low, high, n_az, el, grid_az, windows, level, t, slat, clat, inv_cos, pad,
             spread, above):
    """Whether the body surely stays on its side of every block cell's horizon over a
    window of instants, seen from the block's reference cell at elevation ``el`` and grid
    azimuth ``grid_az`` at instant ``t``.

    ``windows[t, level]`` = (Λ min, Λ max, |Δβ| max, parallax shift) over it, radians
    (see :func:`motion_windows`). Turning about the Moon's axis by Λ is turning about the
    cell's vertical by Λ·sin(lat) (azimuth −Λ·sin(lat), elevation kept) up to a displacement
    ≤ |Λ|·cos(lat); the body's latitude change and the parallax shift add theirs, and
    ``spread`` (°) how far any block cell sees the body from where the reference cell sees
    it. So the elevation stays within el ± reach and the azimuth within the drifted range
    widened by reach/cos(elevation)."""
    turn_lo = windows[t, level, 0]
    turn_hi = windows[t, level, 1]
    reach = math.degrees((clat * max(-turn_lo, turn_hi) + windows[t, level, 2]) * 1.001
                         + windows[t, level, 3]) + spread
    if reach > 5.0:
        return False
    widen = reach * inv_cos
    a = -math.degrees(slat * turn_lo)
    b = -math.degrees(slat * turn_hi)
    lo = grid_az + min(0.0, min(a, b)) - widen
    hi = grid_az + max(0.0, max(a, b)) + widen
    h_min, h_max = _horizon_extrema(low, high, n_az, lo, hi)
    if above:
        return el - reach - pad - _BOUND_EPS_DEG >= h_max
    return el + reach + pad + _BOUND_EPS_DEG <= h_min


@njit(cache=True)
def _skip(low, high, n_az, el, grid_az, t, windows, slat, clat, pad, spread, above, hint):
    """How many instants from ``t`` on (``t`` included) are surely on the same side of
    every block cell's horizon (``above``: ≥ ``pad`` above the highest horizon the body
    can reach; else ≥ ``pad`` below the lowest): 0, or 2ˡ + 1 cut at the end of the
    period. The search starts at level ``hint`` (the last skip's), going up while the bound
    holds or down until it does; returns the count and the level."""
    if abs(el) > SKIP_MAX_ELEVATION_DEG:
        return 0, 0
    x = math.radians(abs(el) + 5.0)
    inv_cos = 1.0 / (1.0 - 0.5 * x * x)  # ≥ 1 / cos x
    last = windows.shape[0] - 1
    top = 0  # levels above the first window that reaches the end cover the same instants
    while top < windows.shape[1] - 1 and t + (1 << top) < last:
        top += 1
    level = min(hint, top)
    if _skip_ok(low, high, n_az, el, grid_az, windows, level, t, slat, clat, inv_cos, pad,
                spread, above):
        while level < top and _skip_ok(low, high, n_az, el, grid_az, windows, level + 1, t,
                                       slat, clat, inv_cos, pad, spread, above):
            level += 1
        return min(1 << level, last - t) + 1, level
    while level > 0:
        level -= 1
        if _skip_ok(low, high, n_az, el, grid_az, windows, level, t, slat, clat, inv_cos,
                    pad, spread, above):
            return min(1 << level, last - t) + 1, level
    return 0, 0


# Columns of a block's per-cell geometry (see _block_geometry).
_SLAT, _CLAT, _SLON, _CLON, _PX, _PY, _PZ, _CONV, _SCONV, _CCONV, _H_LO, _H_HI = range(12)


@njit(cache=True)
def _block_geometry(horizons, lat, lon, pos, conv, cells, nx, geo, nodes, node_low,
                    node_high):
    """Fill ``geo`` (m, 12) and ``nodes`` (A, m: their horizons) for the block's cells
    (flat indices ``cells``), and the block's lowest and highest horizon per node; return
    the reference cell (the one nearest the block's centre), the largest rotation
    (radians) between a cell's (grid east, grid north, up) frame and the reference cell's,
    and the largest distance (km) between their positions."""
    m = cells.shape[0]
    n_az = horizons.shape[0]
    node_low[:] = np.inf
    node_high[:] = -np.inf
    frames = np.empty((m, 9))
    for q in range(m):
        idx = cells[q]
        row, col = idx // nx, idx % nx
        slat, clat = math.sin(math.radians(lat[idx])), math.cos(math.radians(lat[idx]))
        slon, clon = math.sin(math.radians(lon[idx])), math.cos(math.radians(lon[idx]))
        geo[q, _SLAT], geo[q, _CLAT], geo[q, _SLON], geo[q, _CLON] = slat, clat, slon, clon
        geo[q, _PX], geo[q, _PY], geo[q, _PZ] = pos[idx, 0], pos[idx, 1], pos[idx, 2]
        geo[q, _CONV] = conv[idx]
        h_lo, h_hi = np.inf, -np.inf
        for a in range(n_az):
            h = horizons[a, row, col]
            nodes[a, q] = h
            h_lo, h_hi = min(h_lo, h), max(h_hi, h)
            node_low[a] = min(node_low[a], h)
            node_high[a] = max(node_high[a], h)
        geo[q, _H_LO], geo[q, _H_HI] = h_lo, h_hi
        sc, cc = math.sin(math.radians(conv[idx])), math.cos(math.radians(conv[idx]))
        geo[q, _SCONV], geo[q, _CCONV] = sc, cc
        east = (-slon, clon, 0.0)
        north = (-slat * clon, -slat * slon, clat)
        for k in range(3):
            frames[q, k], frames[q, 3 + k] = _grid_components(east[k], north[k], sc, cc)
        frames[q, 6], frames[q, 7], frames[q, 8] = clat * clon, clat * slon, slat
    centre = np.zeros(3)
    for q in range(m):
        for k in range(3):
            centre[k] += geo[q, _PX + k] / m
    ref = 0
    nearest = np.inf
    for q in range(m):
        d = 0.0
        for k in range(3):
            d += (geo[q, _PX + k] - centre[k]) ** 2
        if d < nearest:
            ref, nearest = q, d
    rotation = 0.0
    offset = 0.0
    for q in range(m):
        # A rotation by θ moves the frame's axes by ‖F − F_ref‖ = 2√2·sin(θ/2) (Frobenius).
        diff = 0.0
        for k in range(9):
            diff += (frames[q, k] - frames[ref, k]) ** 2
        rotation = max(rotation, 2.0 * math.asin(min(1.0, math.sqrt(diff / 8.0))))
        shift = 0.0
        for k in range(3):
            shift += (geo[q, _PX + k] - geo[ref, _PX + k]) ** 2
        offset = max(offset, math.sqrt(shift))
    return ref, rotation, offset


@njit(cache=True)
def _reference_sight(body, t, geo, ref):
    """Elevation (°), grid azimuth (0–360°) and the direction's (grid east, grid north)
    components of ``body[t]`` from the block's reference cell."""
    up, east, north, dist = _up_east_north(
        body[t, 0], body[t, 1], body[t, 2], geo[ref, _PX], geo[ref, _PY], geo[ref, _PZ],
        geo[ref, _SLAT], geo[ref, _CLAT], geo[ref, _SLON], geo[ref, _CLON])
    grid_east, grid_north = _grid_components(east, north, geo[ref, _SCONV], geo[ref, _CCONV])
    return (_elevation(up, dist), _degrees_0_360(_grid_azimuth(east, north, geo[ref, _CONV])),
            grid_east, grid_north)


@njit(cache=True)
def _settle(nodes, el, grid_az, spread, clear, outcome, count, unsettled):
    """Which block cells surely see a body ≥ ``clear`` (°) above (``outcome[q]`` = 1) or
    below (0) their horizon, given where the reference cell sees it (``el``, ``grid_az``,
    °) and the block's ``spread`` (°): ``count[q]`` = 1 for those, 0 for the others, which
    are listed first in ``unsettled``; returns how many there are."""
    n, m = nodes.shape
    x = math.radians(abs(el) + spread)
    widen = spread / math.cos(x) if x < 1.4 else 360.0
    lo = (grid_az - widen) * n / 360.0
    hi = (grid_az + widen) * n / 360.0
    i = int(math.floor(lo))
    j = int(math.floor(hi))
    if j - i > 1:  # more than one node between: not worth it (a wide spread)
        for q in range(m):
            count[q] = 0
            unsettled[q] = q
        return m
    w_lo = lo - i
    w_hi = hi - j
    i0 = i % n
    i1 = (i0 + 1) % n
    j0 = j % n
    j1 = (j0 + 1) % n
    top = el - spread - clear - _BOUND_EPS_DEG
    bottom = el + spread + clear + _BOUND_EPS_DEG
    n_open = 0
    for q in range(m):
        # The cell's horizon over the span, with _horizon_at's interpolation.
        a = (1.0 - w_lo) * nodes[i0, q] + w_lo * nodes[i1, q]
        b = (1.0 - w_hi) * nodes[j0, q] + w_hi * nodes[j1, q]
        h_min = min(a, b)
        h_max = max(a, b)
        if j > i:
            h_min = min(h_min, nodes[j0, q])
            h_max = max(h_max, nodes[j0, q])
        above = top >= h_max
        settled = above or bottom <= h_min
        outcome[q] = 1 if above else 0
        count[q] = 1 if settled else 0
        unsettled[n_open] = q
        n_open += 0 if settled else 1
    return n_open


@njit(cache=True)
def _block_instant(body, t, geo, ref, nodes, low, high, windows, pad, clear, spread, hint,
                   outcome, count, unsettled):
    """Instant ``t`` of the bounded method for a block. When bounds put the body ≥ ``pad``
    (°) on one side of every block cell's horizon for k instants from ``t`` on, every cell
    gets ``outcome`` = that side (1 above, 0 below) and ``count`` = k; else the cells that
    are surely ≥ ``clear`` (°) from their horizon get theirs with count 1
    (:func:`_settle`) and the others are listed in ``unsettled``. Returns the instants
    covered (k or 1), how many cells are unsettled, where the reference cell sees the body
    (elevation, grid azimuth, grid east and north components) and the next search level
    (see :func:`_skip`)."""
    n_az, m = nodes.shape
    el, grid_az, grid_east, grid_north = _reference_sight(body, t, geo, ref)
    h_min, h_max = _horizon_extrema(low, high, n_az, grid_az, grid_az)
    above = el - h_max >= h_min - el
    if max(el - pad - h_max, h_min - el - pad) > spread:
        k, hint = _skip(low, high, n_az, el, grid_az, t, windows, geo[ref, _SLAT],
                        geo[ref, _CLAT], pad, spread, above, hint)
        if k > 0:
            for q in range(m):
                outcome[q] = 1 if above else 0
                count[q] = k
            return k, 0, el, grid_az, grid_east, grid_north, hint
    n_open = _settle(nodes, el, grid_az, spread, clear, outcome, count, unsettled)
    return 1, n_open, el, grid_az, grid_east, grid_north, 0


@njit(cache=True, inline="always")
def _near_horizon(bx, by, bz, geo, q, nodes, grid_az, grid_east, grid_north):
    """Elevation (°) of body vector (bx, by, bz) from block cell ``q`` and the cell's
    horizon (°) under it, the azimuth from the angle between the cell's (grid east, grid
    north) direction and the reference cell's (``grid_az``, ``grid_east``, ``grid_north``).
    Used where that angle is < 0.0175 rad (see ``_NEAR_MAX_ELEVATION_DEG``): there
    atan x = x − x³/3 + x⁵/5 to < 10⁻¹³ rad."""
    up, east, north, dist = _up_east_north(
        bx, by, bz, geo[q, _PX], geo[q, _PY], geo[q, _PZ], geo[q, _SLAT], geo[q, _CLAT],
        geo[q, _SLON], geo[q, _CLON])
    e, n = _grid_components(east, north, geo[q, _SCONV], geo[q, _CCONV])
    x = (e * grid_north - n * grid_east) / (e * grid_east + n * grid_north)
    x2 = x * x
    az = grid_az + math.degrees(x * (1.0 - x2 * (1.0 / 3.0 - 0.2 * x2)))
    return _elevation(up, dist), _horizon_at(nodes, q, az)


@njit(cache=True, inline="always")
def _outcome(el, horizon, radius, disc):
    """The Sun's visible disc fraction (``disc``) or whether the Earth's centre is above
    the horizon (1.0 or 0.0), from elevation and horizon (°)."""
    return _disc_fraction(el, horizon, radius) if disc else (1.0 if el > horizon else 0.0)


@njit(cache=True)
def _body_pass(nodes, geo, ref, body, disc, radius, pad, bounded, windows, low, high, spread,
               total, dark_best, edge_best, evaluations):
    """One body's outcomes for a block's cells over every instant: the Sun's visible disc
    fraction (``disc``: a disc of ``radius[t]`` °) or whether the Earth's centre is above
    the horizon (1 or 0). Their sums go to ``total``, the longest runs of 0 (no Sun; no
    Earth) to ``dark_best`` (inside the period) and ``edge_best`` (cut by its start or end).

    Bounded: where the block's reference cell cannot settle a window of instants (bounds
    with ``pad`` °, the Sun's largest radius), each cell is still settled without
    evaluating it when, with the body anywhere the block's spread allows, it is wholly
    above or below that cell's horizon; the others take their azimuth from the reference
    cell's (:func:`_near_horizon`) unless the limb (centre) is at their horizon. Each
    instant's outcomes go to ``outcome``/``count`` (count 0: none) and are tallied in one
    branch-free loop (which cells' discs are cut is hard to predict), without calls that
    would take the arrays' references."""
    m = nodes.shape[1]
    n_t = body.shape[0]
    dark_run = np.zeros(m, np.int64)
    from_start = np.ones(m, np.int64)
    outcome = np.zeros(m)
    count = np.zeros(m, np.int64)
    unsettled = np.arange(m)
    n_open = m
    hint = 0
    t = 0
    el_ref = grid_az = grid_east = grid_north = 0.0
    while t < n_t:
        r = radius[t]
        bx, by, bz = body[t, 0], body[t, 1], body[t, 2]
        steps = 1
        if bounded:
            steps, n_open, el_ref, grid_az, grid_east, grid_north, hint = _block_instant(
                body, t, geo, ref, nodes, low, high, windows, pad, r, spread, hint,
                outcome, count, unsettled)
            evaluations[0] += 1
        near = bounded and spread < 0.5 and abs(el_ref) + spread < _NEAR_MAX_ELEVATION_DEG
        for i in range(n_open):
            q = unsettled[i]
            evaluations[q] += 1
            count[q] = 1
            if near:
                el, horizon = _near_horizon(bx, by, bz, geo, q, nodes, grid_az, grid_east,
                                            grid_north)
                if abs(abs(el - horizon) - r) > _NEAR_EDGE_DEG:
                    outcome[q] = _outcome(el, horizon, r, disc)
                    continue
            up, east, north, dist = _up_east_north(
                bx, by, bz, geo[q, _PX], geo[q, _PY], geo[q, _PZ], geo[q, _SLAT],
                geo[q, _CLAT], geo[q, _SLON], geo[q, _CLON])
            el = _elevation(up, dist)
            # Beyond the cell's lowest or highest horizon no azimuth is needed (a centre
            # exactly at the horizon is not above it).
            if el - r >= geo[q, _H_HI] and (disc or el > geo[q, _H_HI]):
                outcome[q] = 1.0
            elif el + r <= geo[q, _H_LO]:
                outcome[q] = 0.0
            else:
                horizon = _horizon_at(nodes, q, _grid_azimuth(east, north, geo[q, _CONV]))
                outcome[q] = _outcome(el, horizon, r, disc)
        for q in range(m):  # tally; count 0 leaves the cell as it was
            lit = 1 if outcome[q] > 0.0 else 0
            run = dark_run[q]
            first = from_start[q]
            total[q] += outcome[q] * count[q]
            dark_run[q] = (run + count[q]) * (1 - lit)
            edge_best[q] = max(edge_best[q], run * lit * first)
            dark_best[q] = max(dark_best[q], run * lit * (1 - first))
            from_start[q] = first * (1 - lit)
        t += steps
    for q in range(m):
        edge_best[q] = max(edge_best[q], dark_run[q])


@njit(cache=True, parallel=True)
def _light_map_kernel(horizons, lat, lon, pos, conv, sun, sun_radius, earth, valid, bounded,
                      block, sun_windows, earth_windows, sun_distance_min, earth_distance_min,
                      sun_sum, dark_max, dark_edge, earth_sum, gap_max, evaluations):
    """Per-cell light summaries, for square blocks of ``block`` cells on a side (see
    :func:`_block_light`)."""
    _, ny, nx = horizons.shape
    r_max = 0.0
    for t in range(sun.shape[0]):
        r_max = max(r_max, sun_radius[t])
    point = np.zeros(earth.shape[0])  # the Earth's centre: a disc of radius 0
    n_bx = (nx + block - 1) // block
    for b in prange(((ny + block - 1) // block) * n_bx):
        _block_light(horizons, lat, lon, pos, conv, sun, sun_radius, r_max, earth, point,
                     valid, bounded, (b // n_bx) * block, (b % n_bx) * block, block,
                     sun_windows, earth_windows, sun_distance_min, earth_distance_min,
                     sun_sum, dark_max, dark_edge, earth_sum, gap_max, evaluations)


@njit(cache=True, inline="always")
def _spread_deg(rotation, offset, distance_min):
    """How far apart (°) two block cells can see a body at ≥ ``distance_min`` km: their
    frames' ``rotation`` (radians) plus the parallax of their ``offset`` (km)."""
    return math.degrees((rotation + offset / (distance_min - offset)) * 1.01) + 1e-9


@njit(cache=True)
def _block_light(horizons, lat, lon, pos, conv, sun, sun_radius, r_max, earth, point, valid,
                 bounded, r0, c0, size, sun_windows, earth_windows, sun_distance_min,
                 earth_distance_min, sun_sum, dark_max, dark_edge, earth_sum, gap_max,
                 evaluations):
    """Light summaries of the cells of one block (rows r0 …, cols c0 …, ``size`` a side).

    Every instant is evaluated at every cell unless ``bounded``. Then, at each instant, the
    block's reference cell sees where the body is; when bounds on its motion (``*_windows``,
    :func:`motion_windows`) and on how differently the block's cells see it (their frames'
    rotation and their parallax) put it on one side of every cell's horizon for a window of
    instants, those are counted for every cell without evaluating them; otherwise each cell
    is settled on its own as far as the same bounds allow (:func:`_settle`) and the rest
    are evaluated. So the outcomes equal the direct method's instant by instant; the means
    differ only by rounding (≲ 10⁻¹⁵). The reference cell's evaluations are counted at the
    block's first valid cell."""
    n_az, ny, nx = horizons.shape
    n_t = sun.shape[0]
    cells = np.empty(size * size, np.int64)
    m = 0
    for i in range(min(size, ny - r0)):
        for j in range(min(size, nx - c0)):
            idx = (r0 + i) * nx + c0 + j
            if valid[idx]:
                cells[m] = idx
                m += 1
            else:
                sun_sum[idx] = np.nan
                dark_max[idx] = -1
                dark_edge[idx] = 0
                earth_sum[idx] = np.nan
                gap_max[idx] = -1
                evaluations[idx] = 0
    if m == 0:
        return
    cells = cells[:m]
    geo = np.empty((m, 12))
    nodes = np.empty((n_az, m))
    node_low = np.empty(n_az)
    node_high = np.empty(n_az)
    ref, rotation, offset = _block_geometry(horizons, lat, lon, pos, conv, cells, nx, geo,
                                            nodes, node_low, node_high)
    levels = 1  # the top level spans all A nodes
    while (1 << (levels - 1)) < n_az:
        levels += 1
    width = 3 * n_az + 1 if bounded else 1
    low = np.empty((levels, width))
    high = np.empty((levels, width))
    if bounded:
        _extrema_tables(node_low, node_high, low, high)
    counted = np.zeros(m, np.int64)
    total = np.zeros(m)
    dark_best = np.zeros(m, np.int64)
    edge_best = np.zeros(m, np.int64)
    _body_pass(nodes, geo, ref, sun, True, sun_radius, r_max, bounded, sun_windows, low,
               high, _spread_deg(rotation, offset, sun_distance_min), total, dark_best,
               edge_best, counted)
    seen = np.zeros(m)
    gap_inside = np.zeros(m, np.int64)
    gap_edge = np.zeros(m, np.int64)
    _body_pass(nodes, geo, ref, earth, False, point, 0.0, bounded, earth_windows, low, high,
               _spread_deg(rotation, offset, earth_distance_min), seen, gap_inside, gap_edge,
               counted)
    for q in range(m):
        idx = cells[q]
        sun_sum[idx] = total[q] / n_t
        dark_max[idx] = max(dark_best[q], edge_best[q])
        dark_edge[idx] = 1 if edge_best[q] > 0 and edge_best[q] >= dark_best[q] else 0
        earth_sum[idx] = seen[q] / n_t
        gap_max[idx] = max(gap_inside[q], gap_edge[q])
        evaluations[idx] = counted[q]


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
    motion cannot tell its outcome. Cells go in square blocks (``BLOCK_SPAN_M``) whose
    cell nearest the centre is the reference: at an instant with the Sun wholly above (or
    below) every block cell's horizon, the next k instants are counted as the same for the
    whole block when the Sun, moving at most its per-step elevation and azimuth bounds and
    seen from any block cell (their frames and positions differ by a known angle), stays
    clear of the highest (lowest) horizon over the azimuths it could reach; likewise for
    the Earth. At other instants each cell is settled on its own when the same spread
    allows, else evaluated (its azimuth from the reference cell's, to < 10⁻¹³ rad). So the
    outcomes equal ``method="direct"`` (every instant at every cell) instant by instant;
    the means differ only by rounding (~10⁻¹⁵).
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
    distances = [float(np.linalg.norm(body, axis=1).min()) for body in (sun, earth)]
    block = 8
    if nx > 1:
        spacing_m = 1000.0 * float(np.linalg.norm(geometry.position_km[1]
                                                  - geometry.position_km[0]))
        block = min(16, max(8, int(BLOCK_SPAN_M / max(spacing_m, 1e-3))))
    evaluations = np.empty(n, np.int64)
    _light_map_kernel(*common, bounded, block, *windows, *distances, *outs, evaluations)
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
def _sight(body, t, nodes, slat, clat, slon, clon, p, conv):
    """Elevation, azimuth (0–360°) and horizon under it for body vector ``body[t]``."""
    el, az, _ = _topocentric(body[t, 0], body[t, 1], body[t, 2], p[0], p[1], p[2],
                             slat, clat, slon, clon)
    return el, az % 360.0, _horizon_at(nodes, 0, az + conv)


@njit(cache=True)
def _point_kernel(nodes, slat, clat, slon, clon, p, conv, sun, sun_radius, earth, out):
    for t in range(sun.shape[0]):
        el, az, hor = _sight(sun, t, nodes, slat, clat, slon, clon, p, conv)
        out[0, t], out[1, t], out[2, t] = el, az, hor
        out[3, t] = _disc_fraction(el, hor, sun_radius[t])
        el, az, hor = _sight(earth, t, nodes, slat, clat, slon, clon, p, conv)
        out[4, t], out[5, t], out[6, t] = el, az, hor
        out[7, t] = 1.0 if el > hor else 0.0


def light_series(horizons_deg: np.ndarray, row: int, col: int, geometry: CellGeometry,
                 sun_km: np.ndarray, earth_km: np.ndarray) -> LightSeries:
    """Sun and Earth time series at cell (row, col) of a horizon map (same maths as maps).

    ``geometry`` holds the single cell's geometry (arrays of length 1).
    """
    out = np.empty((8, sun_km.shape[0]))
    lat, lon = math.radians(geometry.lat_deg[0]), math.radians(geometry.lon_deg[0])
    nodes = np.asarray(horizons_deg, dtype=float)[:, row, col].reshape(-1, 1)
    _point_kernel(nodes, math.sin(lat), math.cos(lat),
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
