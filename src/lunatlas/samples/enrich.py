"""Dating from samples: sample ages → calibration points → chronology → dated count areas.

Pure functions on the atlas's records (no I/O): the atlas's ``counts`` give each calibration
site's crater density N(1) (Poisson fit with the production function, independent of the
chronology function); the atlas's ``samples`` give the site's age (inverse-variance mean of
every dated analysis of that mission's unit); the bundled calibration table adds the sites
whose N(1) is published (Chang'e 5), dated the same way; :func:`lunatlas.chronology.calibration.
fit_chronology` fits the chronology; every unit with a count is re-dated with it. The
workflow that writes it all as one edition is :mod:`lunatlas.workflows.enrich`.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from lunatlas.chronology.calibration import Calibration, CalibrationPoint, fit_chronology
from lunatlas.chronology.fitting import fit_age
from lunatlas.chronology.functions import ChronologyFunction, ChronologySystem, get_system
from lunatlas.chronology.units import count_from_record, date_units
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


def fitted_system(records: pd.DataFrame) -> ChronologySystem | None:
    """The chronology fitted to an atlas (its ``chronologies`` records), with its base's
    production function; None when the atlas holds no fit."""
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
