"""One year of hourly illumination for a 2048 × 2048 south-polar grid: wall time, peak memory.

The grid is the embedded LOLA-derived global DEM resampled to 2048² over the cap south of
the given latitude (interpolated terrain: the timing, not the science, is the point here;
a real LOLA polar DEM of that size runs the same code).

    python benchmarks/bench_illumination.py [--size 2048] [--hours 8760] [--lat-limit 87.5]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--hours", type=int, default=8760)
    parser.add_argument("--lat-limit", type=float, default=87.5)
    parser.add_argument("--azimuths", type=int, default=64)
    parser.add_argument("--distance-km", type=float, default=50.0)
    args = parser.parse_args()

    from lunatlas.crs import MOON_RADIUS_M, MOON_SOUTH_POLAR
    from lunatlas.data import load_global_dem
    from lunatlas.ephemeris import sun_earth_vectors_me, time_grid
    from lunatlas.illumination import light_map
    from lunatlas.terrain import regrid

    half = 2 * MOON_RADIUS_M * np.tan(np.radians(90 - args.lat_limit) / 2)
    pixel = 2 * half / args.size
    t0 = time.perf_counter()
    grid = regrid(load_global_dem(), MOON_SOUTH_POLAR, (0.0, 0.0), half, pixel)
    start = np.datetime64("2026-01-01T00:00")
    times = time_grid(start, start + np.timedelta64(args.hours - 1, "h"), 1.0)
    sun_earth = sun_earth_vectors_me(times)
    t_prep = time.perf_counter() - t0
    t0 = time.perf_counter()
    maps = light_map(grid, times, 1.0, args.azimuths, args.distance_km * 1000, sun_earth)
    t_map = time.perf_counter() - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cells = grid.size
    print(f"grid {grid.shape[1]}×{grid.shape[0]} px of {pixel:.0f} m (south of "
          f"{-args.lat_limit}°), {times.size} hourly instants, {args.azimuths} azimuths, "
          f"{args.distance_km:g} km reach")
    print(f"  preparation (regrid + ephemeris) {t_prep:7.1f} s")
    print(f"  horizons + illumination map      {t_map:7.1f} s "
          f"({cells * times.size / t_map / 1e6:.0f} M cell·instants/s)")
    print(f"  peak resident memory             {peak_mb:7.0f} MB")
    print(f"  mean illumination {np.nanmean(maps.illumination_fraction):.3f}, "
          f"{int(maps.never_lit.sum())} cells never lit")


if __name__ == "__main__":
    main()
