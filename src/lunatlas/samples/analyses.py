"""New sample analyses: a documented schema, validated on ingest (pydantic).

CSV or JSON (a list of objects) with one analysis per row:

========================  ==========================================================  ========
field                     meaning                                                     required
========================  ==========================================================  ========
institution               who measured it                                             yes
sample_id                 the sample's catalogue id (unique per institution)          yes
mission                   one of the registry's missions (Apollo 11 … Chang'e 6)      yes
method                    e.g. ``Pb-Pb (SIMS)``, ``Ar-Ar``                            yes
age_ga, age_sigma_ga      radiometric age and 1σ, Ga (0 < age ≤ 4.6; σ > 0)           [1]_
feo_wt_pct, tio2_wt_pct   composition, wt% (0–100)                                    [1]_
rock_type                 free text                                                   no
unit                      the mapped unit the age dates, as named in the calibration  no
                          table (``lunatlas chronology points``); empty: the site's
                          main unit (the one its calibration point stands for)
dates_mapped_unit         ``false`` for material foreign to the geologic unit mapped  no
                          at the sample point (exotic clasts); default ``true``
lat, lon                  where the sample was taken (°; default: landing site)       no
reference, doi            publication                                                 no
========================  ==========================================================  ========

.. [1] an analysis carries an age (with σ), a composition, or both.

Bad rows are rejected with the file, row number, field and reason; nothing is written then.
"""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import pandas as pd
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from lunatlas.crs import MOON_GEOGRAPHIC, normalize_longitude
from lunatlas.errors import InputError
from lunatlas.samples.registry import missions


class Analysis(BaseModel):
    """One new analysis of a returned sample."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    institution: str = Field(min_length=1)
    sample_id: str = Field(min_length=1)
    mission: str = Field(min_length=1)
    method: str = Field(min_length=1)
    age_ga: float | None = Field(default=None, gt=0.0, le=4.6)
    age_sigma_ga: float | None = Field(default=None, gt=0.0, le=1.0)
    feo_wt_pct: float | None = Field(default=None, ge=0.0, le=100.0)
    tio2_wt_pct: float | None = Field(default=None, ge=0.0, le=100.0)
    rock_type: str = ""
    unit: str = ""
    dates_mapped_unit: bool = True
    lat: float | None = Field(default=None, ge=-90.0, le=90.0)
    lon: float | None = Field(default=None, ge=-360.0, le=360.0)
    reference: str = ""
    doi: str = ""

    @field_validator("age_ga", "age_sigma_ga", "feo_wt_pct", "tio2_wt_pct", "lat", "lon",
                     mode="before")
    @classmethod
    def _number_not_boolean(cls, value):
        if isinstance(value, bool):  # JSON true would otherwise read as 1.0
            raise ValueError(f"expected a number, got {str(value).lower()}")
        return value

    @field_validator("institution", "sample_id", "mission", "method", "rock_type", "unit",
                     "reference", "doi", mode="before")
    @classmethod
    def _printable(cls, value):
        if isinstance(value, str) and any(ord(ch) < 32 and ch not in "\t" for ch in value):
            raise ValueError("contains a control character (NUL, newline…): expected "
                             "printable text")
        return value

    @model_validator(mode="after")
    def _content(self) -> Analysis:
        known = set(missions()["mission"])
        if self.mission not in known:
            raise ValueError(f"mission {self.mission!r} is not in the registry "
                             f"({', '.join(sorted(known))})")
        if (self.age_ga is None) != (self.age_sigma_ga is None):
            raise ValueError("age_ga and age_sigma_ga go together")
        if self.age_ga is None and self.feo_wt_pct is None and self.tio2_wt_pct is None:
            raise ValueError("an analysis needs an age (age_ga, age_sigma_ga) or a composition "
                             "(feo_wt_pct, tio2_wt_pct)")
        return self


MAX_ANALYSES_BYTES = 10_000_000
"""Largest analyses file accepted (a lab's batch is kilobytes; bigger files are split)."""
MAX_ANALYSES_ROWS = 10_000


def _rows(path: Path) -> list[dict]:
    if not path.is_file():
        raise InputError(f"{path}: analyses file not found")
    size = path.stat().st_size
    if size > MAX_ANALYSES_BYTES:
        raise InputError(f"{path}: {size:,} bytes; analyses files are limited to "
                         f"{MAX_ANALYSES_BYTES:,} bytes (split the batch)")
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise InputError(f"{path}: not valid JSON ({exc})") from None
        if not isinstance(data, list):
            raise InputError(f"{path}: expected a JSON list of analyses")
        return data
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    return [{k: v for k, v in row.items() if v != ""} for row in frame.to_dict("records")]


def read_analyses(path: str | Path, existing_ids: set[str] | None = None) -> list[Analysis]:
    """Validate every row; raise :class:`InputError` listing each bad row (nothing partial)."""
    path = Path(path)
    rows = _rows(path)
    if not rows:
        raise InputError(f"{path}: no analyses")
    if len(rows) > MAX_ANALYSES_ROWS:
        raise InputError(f"{path}: {len(rows):,} analyses; at most {MAX_ANALYSES_ROWS:,} per "
                         "file (split the batch)")
    errors: list[str] = []
    analyses: list[Analysis] = []
    seen: set[tuple[str, str]] = set()
    offset = 1 if path.suffix.lower() == ".json" else 2  # CSV rows count from the header
    for i, row in enumerate(rows):
        label = f"row {i + offset}"
        try:
            analysis = Analysis.model_validate(row)
        except ValidationError as exc:
            for err in exc.errors():
                field = ".".join(str(p) for p in err["loc"]) or "row"
                errors.append(f"{label}, field {field!r}: {err['msg']}")
            continue
        key = (analysis.institution, analysis.sample_id)
        if key in seen or record_id(analysis) in (existing_ids or set()):
            errors.append(f"{label}, field 'sample_id': duplicate {analysis.sample_id!r} from "
                          f"{analysis.institution!r}")
        seen.add(key)
        analyses.append(analysis)
    if errors:
        raise InputError(f"{path}: {len(errors)} invalid row(s), nothing written:\n  "
                         + "\n  ".join(errors))
    return analyses


def record_id(analysis: Analysis) -> str:
    """Stable atlas record id of an analysis."""
    return f"analysis:{analysis.institution}:{analysis.sample_id}".replace(" ", "_")


def analysis_records(analyses: list[Analysis], source: str) -> gpd.GeoDataFrame:
    """Atlas ``samples`` records for validated analyses (at the sample point or landing site)."""
    sites = missions().set_index("mission")
    rows, lons, lats = [], [], []
    for a in analyses:
        lat = a.lat if a.lat is not None else float(sites.loc[a.mission, "landing_lat"])
        lon = a.lon if a.lon is not None else float(sites.loc[a.mission, "landing_lon"])
        lats.append(lat)
        lons.append(float(normalize_longitude(lon)))
        composition = ", ".join(f"{name} {value:g} wt%" for name, value in
                                (("FeO", a.feo_wt_pct), ("TiO2", a.tio2_wt_pct))
                                if value is not None)
        rows.append({
            "record_id": record_id(a), "mission": a.mission, "sample_id": a.sample_id,
            "unit": a.unit,
            "rock_type": a.rock_type + (f" ({composition})" if composition else ""),
            "mass_g": float("nan"),
            "age_ga": a.age_ga if a.age_ga is not None else float("nan"),
            "age_sigma_ga": a.age_sigma_ga if a.age_sigma_ga is not None else float("nan"),
            "age_method": a.method,
            "reference": (a.reference + (f" doi:{a.doi}" if a.doi else "")).strip(),
            "dates_mapped_unit": "yes" if a.dates_mapped_unit else "no",
            "source": f"{a.institution} via {source}",
        })
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry=gpd.points_from_xy(lons, lats),
                            crs=MOON_GEOGRAPHIC)
