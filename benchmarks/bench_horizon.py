"""Horizon throughput: the windowed convex-hull sweep, the brute-force ray march and (when
GRASS GIS is installed: Debian package ``grass-core``) GRASS ``r.horizon``, on one DEM with
the same directions and reach. Prints cells × azimuths per second, ratios and agreement.

The DEM is the embedded LOLA-derived global DEM regridded to a south-polar grid of
``--size``² cells over the cap south of 87.5°S (74 m pixels at 2048²). The brute force runs
for a band of rows (rays still cross the whole grid); GRASS runs on a crop, and its figures
are compared with the sweep and the brute force on that same crop. Band and crop are centred
a quarter of the way down the grid, away from the pole, where the regridded equirectangular
DEM has cliffs of its own making (there the methods differ by up to 21°, as before). GRASS measures
directions counter-clockwise from east and puts Earth's radius in its curvature term, so it
is given heights and distances scaled by 6 371 / 1 737.4: the angles are then the Moon's.
``--synthetic`` adds a 4096² power-law crater field (20 m pixels).

    python benchmarks/bench_horizon.py [--size 2048] [--azimuths 16] [--distance-km 100]
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np

from lunatlas.illumination.horizon import horizon_angles, horizon_angles_brute_force

EARTH_OVER_MOON = 6371.0 / 1737.4
"""GRASS's Earth radius over the Moon's: scale factor for heights and distances."""


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


def polar_lola_grid(size: int) -> tuple[np.ndarray, float]:
    """The embedded LOLA-derived DEM on a south-polar grid of size² cells to 87.5°S."""
    from lunatlas.crs import MOON_RADIUS_M, MOON_SOUTH_POLAR
    from lunatlas.data import load_global_dem
    from lunatlas.terrain import regrid

    half = 2 * MOON_RADIUS_M * np.tan(np.radians(2.5) / 2)
    pixel = 2 * half / size
    grid = regrid(load_global_dem(), MOON_SOUTH_POLAR, (0.0, 0.0), half, pixel)
    return grid.to_numpy().astype(np.float64), pixel


REPEATS = 3
"""Whole-grid sweeps timed; the best is the rate. The first run of a process also pays for
mapping its output's pages (0.02–0.5 s for 256 MiB on this machine, depending on whether
the kernel has huge pages at hand), which later runs reuse."""

EDGE_PX = 16
"""Cells this close to the grid's edge are left out of the comparisons: there each method
treats the rays that leave the DEM its own way."""


def differences(a: np.ndarray, b: np.ndarray) -> str:
    """Difference statistics over the cells ≥ EDGE_PX from the left and right edges (and
    from the top and bottom when the arrays are whole grids)."""
    rows = slice(EDGE_PX, -EDGE_PX) if a.shape[1] > 4 * EDGE_PX else slice(None)
    d = (a - b)[:, rows, EDGE_PX:-EDGE_PX].astype(float)
    return (f"RMS {np.sqrt(np.mean(d**2)):.3f}°, p99 {np.percentile(np.abs(d), 99):.3f}°, "
            f"max {np.abs(d).max():.2f}°")


def grass_horizons(z: np.ndarray, pixel_m: float, azimuths_deg: np.ndarray,
                   distance_m: float) -> tuple[np.ndarray, float] | None:
    """GRASS r.horizon on ``z`` (angles in our convention, (A, ny, nx)) and the seconds
    r.horizon itself took; None when GRASS is not installed."""
    grass = shutil.which("grass")
    if grass is None:
        return None
    import rasterio
    from rasterio.transform import from_origin

    step = 360.0 / azimuths_deg.size
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        k = EARTH_OVER_MOON
        ny, nx = z.shape
        with rasterio.open(work / "dem.tif", "w", driver="GTiff", width=nx, height=ny, count=1,
                           dtype="float32", crs="EPSG:3857",
                           transform=from_origin(0.0, ny * pixel_m * k, pixel_m * k,
                                                 pixel_m * k)) as out:
            out.write((z * k).astype("float32"), 1)
        script = (
            f"r.in.gdal -o input={work / 'dem.tif'} output=dem --quiet && g.region raster=dem"
            f" && start=$(date +%s.%N) && r.horizon -d elevation=dem start=0 end=360 "
            f"step={step} maxdistance={distance_m * k} output=hz --quiet && "
            f"echo seconds $(echo \"$(date +%s.%N) - $start\" | bc) && "
            f"for m in $(g.list type=raster pattern='hz_*'); do "
            f"r.out.gdal input=$m output={work}/$m.tif --quiet -f; done")
        done = subprocess.run([grass, "--tmp-location", "EPSG:3857", "--exec", "bash", "-c",
                               script], capture_output=True, text=True)
        seconds = [float(line.split()[1]) for line in done.stdout.splitlines()
                   if line.startswith("seconds ")]
        if done.returncode != 0 or not seconds:
            print(f"  GRASS failed: {done.stderr.strip()[-400:]}")
            return None
        angles = np.empty((azimuths_deg.size, ny, nx), np.float32)
        for path in work.glob("hz_*.tif"):
            whole, frac = path.stem.split("_")[1:3]
            east_ccw = float(f"{whole}.{frac}")
            azimuth = (90.0 - east_ccw) % 360.0
            a = int(round(azimuth / step)) % azimuths_deg.size
            with rasterio.open(path) as src:
                angles[a] = src.read(1)
        return angles, seconds[0]


def measure(name: str, z: np.ndarray, pixel_m: float, az: np.ndarray, distance_m: float,
            brute_rows: int, grass_crop: int) -> None:
    horizon_angles(z[:64, :64], pixel_m, az, distance_m)  # compile (cached) and warm up
    runs = []
    fast = None
    for _ in range(REPEATS):
        fast = None  # the previous run's maps are freed first, as a caller replacing them
        t0 = time.perf_counter()
        fast = horizon_angles(z, pixel_m, az, distance_m)
        runs.append(time.perf_counter() - t0)
    t_fast = min(runs)
    r0 = z.shape[0] // 4 - brute_rows // 2
    horizon_angles_brute_force(z[:8, :8], pixel_m, az, distance_m)
    t0 = time.perf_counter()
    slow = horizon_angles_brute_force(z, pixel_m, az, distance_m, rows=(r0, r0 + brute_rows))
    t_slow = time.perf_counter() - t0
    fast_rate = z.size * az.size / t_fast
    slow_rate = brute_rows * z.shape[1] * az.size / t_slow
    print(f"{name}: {z.shape[0]}×{z.shape[1]} px of {pixel_m:g} m, {az.size} azimuths, "
          f"{distance_m / 1e3:g} km reach, 2 threads")
    print(f"  sweep       {t_fast:8.2f} s  {fast_rate / 1e6:8.1f} M cell·az/s (best of "
          f"{REPEATS} runs: {', '.join(f'{t:.2f}' for t in runs)} s; the first maps "
          f"{az.size * z.size * 4 / 2**20:.0f} MiB of fresh output memory)")
    print(f"  brute force {t_slow:8.2f} s  {slow_rate / 1e6:8.2f} M cell·az/s "
          f"({brute_rows} rows)")
    print(f"  sweep / brute force = {fast_rate / slow_rate:.0f}×; sweep − brute force: "
          f"{differences(fast[:, r0:r0 + brute_rows], slow)}")
    if not grass_crop:
        return
    r0 = z.shape[0] // 4 - grass_crop // 2
    c0 = z.shape[1] // 2 - grass_crop // 2
    crop = np.ascontiguousarray(z[r0:r0 + grass_crop, c0:c0 + grass_crop])
    result = grass_horizons(crop, pixel_m, az, distance_m)
    if result is None:
        print("  GRASS r.horizon: not installed (apt-get install grass-core) — skipped")
        return
    grass, t_grass = result
    t0 = time.perf_counter()
    ours = horizon_angles(crop, pixel_m, az, distance_m)
    t_ours = time.perf_counter() - t0
    reference = horizon_angles_brute_force(crop, pixel_m, az, distance_m)
    rate_grass = crop.size * az.size / t_grass
    rate_ours = crop.size * az.size / t_ours
    print(f"  GRASS r.horizon on a {grass_crop}² crop (1 thread: GRASS 8.2 has no "
          f"parallel r.horizon): {t_grass:.2f} s, {rate_grass / 1e6:.2f} M cell·az/s; "
          f"sweep on the crop {t_ours:.2f} s, {rate_ours / 1e6:.1f} M cell·az/s")
    print(f"  per core: sweep / GRASS = {rate_ours / 2 / rate_grass:.1f}×; against the brute "
          f"force on the crop: sweep {differences(ours, reference)}; GRASS "
          f"{differences(grass, reference)}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size", type=int, default=2048)
    parser.add_argument("--azimuths", type=int, default=16)
    parser.add_argument("--distance-km", type=float, default=100.0)
    parser.add_argument("--brute-rows", type=int, default=8)
    parser.add_argument("--grass-crop", type=int, default=384)
    parser.add_argument("--synthetic", action="store_true",
                        help="also a 4096² synthetic crater field (20 m pixels)")
    args = parser.parse_args()
    az = np.arange(args.azimuths) * (360.0 / args.azimuths)
    z, pixel = polar_lola_grid(args.size)
    measure("LOLA south-polar grid", z, pixel, az, args.distance_km * 1000, args.brute_rows,
            args.grass_crop)
    if args.synthetic:
        field = crater_field(4096, 20.0).astype(np.float64)
        measure("synthetic crater field", field, 20.0, az, 10_000.0, args.brute_rows, 0)


if __name__ == "__main__":
    main()
