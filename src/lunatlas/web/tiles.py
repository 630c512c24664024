"""Raster tiles of the atlas's Cloud-Optimized GeoTIFFs in lunar tile matrix sets
(morecantile custom TMS + rio-tiler). No Earth CRS: the south-polar set is on
IAU_2015:30135, square ±500 km around the pole (75°S reach); the global set is on
IAU_2015:30100 (lon/lat on the Moon sphere, two 256-px tiles at zoom 0)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import morecantile
from rio_tiler.colormap import cmap
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

from lunatlas.crs import MOON_GEOGRAPHIC, MOON_SOUTH_POLAR

SOUTH_POLAR_HALF_M = 500_000.0
RASTERS = {
    "hillshade": ("hillshade.tif", None, (0.0, 1.0)),
    "suitability": ("suitability.tif", "viridis", (0.0, 1.0)),
    "illumination": ("illumination_fraction.tif", "magma", (0.0, 1.0)),
    "hillshade-global": ("hillshade_global.tif", None, (0.0, 1.0)),
    "geology": ("geology_units.tif", "units", (0.0, 255.0)),
    "geology-global": ("geology_units.tif", "units", (0.0, 255.0)),
}
"""Tile name → (file beside the atlas, colour map, value range). ``units``: class codes
coloured in the official unit colours listed in the file's ``symbols`` tag."""
VIEWS = {"south-polar": ("hillshade", "geology", "suitability", "illumination"),
         "global": ("hillshade-global", "geology-global")}


@lru_cache(maxsize=1)
def south_polar_tms() -> morecantile.TileMatrixSet:
    """Tile matrix set on IAU_2015:30135; zoom z has (500 km·2 / 256 / 2^z) m pixels."""
    h = SOUTH_POLAR_HALF_M
    return morecantile.TileMatrixSet.custom([-h, -h, h, h], MOON_SOUTH_POLAR, minzoom=0,
                                            maxzoom=12, id="MoonSouthPolar")


@lru_cache(maxsize=1)
def global_tms() -> morecantile.TileMatrixSet:
    """Tile matrix set on IAU_2015:30100 (degrees); zoom 0 is 2 × 1 tiles of 180°."""
    return morecantile.TileMatrixSet.custom([-180.0, -90.0, 180.0, 90.0], MOON_GEOGRAPHIC,
                                            matrix_scale=[2, 1], minzoom=0, maxzoom=8,
                                            id="MoonGlobal")


def tms_for(name: str) -> morecantile.TileMatrixSet:
    return global_tms() if name in VIEWS["global"] else south_polar_tms()


def render_tile(folder: Path, name: str, z: int, x: int, y: int) -> bytes | None:
    """PNG bytes of one tile, or None when the tile lies outside the raster."""
    filename, colormap, (lo, hi) = RASTERS[name]
    path = folder / filename
    with Reader(str(path), tms=tms_for(name)) as src:
        try:
            image = src.tile(x, y, z, tilesize=256,
                             resampling_method="nearest" if colormap == "units" else "bilinear")
        except TileOutsideBounds:
            return None
        if colormap == "units":
            return image.render(img_format="PNG", colormap=unit_colormap(path))
    # The COGs' nodata is NaN: a NaN fill value cannot be cast to the 8-bit tile (numpy
    # warns on every tile), and masked cells are transparent anyway.
    image.array.set_fill_value(0)
    image.rescale(in_range=((lo, hi),))
    if colormap is None:
        return image.render(img_format="PNG")
    return image.render(img_format="PNG", colormap=cmap.get(colormap))


@lru_cache(maxsize=8)
def unit_colormap(path: Path) -> dict[int, tuple[int, int, int, int]]:
    """Class code → RGBA in the official unit colours (code 0 transparent)."""
    import json

    import rasterio

    from lunatlas.geology.classify import hex_rgb
    from lunatlas.geology.units import unit_table

    with rasterio.open(path) as src:
        symbols = json.loads(src.tags()["symbols"])
    table = unit_table()
    colours = {0: (0, 0, 0, 0)}
    colours.update({i: (*hex_rgb(table.loc[s, "colour"]), 200)
                    for i, s in enumerate(symbols, start=1)})
    return colours


def tile_bounds_ok(name: str, z: int, x: int, y: int) -> bool:
    if name in VIEWS["global"]:
        return 0 <= z <= 8 and 0 <= x < 2 ** (z + 1) and 0 <= y < 2**z
    return 0 <= z <= 12 and 0 <= x < 2**z and 0 <= y < 2**z


def view_config(view: str) -> dict:
    """What the viewer needs to build a Proj4Leaflet CRS for a view."""
    if view == "global":
        return {"crs": "IAU_2015:30100", "proj4": "+proj=longlat +R=1737400 +no_defs",
                "origin": [-180.0, 90.0], "bounds": [[-180.0, -90.0], [180.0, 90.0]],
                "resolutions": [180.0 / 256 / 2**z for z in range(9)],
                "center": [0.0, 0.0], "zoom": 1}
    h = SOUTH_POLAR_HALF_M
    return {"crs": "IAU_2015:30135",
            "proj4": "+proj=stere +lat_0=-90 +lon_0=0 +k=1 +x_0=0 +y_0=0 +R=1737400 "
                     "+units=m +no_defs",
            "origin": [-h, h], "bounds": [[-h, -h], [h, h]],
            "resolutions": [2 * h / 256 / 2**z for z in range(13)],
            "center": [-89.0, 0.0], "zoom": 2}


def data_extent(folder: Path, rasters: list[str]) -> list[float] | None:
    """[left, bottom, right, top] (the view's CRS units) of the first raster of a view with
    data: the siting grid's relief in the polar view, the globe in the global view."""
    import rasterio

    for name in rasters:
        with rasterio.open(folder / RASTERS[name][0]) as src:
            return [float(v) for v in src.bounds]
    return None


__all__ = ["RASTERS", "VIEWS", "data_extent", "global_tms", "render_tile", "south_polar_tms",
           "tile_bounds_ok", "unit_colormap", "view_config"]
