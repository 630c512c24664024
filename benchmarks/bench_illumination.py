"""One year of hourly illumination for a 2048 × 2048 south-polar grid: wall time, peak memory,
and the bounded light-map kernel against evaluating every instant.

The grid is the embedded LOLA-derived global DEM resampled to 2048² over the cap south of
the given latitude (interpolated terrain: the timing, not the science, is the point here;
a real LOLA polar DEM of that size runs the same code). The direct comparison runs on
crops (at the pole and half-way out) and checks the summaries are equal: fractions within
0.001 (in fact to rounding), longest night and Earth gap exactly, never-lit cells identical.

    python benchmarks/bench_illumination.py [--size 2048] [--hours 8760] [--lat-limit 87.5]
"""

from __future__ import annotations

import argparse
import resource
import time

import numpy as np


def compare_on_crop(grid, horizons, sun, earth, row0: int, col0: int, size: int) -> str:
    """Time and check the bounded kernel against the direct one on a crop."""
    from lunatlas.illumination.light import light_maps_counted
    from lunatlas.illumination.pipeline import geometry_of

    rows, cols = slice(row0, row0 + size), slice(col0, col0 + size)
    sub = np.ascontiguousarray(horizons[:, rows, cols])
    geometry = geometry_of(grid.isel(y=rows, x=cols))
    tiny = geometry_of(grid.isel(y=slice(row0, row0 + 2), x=slice(col0, col0 + 2)))
    for method in ("direct", "bounded"):  # compile (or load from the cache) first
        light_maps_counted(np.ascontiguousarray(sub[:, :2, :2]), tiny, sun[:3], earth[:3], 1.0,
                           method)
    t0 = time.perf_counter()
    direct, pairs = light_maps_counted(sub, geometry, sun, earth, 1.0, "direct")
    t_direct = time.perf_counter() - t0
    t0 = time.perf_counter()
    bounded, evaluated = light_maps_counted(sub, geometry, sun, earth, 1.0, "bounded")
    t_bounded = time.perf_counter() - t0
    worst = max(float(np.nanmax(np.abs(getattr(bounded, name) - getattr(direct, name))))
                for name in ("illumination_fraction", "earth_visibility_fraction"))
    exact = all(np.array_equal(getattr(bounded, name), getattr(direct, name), equal_nan=True)
                for name in ("longest_darkness_days", "longest_earth_gap_days", "never_lit",
                             "darkness_window_limited"))
    return (f"{size}² crop at row {row0}: direct {t_direct:.2f} s, bounded {t_bounded:.2f} s "
            f"({t_direct / t_bounded:.1f}×), {evaluated.sum() / pairs.sum():.1%} of the "
            f"(body, instant) pairs evaluated; fractions differ by ≤ {worst:.1e}, runs and "
            f"masks {'identical' if exact else 'DIFFERENT'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--hours", type=int, default=8760)
    parser.add_argument("--lat-limit", type=float, default=87.5)
    parser.add_argument("--azimuths", type=int, default=64)
    parser.add_argument("--distance-km", type=float, default=50.0)
    parser.add_argument("--crop", type=int, default=96)
    args = parser.parse_args()

    from lunatlas.crs import MOON_RADIUS_M, MOON_SOUTH_POLAR
    from lunatlas.data import load_global_dem
    from lunatlas.ephemeris import sun_earth_vectors_me, time_grid
    from lunatlas.illumination import light_map
    from lunatlas.illumination.horizon import horizon_angles
    from lunatlas.illumination.pipeline import LIGHT_BAND_ROWS, azimuths
    from lunatlas.terrain import regrid

    half = 2 * MOON_RADIUS_M * np.tan(np.radians(90 - args.lat_limit) / 2)
    pixel = 2 * half / args.size
    t0 = time.perf_counter()
    grid = regrid(load_global_dem(), MOON_SOUTH_POLAR, (0.0, 0.0), half, pixel)
    start = np.datetime64("2026-01-01T00:00")
    times = time_grid(start, start + np.timedelta64(args.hours - 1, "h"), 1.0)
    sun, earth = sun_earth_vectors_me(times)
    t_prep = time.perf_counter() - t0
    marks: dict[str, float] = {}

    def progress(message: str) -> None:
        marks.setdefault(message.split(":")[0], time.perf_counter())

    # Compile (or load) the kernels for the bands the run passes them: strided views of the
    # horizons when the grid has more than one band.
    light_map(grid.isel(y=slice(0, LIGHT_BAND_ROWS + 8), x=slice(0, 8)), times[:3], 1.0,
              args.azimuths, args.distance_km * 1000, (sun[:3], earth[:3]))
    t0 = time.perf_counter()
    maps = light_map(grid, times, 1.0, args.azimuths, args.distance_km * 1000, (sun, earth),
                     progress=progress)
    t_map = time.perf_counter() - t0
    t_horizons = marks["horizons"] - t0
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    cells = grid.size
    print(f"grid {grid.shape[1]}×{grid.shape[0]} px of {pixel:.0f} m (south of "
          f"{-args.lat_limit}°), {times.size} hourly instants, {args.azimuths} azimuths, "
          f"{args.distance_km:g} km reach, 2 threads")
    print(f"  preparation (regrid + ephemeris) {t_prep:7.1f} s")
    print(f"  horizons                         {t_horizons:7.1f} s "
          f"({cells * args.azimuths / t_horizons / 1e6:.1f} M cell·az/s)")
    print(f"  illumination and Earth maps      {t_map - t_horizons:7.1f} s "
          f"({cells * times.size / (t_map - t_horizons) / 1e6:.0f} M cell·instants/s)")
    print(f"  total                            {t_map:7.1f} s")
    print(f"  peak resident memory             {peak_mb:7.0f} MiB")
    print(f"  mean illumination {np.nanmean(maps.illumination_fraction):.3f}, "
          f"{int(maps.never_lit.sum())} cells never lit")
    if args.crop:
        horizons = horizon_angles(grid.to_numpy(), pixel, azimuths(args.azimuths),
                                  args.distance_km * 1000)
        n = grid.shape[0]
        for row0 in (n // 2 - args.crop // 2, n // 5):
            print("  " + compare_on_crop(grid, horizons, sun, earth, row0,
                                         n // 2 - args.crop // 2, args.crop))


if __name__ == "__main__":
    main()
