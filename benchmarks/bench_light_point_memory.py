"""Peak memory of `light point` on large DEMs: the 40 m south-pole tile and a synthetic
20 000 × 20 000 DEM read by window. Each case runs in its own process (peak RSS from
``getrusage``); the ratio to what a full horizon grid would need is printed.

    python benchmarks/bench_light_point_memory.py [--data-dir ../shared/data] [--size 20000]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = """
import json, resource, sys, time
from lunatlas.illumination import light_point
from lunatlas.terrain.stack import open_stack
paths, lat, lon, azimuths = json.loads(sys.argv[1])
started = time.perf_counter()
stack = open_stack(paths)
point = light_point(stack, lat, lon, "2026-01-01", "2026-12-31", 6.0, n_azimuths=azimuths,
                    max_distance_m=150_000.0)
summary = point.summary()
print(json.dumps({"seconds": round(time.perf_counter() - started, 1),
                  "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                                        / 1024, 1),
                  "illumination": round(summary["illumination_fraction"], 3),
                  "dem": summary["dem"]}))
"""


BASELINE = """
import resource
from lunatlas.illumination import light_point  # noqa: F401  (imports only)
from lunatlas.terrain.stack import open_stack  # noqa: F401
print(round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1))
"""


def write_synthetic(path: Path, size: int, pixel_m: float) -> None:
    """A tiled, compressed int16 DEM around the south pole, written window by window."""
    import numpy as np
    import rasterio
    from affine import Affine
    from rasterio.windows import Window

    from lunatlas.crs import MOON_SOUTH_POLAR

    half = size * pixel_m / 2
    transform = Affine(pixel_m, 0, -half, 0, -pixel_m, half)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1,
                       dtype="int16", crs=MOON_SOUTH_POLAR.to_wkt(), transform=transform,
                       tiled=True, blockxsize=512, blockysize=512, compress="deflate",
                       BIGTIFF="YES") as dst:
        step = 2048
        for r in range(0, size, step):
            for c in range(0, size, step):
                h, w = min(step, size - r), min(step, size - c)
                x = -half + (c + np.arange(w) + 0.5) * pixel_m
                y = half - (r + np.arange(h) + 0.5) * pixel_m
                xx, yy = np.meshgrid(x, y)
                z = (900 * np.sin(xx / 17_000) * np.cos(yy / 23_000)
                     + 300 * np.sin((xx + yy) / 3_100) + 40 * np.cos(xx / 410))
                dst.write(z.astype("int16"), 1, window=Window(c, r, w, h))


def run_case(name: str, paths: list[str], lat: float, lon: float, cells: int,
             azimuths: int = 180) -> None:
    out = subprocess.run([sys.executable, "-c", CHILD, json.dumps([paths, lat, lon, azimuths])],
                         capture_output=True, text=True, check=True)
    result = json.loads(out.stdout.strip().splitlines()[-1])
    full_grid_gib = azimuths * cells * 4 / 2**30
    print(f"{name}: {result['seconds']} s, peak RSS {result['peak_rss_mib']} MiB "
          f"(a full {azimuths}-azimuth horizon grid would need {full_grid_gib:.1f} GiB: "
          f"{full_grid_gib * 1024 / result['peak_rss_mib']:.0f}× more); illumination "
          f"{result['illumination']} on {result['dem']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--size", type=int, default=20_000)
    parser.add_argument("--pixel-m", type=float, default=15.0)
    args = parser.parse_args()
    from lunatlas.data.fetch import dataset_path

    polar = str(dataset_path("lola-polar-south-1600m", args.data_dir))
    base = subprocess.run([sys.executable, "-c", BASELINE], capture_output=True, text=True,
                          check=True).stdout.strip().splitlines()[-1]
    print(f"baseline (imports only): peak RSS {base} MiB")
    tile40 = args.data_dir / "south_pole_terrain" / "shackleton_zoom_40m.tif"
    if tile40.exists():
        # the naive path of old: a local grid of 2 × 150 km at 40 m → 7 503² cells
        run_case("40 m tile nested in the 1.6 km DEM", [str(tile40), polar], -89.75, 200.0,
                 7503**2)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "synthetic.tif"
        started = time.perf_counter()
        write_synthetic(path, args.size, args.pixel_m)
        print(f"wrote {args.size}² synthetic DEM ({path.stat().st_size / 2**20:.0f} MiB "
              f"compressed) in {time.perf_counter() - started:.0f} s")
        run_case(f"synthetic {args.size}² DEM of {args.pixel_m:g} m", [str(path)], -89.9,
                 45.0, args.size**2)


if __name__ == "__main__":
    main()
