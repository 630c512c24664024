"""Horizon throughput: windowed convex-hull sweep vs brute-force ray march, same run.

Prints cells × azimuths per second for both and their ratio, on
  1. a real DEM crop: the LOLA-derived embedded DEM reprojected to a south-polar grid, and
  2. a 4096 × 4096 synthetic crater field (power-law crater population on a sphere).
The brute force is timed on a band of rows (the full 4096² would take tens of minutes);
throughput is per cell, so the ratio is unaffected.

    python benchmarks/bench_horizon.py [--size 4096] [--azimuths 16] [--distance-km 15]
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from lunatlas.illumination.horizon import (
    halo_pixels,
    horizon_angles,
    horizon_angles_brute_force,
)


def crater_field(size: int, pixel_m: float, seed: int = 42) -> np.ndarray:
    """Heights (m) of overlapping parabolic bowls (depth 0.2 D, rim 4 % of the depth,
    continuous surface), N(>D) ∝ D⁻¹ (Pareto)."""
    rng = np.random.default_rng(seed)
    z = np.zeros((size, size), np.float32)
    n = size * size // 600
    diameters_px = np.clip(4.0 * rng.pareto(1.0, n) + 4.0, 4.0, size / 4)
    for d in diameters_px:
        r = d / 2
        cy, cx = rng.uniform(0, size, 2)
        y0, y1 = int(max(cy - 1.5 * r, 0)), int(min(cy + 1.5 * r + 1, size))
        x0, x1 = int(max(cx - 1.5 * r, 0)), int(min(cx + 1.5 * r + 1, size))
        if y1 <= y0 or x1 <= x0:
            continue
        yy, xx = np.mgrid[y0:y1, x0:x1]
        rho = np.hypot(yy - cy, xx - cx) / r
        depth = 0.2 * d * pixel_m
        rim = 0.04 * depth  # continuous at the rim: no cliffs between cells
        bowl = np.where(rho < 1, depth * (rho**2 - 1) + rim, rim * np.exp(-(rho - 1) * 4))
        z[y0:y1, x0:x1] += bowl.astype(np.float32)
    return z


def measure(name: str, z: np.ndarray, pixel_m: float, az: np.ndarray, distance_m: float,
            brute_rows: int) -> None:
    horizon_angles(z[:64, :64], pixel_m, az, distance_m)  # compile (cached) and warm up
    t0 = time.perf_counter()
    fast = horizon_angles(z, pixel_m, az, distance_m)
    t_fast = time.perf_counter() - t0
    halo = halo_pixels(distance_m, pixel_m)
    r0 = z.shape[0] // 2 - brute_rows // 2
    band = z[max(r0 - halo, 0):r0 + brute_rows + halo]
    horizon_angles_brute_force(band[:8, :8], pixel_m, az, distance_m)
    t0 = time.perf_counter()
    slow = horizon_angles_brute_force(band, pixel_m, az, distance_m)
    t_slow = time.perf_counter() - t0
    fast_rate = z.size * az.size / t_fast
    slow_rate = band.size * az.size / t_slow
    core = slice(halo, halo + brute_rows)
    diff = fast[:, r0:r0 + brute_rows, halo:-halo] - slow[:, core, halo:-halo]
    print(f"{name}: {z.shape[0]}×{z.shape[1]} px of {pixel_m:g} m, {az.size} azimuths, "
          f"{distance_m / 1e3:g} km reach")
    print(f"  sweep       {t_fast:8.2f} s  {fast_rate / 1e6:8.2f} M cell·az/s")
    print(f"  brute force {t_slow:8.2f} s  {slow_rate / 1e6:8.2f} M cell·az/s "
          f"({band.shape[0]} rows)")
    print(f"  ratio sweep/brute = {fast_rate / slow_rate:.1f}×; difference: RMS "
          f"{np.sqrt(np.mean(diff**2)):.3f}°, p99 {np.percentile(np.abs(diff), 99):.3f}°, "
          f"max {np.abs(diff).max():.2f}°")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=4096)
    parser.add_argument("--azimuths", type=int, default=16)
    parser.add_argument("--distance-km", type=float, default=15.0)
    args = parser.parse_args()
    az = np.arange(args.azimuths) * (360.0 / args.azimuths)

    from lunatlas.data import load_global_dem
    from lunatlas.terrain import polar_grid

    real = polar_grid(load_global_dem(), "south", -80.0, 1000.0).to_numpy()
    measure("real DEM crop (embedded LOLA DEM → 1 km south-polar grid)", real, 1000.0, az,
            args.distance_km * 1000 * 4, brute_rows=64)
    field = crater_field(args.size, 20.0)
    measure("synthetic crater field", field, 20.0, az, args.distance_km * 1000 / 10,
            brute_rows=64)


if __name__ == "__main__":
    main()
