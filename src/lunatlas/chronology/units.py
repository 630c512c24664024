"""Geologic units dated by crater counts: unit polygons from count-area boundaries, model
ages with a chronology system, and the epoch (Wilhelms 1987) of each age.

Readers feed :func:`count_units`; :func:`date_units` is a pure function of the counts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lunatlas.chronology.counts import CraterCount, _read_text, _structure, read_scc
from lunatlas.chronology.fitting import fit_age
from lunatlas.chronology.functions import ChronologySystem
from lunatlas.crs import MOON_GEOGRAPHIC
from lunatlas.errors import InputError

EPOCHS_WILHELMS_1987 = ((1.1, "Copernican"), (3.2, "Eratosthenian"), (3.8, "Late Imbrian"),
                        (3.85, "Early Imbrian"), (3.92, "Nectarian"), (99.0, "pre-Nectarian"))
"""Upper age bound (Ga) of each lunar epoch, Wilhelms (1987) as used by craterstats."""


def epoch(age_ga: float) -> str:
    """Lunar epoch of a model age (Wilhelms 1987 boundaries)."""
    return next(name for limit, name in EPOCHS_WILHELMS_1987 if age_ga < limit)


@dataclass(frozen=True)
class CountUnit:
    """Which count dates which unit, over which diameter range."""

    count_file: str
    name: str
    d_range_km: tuple[float, float]
    mission: str = ""


DEFAULT_COUNT_UNITS = (
    CountUnit("CE-6_8km_vicinity.scc", "Chang'e-6 landing-site mare (Apollo basin, SPA)",
              (0.2, 0.8), "Chang'e 6"),
    CountUnit("c1.scc", "count area c1", (0.02, 0.12)),
    CountUnit("c2.scc", "count area c2", (0.02, 0.2)),
    CountUnit("c3.scc", "count area c3", (0.02, 0.1)),
    CountUnit("c4.scc", "count area c4", (0.02, 0.15)),
    CountUnit("c5.scc", "count area c5", (0.02, 0.3)),
    CountUnit("c6.scc", "count area c6", (0.02, 0.05)),
    CountUnit("Im2.scc", "count area Im2", (1.4, 7.0)),
)


def boundary_polygon(path: Path) -> shapely.MultiPolygon:
    """Count-area outline from an .scc ``unit_boundary`` table (lon/lat vertices)."""
    _, tables = _structure(_read_text(path))
    if "unit_boundary" not in tables:
        raise InputError(f"{path}: no unit_boundary table; a unit needs its outline")
    header, *rows = tables["unit_boundary"]
    try:
        sub, lon, lat = (header.index(k) for k in ("sub_area", "lon", "lat"))
    except ValueError:
        raise InputError(f"{path}: unit_boundary columns {header}; expected sub_area, lon, "
                         "lat") from None
    parts: dict[str, list[tuple[float, float]]] = {}
    for row in rows:
        parts.setdefault(row[sub], []).append((float(row[lon]), float(row[lat])))
    polygons = [shapely.Polygon(v) for v in parts.values() if len(v) >= 3]
    return shapely.MultiPolygon([p if p.is_valid else p.buffer(0) for p in polygons])


def count_records(folder_files: dict[str, Path],
                  units: tuple[CountUnit, ...] = DEFAULT_COUNT_UNITS,
                  source: str = "craterstats-sample-counts") -> tuple[gpd.GeoDataFrame,
                                                                       pd.DataFrame]:
    """Unit outlines and ``counts`` records for the count files at hand."""
    outlines, counts = [], []
    for unit in units:
        path = folder_files.get(unit.count_file)
        if path is None:
            continue
        count = read_scc(path)
        unit_id = f"count:{Path(unit.count_file).stem}"
        outlines.append({"record_id": unit_id, "unit_code": Path(unit.count_file).stem,
                         "name": unit.name, "geometry": boundary_polygon(path)})
        counts.append({
            "record_id": unit_id, "unit_id": unit_id, "count_file": unit.count_file,
            "area_km2": count.area_km2,
            "perimeter_km": count.perimeter_km if count.perimeter_km else np.nan,
            "d_min_km": unit.d_range_km[0], "d_max_km": unit.d_range_km[1],
            "method": "poisson", "mission": unit.mission,
            "diameters_km_json": json.dumps([round(float(d), 7) for d in count.diameters_km]),
            "fractions_json": json.dumps([round(float(f), 7) for f in count.fractions]),
            "source": source,
        })
    return (gpd.GeoDataFrame(pd.DataFrame(outlines), geometry="geometry", crs=MOON_GEOGRAPHIC),
            pd.DataFrame(counts))


def count_from_record(row: pd.Series) -> CraterCount:
    """Rebuild a :class:`CraterCount` from an atlas ``counts`` record."""
    perimeter = row.get("perimeter_km")
    return CraterCount(str(row["count_file"]), float(row["area_km2"]),
                       np.array(json.loads(row["diameters_km_json"]), float),
                       np.array(json.loads(row["fractions_json"]), float),
                       None if perimeter is None or pd.isna(perimeter) else float(perimeter),
                       str(row["count_file"]))


def date_units(outlines: gpd.GeoDataFrame, counts: pd.DataFrame,
               system: ChronologySystem, age_source: str) -> gpd.GeoDataFrame:
    """Unit records (polygon, code, name, epoch, model age ± and N(1)) from their counts."""
    by_unit = counts.set_index("unit_id")
    rows = []
    for _, unit in outlines.iterrows():
        rec = by_unit.loc[unit["record_id"]]
        fit = fit_age(count_from_record(rec), system, (rec["d_min_km"], rec["d_max_km"]),
                      rec["method"])
        rows.append({
            "record_id": unit["record_id"], "unit_code": unit["unit_code"],
            "name": unit["name"], "era": epoch(fit.age_ga),
            "model_age_ga": round(fit.age_ga, 4),
            "model_age_minus_ga": round(fit.age_ga - fit.age_low_ga, 4),
            "model_age_plus_ga": round(fit.age_high_ga - fit.age_ga, 4),
            "n1_per_km2": float(f"{fit.n1_per_km2:.4e}"),
            "age_source": f"{age_source}; {fit.method} fit, D {fit.d_min_km:g}–"
                          f"{fit.d_max_km:g} km, {fit.n_craters:g} craters",
            "source": str(rec["source"]), "geometry": unit["geometry"],
        })
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=MOON_GEOGRAPHIC)
