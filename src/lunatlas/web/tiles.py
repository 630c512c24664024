"""Raster tiles of the atlas's Cloud-Optimized GeoTIFFs in lunar tile matrix sets
(morecantile custom TMS + rio-tiler). No Earth CRS: the south-polar set is on
IAU_2015:30135, square ±500 km around the pole (75°S reach)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import morecantile
from rio_tiler.colormap import cmap
from rio_tiler.errors import TileOutsideBounds
from rio_tiler.io import Reader

from lunatlas.crs import MOON_SOUTH_POLAR

SOUTH_POLAR_HALF_M = 500_000.0
RASTERS = {
    "hillshade": ("hillshade.tif", None, (0.0, 1.0)),
    "suitability": ("suitability.tif", "viridis", (0.0, 1.0)),
    "illumination": ("illumination_fraction.tif", "magma", (0.0, 1.0)),
}


@lru_cache(maxsize=1)
def south_polar_tms() -> morecantile.TileMatrixSet:
    """Tile matrix set on IAU_2015:30135; zoom z has (500 km·2 / 256 / 2^z) m pixels."""
    h = SOUTH_POLAR_HALF_M
    return morecantile.TileMatrixSet.custom([-h, -h, h, h], MOON_SOUTH_POLAR, minzoom=0,
                                            maxzoom=12, id="MoonSouthPolar")


def render_tile(folder: Path, name: str, z: int, x: int, y: int) -> bytes | None:
    """PNG bytes of one tile, or None when the tile lies outside the raster."""
    filename, colormap, (lo, hi) = RASTERS[name]
    path = folder / filename
    with Reader(str(path), tms=south_polar_tms()) as src:
        try:
            image = src.tile(x, y, z, tilesize=256)
        except TileOutsideBounds:
            return None
    image.rescale(in_range=((lo, hi),))
    if colormap is None:
        return image.render(img_format="PNG")
    return image.render(img_format="PNG", colormap=cmap.get(colormap))


def tile_bounds_ok(z: int, x: int, y: int) -> bool:
    n = 2**z
    return 0 <= z <= 12 and 0 <= x < n and 0 <= y < n


__all__ = ["RASTERS", "render_tile", "south_polar_tms", "tile_bounds_ok"]
