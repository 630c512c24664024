"""Bundle the classic crater-chronology calibration points from shared/data.

Reads ``<data>/calibration/classic_calibration_points.csv`` (second-hand transcriptions of
Neukum's counts with Stöffler & Ryder 2001 ages, le Feuvre & Wieczorek 2011, Robbins 2014,
and the Chang'e 5 density; its header says where each compilation was read) and writes
``src/lunatlas/chronology/data/classic_calibration_points.csv``: the same rows with a
``read_from`` column naming the public code each value was transcribed from, a
``second_hand`` flag, and the source file's SHA-256 in the header. Rerun it whenever the
shared table changes::

    python scripts/build_classic_calibration.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import io
import re
from pathlib import Path

import pandas as pd

from lunatlas.data.fetch import sha256_of

SOURCE = "calibration/classic_calibration_points.csv"
TARGET = Path(__file__).resolve().parents[1] / "src/lunatlas/chronology/data"


def compilations(header: list[str]) -> dict[str, str]:
    """``name = where it was read`` lines of the source header."""
    found = {}
    for line in header:
        match = re.match(r"#\s+(\w+)\s+=\s+(.+)$", line)
        if match:
            found[match.group(1)] = match.group(2).strip()
    return found


def build(data_dir: Path, out_dir: Path = TARGET) -> Path:
    source = data_dir / SOURCE
    text = source.read_text(encoding="utf-8")
    header = [line for line in text.splitlines() if line.startswith("#")]
    table = pd.read_csv(io.StringIO(text), comment="#")
    where = compilations(header)
    unknown = sorted(set(table["compilation"]) - set(where))
    if unknown:
        raise SystemExit(f"{source}: compilation(s) {unknown} not described in the header")
    for name, text in where.items():  # "the same MintonGroup file": name it (and its commit)
        if "same MintonGroup file" in text and "neukum_counts" in where:
            source_file = where["neukum_counts"].split(" ages, ", 1)[-1]
            where[name] = f"{text} ({source_file})"
    table["read_from"] = table["compilation"].map(where)
    table["second_hand"] = "yes"
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / "classic_calibration_points.csv"
    lines = [*header, f"# bundled by scripts/build_classic_calibration.py from shared/data "
             f"{SOURCE} (sha256 {sha256_of(source)})"]
    target.write_text("\n".join(lines) + "\n" + table.to_csv(index=False), encoding="utf-8")
    return target


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=TARGET)
    args = parser.parse_args()
    print(f"wrote {build(args.data_dir, args.out)}")


if __name__ == "__main__":
    main()
