"""Reader of the official USGS Unified Geologic Map GIS release (its ``GeoUnits`` layer).

The release (Fortezzo, Spudis & Harrel 2020) is a file geodatabase; GDAL reads it, or any
export of the layer (GeoPackage, shapefile). Each polygon carries the unit symbol in
``FIRST_Unit`` and the unit name in ``FIRST_Un_1``. The reader reprojects to
IAU_2015:30100, refuses unknown symbols and overlapping polygons with the file and record
named, and returns records in the atlas ``units`` shape.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError

from lunatlas.crs import MOON_GEOGRAPHIC, require_lunar
from lunatlas.errors import InputError
from lunatlas.geology.polygons import number_units, unit_attributes
from lunatlas.geology.units import unit_table

GEOUNITS_LAYER = "GeoUnits"
SYMBOL_FIELD = "FIRST_Unit"
NAME_FIELD = "FIRST_Un_1"
OVERLAP_TOLERANCE_KM2 = 0.01
"""Overlaps below this area (km², at the equator's scale) are taken as digitising noise."""


def _layer_name(path: Path) -> str:
    try:
        layers = [name for name, _ in pyogrio.list_layers(path)]
    except (DataSourceError, DataLayerError) as exc:
        raise InputError(f"{path}: not a readable vector file ({exc})") from None
    if GEOUNITS_LAYER in layers:
        return GEOUNITS_LAYER
    if len(layers) == 1:
        return layers[0]
    raise InputError(f"{path}: no {GEOUNITS_LAYER!r} layer; layers: {', '.join(layers)}")


def read_geounits(path: str | Path) -> gpd.GeoDataFrame:
    """Unit polygons from the official GeoUnits layer, as atlas ``units`` records."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: Unified Geologic Map GIS file not found")
    layer = _layer_name(path)
    frame = gpd.read_file(path, layer=layer, engine="pyogrio")
    where = f"{path} layer {layer}"
    missing = [f for f in (SYMBOL_FIELD, NAME_FIELD) if f not in frame.columns]
    if missing:
        raise InputError(f"{where}: missing field(s) {missing}; expected {SYMBOL_FIELD} "
                         f"(unit symbol) and {NAME_FIELD} (unit name)")
    if frame.crs is None:
        raise InputError(f"{where}: no CRS; expected a lunar CRS (IAU_2015:30100 or the "
                         "release's Moon 2000 projection)")
    require_lunar(frame.crs, where)
    frame = frame.to_crs(MOON_GEOGRAPHIC)
    known = set(unit_table().index)
    symbols = frame[SYMBOL_FIELD].astype(str).str.strip()
    unknown = ~symbols.isin(known)
    if unknown.any():
        i = int(np.flatnonzero(unknown.to_numpy())[0])
        raise InputError(f"{where}: record {i + 1}, field {SYMBOL_FIELD}: unknown unit symbol "
                         f"{symbols.iloc[i]!r}; expected one of the 49 symbols of the "
                         "Unified Geologic Map")
    bad = ~frame.geometry.is_valid | frame.geometry.is_empty
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise InputError(f"{where}: record {i + 1}: invalid or empty polygon "
                         f"({shapely.is_valid_reason(frame.geometry.iloc[i])})")
    _refuse_overlaps(frame, where)
    source = f"usgs-unified-geology-gis:{path.name}"
    records = [{**unit_attributes(symbol), "ambiguity": "",
                "name": str(name) or unit_attributes(symbol)["name"],
                "source": f"{source}: USGS Unified Geologic Map of the Moon 1:5M GIS "
                          "(vector GeoUnits)"}
               for symbol, name in zip(symbols, frame[NAME_FIELD].fillna(""), strict=True)]
    units = gpd.GeoDataFrame(records, geometry=frame.geometry.to_numpy(), crs=MOON_GEOGRAPHIC)
    return number_units(units)


def _refuse_overlaps(frame: gpd.GeoDataFrame, where: str) -> None:
    left, right = frame.sindex.query(frame.geometry.to_numpy(), predicate="intersects")
    pairs = left < right
    if not pairs.any():
        return
    a = frame.geometry.to_numpy()[left[pairs]]
    b = frame.geometry.to_numpy()[right[pairs]]
    overlap_deg2 = shapely.area(shapely.intersection(a, b))
    km_per_deg = np.pi * 1737.4 / 180.0
    over = overlap_deg2 * km_per_deg**2 > OVERLAP_TOLERANCE_KM2
    if over.any():
        k = int(np.flatnonzero(over)[0])
        raise InputError(f"{where}: records {left[pairs][k] + 1} and {right[pairs][k] + 1} "
                         f"overlap ({overlap_deg2[k] * km_per_deg**2:.2f} km²); geologic "
                         "units must not overlap")
