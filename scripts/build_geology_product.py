"""Build the embedded geology product from the USGS Unified Geologic Map rendering.

Reads ``<data>/geology_usgs_unified/unified_geologic_map_2048x1024.jpg`` and the 1:5M unit
label points (``<data>/geology_usgs_1to5M/geologic_unit_label_points_1to5M.csv``), classifies
the rendering (``lunatlas.geology.classify``) and writes ``unified_classes.tif`` and
``unified_classes.json`` into ``src/lunatlas/geology/data/`` with their checksums and
provenance. Rerun it whenever the classification changes::

    python scripts/build_geology_product.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import collections
from pathlib import Path

import pandas as pd

from lunatlas.data.fetch import sha256_of
from lunatlas.geology.classify import classify_rendering
from lunatlas.geology.product import product_folder, read_rendering, write_product
from lunatlas.geology.units import TIME_SCALE, unit_table

RENDERING = "geology_usgs_unified/unified_geologic_map_2048x1024.jpg"
LABELS = "geology_usgs_1to5M/geologic_unit_label_points_1to5M.csv"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--out", type=Path, default=None,
                        help="output folder (default: the package's geology/data)")
    parser.add_argument("--max-colour-distance", type=float, default=20.0)
    parser.add_argument("--min-area-px", type=int, default=8)
    args = parser.parse_args()
    rendering = args.data_dir / RENDERING
    labels_path = args.data_dir / LABELS
    rgb = read_rendering(rendering)
    labels = pd.read_csv(labels_path).rename(columns={"UnitSymbol": "symbol"})
    result = classify_rendering(rgb, unit_table(), labels,
                                max_colour_distance=args.max_colour_distance,
                                min_area_px=args.min_area_px)
    summary = collections.Counter((a["pair"], a["resolved"] or "unresolved")
                                  for a in result.pair_areas)
    unresolved_px = sum(a["pixels"] for a in result.pair_areas if not a["resolved"])
    meta = {
        "source": {"rendering": RENDERING, "rendering_sha256": sha256_of(rendering),
                   "labels": LABELS, "labels_sha256": sha256_of(labels_path),
                   "map": "USGS Unified Geologic Map of the Moon 1:5M, 2020 (Fortezzo, "
                          "Spudis & Harrel), public domain",
                   "label_points": "USGS 1:5M lunar geologic maps, 2013 digital renovation"},
        "method": {"max_colour_distance_rgb": args.max_colour_distance,
                   "modal_filter": "3×3", "sieve_min_area_px": args.min_area_px,
                   "connectivity": 8, "script": "scripts/build_geology_product.py"},
        "time_scale": TIME_SCALE,
        "confident_fraction": round(result.confident_fraction, 4),
        "pair_resolution": {f"{pair}: {how}": n for (pair, how), n in sorted(summary.items())},
        "unresolved_pair_pixels": unresolved_px,
    }
    out = args.out or product_folder()
    document = write_product(out, result.classes, result.codes.table(), meta)
    print(f"wrote {out}: raster SHA-256 {document['raster_sha256']}; "
          f"{result.confident_fraction:.1%} of pixels within {args.max_colour_distance:g} RGB "
          "units of a unit colour")
    for key, count in document["pair_resolution"].items():
        print(f"  {key}: {count} area(s)")


if __name__ == "__main__":
    main()
