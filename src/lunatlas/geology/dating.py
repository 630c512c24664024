"""Ages attached to geologic units (pure functions on frames).

* A crater-count area dates the unit polygon under its representative point: the unit gains
  the count's model age (Ga, −/+), N(1) and the age's source; the count area records which
  unit it dates.
* A returned sample dates the unit polygon it lies on (unless its record says it does not:
  exotic clasts such as the Chang'e 6 SPA norites). The unit keeps its mapped epoch and gains
  the sample age (inverse-variance mean of the samples with σ), the samples behind it, and a
  *conflict* note when a sample age lies outside the mapped epoch's range by more than
  ``CONFLICT_SIGMA`` standard deviations (``CONFLICT_FLOOR_GA`` when σ is missing).
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd

from lunatlas.geology.polygons import units_at

CONFLICT_SIGMA = 2.0
CONFLICT_FLOOR_GA = 0.02
"""Tolerance (Ga) for an age without σ, and the least tolerance for any age."""

AGE_COLUMNS = ("model_age_ga", "model_age_minus_ga", "model_age_plus_ga", "n1_per_km2",
               "age_source", "sample_age_ga", "sample_age_sigma_ga", "sample_ages_json",
               "age_conflict")


def _blank_ages(units: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    units = units.copy()
    for column in AGE_COLUMNS:
        text = column in ("age_source", "sample_ages_json", "age_conflict")
        units[column] = "" if text else np.nan
    return units


def attach_count_ages(units: gpd.GeoDataFrame, count_areas: gpd.GeoDataFrame
                      ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Copy count-area model ages onto the unit polygons they lie on.

    Returns (units, count_areas) with the count areas' ``unit_id``/``unit_symbol`` filled.
    When two counts fall on one polygon the later one in ``count_areas`` wins and the unit's
    ``age_source`` names both.
    """
    units = units.reset_index(drop=True)
    count_areas = count_areas.copy()
    if count_areas.empty:
        return units, count_areas.assign(unit_id=pd.Series(dtype=str),
                                         unit_symbol=pd.Series(dtype=str))
    where = count_areas.geometry.representative_point()
    hit = units_at(units, where.x.to_numpy(), where.y.to_numpy())
    count_areas["unit_id"] = [units["record_id"].iat[i] if i >= 0 else "" for i in hit]
    count_areas["unit_symbol"] = [units["symbol"].iat[i] if i >= 0 else "" for i in hit]
    for (_, area), i in zip(count_areas.iterrows(), hit, strict=True):
        if i < 0:
            continue
        earlier = units.at[i, "age_source"]
        units.loc[i, ["model_age_ga", "model_age_minus_ga", "model_age_plus_ga",
                      "n1_per_km2"]] = [area["model_age_ga"], area["model_age_minus_ga"],
                                        area["model_age_plus_ga"], area["n1_per_km2"]]
        note = f"{area['record_id']}: {area['age_source']}"
        units.at[i, "age_source"] = f"{earlier} | {note}" if earlier else note
    return units, count_areas


def _dates_unit(samples: pd.DataFrame) -> pd.Series:
    if "dates_mapped_unit" not in samples.columns:
        return pd.Series(True, index=samples.index)
    flag = samples["dates_mapped_unit"].fillna("yes").astype(str).str.lower()
    return ~flag.isin(("no", "false", "0"))


def sample_conflict(age_ga: float, sigma_ga: float, young_ga: float, old_ga: float) -> bool:
    """True when an age lies outside [young, old] by more than the tolerance."""
    tolerance = max(CONFLICT_SIGMA * sigma_ga if np.isfinite(sigma_ga) else 0.0,
                    CONFLICT_FLOOR_GA)
    return bool(age_ga < young_ga - tolerance or age_ga > old_ga + tolerance)


def attach_sample_ages(units: gpd.GeoDataFrame, samples: gpd.GeoDataFrame
                       ) -> gpd.GeoDataFrame:
    """Give each unit the radiometric ages of the samples that date it (see module doc)."""
    units = units.reset_index(drop=True).copy()
    dated = samples[samples["age_ga"].notna() & _dates_unit(samples)]
    if dated.empty:
        return units
    hit = units_at(units, dated.geometry.x.to_numpy(), dated.geometry.y.to_numpy())
    for i in np.unique(hit[hit >= 0]):
        mine = dated[hit == i]
        unit = units.loc[i]
        entries, conflicts = [], []
        for _, s in mine.iterrows():
            sigma = float(s["age_sigma_ga"]) if pd.notna(s["age_sigma_ga"]) else float("nan")
            clash = sample_conflict(float(s["age_ga"]), sigma, unit["epoch_young_ga"],
                                    unit["epoch_old_ga"])
            entries.append({"mission": s["mission"], "sample_id": s["sample_id"],
                            "age_ga": float(s["age_ga"]),
                            "age_sigma_ga": None if np.isnan(sigma) else sigma,
                            "reference": s["reference"], "conflict": clash})
            if clash:
                plus = "" if np.isnan(sigma) else f" ± {sigma:g}"
                conflicts.append(f"{s['mission']} {s['sample_id']} {s['age_ga']:g}{plus} Ga "
                                 f"outside the mapped {unit['epoch']} "
                                 f"({unit['epoch_young_ga']:g}–{unit['epoch_old_ga']:g} Ga)")
        with_sigma = mine[mine["age_sigma_ga"] > 0]
        if len(with_sigma):
            w = 1.0 / with_sigma["age_sigma_ga"].to_numpy(float) ** 2
            age = float(np.sum(w * with_sigma["age_ga"].to_numpy(float)) / np.sum(w))
            sigma = float(1.0 / np.sqrt(np.sum(w)))
        else:
            age, sigma = float(np.median(mine["age_ga"])), float("nan")
        units.loc[i, ["sample_age_ga", "sample_age_sigma_ga"]] = [round(age, 4),
                                                                  round(sigma, 4)]
        units.at[i, "sample_ages_json"] = json.dumps(entries, ensure_ascii=False)
        units.at[i, "age_conflict"] = "; ".join(conflicts)
    return units


def date_geologic_units(units: gpd.GeoDataFrame, count_areas: gpd.GeoDataFrame,
                        samples: gpd.GeoDataFrame
                        ) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    """Units with count model ages and sample ages attached, and the count areas linked."""
    units, count_areas = attach_count_ages(_blank_ages(units), count_areas)
    return attach_sample_ages(units, samples), count_areas
