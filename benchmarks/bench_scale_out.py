"""Scale-out: an 8192² grid (20 m over 164 km, synthetic terrain) through the dask.distributed
tiled light-map path on a LocalCluster; wall time, per-tile time and memory, equality with
a single-process computation on a crop, and what the whole 80–90°S cap at 20 m would need.

Terrain: smooth random relief (Gaussian-filtered noise, ±300 m) with 4 000 parabolic craters,
on a local stereographic grid at the south pole. Each worker runs one thread (numba too).
The crop check recomputes one tile's cells in this process from the same heights and
global sweep anchoring and requires identical bits.

    python benchmarks/bench_scale_out.py [--size 8192] [--tile 1024] [--azimuths 16]
        [--distance-km 5] [--days 29.5] [--step-hours 6] [--workers 2]
"""

from __future__ import annotations

import argparse
import math
import os
import resource
import time

import numpy as np


def synthetic_polar_grid(size: int, pixel_m: float, seed: int = 3):
    """A georeferenced DEM (DataArray) of size² cells centred on the south pole."""
    import xarray as xr
    from affine import Affine
    from scipy import ndimage

    from lunatlas.crs import MOON_RADIUS_M
    from lunatlas.terrain import local_crs

    rng = np.random.default_rng(seed)
    coarse = ndimage.gaussian_filter(rng.normal(0.0, 1.0, (size // 16, size // 16)), 3.0)
    relief = ndimage.zoom(coarse / np.abs(coarse).max() * 300.0, 16, order=1)
    z = relief[:size, :size].astype(np.float32)
    for _ in range(4000):
        d = float(np.clip(rng.pareto(1.2) * 8 + 8, 8, size / 8))  # diameter in pixels
        cy, cx = rng.uniform(0, size, 2)
        r = d / 2
        y0, y1 = int(max(cy - 1.5 * r, 0)), int(min(cy + 1.5 * r + 1, size))
        x0, x1 = int(max(cx - 1.5 * r, 0)), int(min(cx + 1.5 * r + 1, size))
        yy, xx = np.mgrid[y0:y1, x0:x1]
        rho = np.hypot(yy - cy, xx - cx) / r
        depth = 0.2 * d * pixel_m
        z[y0:y1, x0:x1] += np.where(rho < 1, depth * (rho**2 - 1) + 0.04 * depth,
                                    0.04 * depth * np.exp(-(rho - 1) * 4)).astype(np.float32)
    crs = local_crs(-90.0, 0.0)
    half = size * pixel_m / 2
    coords = -half + pixel_m * (np.arange(size) + 0.5)
    dem = xr.DataArray(z, dims=("y", "x"), coords={"y": coords[::-1], "x": coords},
                       attrs={"units": "m", "reference_radius_m": MOON_RADIUS_M})
    return dem.rio.write_crs(crs).rio.write_transform(
        Affine(pixel_m, 0, -half, 0, -pixel_m, half))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=8192)
    parser.add_argument("--pixel-m", type=float, default=20.0)
    parser.add_argument("--tile", type=int, default=1024)
    parser.add_argument("--azimuths", type=int, default=16)
    parser.add_argument("--distance-km", type=float, default=5.0)
    parser.add_argument("--days", type=float, default=29.5)
    parser.add_argument("--step-hours", type=float, default=6.0)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    os.environ["NUMBA_NUM_THREADS"] = "1"  # inherited by the workers: one thread each

    from dask.distributed import Client, LocalCluster, get_task_stream

    from lunatlas.ephemeris import sun_earth_vectors_me, time_grid
    from lunatlas.illumination import light_map_distributed
    from lunatlas.illumination.horizon import halo_pixels, horizon_angles
    from lunatlas.illumination.light import light_maps
    from lunatlas.illumination.pipeline import azimuths, geometry_of

    t0 = time.perf_counter()
    dem = synthetic_polar_grid(args.size, args.pixel_m)
    start = np.datetime64("2026-01-01T00:00")
    end = start + np.timedelta64(int(args.days * 24), "h")
    times = time_grid(start, end, args.step_hours)
    sun, earth = sun_earth_vectors_me(times)
    print(f"{args.size}² cells of {args.pixel_m:g} m ({args.size * args.pixel_m / 1e3:.0f} km), "
          f"{args.azimuths} azimuths, {args.distance_km:g} km reach, {times.size} instants "
          f"({args.days:g} d every {args.step_hours:g} h), tiles {args.tile}², "
          f"{args.workers} workers × 1 thread; terrain made in {time.perf_counter() - t0:.0f} s")
    distance = args.distance_km * 1000.0
    with LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                      memory_limit=0, dashboard_address=None) as cluster, \
            Client(cluster) as client:
        client.run(lambda: __import__("lunatlas.illumination.pipeline"))  # imports, kernels
        t0 = time.perf_counter()
        with get_task_stream(client) as stream:
            maps = light_map_distributed(dem, times, args.step_hours, client, args.azimuths,
                                         distance, tile_px=args.tile, sun_earth=(sun, earth))
        wall = time.perf_counter() - t0
        peaks = client.run(lambda: resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
    tiles = [t for t in stream.data if str(t["key"]).startswith("_tile_light")]
    seconds = np.array([sum(s["stop"] - s["start"] for s in t["startstops"]
                            if s["action"] == "compute") for t in tiles])
    cells = args.size**2
    print(f"  wall {wall:.0f} s for {len(tiles)} tiles: per tile {np.median(seconds):.1f} s "
          f"median, {seconds.max():.1f} s max; {cells / wall / 1e3:.0f} k cells/s; peak "
          f"worker memory {max(peaks.values()):.0f} MiB")

    # One tile again, in this process: the same heights, halo and global anchoring.
    halo = halo_pixels(distance, args.pixel_m)
    r, c = (args.size // 2 // args.tile) * args.tile, (args.size // 4 // args.tile) * args.tile
    heights = dem.to_numpy().astype(np.float64)
    rr0, cc0 = max(0, r - halo), max(0, c - halo)
    block = heights[rr0:r + args.tile + halo, cc0:c + args.tile + halo]
    local = horizon_angles(block, args.pixel_m, azimuths(args.azimuths), distance,
                           origin=(rr0, cc0))
    core = np.ascontiguousarray(local[:, r - rr0:r - rr0 + args.tile, c - cc0:c - cc0 + args.tile])
    single = light_maps(core, geometry_of(dem.isel(y=slice(r, r + args.tile),
                                                  x=slice(c, c + args.tile))),
                        sun, earth, args.step_hours)
    same = all(np.array_equal(np.asarray(getattr(single, name), dtype=np.float32),
                              getattr(maps, name)[r:r + args.tile, c:c + args.tile],
                              equal_nan=True)
               for name in ("illumination_fraction", "longest_darkness_days",
                            "earth_visibility_fraction", "longest_earth_gap_days",
                            "never_lit"))
    print(f"  tile at rows {r}–{r + args.tile}, cols {c}–{c + args.tile} recomputed in one "
          f"process: {'identical bits' if same else 'DIFFERENT'}")

    # The 80–90°S cap at 20 m, from the measured per-tile rate (this run's azimuths, reach
    # and period; the note scales it to 64 azimuths, 150 km and a year).
    cap_side_km = 2 * 2 * 1737.4 * math.tan(math.radians(10.0) / 2)
    cap_cells = (cap_side_km * 1000 / args.pixel_m) ** 2
    cpu_s_per_cell = seconds.sum() / cells
    print(f"  80–90°S at 20 m: a {cap_side_km:.0f} km square, {cap_cells / 1e9:.2f} G cells; "
          f"at {cpu_s_per_cell * 1e6:.1f} CPU-µs per cell (this run's settings): "
          f"{cap_cells * cpu_s_per_cell / 3600:.0f} CPU-hours, {cap_cells / args.tile**2:.0f} "
          f"tiles of {args.tile}²")


if __name__ == "__main__":
    main()
