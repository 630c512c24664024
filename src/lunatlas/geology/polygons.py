"""Unit polygons: vectorising a class raster, areas on the Moon sphere, point lookups (engines).

A unit record carries its symbol, name, epoch, the epoch's age range (Ga, time scale
:data:`lunatlas.geology.units.TIME_SCALE`), description, area (km²), the ambiguity of its
colour when the rendering could not resolve it, and its source.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from affine import Affine
from numpy.typing import NDArray
from rasterio.features import shapes

from lunatlas.crs import MOON_GEOGRAPHIC, MOON_RADIUS_M, sphere_area_m2
from lunatlas.geology.units import unit_table

UNIT_COLUMNS = ("symbol", "name", "epoch", "epoch_young_ga", "epoch_old_ga", "description",
                "area_km2", "ambiguity", "source")


def area_km2(geometries: gpd.GeoSeries | NDArray) -> NDArray[np.float64]:
    """Areas (km²) of lon/lat polygons on the IAU 2015 Moon sphere (R = 1 737.4 km)."""
    return np.array([sphere_area_m2(g) / 1e6 for g in geometries])


def pixel_areas_km2(shape: tuple[int, int], transform: Affine) -> NDArray[np.float64]:
    """Area (km²) of each row's pixels on a lon/lat grid (exact spherical zone areas)."""
    rows = np.arange(shape[0] + 1)
    lat_edges = np.radians(transform.f + rows * transform.e)
    width = np.radians(abs(transform.a))
    zone = np.abs(np.diff(np.sin(lat_edges)))
    return (MOON_RADIUS_M / 1000.0) ** 2 * width * zone


def unit_attributes(symbol: str) -> dict:
    """Name, epoch and the epoch's age range of a unit symbol."""
    row = unit_table().loc[symbol]
    return {"symbol": symbol, "name": row["name"], "epoch": row["epoch"],
            "epoch_young_ga": float(row["epoch_young_ga"]),
            "epoch_old_ga": float(row["epoch_old_ga"]), "description": row["description"]}


def vectorise_classes(classes: NDArray[np.uint8], transform: Affine, table: list[dict],
                      source: str, provenance: str) -> gpd.GeoDataFrame:
    """One polygon record per connected area (8-connected) of each class.

    ``table`` maps class codes to symbols (and the symbol a code may be confused with);
    record ids are ``unit:<symbol>:<n>`` numbered by decreasing area within the symbol.
    """
    attributes = {}  # per class code, looked up once
    for row in table:
        other = row.get("ambiguous_with", "")
        attributes[int(row["code"])] = {
            **unit_attributes(row["symbol"]),
            "ambiguity": (f"colour shared with {other}; no 1:5M label point inside resolves "
                          "it" if other else ""),
            "source": f"{source}: {provenance}"}
    records = []
    for geometry, value in shapes(classes, mask=classes > 0, transform=transform,
                                  connectivity=8):
        records.append({**attributes[int(value)],
                        "geometry": shapely.geometry.shape(geometry)})
    frame = gpd.GeoDataFrame(pd.DataFrame(records), geometry="geometry", crs=MOON_GEOGRAPHIC)
    return number_units(frame)


def number_units(frame: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Add ``area_km2`` and deterministic ids ``unit:<symbol>:<n>`` (largest first)."""
    frame = frame.assign(area_km2=np.round(area_km2(frame.geometry), 1))
    centroid = shapely.centroid(frame.geometry.to_numpy())  # only to order ties: lon/lat is fine
    frame = frame.assign(_x=np.round(shapely.get_x(centroid), 4),
                         _y=np.round(shapely.get_y(centroid), 4))
    frame = frame.sort_values(["symbol", "area_km2", "_y", "_x"],
                              ascending=[True, False, True, True])
    rank = frame.groupby("symbol").cumcount() + 1
    frame = frame.assign(record_id="unit:" + frame["symbol"] + ":" + rank.astype(str))
    return frame.drop(columns=["_x", "_y"]).reset_index(drop=True)


def units_at(units: gpd.GeoDataFrame, lon: NDArray | float,
             lat: NDArray | float) -> NDArray[np.intp]:
    """Row position of the unit containing each point (−1 where none does)."""
    points = shapely.points(np.atleast_1d(lon), np.atleast_1d(lat))
    found = np.full(len(points), -1, np.intp)
    point_idx, unit_idx = units.sindex.query(points, predicate="intersects")
    found[point_idx] = unit_idx  # a point on a shared edge takes one of the two units
    return found
