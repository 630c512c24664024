"""The enrichment loop: sample ages → calibration points → chronology → re-dated units.

Workflow (readers → engines → atlas store): the atlas's ``counts`` give each calibration
site's crater density N(1) (Poisson fit with the production function, independent of the
chronology function); the atlas's ``samples`` give the site's age (inverse-variance mean of
every dated analysis of that mission's unit); the bundled calibration table adds the sites
whose N(1) is published (Chang'e 5), dated the same way; :func:`lunatlas.chronology.calibration.
fit_chronology` fits the chronology; every unit with a count is re-dated with it. Adding
analyses writes all of that as one new edition.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from lunatlas.atlas.schema import LAYERS
from lunatlas.atlas.store import Atlas, edit
from lunatlas.chronology.calibration import Calibration, CalibrationPoint, fit_chronology
from lunatlas.chronology.fitting import fit_age
from lunatlas.chronology.functions import ChronologyFunction, ChronologySystem, get_system
from lunatlas.chronology.units import count_from_record, date_units
from lunatlas.errors import InputError
from lunatlas.samples.analyses import analysis_records, read_analyses
from lunatlas.samples.registry import calibration_table

BASE_SYSTEM = "yue2022"
ATLAS_CHRONOLOGY = "atlas"


def _site_age(samples: pd.DataFrame, mission: str,
              unit: str = "") -> tuple[float, float, str] | None:
    """Inverse-variance mean age (Ga ± 1σ) of the atlas samples that date a site's unit.

    A sample dates the unit when its mission matches and its ``unit`` is empty (the site's
    main unit) or equals ``unit``; other units of the same mission (the 4.25 Ga SPA norites
    of Chang'e 6, say) do not date the mare where the crater count was made.
    """
    if not mission:
        return None
    sample_units = (samples["unit"].fillna("").astype(str) if "unit" in samples.columns
                    else pd.Series("", index=samples.index))
    dated = samples[(samples["mission"] == mission) & samples["age_ga"].notna()
                    & (samples["age_sigma_ga"] > 0)
                    & ((sample_units == "") | (sample_units == unit) if unit else True)]
    if dated.empty:
        return None
    weights = 1.0 / dated["age_sigma_ga"].to_numpy(float) ** 2
    age = float(np.sum(weights * dated["age_ga"].to_numpy(float)) / np.sum(weights))
    refs = "; ".join(sorted(set(dated["reference"].astype(str))))
    return age, float(1.0 / np.sqrt(np.sum(weights))), refs


def calibration_points(samples: pd.DataFrame, counts: pd.DataFrame,
                       system: ChronologySystem,
                       literature: pd.DataFrame | None = None) -> list[CalibrationPoint]:
    """The atlas's calibration points.

    One point per count whose mission has dated samples in the atlas (N(1) fitted to the
    count with the production function), then one per ``literature`` row (the bundled
    calibration table by default) that gives a published N(1) ± σ for a site without such a
    count. A point's age is the inverse-variance mean of the atlas samples that date its
    unit (the table's ``unit`` for the site; see :func:`_site_age`), so new analyses move
    it; a literature site with no dated samples keeps the table's age.
    """
    table = calibration_table() if literature is None else literature
    count_units = {row.n1_source: row.unit for row in table.itertuples()
                   if str(row.n1_source).startswith("count:")}
    points = []
    for _, rec in counts.iterrows():
        mission = rec.get("mission") or ""
        dated = _site_age(samples, mission, count_units.get(rec.get("record_id", ""), ""))
        if dated is None:
            continue
        age, age_sigma, refs = dated
        fit = fit_age(count_from_record(rec), system, (rec["d_min_km"], rec["d_max_km"]),
                      rec["method"])
        sigma = (fit.n1_high_per_km2 - fit.n1_low_per_km2) / 2
        points.append(CalibrationPoint(mission, fit.n1_per_km2, sigma, age, age_sigma, refs,
                                       "count + sample ages in the atlas"))
    return points + literature_calibration_points(samples, table,
                                                  skip={p.name for p in points})


def atlas_system(store: Atlas) -> ChronologySystem | None:
    """The atlas's fitted chronology (with its base's production function), if it has one."""
    records = store.layer("chronologies")
    if records.empty:
        return None
    rec = records.iloc[0]
    base = get_system(str(rec["base"]) or BASE_SYSTEM)
    cf = ChronologyFunction(ATLAS_CHRONOLOGY, f"atlas chronology ({rec['mode']} fit)",
                            str(rec["source"]), float(rec["a"]), float(rec["b"]),
                            float(rec["c"]))
    return ChronologySystem(ATLAS_CHRONOLOGY, cf.name, base.pf, cf,
                            notes=str(rec.get("choice", "") or ""))


def registry_calibration_points(data_dir: Path | None = None) -> list[CalibrationPoint]:
    """The points an atlas built now would calibrate on: the registry's samples, the
    embedded counts (Chang'e 6) and the calibration table (classic set, Chang'e 5)."""
    from lunatlas.chronology.units import count_records
    from lunatlas.data.fetch import fetch
    from lunatlas.samples.registry import sample_records

    files = {p.name: p for p in fetch("craterstats-sample-counts", data_dir=data_dir)}
    _, counts = count_records(files)
    return calibration_points(sample_records(), counts, get_system(BASE_SYSTEM))


def literature_calibration_points(samples: pd.DataFrame | None = None,
                                  table: pd.DataFrame | None = None,
                                  skip: set[str] | frozenset[str] = frozenset(),
                                  ) -> list[CalibrationPoint]:
    """One point per calibration-table row with a published N(1) ± σ.

    The age is the inverse-variance mean of the ``samples`` that date the row's unit (see
    :func:`_site_age`); without such samples (or with ``samples=None``) it is the table's
    age, and a row with no age ± σ there gives no point. Rows whose site or mission is in
    ``skip`` (sites that already have a count-derived point) are left out.
    """
    table = calibration_table() if table is None else table
    points = []
    for row in table.dropna(subset=["n1_per_km2", "n1_sigma_per_km2"]).itertuples():
        if row.mission in skip or row.site in skip:
            continue
        dated = None if samples is None else _site_age(samples, row.mission, row.unit)
        density = ("second-hand N(1) (classic set)" if str(row.n1_source).startswith("classic:")
                   else "published N(1)")
        origin = f"{density} + sample ages in the atlas"
        if dated is None:
            if pd.isna(row.age_ga) or pd.isna(row.age_sigma_ga):
                continue
            dated = (float(row.age_ga), float(row.age_sigma_ga),
                     f"{row.age_reference} doi:{row.age_doi}")
            origin = f"{density} + calibration-table age"
        age, age_sigma, refs = dated
        points.append(CalibrationPoint(row.site, float(row.n1_per_km2),
                                       float(row.n1_sigma_per_km2), age, age_sigma,
                                       f"N(1): {row.n1_reference}; age: {refs}", origin))
    return points


def chronology_records(calibration: Calibration) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Atlas ``calibration`` and ``chronologies`` records."""
    points = pd.DataFrame([{
        "record_id": f"site:{p.name}".replace(" ", "_"), "site": p.name,
        "n1_per_km2": float(f"{p.n1:.5e}"), "n1_sigma_per_km2": float(f"{p.n1_sigma:.4e}"),
        "age_ga": round(p.age_ga, 5), "age_sigma_ga": round(p.age_sigma_ga, 5),
        "reference": p.reference, "source": p.origin,
    } for p in calibration.points])
    cf = calibration.cf
    chronology = pd.DataFrame([{
        "record_id": f"chronology:{cf.key}", "name": cf.key, "a": float(f"{cf.a:.6e}"),
        "b": round(cf.b, 6), "c": float(f"{cf.c:.6e}"), "mode": calibration.mode,
        "base": calibration.base, "scale": round(calibration.scale, 6),
        "covariance_json": json.dumps(np.asarray(calibration.covariance).tolist()),
        "points_json": json.dumps([p.name for p in calibration.points]),
        "leave_one_out_json": json.dumps(calibration.leave_one_out),
        "choice": calibration_choice(calibration),
        "source": cf.reference,
    }])
    return points, chronology


def calibration_choice(calibration: Calibration) -> str:
    """Which points and parameters a calibration used, in words (recorded in the edition)."""
    second_hand = sum("second-hand" in p.origin for p in calibration.points)
    how = {"fixed-b": f"a and c fitted, b held at {calibration.cf.b:g} from "
                      f"{calibration.base} (b is unconstrained by these points)",
           "full": "a, b and c fitted",
           "scale": f"one scale factor on {calibration.base}"}[calibration.mode]
    return (f"{how}; every point with N(1) ± σ and age ± σ: {len(calibration.points)} "
            f"points, {second_hand} with second-hand N(1) from the classic set")


@dataclass
class DatingResult:
    """Everything one (re)dating produces."""

    calibration: Calibration | None
    system: ChronologySystem
    count_areas: gpd.GeoDataFrame
    """Count-area records (outline, model age) for the atlas ``count_areas`` layer."""
    calibration_records: pd.DataFrame
    chronology_records: pd.DataFrame


def date_atlas(samples: pd.DataFrame, outlines: gpd.GeoDataFrame,
               counts: pd.DataFrame) -> DatingResult:
    """Calibrate on the atlas's dated count sites and date every counted unit."""
    base = get_system(BASE_SYSTEM)
    points = calibration_points(samples, counts, base)
    if points:
        calibration = fit_chronology(points, ATLAS_CHRONOLOGY, base.cf)
        system = ChronologySystem(ATLAS_CHRONOLOGY, calibration.cf.reference, base.pf,
                                  calibration.cf)
        label = (f"atlas chronology ({calibration.mode} fit of {base.name} to "
                 f"{', '.join(p.name for p in points)})")
        point_records, chronology = chronology_records(calibration)
    else:
        calibration, system, label = None, base, base.name
        point_records, chronology = pd.DataFrame(), pd.DataFrame()
    areas = date_units(outlines, counts, system, label)
    return DatingResult(calibration, system, areas, point_records, chronology)


@dataclass
class EnrichResult:
    """What ``samples add`` did."""

    edition: int | None
    added: int
    calibration: Calibration | None
    redated: int
    discordant: list[str] = field(default_factory=list)
    """Why each discordant added age disagrees with its unit."""


DISCORDANCE_SIGMA = 3.0
"""An added age further than this (in combined σ) from its unit's accepted age, or from
another sample of the unit, is discordant."""


def _same_unit(a, b) -> bool:
    """Two samples date the same unit: same mission, and the same named unit, or both the
    site's main unit (``dates_mapped_unit`` yes, one of them naming no unit)."""
    if a["mission"] != b["mission"]:
        return False
    unit_a, unit_b = str(a.get("unit") or ""), str(b.get("unit") or "")
    if unit_a and unit_b:
        return unit_a == unit_b
    return a.get("dates_mapped_unit", "yes") != "no" and b.get("dates_mapped_unit", "yes") != "no"


def discordances(new: pd.DataFrame, samples: pd.DataFrame) -> list[str]:
    """Why each new age disagrees with its unit (empty string: it agrees, or cannot be
    compared): more than :data:`DISCORDANCE_SIGMA` combined σ from the inverse-variance mean
    of the unit's other dated samples, or from any one of them (samples flagged discordant
    before are not compared with)."""
    flagged = (samples["discordance"].fillna("").astype(str) != ""
               if "discordance" in samples.columns else False)
    dated = samples[samples["age_ga"].notna() & (samples["age_sigma_ga"] > 0) & ~flagged]
    notes = []
    for _, rec in new.iterrows():
        if not (pd.notna(rec["age_ga"]) and rec["age_sigma_ga"] > 0):
            notes.append("")
            continue
        peers = dated[[_same_unit(rec, other) for _, other in dated.iterrows()]]
        if peers.empty:
            notes.append("")
            continue
        weights = 1.0 / peers["age_sigma_ga"].to_numpy(float) ** 2
        mean = float(np.sum(weights * peers["age_ga"].to_numpy(float)) / np.sum(weights))
        mean_sigma = float(1.0 / np.sqrt(np.sum(weights)))
        z_mean = abs(rec["age_ga"] - mean) / np.hypot(rec["age_sigma_ga"], mean_sigma)
        z_each = (np.abs(rec["age_ga"] - peers["age_ga"].to_numpy(float))
                  / np.hypot(rec["age_sigma_ga"], peers["age_sigma_ga"].to_numpy(float)))
        if max(z_mean, float(z_each.max())) <= DISCORDANCE_SIGMA:
            notes.append("")
            continue
        worst = peers.iloc[int(np.argmax(z_each))]
        notes.append(f"{rec['age_ga']:g} ± {rec['age_sigma_ga']:g} Ga is {z_mean:.1f}σ from "
                     f"the accepted {mean:.3f} ± {mean_sigma:.3f} Ga of {rec['mission']}'s "
                     f"unit ({len(peers)} sample(s)) and {float(z_each.max()):.1f}σ from "
                     f"{worst['sample_id']} ({worst['age_ga']:g} ± {worst['age_sigma_ga']:g} "
                     "Ga)")
    return notes


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
    from lunatlas.geology.dating import AGE_COLUMNS, date_geologic_units

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
