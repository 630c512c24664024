"""Unit polygons on raster grids (engine): codes per cell, for maps, tiles and siting."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.features import rasterize
from rasterio.transform import from_origin
from rasterio.warp import reproject

from lunatlas.crs import MOON_GEOGRAPHIC, lonlat_to, to_lonlat

MAX_GEO_ROWS = 4096


def unit_codes(units: gpd.GeoDataFrame) -> tuple[list[str], np.ndarray]:
    """Symbols in code order (code = position + 1) and each record's code."""
    symbols = sorted(set(units["symbol"].dropna()))
    lookup = {s: i + 1 for i, s in enumerate(symbols)}
    return symbols, units["symbol"].map(lookup).fillna(0).astype("uint8").to_numpy()


def grid_lonlat_box(shape: tuple[int, int], transform: Affine,
                    crs: CRS) -> tuple[float, float, float, float]:
    """(west, south, east, north) in degrees covering a projected grid (whole longitudes
    when a pole lies inside it)."""
    rows, cols = shape
    t = np.linspace(0, 1, 65)
    edge_c = np.concatenate([t * cols, np.full_like(t, cols), t[::-1] * cols, np.zeros_like(t)])
    edge_r = np.concatenate([np.zeros_like(t), t * rows, np.full_like(t, rows), t[::-1] * rows])
    x, y = transform * (edge_c, edge_r)
    lon, lat = to_lonlat(crs, x, y)
    south, north = float(np.nanmin(lat)), float(np.nanmax(lat))
    west, east = float(np.nanmin(lon)), float(np.nanmax(lon))
    left, top = transform.c, transform.f
    right, bottom = left + cols * transform.a, top + rows * transform.e
    for pole_lat in (-90.0, 90.0):
        px, py = lonlat_to(crs, 0.0, pole_lat)
        if np.isfinite(px) and min(left, right) <= px <= max(left, right) \
                and min(top, bottom) <= py <= max(top, bottom):
            south, north = min(south, pole_lat), max(north, pole_lat)
            west, east = -180.0, 180.0
    if east - west > 180.0:  # the grid straddles the antimeridian: take every longitude
        west, east = -180.0, 180.0
    return west, south, east, north


def rasterise_units(units: gpd.GeoDataFrame, shape: tuple[int, int], transform: Affine,
                    crs: CRS | None = None) -> tuple[np.ndarray, list[str]]:
    """Unit codes on a grid (0 = no unit) and the symbols the codes stand for.

    Geographic grids are rasterised directly; projected grids (``crs``) through a lon/lat
    grid over the area they cover, warped with nearest-neighbour resampling (polygons that
    touch the pole stay whole).
    """
    if crs is None or crs.is_geographic:
        symbols, codes = unit_codes(units)
        return rasterize(list(zip(units.geometry, codes, strict=True)), out_shape=shape,
                         transform=transform, fill=0, dtype="uint8"), symbols
    west, south, east, north = grid_lonlat_box(shape, transform, crs)
    band = units.cx[west:east, south:north]
    symbols, codes = unit_codes(band)
    pixel_m = abs(transform.a)
    step = min(max(np.degrees(pixel_m / 1_737_400.0), (north - south) / MAX_GEO_ROWS),
               (north - south) / 64)
    rows = int(np.ceil((north - south) / step))
    cols = int(np.ceil((east - west) / step))
    if cols > 2 * MAX_GEO_ROWS:  # near a pole longitudes need not be as fine as latitudes
        cols = 2 * MAX_GEO_ROWS
    geo_transform = from_origin(west, north, (east - west) / cols, (north - south) / rows)
    geo = rasterize(list(zip(band.geometry, codes, strict=True)), out_shape=(rows, cols),
                    transform=geo_transform, fill=0, dtype="uint8")
    out = np.zeros(shape, np.uint8)
    reproject(geo, out, src_transform=geo_transform, src_crs=MOON_GEOGRAPHIC,
              dst_transform=transform, dst_crs=crs, resampling=Resampling.nearest,
              src_nodata=0, dst_nodata=0)
    return out, symbols
