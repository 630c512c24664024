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
from lunatlas.ephemeris import sun_earth_vectors_me, time_grid
from lunatlas.errors import InputError
from lunatlas.geology.context import UnitContext, unit_context
from lunatlas.illumination.light import LightMaps, light_maps
from lunatlas.illumination.pipeline import azimuths, geometry_of
from lunatlas.illumination.stacked import grid_from_stack, grid_horizons
from lunatlas.siting.criteria import CRITERIA, Criteria
from lunatlas.siting.explain import plain_value
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
from lunatlas.siting.terrain import (
    LANDER_SCALE_M,
    TerrainChoice,
    choose_terrain,
    default_pixel_m,
    describe_place,
    detail_specs,
    load_place_names,
    load_psr_polygons,
    pole_of,
    psr_distance_km,
    region_spec,
    spec_contains,
)
from lunatlas.terrain import rms_slope_deg, slope_deg
from lunatlas.terrain.grids import GridSpec
from lunatlas.terrain.stack import TerrainStack
from lunatlas.traverse import Traverse, cost_surface, least_cost_traverse

Progress = Callable[[str], None]


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
class GridEvaluation:
    """Every criterion on one grid (the region grid, or a finer DEM's own grid)."""

    spec: GridSpec
    grid: xr.DataArray
    light: LightMaps
    inputs: SiteInputs
    scores: dict[str, np.ndarray]
    failures: dict[str, np.ndarray]
    suitability: np.ndarray
    lon: np.ndarray = field(repr=False)
    lat: np.ndarray = field(repr=False)
    geology: UnitContext | None = field(default=None, repr=False)
    horizons: np.ndarray | None = field(default=None, repr=False)
    labels: np.ndarray | None = field(default=None, repr=False)
    """Connected regions of top-quantile suitability (0 = none)."""

    def cell_of(self, lat: float, lon: float) -> tuple[int, int] | None:
        """Grid cell (row, col) holding a lat/lon; None outside the grid."""
        x, y = (float(v) for v in lonlat_to(self.spec.crs, lon, lat))
        t = self.spec.transform
        col = int(math.floor((x - t.c) / t.a))
        row = int(math.floor((y - t.f) / t.e))
        if 0 <= row < self.spec.shape[0] and 0 <= col < self.spec.shape[1]:
            return row, col
        return None


@dataclass
class SitingResult:
    terrain: TerrainChoice
    criteria: Criteria
    times: np.ndarray
    step_hours: float
    evaluations: list[GridEvaluation]
    """The region grid first, then finer DEMs' grids (coarsest first)."""
    region_labels: np.ndarray
    region_threshold: float
    table: pd.DataFrame
    sensitivity: Sensitivity
    observer_height_m: float = 0.0
    traverses: list[tuple[str, str, Traverse]] = field(default_factory=list)
    sunlit_at: str = ""
    psr_source: str = ""
    max_distance_km: float = 150.0

    @property
    def region(self) -> GridEvaluation:
        return self.evaluations[0]

    grid = property(lambda self: self.region.grid)
    light = property(lambda self: self.region.light)
    inputs = property(lambda self: self.region.inputs)
    scores = property(lambda self: self.region.scores)
    failures = property(lambda self: self.region.failures)
    suitability = property(lambda self: self.region.suitability)
    lon = property(lambda self: self.region.lon)
    lat = property(lambda self: self.region.lat)
    geology = property(lambda self: self.region.geology)

    def units_near(self, row: int, col: int) -> list[dict]:
        """Geologic units within science reach of a region-grid cell (empty without units)."""
        return [] if self.geology is None else self.geology.units_near(row, col)

    def cell_of(self, lat: float, lon: float) -> tuple[int, int]:
        """Region-grid cell (row, col) holding a lat/lon; InputError outside the grid."""
        if not (-90.0 <= lat <= 90.0 and np.isfinite(lon)):
            raise InputError(f"point {lat}, {lon}: latitude must lie in [-90, 90] and the "
                             "longitude be a number")
        cell = self.region.cell_of(lat, lon)
        if cell is None:
            raise InputError(f"point {lat}, {lon} lies outside the siting grid")
        return cell

    def evaluation_at(self, lat: float, lon: float) -> tuple[GridEvaluation, int, int]:
        """The finest grid holding a point, and its cell there."""
        self.cell_of(lat, lon)  # validates and raises outside the region
        for evaluation in reversed(self.evaluations):
            cell = evaluation.cell_of(lat, lon)
            if cell is not None:
                return evaluation, *cell
        raise InputError(f"point {lat}, {lon} lies outside the siting grid")

    def explain(self, lat: float, lon: float) -> dict:
        """Raw values, scores and the constraints that exclude (lat, lon), on the finest
        terrain there."""
        ev, r, c = self.evaluation_at(lat, lon)
        failing = [name for name, mask in ev.failures.items() if mask[r, c]]
        return {
            "lat": lat, "lon": lon, "cell": [r, c], "terrain_m": ev.spec.pixel_m,
            "observer_height_m": self.observer_height_m,
            "raw": {k: plain_value(v[r, c]) for k, v in ev.inputs.raw().items()},
            "scores": {k: plain_value(v[r, c]) for k, v in ev.scores.items()},
            "suitability": plain_value(ev.suitability[r, c]),
            "excluded_by": failing,
            "relay_required": bool(ev.inputs.earth_visibility_fraction[r, c] == 0.0),
            "longest_darkness_window_limited": bool(ev.light.darkness_window_limited[r, c]),
            "units_within_reach": [] if ev.geology is None else ev.geology.units_near(r, c),
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


def compute_inputs(grid: xr.DataArray, light: LightMaps, features: gpd.GeoDataFrame,
                   criteria: Criteria, lon: np.ndarray, lat: np.ndarray,
                   geology: UnitContext | None = None,
                   psr_km: np.ndarray | None = None) -> SiteInputs:
    """Criterion rasters from the terrain grid, light maps, geologic context (or, without
    units, dated features). ``psr_km``: distances to mapped PSR polygons; without them the
    cells never lit during the period stand in for PSRs."""
    pixel_km = abs(grid.rio.transform().a) / 1000.0
    slope = slope_deg(grid).to_numpy().astype(float)
    rough = rms_slope_deg(grid, 3).to_numpy().astype(float)
    steep = slope > criteria.constraints.steep_slope_deg
    steep_distance = (ndimage.distance_transform_edt(~steep) * pixel_km if steep.any()
                      else np.full(slope.shape, np.inf))
    psr = light.never_lit & np.isfinite(light.illumination_fraction)
    if psr_km is not None:
        psr_distance = psr_km
    else:
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


def decimals_for(pixel_m: float) -> int:
    """Decimal places of a latitude/longitude that a pixel of ``pixel_m`` supports."""
    metres_per_degree = math.pi / 180.0 * MOON_RADIUS_M
    return max(1, int(math.ceil(-math.log10(pixel_m / metres_per_degree))))


RAW_DECIMALS = {"slope_deg": 1, "roughness_deg": 1, "illumination_fraction": 2,
                "longest_darkness_days": 2, "earth_visibility_fraction": 2,
                "psr_distance_km": 1, "steep_distance_km": 1, "science_value": 2}
"""Printed precision of each raw criterion (fractions: a 6-h step over a year resolves
~0.001, but horizons from 1.6 km terrain are not good to better than ~0.01)."""


def site_rows(candidates: list[tuple[GridEvaluation, int, int]], stack: TerrainStack,
              names: gpd.GeoDataFrame | None) -> pd.DataFrame:
    """Ranked candidates with every criterion's raw value and score, each from the finest
    grid at the site, at the precision that grid supports."""
    rows = []
    for rank, (ev, r, c) in enumerate(candidates, 1):
        lat, lon = float(ev.lat[r, c]), float(ev.lon[r, c])
        x, y = (float(v) for v in lonlat_to(stack.finest.crs, lon, lat))
        layer = stack.layers[int(stack.layer_at(stack.finest.crs, np.array([x]),
                                                np.array([y]))[0])]
        pixel = max(ev.spec.pixel_m, layer.pixel_m)  # a grid finer than its DEM adds nothing
        region = int(ev.labels[r, c])
        raw = ev.inputs.raw()
        rows.append({
            "rank": rank, "name": f"S{rank}", "lat": round(lat, decimals_for(pixel)),
            "lon": round(lon, decimals_for(pixel)),
            "place": describe_place(lat, lon, names) if names is not None else "",
            "terrain_m": int(round(pixel)), "dem": layer.label,
            "suitability": round(float(ev.suitability[r, c]), 3),
            "relay_required": bool(ev.inputs.earth_visibility_fraction[r, c] == 0.0),
            "darkness_window_limited": bool(ev.light.darkness_window_limited[r, c]),
            "region_area_km2": round(float((ev.labels == region).sum())
                                     * (pixel / 1000.0) ** 2, 1) if region else 0.0,
            **{f"raw_{k}": round(float(v[r, c]), RAW_DECIMALS.get(k, 3))
               for k, v in raw.items()},
            **{f"score_{k}": round(float(ev.scores[k][r, c]), 3) for k in CRITERIA},
        })
    return pd.DataFrame(rows)


def cells_in(grid: xr.DataArray, shapes: gpd.GeoDataFrame) -> np.ndarray:
    """Boolean mask of grid cells whose centres fall inside ``shapes`` (any lunar CRS)."""
    projected = shapes.to_crs(grid.rio.crs)
    xx, yy = np.meshgrid(grid["x"].to_numpy(), grid["y"].to_numpy())
    return shapely.contains_xy(projected.union_all(), xx, yy)


def evaluate_grid(stack: TerrainStack, spec: GridSpec, criteria: Criteria,
                  features: gpd.GeoDataFrame, sun: np.ndarray, earth: np.ndarray,
                  step_hours: float, max_distance_m: float, n_azimuths: int,
                  observer_height_m: float, units: gpd.GeoDataFrame | None,
                  psr: gpd.GeoDataFrame | None, area: gpd.GeoDataFrame | None,
                  keep_horizons: bool = False) -> GridEvaluation:
    """Terrain, horizons (nested), light, criteria and suitability on one grid."""
    horizons, heights = grid_horizons(stack, spec.crs, spec.transform, spec.shape,
                                      azimuths(n_azimuths), max_distance_m, observer_height_m)
    grid = grid_from_stack(stack, spec.crs, spec.transform, spec.shape, heights)
    geometry = geometry_of(grid)
    lon = geometry.lon_deg.reshape(grid.shape)
    lat = geometry.lat_deg.reshape(grid.shape)
    light = light_maps(horizons, geometry, sun, earth, step_hours)
    geology = geologic_context(grid, units, criteria)
    psr_km = None
    if psr is not None:
        xx, yy = np.meshgrid(grid["x"].to_numpy(), grid["y"].to_numpy())
        psr_km = psr_distance_km(psr, spec.crs, xx, yy)
    inputs = compute_inputs(grid, light, features, criteria, lon, lat, geology, psr_km)
    score = scores(inputs, criteria)
    failures = constraint_failures(inputs, criteria)
    if area is not None:
        failures["outside_area"] = ~cells_in(grid, area)
    suit = suitability(score, failures, criteria.normalised_weights())
    return GridEvaluation(spec, grid, light, inputs, score, failures, suit, lon, lat, geology,
                          horizons if keep_horizons else None)


def _candidates(evaluations: list[GridEvaluation], criteria: Criteria
                ) -> list[tuple[GridEvaluation, int, int]]:
    """Best points of every grid, each grid's cells under a finer grid left to that one,
    merged by suitability with the minimum spacing kept between all of them."""
    count = criteria.candidates.count
    spacing_km = criteria.candidates.min_spacing_km
    pool = []
    for i, ev in enumerate(evaluations):
        suit = ev.suitability.copy()
        xx, yy = np.meshgrid(ev.grid["x"].to_numpy(), ev.grid["y"].to_numpy())
        for finer in evaluations[i + 1:]:
            suit[spec_contains(finer.spec, ev.spec.crs, xx, yy)] = np.nan
        for r, c in best_points(suit, count, spacing_km / (ev.spec.pixel_m / 1000.0)):
            pool.append((float(suit[r, c]), i, r, c))
    pool.sort(key=lambda item: -item[0])
    picked: list[tuple[GridEvaluation, int, int]] = []
    for _value, i, r, c in pool:
        ev = evaluations[i]
        lon, lat = ev.lon[r, c], ev.lat[r, c]
        if all(great_circle_distance_m(lon, lat, p.lon[pr, pc], p.lat[pr, pc]) / 1000.0
               >= spacing_km for p, pr, pc in picked):
            picked.append((ev, r, c))
        if len(picked) == count:
            break
    return picked


def _resolution_warning(table: pd.DataFrame, terrain: TerrainChoice) -> str:
    """What terrain the ranked sites rest on, when it is coarser than lander scale."""
    coarse = table[table["terrain_m"] > LANDER_SCALE_M]
    if coarse.empty:
        return ""
    used = ", ".join(f"{row.name} {row.terrain_m:,.0f} m ({row.dem})"
                     for row in coarse.itertuples())
    finer = [layer.label for layer in terrain.stack.layers if layer.pixel_m <= LANDER_SCALE_M]
    advice = (f"the finer DEMs at hand ({', '.join(finer)}) cover none of them" if finer else
              "nest finer DEMs (LOLA polar GDR products, the registry's south-pole tiles) "
              "with --data-dir or --dem")
    return (f"ranked sites rest on terrain coarser than lander scale (> {LANDER_SCALE_M:.0f} m):"
            f" {used}; their values are regional, not lander-scale; {advice}")


def run_siting(region: str, criteria: Criteria, features: gpd.GeoDataFrame, *,
               data_dir=None, dem_paths: tuple = (), start="2026-01-01", end="2026-12-31",
               step_hours=6.0, pixel_m: float | None = None, max_distance_km=150.0,
               n_azimuths=64, seed=0, progress: Progress | None = None,
               area: gpd.GeoDataFrame | None = None,
               unit_target: tuple[str, gpd.GeoDataFrame] | None = None,
               units: gpd.GeoDataFrame | None = None,
               observer_height_m: float | None = None,
               correct_datum: bool = True) -> SitingResult:
    """Run the whole siting pipeline for a region.

    Terrain is a stack of nested DEMs (:func:`choose_terrain`); the region is evaluated on
    one grid and each finer DEM on its own grid, so that ranked sites carry the finest
    terrain at their place. ``area`` (polygons) restricts candidates to its inside;
    ``unit_target`` (unit id and its polygon) adds a traverse from the top site to that
    geologic unit; ``units`` (the atlas's geologic units) drive the science criterion;
    ``observer_height_m`` (default: the criteria's ``[observer] height_m``) is the height
    above ground at which light and Earth are judged.
    """
    say = progress or (lambda _m: None)
    times = time_grid(start, end, step_hours)
    say("choosing terrain")
    terrain = choose_terrain(pole_of(region), data_dir, tuple(dem_paths), correct_datum)
    stack = terrain.stack
    height = criteria.observer.height_m if observer_height_m is None else observer_height_m
    spec = region_spec(region, pixel_m or default_pixel_m(stack), stack.radius_m)
    specs = [spec, *detail_specs(stack, spec)]
    say("ephemeris")
    sun, earth = sun_earth_vectors_me(times)
    psr = load_psr_polygons(pole_of(region), data_dir)
    say("horizons")
    evaluations = []
    for i, grid_spec in enumerate(specs):
        ev = evaluate_grid(stack, grid_spec, criteria, features, sun, earth, step_hours,
                           max_distance_km * 1000.0, n_azimuths, height, units, psr, area,
                           keep_horizons=i == 0)
        if i == 0 and not np.isfinite(ev.grid.to_numpy()).any():
            raise InputError(f"region {region!r}: the DEM has no valid cells there")
        evaluations.append(ev)
    say("illumination and Earth visibility")
    first = evaluations[0]
    if area is not None and first.failures["outside_area"].all():
        raise InputError(f"the area polygon does not overlap region {region!r}")
    if not any(np.isfinite(ev.suitability).any() for ev in evaluations):
        raise InputError(f"region {region!r}: no cell passes the constraints "
                         f"({_exclusion_summary(first.failures)}); relax the criteria file")
    say("criteria")
    threshold = 0.0
    for i, ev in enumerate(evaluations):
        if np.isfinite(ev.suitability).any():
            ev.labels, t = regions(ev.suitability, criteria.candidates.region_quantile)
            threshold = t if i == 0 else threshold
        else:
            ev.labels = np.zeros(ev.suitability.shape, dtype=int)
    picked = _candidates(evaluations, criteria)
    names = load_place_names(data_dir)
    table = site_rows(picked, stack, names)
    region_cells = [first.cell_of(float(ev.lat[r, c]), float(ev.lon[r, c])) or (r, c)
                    for ev, r, c in picked]
    table["row"] = [rc[0] for rc in region_cells]
    table["col"] = [rc[1] for rc in region_cells]
    warning = _resolution_warning(table, terrain)
    if warning:
        terrain.warning = f"{terrain.warning}; {warning}" if terrain.warning else warning
    say("sensitivity")
    site_inputs = SiteInputs(**{k: np.array([[float(ev.inputs.raw()[k][r, c])
                                              for ev, r, c in picked]])
                                for k in first.inputs.raw()}, pixel_km=first.inputs.pixel_km)
    sens = sensitivity(site_inputs, criteria, [(0, i) for i in range(len(picked))],
                       min(3, len(picked)), np.random.default_rng(seed))
    table["in_top3_fraction"] = np.round(sens.in_top_fraction, 3)
    say("traverses")
    traverses = _traverses(first, table, criteria, sun, earth, step_hours, unit_target,
                           region)
    return SitingResult(terrain, criteria, times, step_hours, evaluations, first.labels,
                        threshold, table, sens, height, traverses, str(times[0]),
                        "LOLA PSR polygons (psr-south)" if psr is not None else
                        "cells never lit during the period (proxy)", max_distance_km)


def _traverses(first: GridEvaluation, table: pd.DataFrame, criteria: Criteria,
               sun: np.ndarray, earth: np.ndarray, step_hours: float,
               unit_target: tuple[str, gpd.GeoDataFrame] | None, region: str
               ) -> list[tuple[str, str, Traverse]]:
    """Least-cost traverses on the region grid: top sites to the nearest never-lit ground,
    the top site to a target unit, and the top site to the runner-up."""
    grid, inputs = first.grid, first.inputs
    pixel_km = first.spec.pixel_m / 1000.0
    instant = light_maps(first.horizons, geometry_of(grid), sun[:1], earth[:1], step_hours)
    sunlit = instant.illumination_fraction > 0
    cost = cost_surface(inputs.slope_deg, inputs.roughness_deg,
                        np.nan_to_num(first.light.illumination_fraction),
                        criteria.constraints.max_slope_deg)
    heights = grid.to_numpy().astype(float)
    dark_cells = list(zip(*np.nonzero(first.light.never_lit), strict=True))
    traverses = []
    for site in table.head(3).itertuples():
        if dark_cells:
            targets = _nearest(dark_cells, (site.row, site.col), 400)
            try:
                path = least_cost_traverse(cost, (site.row, site.col), targets, heights,
                                           inputs.slope_deg, sunlit, pixel_km)
            except InputError:
                continue
            traverses.append((site.name, "nearest ground never lit in the period", path))
    if unit_target is not None:
        unit_id, shapes = unit_target
        inside = list(zip(*np.nonzero(cells_in(grid, shapes)), strict=True))
        if not inside:
            raise InputError(f"traverse target unit {unit_id!r} lies outside the DEM grid of "
                             f"region {region!r}")
        top = table.iloc[0]
        path = least_cost_traverse(cost, (top.row, top.col),
                                   _nearest(inside, (top.row, top.col), 400), heights,
                                   inputs.slope_deg, sunlit, pixel_km)
        traverses.append((top["name"], f"unit {unit_id}", path))
    if len(table) >= 2:  # the top site to the runner-up (a second station or outpost)
        top, second = table.iloc[0], table.iloc[1]
        try:
            path = least_cost_traverse(cost, (top.row, top.col), [(second.row, second.col)],
                                       heights, inputs.slope_deg, sunlit, pixel_km)
            traverses.append((top["name"], f"site {second['name']}", path))
        except InputError:
            pass
    return traverses


def _nearest(cells, origin, count):
    arr = np.array(cells)
    d = np.hypot(arr[:, 0] - origin[0], arr[:, 1] - origin[1])
    return [tuple(int(v) for v in arr[i]) for i in np.argsort(d)[:count]]


def _exclusion_summary(failures: dict[str, np.ndarray]) -> str:
    return ", ".join(f"{name} excludes {int(mask.sum())} cells" for name, mask in
                     failures.items() if mask.any())
