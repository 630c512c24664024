"""Fit the same .scc counts with craterstats and with lunatlas, side by side.

craterstats 3.6 needs Python ≥ 3.12; install it in its own environment and pass its
executable, e.g.::

    python3.12 -m venv /tmp/cs312 && /tmp/cs312/bin/pip install craterstats==3.6.11
    python scripts/check_counts_with_craterstats.py --craterstats /tmp/cs312/bin/craterstats \\
        --range 1 45 lunatlas-out/count_*.scc
"""

from __future__ import annotations

import argparse
import csv
import subprocess
import tempfile
from pathlib import Path

from lunatlas.chronology import fit_age, get_system, read_count


def craterstats_fit(executable: str, path: Path, system_name: str,
                    d_range: tuple[float, float]) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "fit"
        subprocess.run([executable, "-cs", system_name, "-p",
                        f"source={path},type=poisson,range=[{d_range[0]:g},{d_range[1]:g}]",
                        "-f", "csv", "-o", str(out)], check=True, capture_output=True)
        rows = list(csv.reader(out.with_suffix(".csv").read_text("utf-8-sig").splitlines()))
    header, values = rows[2], rows[3]
    row = {}
    for key, value in zip(header, values, strict=False):
        row.setdefault(key, value)  # the first columns are numbers, later ones formatted
    return {"n": int(row["N"]), "area": float(row["Area"]), "age": float(row["Age"]),
            "n1": float(row["N(1)"])}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("files", type=Path, nargs="+")
    parser.add_argument("--craterstats", required=True, help="craterstats executable")
    parser.add_argument("--chronology", default="neukum2001")
    parser.add_argument("--range", type=float, nargs=2, required=True)
    args = parser.parse_args()
    system = get_system(args.chronology)
    print("| count | craters | area km² | craterstats age | lunatlas age | craterstats N(1) "
          "| lunatlas N(1) |\n|---|---|---|---|---|---|---|")
    for path in args.files:
        theirs = craterstats_fit(args.craterstats, path, system.name, tuple(args.range))
        ours = fit_age(read_count(path), system, tuple(args.range), "poisson")
        print(f"| {path.stem} | {theirs['n']} / {ours.n_craters:g} | {theirs['area']:,.0f} | "
              f"{theirs['age']:.2f} | {ours.age_ga:.3f} | {theirs['n1']:.3g} | "
              f"{ours.n1_per_km2:.3g} |")


if __name__ == "__main__":
    main()
