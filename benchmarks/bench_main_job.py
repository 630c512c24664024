"""The main job end to end (`lunatlas site --region south-pole`): wall time of the default run
(embedded 1.6 km polar DEM) and, when the shared data folder is there, of the nested-terrain
run (40 m in 200 m in 1.6 km). Each is run once to fill caches (numba, the wheel cache) and
then timed in a fresh output folder.

    python benchmarks/bench_main_job.py [--data-dir ../shared/data]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def timed_run(extra: list[str]) -> float:
    """Seconds for one `lunatlas site` run (a new output folder each time)."""
    with tempfile.TemporaryDirectory() as out:
        command = [sys.executable, "-m", "lunatlas.cli.main", *extra, "site", "--region",
                   "south-pole", "--out", out]
        started = time.perf_counter()
        done = subprocess.run(command, capture_output=True, text=True)
        seconds = time.perf_counter() - started
        if done.returncode != 0:
            raise SystemExit(f"{' '.join(command)} failed: {done.stderr.strip()[-500:]}")
        return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path,
                        default=Path(__file__).resolve().parents[2] / "shared" / "data")
    args = parser.parse_args()
    runs = [("default (embedded 1.6 km LOLA polar DEM)", [])]
    if (args.data_dir / "MANIFEST.md").is_file():
        runs.append(("nested (40 m in 200 m in 1.6 km, --data-dir)",
                     ["--data-dir", str(args.data_dir)]))
    else:
        print(f"no shared data at {args.data_dir}: the nested run is skipped")
    print("main job: lunatlas site --region south-pole (atlas, report, maps, COGs)")
    for label, extra in runs:
        timed_run(extra)  # caches
        print(f"  {label}: {timed_run(extra):.1f} s wall")


if __name__ == "__main__":
    main()
