"""``samples add`` as one atlas edition: validate analyses, refit the chronology on the
samples the edition will hold, re-date the count areas and geologic units.

Everything is derived under the atlas's write lock from the atlas as it is then, so parallel
writers never store values computed from an older edition.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import pandas as pd

from lunatlas.atlas.schema import LAYERS
from lunatlas.atlas.store import Atlas, edit
from lunatlas.chronology.calibration import Calibration
from lunatlas.errors import InputError
from lunatlas.geology.dating import AGE_COLUMNS, date_geologic_units
from lunatlas.samples.analyses import analysis_records, read_analyses
from lunatlas.samples.enrich import date_atlas, discordances


@dataclass
class EnrichResult:
    """What ``samples add`` did."""

    edition: int | None
    added: int
    calibration: Calibration | None
    redated: int
    discordant: list[str] = field(default_factory=list)
    """Why each discordant added age disagrees with its unit."""




def add_analyses(atlas_path: str | Path, analyses_file: str | Path,
                 command: str = "", strict: bool = False) -> EnrichResult:
    """Validate and ingest analyses; refit the chronology, re-date count areas and the
    geologic units they and the samples date; one edition.

    An age that disagrees with its unit (:func:`discordances`) is added with the reason in
    its ``discordance`` field and in the edition's reason, or, with ``strict``, refused
    (nothing is written)."""
    # A first pass validates the file and honours --strict before anything is locked; the
    # edition itself is derived under the write lock from the atlas as it is then.
    _stage_analyses(Atlas(atlas_path), analyses_file, strict)
    outcome: dict = {}
    name = Path(analyses_file).name
    source = f"analyses:{name}"

    def stage(change, store) -> None:
        if store is None:
            raise InputError(f"{atlas_path}: atlas not found (build one with "
                             "`lunatlas atlas build`)")
        new, flagged, dating, changed, units, areas = _stage_analyses(store, analyses_file,
                                                                      strict)
        change.reason = f"add {len(new)} sample analyses from {name}"
        if not flagged.empty:
            change.reason += (f" ({len(flagged)} discordant, flagged: "
                              f"{', '.join(flagged['sample_id'].astype(str))})")
        change.upsert("samples", new, source)
        if not dating.calibration_records.empty:
            change.replace_layer("calibration", dating.calibration_records, source)
            change.replace_layer("chronologies", dating.chronology_records, source)
        change.upsert("count_areas", areas, source)
        change.upsert("units", units, source)
        outcome.update(added=len(new), calibration=dating.calibration, changed=changed,
                       discordant=flagged["discordance"].tolist())

    with edit(atlas_path, f"add sample analyses from {name}", command) as change:
        change.prepare(stage)
    return EnrichResult(change.edition, outcome["added"], outcome["calibration"],
                        outcome["changed"], outcome["discordant"])


def _stage_analyses(store: Atlas, analyses_file: str | Path, strict: bool):
    """Everything one ``samples add`` derives from the atlas as ``store`` holds it: the
    validated new records (with discordance flags), the refit, the re-dated areas and units."""
    samples = store.layer("samples")
    analyses = read_analyses(analyses_file, set(samples.index))
    new = analysis_records(analyses, Path(analyses_file).name)
    new["discordance"] = discordances(new, samples)
    flagged = new[new["discordance"] != ""]
    if strict and not flagged.empty:
        raise InputError(f"{analyses_file}: discordant age(s), nothing added (--strict): "
                         + "; ".join(f"{r.sample_id}: {r.discordance}"
                                     for r in flagged.itertuples()))
    all_samples = gpd.GeoDataFrame(pd.concat([samples.reset_index(), new], ignore_index=True),
                                   geometry="geometry", crs=new.crs)
    counts = store.layer("counts").reset_index()
    areas_before = store.layer("count_areas")
    outlines = areas_before.reset_index()[["record_id", "unit_code", "name", "geometry"]]
    dating = date_atlas(all_samples, gpd.GeoDataFrame(outlines, geometry="geometry"), counts)
    changed = _changed_ages(areas_before, dating.count_areas)
    units, areas = redate_geologic_units(store.layer("units"), dating.count_areas, all_samples)
    return new, flagged, dating, changed, units, areas


def redate_geologic_units(units: pd.DataFrame, count_areas: gpd.GeoDataFrame,
                          samples: gpd.GeoDataFrame) -> tuple[gpd.GeoDataFrame,
                                                              gpd.GeoDataFrame]:
    """Geologic units (as stored, any ages dropped) dated again by the count areas and
    samples; returns the units whose ages could change and the linked count areas."""
    base = gpd.GeoDataFrame(units.reset_index().drop(columns=[c for c in AGE_COLUMNS
                                                              if c in units.columns]),
                            geometry="geometry", crs=count_areas.crs)
    dated, areas = date_geologic_units(base, count_areas, samples)
    before = units.reset_index()
    keep = _has_ages(dated) | dated["record_id"].isin(before.loc[_has_ages(before),
                                                                 "record_id"])
    columns = ["record_id", *LAYERS["units"].columns, "geometry"]
    return dated.loc[keep, columns].reset_index(drop=True), areas


def _has_ages(units: pd.DataFrame) -> pd.Series:
    """Units that a count or a sample dates."""
    return ((units["age_source"].fillna("") != "")
            | (units["sample_ages_json"].fillna("") != ""))


def _changed_ages(before: pd.DataFrame, after: gpd.GeoDataFrame) -> int:
    old = before["model_age_ga"]
    new = after.set_index("record_id")["model_age_ga"]
    common = old.index.intersection(new.index)
    return int((old.loc[common] - new.loc[common]).abs().gt(1e-9).sum())
