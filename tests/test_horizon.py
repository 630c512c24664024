"""Horizon kernel: analytic terrains, brute-force cross-check on real terrain, tiling."""

import itertools
import math

import numpy as np
import pytest

from lunatlas.crs import MOON_RADIUS_M as R
from lunatlas.illumination.horizon import (
    halo_pixels,
    horizon_angles,
    horizon_angles_brute_force,
)

AZ16 = np.arange(16) * 22.5


def test_smooth_sphere_horizon_is_the_curvature_dip():
    pixel = 200.0
    h = horizon_angles(np.zeros((41, 41)), pixel, AZ16, 4000.0)
    interior = h[:, 10:-10, 10:-10]
    for a, az in enumerate(AZ16):
        # The nearest sample (one line step away) is the highest: dip = step / 2R.
        tau = min(abs(math.sin(math.radians(az))), abs(math.cos(math.radians(az)))) / max(
            abs(math.sin(math.radians(az))), abs(math.cos(math.radians(az))))
        step = pixel * math.hypot(1, tau)
        assert np.allclose(interior[a], -math.degrees(step / (2 * R)), atol=1e-6)


@pytest.mark.parametrize("distance_px", [5, 30, 100, 130])
def test_peak_elevation_includes_the_curvature_drop(distance_px):
    pixel, height = 500.0, 3000.0
    z = np.zeros((21, 241))
    z[10, 100 + distance_px] = height
    h = horizon_angles(z, pixel, [90.0], 60_000.0)
    d = distance_px * pixel
    expected = math.degrees(math.atan((height - d * d / (2 * R)) / d)) if d <= 60_000 else None
    if expected is None:
        assert h[0, 10, 100] == pytest.approx(-math.degrees(pixel / (2 * R)), abs=1e-6)
    else:
        assert h[0, 10, 100] == pytest.approx(expected, abs=1e-5)
    # At 50 km the surface drops ~720 m (the figure): a 700 m hill there is hidden.
    z[10, 100 + distance_px] = 700.0
    if d == 50_000.0:
        assert horizon_angles(z, pixel, [90.0], 60_000.0)[0, 10, 100] < 0.0


def test_terrain_beyond_max_distance_is_ignored():
    z = np.zeros((11, 101))
    z[5, 90] = 5000.0  # 40 px = 20 km east of (5, 50)
    near = horizon_angles(z, 500.0, [90.0], 25_000.0)[0, 5, 50]
    far = horizon_angles(z, 500.0, [90.0], 15_000.0)[0, 5, 50]
    assert near > 10.0 and far < 0.0


def conical_pit(radius_px=40, floor_px=10, depth=2000.0, size=121):
    """A flat-floored conical pit (floor radius ``floor_px``, rim radius ``radius_px``)."""
    half = size // 2
    yy, xx = np.mgrid[-half:half + 1, -half:half + 1]
    r = np.hypot(xx, yy)
    wall = np.clip((radius_px - r) / (radius_px - floor_px), 0.0, 1.0)
    return -depth * wall


def test_conical_pit_floor_centre_sees_the_rim():
    pixel, radius_px, depth = 100.0, 40, 2000.0
    h = horizon_angles(conical_pit(radius_px, 10, depth), pixel, AZ16, 20_000.0)
    d = radius_px * pixel
    expected = math.degrees(math.atan((depth - d * d / (2 * R)) / d))  # 26.5°
    assert np.all(np.abs(h[:, 60, 60] - expected) < 0.3), h[:, 60, 60]
    # At the foot of the wall the horizon toward the wall is the wall angle, atan(2000/3000).
    wall = math.degrees(math.atan(depth / (30 * pixel)))
    assert h[4, 60, 70] == pytest.approx(wall, abs=0.6)  # looking east from the east foot


def test_nan_cells_are_not_terrain_and_have_no_horizon():
    z = np.zeros((21, 21))
    z[10, 15] = np.nan
    h = horizon_angles(z, 100.0, AZ16, 2000.0)
    assert np.isnan(h[:, 10, 15]).all()
    assert np.isfinite(np.delete(h.reshape(16, -1), 10 * 21 + 15, axis=1)).all()


def _tiles_and_whole_grid(z, pixel, azimuths, max_distance, cuts):
    """Pairs (tile core, the same cells of the whole grid) for the tiles cut at ``cuts``
    (row edges, column edges), each computed with its halo and global origin."""
    full = horizon_angles(z, pixel, azimuths, max_distance)
    halo = halo_pixels(max_distance, pixel)
    rows, cols = cuts
    for r0, r1 in itertools.pairwise(rows):
        for c0, c1 in itertools.pairwise(cols):
            a, b = max(0, r0 - halo), max(0, c0 - halo)
            tile = horizon_angles(z[a:r1 + halo, b:c1 + halo], pixel, azimuths, max_distance,
                                  origin=(a, b))
            yield tile[:, r0 - a:r1 - a, c0 - b:c1 - b], full[:, r0:r1, c0:c1]


@pytest.mark.parametrize("holes", [False, True])
def test_tiles_with_halo_equal_the_whole_grid_bit_for_bit(holes):
    """Every tile of a 3 × 3 tiling, at 24 azimuths off the grid's axes and diagonals, with
    and without holes."""
    rng = np.random.default_rng(7)
    from scipy.ndimage import gaussian_filter

    z = gaussian_filter(rng.normal(size=(150, 170)), 4) * 2000
    if holes:
        z[rng.integers(0, 150, 60), rng.integers(0, 170, 60)] = np.nan
    cuts = ((0, 50, 100, 150), (0, 60, 110, 170))
    for core, whole in _tiles_and_whole_grid(z, 100.0, np.arange(24) * 15.0 + 3.0, 3_000.0,
                                             cuts):
        assert np.array_equal(core, whole, equal_nan=True)


def test_tiles_equal_the_whole_grid_on_rough_terrain():
    """Cliffs of up to 20 km between neighbouring cells make the horizons sensitive to the
    last bit of a sweep line's position across the grid: a tile must compute it from global
    indices as the whole grid does (adding the tile's origin in another order once changed
    3 of these 8.9 million angles by one float32 step)."""
    z = np.random.default_rng(7).uniform(-10_000.0, 10_000.0, size=(600, 620))
    cuts = ((0, 200, 400, 600), (0, 206, 413, 620))
    for core, whole in _tiles_and_whole_grid(z, 100.0, np.arange(24) * 15.0 + 3.0, 3_000.0,
                                             cuts):
        assert np.array_equal(core, whole)


def test_sweep_matches_brute_force_on_real_terrain(global_dem):
    """Real LOLA terrain (embedded DEM reprojected to 2 km south-polar pixels)."""
    from lunatlas.terrain import polar_grid

    grid = polar_grid(global_dem, "south", -84.0, 2000.0).to_numpy()
    az = np.arange(32) * 11.25
    fast = horizon_angles(grid, 2000.0, az, 60_000.0)
    slow = horizon_angles_brute_force(grid, 2000.0, az, 60_000.0)
    edge = halo_pixels(60_000.0, 2000.0)
    diff = (fast - slow)[:, edge:-edge, edge:-edge]
    rms = float(np.sqrt(np.mean(diff**2)))
    assert rms < 0.15, rms
    assert np.percentile(np.abs(diff), 99) < 0.6
