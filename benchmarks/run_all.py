"""Every benchmark in one run, with the machine it ran on: horizons (sweep, brute force,
GRASS r.horizon when installed), a year of hourly light at 2048², the main job end to end.
Copy the output into benchmarks/RESULTS.md when a figure changes.

    python benchmarks/run_all.py [--quick]   (--quick: 1024² and 30 days instead)
"""

from __future__ import annotations

import argparse
import os
import platform
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        names = [line.split(":", 1)[1].strip() for line in cpuinfo.read_text().splitlines()
                 if line.startswith("model name")]
        cpu = names[0] if names else cpu
    memory = ""
    meminfo = Path("/proc/meminfo")
    if meminfo.is_file():
        kib = int(meminfo.read_text().split()[1])
        memory = f", {kib / 2**20:.0f} GiB"
    grass = shutil.which("grass")
    grass_version = (subprocess.run([grass, "--version"], capture_output=True, text=True)
                     .stdout.splitlines()[0] if grass else "not installed")
    import numba
    import numpy

    return (f"{cpu}, {os.cpu_count()} cores{memory}; Python {platform.python_version()}, "
            f"numpy {numpy.__version__}, numba {numba.__version__}; GRASS: {grass_version}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    print(f"machine: {machine()}", flush=True)
    size = ["--size", "1024"] if args.quick else []
    hours = ["--hours", "720"] if args.quick else []
    for script, extra in (("bench_horizon.py", size), ("bench_illumination.py", size + hours),
                          ("bench_main_job.py", [])):
        print(f"\n$ python benchmarks/{script} {' '.join(extra)}".rstrip(), flush=True)
        subprocess.run([sys.executable, str(HERE / script), *extra], check=True)


if __name__ == "__main__":
    main()
