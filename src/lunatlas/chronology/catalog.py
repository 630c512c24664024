"""Crater counts from global catalogues inside an area (a unit polygon, a drawn outline).

Pure functions: craters (lon, lat, diameter) and polygons in lon/lat (IAU_2015:30100) in,
a :class:`~lunatlas.chronology.counts.CraterCount` out.

Counting rule (documented, as in the traditional non-buffered craterstats count): a crater
counts when its centre lies inside the area. Craters cut by the boundary are not weighted
(no ``fraction``). The count area is the part of the area inside the catalogue's coverage
(latitude band), measured on the 1 737.4 km sphere. Only diameters in the catalogue's
complete range count, and none wider than the equivalent-circle diameter 2·√(A/π) of the
polygon it lies in: such a crater (a basin centred in a mare, say) cannot lie on it.

Catalogue counts over whole unit polygons include inherited, embayed and secondary
craters: they date old, saturated terrain well and young units poorly (see the atlas
build's epoch check).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
import shapely

from lunatlas.chronology.counts import CraterCount
from lunatlas.crs import MOON_GEOD, MOON_RADIUS_M, sphere_area_m2
from lunatlas.errors import InputError

MIN_CRATERS = 10
"""Fewer craters in range than this: no model age (the Poisson σ would exceed ~30 %)."""


@dataclass(frozen=True)
class Catalogue:
    """A registered crater catalogue and where it is complete."""

    name: str
    title: str
    d_min_km: float
    d_max_km: float
    lat_min: float
    lat_max: float


CATALOGUES = {c.name: c for c in (
    Catalogue("head2010-craters", "Head et al. 2010 (≥ 20 km, global)", 20.0, math.inf,
              -90.0, 90.0),
    Catalogue("lroc-5-20km-craters", "LROC 5–20 km (60°S–60°N)", 5.0, 20.0, -60.0, 60.0),
    Catalogue("lu1319381-south", "LU1319381 (≥ 1 km, south of 60°S)", 1.0, math.inf,
              -90.0, -60.0),
)}


def get_catalogue(name: str) -> Catalogue:
    try:
        return CATALOGUES[name]
    except KeyError:
        raise InputError(f"catalogue {name!r}: expected one of "
                         f"{', '.join(CATALOGUES)}") from None


def area_km2(geometry) -> float:
    """Area (km²) of a lon/lat polygon on the Moon's sphere (edges are lon/lat lines,
    densified to 0.05° so that the geodesic area follows them)."""
    return sphere_area_m2(shapely.segmentize(geometry, 0.05)) / 1e6


def perimeter_km(geometry) -> float:
    return abs(MOON_GEOD.geometry_area_perimeter(shapely.segmentize(geometry, 0.05))[1]) / 1e3


def covered_part(area, catalogue: Catalogue):
    """The part of a lon/lat area inside the catalogue's latitude band."""
    band = shapely.box(-180.0, catalogue.lat_min, 180.0, catalogue.lat_max)
    return shapely.intersection(shapely.make_valid(area), band)


def diameter_range(catalogue: Catalogue, d_range: tuple[float, float] | None
                   ) -> tuple[float, float]:
    """The asked range limited to where the catalogue is complete (km)."""
    if d_range is None:
        return catalogue.d_min_km, catalogue.d_max_km
    return max(catalogue.d_min_km, d_range[0]), min(catalogue.d_max_km, d_range[1])


def largest_on(area_km2_value: float) -> float:
    """Equivalent-circle diameter (km) of an area: no larger crater can lie on it."""
    return 2.0 * math.sqrt(area_km2_value / math.pi)


def craters_in(area, craters: pd.DataFrame, catalogue: Catalogue,
               d_range: tuple[float, float] | None = None) -> pd.DataFrame:
    """Catalogue rows (``lon``, ``lat``, ``diameter_km``) with centres in the covered part
    of ``area`` and diameters in range, none wider than the polygon (part of a multipolygon)
    it lies in (see the module docstring)."""
    covered = covered_part(area, catalogue)
    d_lo, d_hi = diameter_range(catalogue, d_range)
    diam = craters["diameter_km"].to_numpy(float)
    candidates = np.flatnonzero((diam >= d_lo) & (diam < d_hi))
    parts = shapely.get_parts(covered)
    parts = parts[shapely.area(parts) > 0]
    points = shapely.points(craters["lon"].to_numpy(float)[candidates],
                            craters["lat"].to_numpy(float)[candidates])
    point_idx, part_idx = shapely.STRtree(parts).query(points, predicate="within")
    sizes = {i: largest_on(area_km2(parts[i])) for i in np.unique(part_idx)}
    fits = np.array([diam[candidates[p]] < sizes[q] for p, q in
                     zip(point_idx, part_idx, strict=True)], dtype=bool)
    return craters.iloc[np.sort(candidates[point_idx[fits]])]


def count_in_area(area, craters: pd.DataFrame, catalogue: Catalogue, name: str,
                  d_range: tuple[float, float] | None = None) -> CraterCount:
    """The catalogue's craters counted in ``area`` (lon/lat polygons; see the module
    docstring for the rule); the count area is the covered part of ``area``."""
    covered = covered_part(area, catalogue)
    size = 0.0 if covered.is_empty else area_km2(covered)
    if size <= 0:
        raise InputError(f"{name}: the area lies outside {catalogue.title}'s coverage "
                         f"({catalogue.lat_min:g}° to {catalogue.lat_max:g}° latitude)")
    selected = craters_in(covered, craters, catalogue, d_range)["diameter_km"].to_numpy(float)
    return CraterCount(name, size, selected, np.ones_like(selected), perimeter_km(covered),
                       f"{catalogue.name} in {name}")


def scc_text(count: CraterCount, area, craters: pd.DataFrame | None = None,
             note: str = "") -> str:
    """The count as a craterstats spatial crater count (.scc): boundary vertices (lon, lat),
    Total_area, Total_perimeter and the crater table (diam, fraction, lon, lat)."""
    lines = ["# Spatial crater count", f"# {note}" if note else "#",
             "# Ellipsoid axes:", *(f"{axis}-axis radius = {MOON_RADIUS_M / 1000:g} <km>"
                                    for axis in "abc"),
             "coordinate_system_name = IAU_2015:30100 (Moon 2015 sphere, lon/lat)", "#",
             "unit_boundary = {vertex, sub_area, tag, lon, lat"]
    vertex = 0
    polygons = getattr(area, "geoms", [area])
    for sub, polygon in enumerate(polygons, 1):
        for x, y in polygon.exterior.coords:
            vertex += 1
            lines.append(f"{vertex}\t{sub}\text\t{x:.8f}\t{y:.8f}")
    lines += ["}", "#", f"Total_area = {count.area_km2:.6f} <km^2>"]
    if count.perimeter_km is not None:
        lines.append(f"Total_perimeter = {count.perimeter_km:.6f} <km>")
    lines += ["#", "# crater_diameters:", "crater = {diam, fraction, lon, lat"]
    if craters is not None:
        for row in craters.itertuples():
            lines.append(f"{row.diameter_km:.6f}\t1\t{row.lon:.6f}\t{row.lat:.6f}")
    else:
        lines += [f"{d:.6f}\t1\t0\t0" for d in count.diameters_km]
    lines.append("}")
    return "\n".join(lines) + "\n"


CATALOGUE_FIELDS = ("catalogue_age_ga", "catalogue_age_minus_ga", "catalogue_age_plus_ga",
                    "catalogue_craters", "catalogue_area_km2", "catalogue_d_range_km",
                    "catalogue_name", "catalogue_note")


def date_polygons(polygons, catalogues: dict[str, pd.DataFrame], system,
                  min_craters: int = MIN_CRATERS) -> pd.DataFrame:
    """Poisson model ages of polygons (GeoDataFrame in lon/lat) from crater catalogues.

    Each polygon is counted in every catalogue that covers it (craters whose centres lie
    inside, diameters in the catalogue's complete range); the catalogue with the most craters
    dates it when it has at least ``min_craters``, else the note says how many there were.
    Returns one row per polygon (:data:`CATALOGUE_FIELDS`), indexed like ``polygons``.
    """
    from lunatlas.chronology.fitting import fit_age

    geometries = polygons.geometry.to_numpy()
    best = {}
    for name, craters in catalogues.items():
        catalogue = get_catalogue(name)
        band = shapely.box(-180.0, catalogue.lat_min, 180.0, catalogue.lat_max)
        inside_band = shapely.within(geometries, band)
        covered = geometries.copy()
        cut = ~inside_band & shapely.intersects(geometries, band)
        covered[cut] = shapely.intersection(shapely.make_valid(geometries[cut]), band)
        usable = inside_band | (cut & ~shapely.is_empty(covered))
        d_lo, d_hi = diameter_range(catalogue, None)
        diam = craters["diameter_km"].to_numpy(float)
        in_range = (diam >= d_lo) & (diam < d_hi)
        points = shapely.points(craters["lon"].to_numpy(float)[in_range],
                                craters["lat"].to_numpy(float)[in_range])
        tree = shapely.STRtree(covered[usable])
        point_idx, poly_idx = tree.query(points, predicate="within")
        owners = np.flatnonzero(usable)[poly_idx]
        areas = np.full(len(geometries), np.nan)  # measured when first needed, then kept
        sizes = np.zeros(len(geometries))
        for i in np.unique(owners):
            areas[i] = area_km2(covered[i])
            sizes[i] = largest_on(areas[i])
        fits = diam[in_range][point_idx] < sizes[owners]  # no crater wider than its polygon
        point_idx, owners = point_idx[fits], owners[fits]
        counts = np.bincount(owners, minlength=len(geometries))
        order = np.argsort(owners, kind="stable")  # each polygon's craters, in one pass
        starts = np.concatenate([[0], np.cumsum(counts)])
        inside = diam[in_range][point_idx[order]]
        for i in np.flatnonzero(usable):
            if counts[i] > best.get(i, (-1,))[0]:
                if np.isnan(areas[i]):
                    areas[i] = area_km2(covered[i])
                best[i] = (int(counts[i]), name, areas[i], inside[starts[i]:starts[i + 1]])
    rows = []
    for i in range(len(geometries)):
        row = dict.fromkeys(CATALOGUE_FIELDS, None)
        if i in best:
            n, name, area, diameters = best[i]
            catalogue = get_catalogue(name)
            row.update(catalogue_name=name, catalogue_craters=n,
                       catalogue_area_km2=round(area, 1),
                       catalogue_d_range_km=f"{catalogue.d_min_km:g}–{catalogue.d_max_km:g}")
            if n >= min_craters:
                count = CraterCount(str(polygons.index[i]), area, diameters,
                                    np.ones_like(diameters), None, name)
                d_hi = min(catalogue.d_max_km, float(diameters.max()) * 1.01)
                fit = fit_age(count, system, (catalogue.d_min_km, d_hi), "poisson")
                row.update(catalogue_age_ga=round(fit.age_ga, 4),
                           catalogue_age_minus_ga=round(fit.age_ga - fit.age_low_ga, 4),
                           catalogue_age_plus_ga=round(fit.age_high_ga - fit.age_ga, 4),
                           catalogue_note=f"{n} craters of {catalogue.title} with centres "
                                          f"inside, Poisson fit ({system.name})")
            else:
                row["catalogue_note"] = (f"too few craters for a model age: {n} of "
                                         f"{catalogue.title} (fewer than {min_craters})")
        rows.append(row)
    return pd.DataFrame(rows, index=polygons.index)
