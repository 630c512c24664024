"""Horizon elevation maps: a windowed upper-convex-hull sweep (numba), and a brute-force
ray march used to check it.

Geometry. For each azimuth the grid is covered by parallel sample lines (one sample per
column for east–west-ish azimuths, per row otherwise; heights interpolated linearly across
the minor axis). Along a line at arc length s the Moon's curvature is the parabolic drop
s²/2R, so with g(s) = h(s) − s²/2R the elevation angle of a point at s seen from an
observer at s₀ (> s) is tan ε = (g(s) − g(s₀))/(s₀ − s) − s₀/R: the horizon is the steepest
chord in (s, g), found on the upper convex hull of the profile. Only terrain within
``max_distance_m`` counts; the hull is windowed exactly (hull chunks of one window length,
with an undo log for the trailing chunk), so a tile with a halo ≥ the window gives the same
bits as the whole grid. Lines and chunks are anchored to global grid indices for the same
reason.

Conventions: azimuths are degrees clockwise from the grid's +y axis ("grid north"), the grid
is north-up (row 0 at the top), pixels are square, distances are grid metres (for polar
stereographic grids the scale error is < 1.7 % north to 75°). A direction in which the DEM
holds no terrain within reach (at its edge) gets horizon 0°; NaN heights are skipped as
terrain and give NaN horizons at their own cells.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit, prange

from lunatlas.crs import MOON_RADIUS_M


@njit(cache=True, inline="always")
def _slope(s_obs: float, g_obs: float, s: float, g: float) -> float:
    return (g - g_obs) / (s_obs - s)


@njit(cache=True, inline="always")
def _rises(cS, cG, n, reverse, s_obs, g_obs, i):
    """Whether the chord to a chain's point i + 1 is steeper than to point i, counting from
    the left (the chain's arc lengths ``cS`` and heights ``cG``, stored left to right, or
    right to left with ``reverse``). Compared by cross-multiplication: the chords' runs
    s_obs − S are positive."""
    a = n - 1 - i if reverse else i
    b = n - 2 - i if reverse else i + 1
    return (cG[a] - g_obs) * (s_obs - cS[b]) < (cG[b] - g_obs) * (s_obs - cS[a])


@njit(cache=True, inline="always")
def _peak(cS, cG, n, reverse, s_obs, g_obs, lo, hi):
    """Position (from the left, within [lo, hi]) of the steepest chord from an observer
    right of an upper convex chain: the slopes rise, then fall; binary search."""
    while lo < hi:
        mid = (lo + hi) // 2
        if _rises(cS, cG, n, reverse, s_obs, g_obs, mid):
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, inline="always")
def _peak_near(cS, cG, n, s_obs, g_obs, guess):
    """``_peak`` on a left-to-right chain, trying ``guess`` and then its neighbour first: a
    neighbouring observer's peak is usually this one's (≈ 80 %) or next to it, and then two
    or three comparisons with predictable branches replace the search."""
    p = min(guess, n - 1)
    if p > 0 and not _rises(cS, cG, n, False, s_obs, g_obs, p - 1):  # peak left of p
        p -= 1
        if p == 0 or _rises(cS, cG, n, False, s_obs, g_obs, p - 1):
            return p
        return _peak(cS, cG, n, False, s_obs, g_obs, 0, p - 1)
    if p < n - 1 and _rises(cS, cG, n, False, s_obs, g_obs, p):  # right of p
        p += 1
        if p == n - 1 or not _rises(cS, cG, n, False, s_obs, g_obs, p):
            return p
        return _peak(cS, cG, n, False, s_obs, g_obs, p + 1, n - 1)
    return p


@njit(cache=True)
def _window_max_slope(S, G, OG, K, window, lag, res):
    """For each sample i: max over j in [i − window, i − lag] of the chord slope
    (G_j − OG_i)/(S_i − S_j); −inf where that range holds no finite sample.

    ``K`` are the global sample indices (consecutive integers) that anchor hull chunks. The
    sweep runs over v = i − lag + 1 with a window of ``window − lag + 1`` samples, so the
    same hull machinery serves any lag (lag = 1: every earlier sample in reach).

    The window is the tail of the trailing chunk plus the head of the current one. The
    head's hull is searched first, from the previous observer's peak (reset with each
    chunk, which a tile with its halo shares with the whole grid). The tail's hull is built
    (right to left, with an undo log to drop points as the window moves) and searched only
    when the tail's highest point, at the smallest (or, below the observer, largest) run,
    could beat that; rounding is monotonic, so the bound holds for the computed slopes too
    and skipping never changes the result. The hulls hold their points' (S, G), not their
    indices: one dependent load fewer per comparison.
    """
    n = S.shape[0]
    for q in range(min(lag - 1, n)):
        res[q] = -np.inf
    span = window - lag + 1
    if span < 1:
        for q in range(n):
            res[q] = -np.inf
        return
    pre_S = np.empty(n)
    pre_G = np.empty(n)
    suf_S = np.empty(n)
    suf_G = np.empty(n)
    popped_S = np.empty(n)
    popped_G = np.empty(n)
    inserted = np.empty(n, np.int64)
    pop_count = np.empty(n, np.int64)
    tail_top = np.empty(n)
    i = 0
    while i < n:
        # K holds consecutive integers: chunk bounds are arithmetic (no division per sample).
        chunk = K[i] // span
        b = i
        e = min(n, i + (chunk + 1) * span - K[i])
        pa = max(0, b - (K[b] - (chunk - 1) * span))
        highest = -np.inf
        for q in range(b - 1, pa - 1, -1):  # highest G from q to the trailing chunk's end
            if G[q] > highest:
                highest = G[q]
            tail_top[q] = highest
        built = False
        nsuf = 0
        npop = 0
        nins = 0
        npre = 0
        guess = 0
        for k in range(b, e):
            start = k - span
            while built and nins > 0 and inserted[nins - 1] < start:
                nins -= 1  # undo: drop points out of reach
                nsuf -= 1
                for _ in range(pop_count[nins]):
                    npop -= 1
                    suf_S[nsuf] = popped_S[npop]
                    suf_G[nsuf] = popped_G[npop]
                    nsuf += 1
            obs = k + lag - 1
            if obs < n:
                s_obs = S[obs]
                g_obs = OG[obs]
                best = -np.inf
                if npre > 0:
                    guess = _peak_near(pre_S, pre_G, npre, s_obs, g_obs, guess)
                    best = _slope(s_obs, g_obs, pre_S[guess], pre_G[guess])
                first = max(start, pa)
                if first < b:
                    rise = tail_top[first] - g_obs
                    bound = rise / (s_obs - (S[b - 1] if rise >= 0 else S[first]))
                    if bound > best:
                        if not built:  # the tail's hull, from the chunk's end to ``first``
                            for q in range(b - 1, first - 1, -1):
                                gq = G[q]
                                if not math.isfinite(gq):
                                    continue
                                sq = S[q]
                                count = 0
                                while nsuf >= 2:
                                    if ((suf_G[nsuf - 1] - gq) * (suf_S[nsuf - 2] - sq)
                                            <= (suf_G[nsuf - 2] - gq) * (suf_S[nsuf - 1] - sq)):
                                        popped_S[npop] = suf_S[nsuf - 1]
                                        popped_G[npop] = suf_G[nsuf - 1]
                                        npop += 1
                                        nsuf -= 1
                                        count += 1
                                    else:
                                        break
                                suf_S[nsuf] = sq
                                suf_G[nsuf] = gq
                                nsuf += 1
                                inserted[nins] = q
                                pop_count[nins] = count
                                nins += 1
                            built = True
                        if nsuf > 0:
                            p = nsuf - 1 - _peak(suf_S, suf_G, nsuf, True, s_obs, g_obs, 0,
                                                 nsuf - 1)
                            best = max(best, _slope(s_obs, g_obs, suf_S[p], suf_G[p]))
                res[obs] = best
            gk = G[k]
            if math.isfinite(gk):
                sk = S[k]
                while npre >= 2:
                    if ((pre_G[npre - 1] - pre_G[npre - 2]) * (sk - pre_S[npre - 2])
                            <= (gk - pre_G[npre - 2]) * (pre_S[npre - 1] - pre_S[npre - 2])):
                        npre -= 1
                    else:
                        break
                pre_S[npre] = sk
                pre_G[npre] = gk
                npre += 1
        i = e


@njit(cache=True)
def _bilinear(z, y, x):
    """Bilinear height at fractional (row y, col x); nearest cell where a corner is NaN."""
    ny, nx = z.shape
    y0 = min(max(int(math.floor(y)), 0), ny - 2)
    x0 = min(max(int(math.floor(x)), 0), nx - 2)
    fy = y - y0
    fx = x - x0
    h = ((1 - fx) * (1 - fy) * z[y0, x0] + fx * (1 - fy) * z[y0, x0 + 1]
         + (1 - fx) * fy * z[y0 + 1, x0] + fx * fy * z[y0 + 1, x0 + 1])
    if math.isfinite(h):
        return h
    return z[min(max(int(math.floor(y + 0.5)), 0), ny - 1),
             min(max(int(math.floor(x + 0.5)), 0), nx - 1)]


_DEGREES = 180.0 / math.pi


@njit(cache=True, inline="always")
def _raise_row(z_lo, z_hi, z_near, frac, drop, inv_d, ground, row_best, holes):
    """Raise ``row_best`` by the tangents to the terrain blended from ``z_lo`` and ``z_hi``
    (``z_near`` where the blend meets a hole). The views are aligned and indexed from 0, so
    numba needs no negative-index test and the loop vectorises."""
    for i in range(row_best.shape[0]):
        h = (1.0 - frac) * z_lo[i] + frac * z_hi[i]
        if holes and not math.isfinite(h):
            h = z_near[i]
        t = (h - drop - ground[i]) * inv_d
        b = row_best[i]
        row_best[i] = t if t > b else b


@njit(cache=True, parallel=True)
def _near_field_pass(z, dcol, drow, step_px, step, n_near, radius, observer_m, best, out,
                     holes):
    """Raise ``best`` (ny, nx; tan of the horizon) by the first ``n_near − 1`` samples along
    the true ray from each cell centre, every ``step`` metres (``step_px`` pixels), and
    write the horizons to ``out`` (ny, nx) in degrees (0° where no terrain is in reach),
    leaving ``best`` at −inf for the next azimuth.

    Along the major axis the ray meets whole pixels (the step is one pixel there), so each
    sample is a linear blend of two cells across the minor axis, at the same fractional
    offset for every cell: the pass runs row by row over shifted views (vectorisable), not
    cell by cell. Where the blend meets a hole (NaN) the nearer cell is used (``holes``:
    whether ``z`` has any; without, the test is left out); samples off the grid are skipped
    (a straight ray that leaves the grid does not come back)."""
    ny, nx = z.shape
    x_major = abs(dcol) >= abs(drow)
    for r in prange(ny):
        ground = z[r] + observer_m
        row_best = best[r]
        for k in range(1, n_near):
            d = k * step
            drop = d * d / (2.0 * radius)
            inv_d = 1.0 / d
            if x_major:
                shift = int(round(k * step_px * dcol))
                offset = k * step_px * drow
            else:
                shift = int(round(k * step_px * drow))
                offset = k * step_px * dcol
            whole = int(math.floor(offset))
            frac = offset - whole
            if x_major:
                lo = r + whole
                if lo < 0 or lo > ny - 1 or (lo == ny - 1 and frac > 0.0):
                    continue
                hi = lo + 1 if frac > 0.0 else lo
                near_row = lo if frac < 0.5 else hi
                c0, c1 = max(0, -shift), min(nx, nx - shift)
                z_lo = z[lo, c0 + shift:c1 + shift]
                z_hi = z[hi, c0 + shift:c1 + shift]
                z_near = z[near_row, c0 + shift:c1 + shift]
                _raise_row(z_lo, z_hi, z_near, frac, drop, inv_d, ground[c0:c1],
                           row_best[c0:c1], holes)
            else:
                row = r + shift
                if row < 0 or row > ny - 1:
                    continue
                last = nx - 1 if frac > 0.0 else nx
                step_hi = 1 if frac > 0.0 else 0
                step_near = step_hi if frac >= 0.5 else 0
                c0, c1 = max(0, -whole), min(nx, last - whole)
                z_lo = z[row, c0 + whole:c1 + whole]
                z_hi = z[row, c0 + whole + step_hi:c1 + whole + step_hi]
                z_near = z[row, c0 + whole + step_near:c1 + whole + step_near]
                _raise_row(z_lo, z_hi, z_near, frac, drop, inv_d, ground[c0:c1],
                           row_best[c0:c1], holes)
        out_row = out[r]
        for c in range(nx):  # to degrees here, in parallel, while the row is in cache
            # in single precision (the output's; the arctangent costs 2.5× less)
            t = row_best[c]
            out_row[c] = 0.0 if t == -np.inf else np.float32(_DEGREES) * math.atan(np.float32(t))
            row_best[c] = -np.inf


@njit(cache=True, parallel=True)
def _horizon_pass(z, row0, col0, dcol, drow, pixel, window, near, radius, observer_m, best,
                  both, best_back):
    """Sweep lines: write to ``best`` (ny, nx) the tan of the horizon formed by terrain from
    ``near`` samples to ``window`` samples away (−inf: none; NaN at NaN cells).

    With ``both``, the opposite azimuth too, into ``best_back``: its lines are the same
    samples in reverse order (the same y for every sample: τ and k both change sign), so
    each line is built once for two directions, with the bits two passes would give."""
    ny, nx = z.shape
    x_major = abs(dcol) >= abs(drow)
    if x_major:
        n_major, n_minor, off_major, off_minor = nx, ny, col0, row0
        sig = -1 if dcol > 0 else 1
        tau = -drow / abs(dcol)
    else:
        n_major, n_minor, off_major, off_minor = ny, nx, row0, col0
        sig = -1 if drow > 0 else 1
        tau = -dcol / abs(drow)
    step = pixel * math.sqrt(1.0 + tau * tau)
    k_first = sig * off_major if sig == 1 else sig * (off_major + n_major - 1)
    k_last = k_first + n_major - 1
    lo = min(tau * k_first, tau * k_last)
    hi = max(tau * k_first, tau * k_last)
    j_min = int(math.floor(off_minor - 0.5 - hi)) - 1
    j_max = int(math.ceil(off_minor + n_minor - 0.5 - lo)) + 1
    # Along-line quantities, the same for every line: sample t lies in major row/column m,
    # at global index k, arc length S = k·step (back lines: reversed and negated).
    line_S = np.empty(n_major)
    line_drop = np.empty(n_major)
    line_K = np.empty(n_major, np.int64)
    line_m = np.empty(n_major, np.int64)
    line_y = np.empty(n_major)
    line_turn = np.empty(n_major)
    back_S = np.empty(n_major)
    back_K = np.empty(n_major, np.int64)
    for t in range(n_major):
        m = t if sig == 1 else n_major - 1 - t
        k = sig * (m + off_major)
        s = k * step
        line_S[t] = s
        line_drop[t] = s * s / (2.0 * radius)
        line_K[t] = k
        line_m[t] = m
        line_y[t] = tau * k
        line_turn[t] = s / radius
        back_S[n_major - 1 - t] = -s
        back_K[n_major - 1 - t] = -k
    for li in prange(j_max - j_min + 1):
        j = j_min + li
        G = np.empty(n_major)
        OG = np.empty(n_major)
        cell_minor = np.empty(n_major, np.int64)
        t0 = 0
        count = 0
        for t in range(n_major):
            # j + τk is the global position, the same in a tile; taking the tile's integer
            # offset from it is exact (the other order can round: a tile's bits would differ)
            y = j + line_y[t] - off_minor
            c = int(math.floor(y + 0.5))
            if c < 0 or c >= n_minor:
                if count > 0:
                    break
                continue
            if count == 0:
                t0 = t
            m = line_m[t]
            f = int(math.floor(y))
            w = y - f
            if x_major:
                h0 = z[f, m] if f >= 0 else z[f + 1, m]
                h1 = z[f + 1, m] if f + 1 < n_minor else z[f, m]
                own = z[c, m]
            else:
                h0 = z[m, f] if f >= 0 else z[m, f + 1]
                h1 = z[m, f + 1] if f + 1 < n_minor else z[m, f]
                own = z[m, c]
            hv = h0 + w * (h1 - h0)
            if not math.isfinite(hv):
                hv = own  # nearest cell where the interpolation meets a hole
            drop = line_drop[t]
            G[count] = hv - drop
            OG[count] = own + observer_m - drop
            cell_minor[count] = c
            count += 1
        if count == 0:
            continue
        t1 = t0 + count
        res = np.empty(count)
        _window_max_slope(line_S[t0:t1], G[:count], OG[:count], line_K[t0:t1], window, near,
                          res)
        _store(best, res, line_turn[t0:t1], OG, line_m[t0:t1], cell_minor, x_major, False)
        if both:
            back_G = np.empty(count)
            back_OG = np.empty(count)
            for q in range(count):
                back_G[q] = G[count - 1 - q]
                back_OG[q] = OG[count - 1 - q]
            b0 = n_major - t1
            _window_max_slope(back_S[b0:b0 + count], back_G, back_OG, back_K[b0:b0 + count],
                              window, near, res)
            _store(best_back, res, line_turn[t0:t1], OG, line_m[t0:t1], cell_minor, x_major,
                   True)


@njit(cache=True)
def _store(best, res, turn, OG, cell_major, cell_minor, x_major, reverse):
    """Tangents of one line's horizons into their cells: the chord slopes ``res`` less the
    curvature term, ``turn`` = arc length / radius of each sample (in the cell lists'
    order). ``reverse``: ``res`` runs the line backwards, where arc lengths change sign."""
    count = res.shape[0]
    for q in range(count):
        i = count - 1 - q if reverse else q
        if x_major:
            row, col = cell_minor[i], cell_major[i]
        else:
            row, col = cell_major[i], cell_minor[i]
        if not math.isfinite(OG[i]):
            best[row, col] = np.nan
        elif res[q] == -np.inf:
            best[row, col] = -np.inf
        else:
            best[row, col] = res[q] + turn[i] if reverse else res[q] - turn[i]


NEAR_FIELD_SAMPLES = 16
"""Samples nearer than this are taken along the exact ray from the cell centre (bilinear);
farther ones from the shared sweep lines, whose ≤ 0.5-pixel lateral offset then changes the
azimuth by ≤ 3.6°."""


def window_samples(max_distance_m: float, pixel_m: float, azimuth_deg: float) -> int:
    """Number of line samples within ``max_distance_m`` for one azimuth (≥ 1)."""
    dcol, drow = _direction(azimuth_deg)
    tau = min(abs(dcol), abs(drow)) / max(abs(dcol), abs(drow))
    return max(1, int(math.floor(max_distance_m / (pixel_m * math.sqrt(1 + tau * tau)))))


def _direction(azimuth_deg: float) -> tuple[float, float]:
    """Grid (dcol, drow) unit step toward an azimuth, with exact zeros for cardinal ones
    (sin 180° is 1.2e-16, not 0: such a residue would tilt the sweep lines)."""
    az = math.radians(azimuth_deg)
    dcol, drow = math.sin(az), -math.cos(az)
    return (0.0 if abs(dcol) < 1e-12 else dcol), (0.0 if abs(drow) < 1e-12 else drow)


def halo_pixels(max_distance_m: float, pixel_m: float) -> int:
    """Halo (pixels) a tile needs so that its core horizons equal the whole-grid result."""
    return int(math.ceil(max_distance_m / pixel_m)) + 2


def horizon_angles(heights_m: np.ndarray, pixel_m: float, azimuths_deg: np.ndarray,
                   max_distance_m: float, radius_m: float = MOON_RADIUS_M,
                   origin: tuple[int, int] = (0, 0), observer_height_m: float = 0.0
                   ) -> np.ndarray:
    """Horizon elevation angle (degrees, float32) for every cell and azimuth.

    ``heights_m`` (ny, nx) are heights above the reference sphere; ``origin`` is the global
    (row, col) of ``heights_m[0, 0]`` when it is a tile of a larger grid;
    ``observer_height_m`` lifts the observer above the local surface (a mast, a lander's
    solar array). Returns an array of shape (A, ny, nx).
    """
    z = np.ascontiguousarray(heights_m, dtype=np.float64)
    azimuths = np.asarray(azimuths_deg, dtype=float)
    out = np.zeros((azimuths.size, *z.shape), dtype=np.float32)
    # Tangents in single precision: rounding is monotonic, so rounding each candidate before
    # the maximum gives the float32 output the same bits as rounding the maximum.
    best = np.full(z.shape, -np.inf, dtype=np.float32)
    back = np.full(z.shape, -np.inf, dtype=np.float32)
    opposite = _opposite_indices(azimuths)
    holes = bool(np.isnan(z).any())
    for a, az_deg in enumerate(azimuths):
        b = opposite[a]
        if 0 <= b < a:
            continue  # swept with its opposite
        dcol, drow = _direction(az_deg)
        window = window_samples(max_distance_m, pixel_m, az_deg)
        near = min(NEAR_FIELD_SAMPLES, window + 1)
        _horizon_pass(z, int(origin[0]), int(origin[1]), dcol, drow, float(pixel_m), window,
                      near, float(radius_m), float(observer_height_m), best, b > a, back)
        _finish_azimuth(z, out, a, best, dcol, drow, pixel_m, near, radius_m,
                        observer_height_m, holes)
        if b > a:
            _finish_azimuth(z, out, b, back, -dcol, -drow, pixel_m, near, radius_m,
                            observer_height_m, holes)
    return out


def _opposite_indices(azimuths: np.ndarray) -> np.ndarray:
    """For each azimuth, the index of the one 180° away in the list (−1 when absent)."""
    index = {round(float(a) % 360.0, 9): i for i, a in enumerate(azimuths)}
    return np.array([index.get(round((float(a) + 180.0) % 360.0, 9), -1) for a in azimuths])


def _finish_azimuth(z, out, a, best, dcol, drow, pixel_m, near, radius_m, observer_height_m,
                    holes):
    """Add the near field to one azimuth's swept tangents and store them as degrees in
    ``out[a]``; ``best`` is reset for the next azimuth. ``holes``: whether ``z`` has NaNs."""
    step = pixel_m * math.hypot(1.0, min(abs(dcol), abs(drow)) / max(abs(dcol), abs(drow)))
    _near_field_pass(z, dcol, drow, step / pixel_m, step, near, float(radius_m),
                     float(observer_height_m), best, out[a], holes)


@njit(cache=True, parallel=True)
def _brute_force(z, directions, pixel, max_distance, radius, step_px, observer_m, row0, out):
    ny, nx = z.shape
    n_rows = out.shape[1]
    for idx in prange(n_rows * nx):
        r = row0 + idx // nx
        c = idx % nx
        h_obs = z[r, c] + observer_m
        for a in range(directions.shape[0]):
            if not math.isfinite(h_obs):
                out[a, r - row0, c] = np.nan
                continue
            dcol = directions[a, 0]
            drow = directions[a, 1]
            best = -np.inf
            k = 1
            while k * step_px * pixel <= max_distance:
                x = c + k * step_px * dcol
                y = r + k * step_px * drow
                if x < 0 or y < 0 or x > nx - 1 or y > ny - 1:
                    break
                x0 = min(int(x), nx - 2)
                y0 = min(int(y), ny - 2)
                fx = x - x0
                fy = y - y0
                h = ((1 - fx) * (1 - fy) * z[y0, x0] + fx * (1 - fy) * z[y0, x0 + 1]
                     + (1 - fx) * fy * z[y0 + 1, x0] + fx * fy * z[y0 + 1, x0 + 1])
                if math.isfinite(h):
                    theta = k * step_px * pixel / radius
                    rt = radius + h
                    ro = radius + h_obs
                    angle = math.atan2(rt * math.cos(theta) - ro, rt * math.sin(theta))
                    best = max(best, angle)
                k += 1
            out[a, r - row0, c] = 0.0 if best == -np.inf else math.degrees(best)


def horizon_angles_brute_force(heights_m: np.ndarray, pixel_m: float, azimuths_deg: np.ndarray,
                               max_distance_m: float, radius_m: float = MOON_RADIUS_M,
                               step_px: float = 1.0, observer_height_m: float = 0.0,
                               rows: tuple[int, int] | None = None) -> np.ndarray:
    """Reference: march every ray cell by cell (bilinear heights, exact spherical geometry).

    ``rows`` = (first, stop) limits the observers to those rows (the rays still cross the
    whole grid); the result then has ``stop − first`` rows."""
    z = np.ascontiguousarray(heights_m, dtype=np.float64)
    first, stop = rows if rows is not None else (0, z.shape[0])
    if not 0 <= first < stop <= z.shape[0]:
        raise ValueError(f"rows {rows} outside the grid's {z.shape[0]} rows")
    out = np.zeros((len(azimuths_deg), stop - first, z.shape[1]), dtype=np.float32)
    directions = np.array([_direction(a) for a in np.asarray(azimuths_deg, float)], float)
    _brute_force(z, directions.reshape(-1, 2), float(pixel_m),
                 float(max_distance_m), float(radius_m), float(step_px),
                 float(observer_height_m), first, out)
    return out


@njit(cache=True, parallel=True)
def _far_field(z, x0, y0, pixel, far, fx0, fy0, far_pixel, directions, k_first, k_last,
               radius, observer_m, out):
    ny, nx = z.shape
    my, mx = far.shape
    n_k = k_last - k_first + 1
    cos_k = np.empty(n_k)
    sin_k = np.empty(n_k)
    for i in range(n_k):  # the same central angles for every cell and azimuth
        theta = (k_first + i) * far_pixel / radius
        cos_k[i] = math.cos(theta)
        sin_k[i] = math.sin(theta)
    for idx in prange(ny * nx):
        r = idx // nx
        c = idx % nx
        h_obs = z[r, c] + observer_m
        if not math.isfinite(h_obs):
            continue
        x = x0 + (c + 0.5) * pixel
        y = y0 - (r + 0.5) * pixel
        ro = radius + h_obs
        for a in range(directions.shape[0]):
            dx = directions[a, 0]
            dy = -directions[a, 1]
            # Elevation = atan2(rt·cos θ − ro, rt·sin θ) with rt·sin θ > 0: the steepest
            # sample has the largest ratio, and one arctangent per ray is enough.
            best = -np.inf
            for i in range(n_k):
                d = (k_first + i) * far_pixel
                col = (x + d * dx - fx0) / far_pixel - 0.5
                row = (fy0 - (y + d * dy)) / far_pixel - 0.5
                if col < 0 or row < 0 or col > mx - 1 or row > my - 1:
                    break
                h = _bilinear(far, row, col)
                if math.isfinite(h):
                    rt = radius + h
                    best = max(best, (rt * cos_k[i] - ro) / (rt * sin_k[i]))
            if best > -np.inf:
                out[a, r, c] = max(out[a, r, c], math.degrees(math.atan(best)))


def far_field_horizons(horizons_deg: np.ndarray, heights_m: np.ndarray,
                       origin_xy: tuple[float, float], pixel_m: float, far_heights_m: np.ndarray,
                       far_origin_xy: tuple[float, float], far_pixel_m: float,
                       azimuths_deg: np.ndarray, near_m: float, max_distance_m: float,
                       radius_m: float = MOON_RADIUS_M, observer_height_m: float = 0.0) -> None:
    """Raise ``horizons_deg`` (A, ny, nx, in place) by terrain between ``near_m`` and
    ``max_distance_m`` taken from a coarser grid of the same CRS.

    ``heights_m`` is the fine grid (its top-left corner at ``origin_xy``, square pixels of
    ``pixel_m``); ``far_heights_m`` the coarse one (top-left ``far_origin_xy``, pixels of
    ``far_pixel_m``) covering the fine grid plus ``max_distance_m``. Each fine cell marches
    its own rays through the coarse grid every ``far_pixel_m`` with exact spherical geometry
    (observer at its fine height + ``observer_height_m``), so the far field does not depend
    on the coarse grid's own heights at the observer.
    """
    directions = np.array([_direction(a) for a in np.asarray(azimuths_deg, float)], float)
    k_first = max(1, int(math.ceil(near_m / far_pixel_m)))
    k_last = int(math.floor(max_distance_m / far_pixel_m))
    if k_last < k_first:
        return
    _far_field(np.ascontiguousarray(heights_m, dtype=np.float64), float(origin_xy[0]),
               float(origin_xy[1]), float(pixel_m),
               np.ascontiguousarray(far_heights_m, dtype=np.float64), float(far_origin_xy[0]),
               float(far_origin_xy[1]), float(far_pixel_m), directions.reshape(-1, 2),
               k_first, k_last, float(radius_m), float(observer_height_m), horizons_deg)


def ray_horizons(distances_m: np.ndarray, heights_m: np.ndarray, observer_m: float,
                 radius_m: float = MOON_RADIUS_M, empty: float = 0.0) -> np.ndarray:
    """Horizon elevation (degrees) per ray from heights sampled along it.

    ``distances_m`` (K,) or (A, K) are arc lengths from the observer, ``heights_m`` (A, K)
    the terrain heights there (NaN = no terrain); ``observer_m`` the observer's height above
    the sphere. Exact spherical geometry; ``empty`` for a ray with no terrain.
    """
    theta = np.broadcast_to(np.asarray(distances_m, float), heights_m.shape) / radius_m
    rt = radius_m + heights_m
    ro = radius_m + observer_m
    with np.errstate(invalid="ignore"):
        angle = np.arctan2(rt * np.cos(theta) - ro, rt * np.sin(theta))
    angle = np.where(np.isfinite(angle), angle, -np.inf)
    best = angle.max(axis=-1) if angle.shape[-1] else np.full(angle.shape[:-1], -np.inf)
    return np.where(np.isfinite(best), np.degrees(best), empty)
