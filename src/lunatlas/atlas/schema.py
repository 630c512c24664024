"""The atlas data model: layers, their geometry types and attribute columns.

Every layer is *versioned*: each row is one version of a record, with system columns
``record_id`` (stable text id), ``edition_added`` and ``edition_removed`` (NULL while the
version is current). The records of edition N are the rows with
``edition_added <= N AND (edition_removed IS NULL OR edition_removed > N)``; GIS users who
want today's atlas filter on ``edition_removed IS NULL`` (the ``*_current`` views do that).
"""

from __future__ import annotations

from dataclasses import dataclass

ATLAS_FORMAT = "lunatlas-atlas"
SCHEMA_VERSION = 1
SYSTEM_COLUMNS = ("record_id", "edition_added", "edition_removed")
META_TABLE = "lunatlas_meta"
EDITIONS_TABLE = "editions"
PROVENANCE_TABLE = "provenance"


@dataclass(frozen=True)
class LayerSchema:
    """Columns (name → pandas dtype) and geometry type of one atlas layer."""

    name: str
    geometry_type: str | None
    columns: dict[str, str]
    description: str


LAYERS: dict[str, LayerSchema] = {
    s.name: s
    for s in (
        LayerSchema(
            "units", "MultiPolygon",
            {"symbol": "str", "name": "str", "epoch": "str", "epoch_young_ga": "float64",
             "epoch_old_ga": "float64", "description": "str", "area_km2": "float64",
             "ambiguity": "str", "model_age_ga": "float64", "model_age_minus_ga": "float64",
             "model_age_plus_ga": "float64", "n1_per_km2": "float64", "age_source": "str",
             "sample_age_ga": "float64", "sample_age_sigma_ga": "float64",
             "sample_ages_json": "str", "age_conflict": "str",
             "catalogue_age_ga": "float64", "catalogue_age_minus_ga": "float64",
             "catalogue_age_plus_ga": "float64", "catalogue_craters": "Int64",
             "catalogue_area_km2": "float64", "catalogue_d_range_km": "str",
             "catalogue_name": "str", "catalogue_note": "str", "source": "str"},
            "Geologic units (USGS Unified Geologic Map 1:5M): polygon, symbol, name, epoch and "
            "its age range (Ga, Wilhelms 1987), description, area (km²); a crater-count model "
            "age (Ga) where a count area lies on it; radiometric sample ages (Ga) of the "
            "samples on it, with a conflict note when they fall outside the mapped epoch; a "
            "model age (Ga) from the crater catalogue with the most craters on it (centres "
            "inside, the catalogue's complete diameter range) where it has ≥ 10, else why not",
        ),
        LayerSchema(
            "count_areas", "MultiPolygon",
            {"unit_code": "str", "name": "str", "era": "str", "model_age_ga": "float64",
             "model_age_minus_ga": "float64", "model_age_plus_ga": "float64",
             "n1_per_km2": "float64", "age_source": "str", "unit_id": "str",
             "unit_symbol": "str", "source": "str"},
            "Crater-count areas: outline, crater model age (Ga) with its source (chronology, "
            "fit range), and the geologic unit (record id, symbol) the age dates",
        ),
        LayerSchema(
            "craters", "Point",
            {"name": "str", "diameter_km": "float64", "age_ga": "float64",
             "age_minus_ga": "float64", "age_plus_ga": "float64", "psr_area_km2": "float64",
             "kind": "str", "source": "str"},
            "Impact craters and basins: centre point, rim diameter (km), optional age (Ga)",
        ),
        LayerSchema(
            "samples", "Point",
            {"mission": "str", "sample_id": "str", "unit": "str", "rock_type": "str",
             "mass_g": "float64", "age_ga": "float64", "age_sigma_ga": "float64",
             "age_method": "str", "reference": "str", "dates_mapped_unit": "str",
             "discordance": "str", "source": "str"},
            "Returned samples: landing point, mission, sample id, the mapped unit its age "
            "dates (empty: the site's main unit), rock type, mass (g), radiometric age "
            "(Ga ± 1σ); dates_mapped_unit 'no' for material foreign to the mapped unit at "
            "the point (exotic clasts); discordance: why an age disagrees (> 3σ) with the "
            "accepted age of its unit when it was added",
        ),
        LayerSchema(
            "sites", "Unknown",
            {"name": "str", "rank": "Int64", "score": "float64", "scores_json": "str",
             "source": "str"},
            "Candidate station sites: point or polygon, rank, weighted score and per-criterion "
            "scores (JSON)",
        ),
        LayerSchema(
            "traverses", "LineString",
            {"name": "str", "from_site": "str", "target": "str", "length_km": "float64",
             "elevation_gain_m": "float64", "max_slope_deg": "float64",
             "sunlit_fraction": "float64", "source": "str"},
            "Least-cost traverses from candidate sites to targets (PSRs, units, sites)",
        ),
        LayerSchema(
            "counts", None,
            {"unit_id": "str", "count_file": "str", "area_km2": "float64",
             "perimeter_km": "float64", "d_min_km": "float64", "d_max_km": "float64",
             "method": "str", "mission": "str", "diameters_km_json": "str",
             "fractions_json": "str", "source": "str"},
            "Crater counts that date units (diameters km, area km², fit range and method); "
            "mission names the sample-return site whose unit the count covers",
        ),
        LayerSchema(
            "calibration", None,
            {"site": "str", "n1_per_km2": "float64", "n1_sigma_per_km2": "float64",
             "age_ga": "float64", "age_sigma_ga": "float64", "reference": "str",
             "source": "str"},
            "Chronology calibration points: site crater density N(1) and sample age",
        ),
        LayerSchema(
            "chronologies", None,
            {"name": "str", "a": "float64", "b": "float64", "c": "float64", "mode": "str",
             "base": "str", "scale": "float64", "covariance_json": "str",
             "points_json": "str", "leave_one_out_json": "str", "choice": "str",
             "source": "str"},
            "Chronology functions fitted to the calibration points (N(1) = a(e^{bT}−1)+cT); "
            "`choice` says which points and which parameters were fitted, and why",
        ),
        LayerSchema(
            "terrain", None,
            {"dataset": "str", "sha256": "str", "width": "Int64", "height": "Int64",
             "pixel_deg": "float64", "pixel_km_equator": "float64", "min_m": "float64",
             "max_m": "float64", "mean_m": "float64", "std_m": "float64",
             "reference_radius_m": "float64", "nodata_cells": "Int64", "source": "str"},
            "Summaries of the DEMs the atlas was built on (heights in metres above the "
            "reference sphere)",
        ),
    )
}


def layer_schema(name: str) -> LayerSchema:
    """Schema of layer ``name``; raises ``KeyError`` with the known names."""
    try:
        return LAYERS[name]
    except KeyError:
        raise KeyError(f"unknown atlas layer {name!r}; layers: {', '.join(LAYERS)}") from None
