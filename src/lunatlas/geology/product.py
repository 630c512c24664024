"""The embedded geology product: a uint8 unit-class raster (global, IAU_2015:30100) and its
class table, derived by ``scripts/build_geology_product.py`` from the USGS rendering.

The class raster is ``data/unified_classes.tif`` (2048 × 1024 plate carrée, deflate); the
JSON beside it holds the class table, the SHA-256 of the raster and of the source rendering,
the parameters and the pair resolutions. :func:`load_product` refuses a raster whose SHA-256
differs from the JSON's.
"""

from __future__ import annotations

import json
import warnings
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from numpy.typing import NDArray
from PIL import Image
from pyproj import CRS
from rasterio.errors import NotGeoreferencedWarning
from rasterio.transform import from_origin

from lunatlas.crs import MOON_GEOGRAPHIC, same_crs
from lunatlas.data.fetch import sha256_of
from lunatlas.errors import ChecksumError, InputError, RasterError

PRODUCT_RASTER = "unified_classes.tif"
PRODUCT_TABLE = "unified_classes.json"
RENDERING_SHAPE = (1024, 2048)
"""(rows, columns) of the USGS rendering the product is derived from."""
PROVENANCE = ("derived from a ≈ 5 km/px (0.176°/px) JPEG rendering of the USGS Unified "
              "Geologic Map of the Moon 1:5M (Fortezzo, Spudis & Harrel 2020) by nearest "
              "official colour; not the vector map")


@dataclass
class UnitClassRaster:
    """Class codes on a global geographic grid, with the code → unit table."""

    classes: NDArray[np.uint8]
    transform: Affine
    table: list[dict]
    """Rows: code, symbol, ambiguous_with ('' when the code is one unit)."""
    meta: dict

    @property
    def pixel_deg(self) -> float:
        return float(self.transform.a)


def plate_carree_transform(shape: tuple[int, int]) -> Affine:
    """Affine of a global plate carrée grid: column 0 at 180°W, row 0 at 90°N (degrees)."""
    rows, cols = shape
    return from_origin(-180.0, 90.0, 360.0 / cols, 180.0 / rows)


def read_rendering(path: str | Path) -> NDArray[np.uint8]:
    """The USGS rendering as an (H, W, 3) uint8 array, checked for size and projection.

    The rendering is a global plate carrée (2:1) image of :data:`RENDERING_SHAPE`; a
    georeferenced raster must be in a lunar geographic CRS covering −180…180, −90…90.
    """
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: geologic map rendering not found")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", NotGeoreferencedWarning)  # a JPEG has none
        try:
            src = rasterio.open(path)
        except rasterio.RasterioIOError as exc:
            raise RasterError(f"{path}: not a readable raster ({exc})") from None
    with src:
        if src.crs is not None:
            global_box = np.allclose(tuple(src.bounds), (-180, -90, 180, 90), atol=1e-6)
            if not (same_crs(CRS.from_user_input(src.crs), MOON_GEOGRAPHIC) and global_box):
                raise RasterError(f"{path}: projection {src.crs} with bounds {src.bounds}; "
                                  "expected a global plate carrée in IAU_2015:30100 "
                                  "(−180…180 E, −90…90)")
        if (src.height, src.width) != RENDERING_SHAPE or src.count < 3:
            raise RasterError(f"{path}: {src.width}×{src.height} with {src.count} band(s); "
                              f"expected the {RENDERING_SHAPE[1]}×{RENDERING_SHAPE[0]} RGB "
                              "plate carrée rendering of the Unified Geologic Map")
    with Image.open(path) as image:
        return np.asarray(image.convert("RGB"))


def write_product(folder: Path, classes: NDArray[np.uint8], table: list[dict],
                  meta: dict) -> dict:
    """Write the class raster and its JSON into ``folder``; returns the JSON written."""
    folder.mkdir(parents=True, exist_ok=True)
    raster = folder / PRODUCT_RASTER
    profile = {"driver": "GTiff", "width": classes.shape[1], "height": classes.shape[0],
               "count": 1, "dtype": "uint8", "nodata": 0, "crs": MOON_GEOGRAPHIC,
               "transform": plate_carree_transform(classes.shape), "compress": "deflate",
               "predictor": 2, "zlevel": 9, "tiled": False}
    with rasterio.open(raster, "w", **profile) as dst:
        dst.write(classes, 1)
        dst.update_tags(provenance=PROVENANCE)
    document = {**meta, "provenance": PROVENANCE, "classes": table,
                "raster": PRODUCT_RASTER, "raster_sha256": sha256_of(raster)}
    (folder / PRODUCT_TABLE).write_text(json.dumps(document, indent=1, ensure_ascii=False)
                                        + "\n", encoding="utf-8")
    return document


def product_folder() -> Path:
    """The folder of the product inside the installed package."""
    return Path(str(files("lunatlas.geology").joinpath("data")))


def load_product(folder: Path | None = None) -> UnitClassRaster:
    """Read the embedded product (or one written to ``folder``), checking its SHA-256."""
    folder = folder or product_folder()
    table_path = folder / PRODUCT_TABLE
    if not table_path.is_file():
        raise InputError(f"{table_path}: geology product table missing; run "
                         "scripts/build_geology_product.py")
    meta = json.loads(table_path.read_text(encoding="utf-8"))
    raster = folder / meta["raster"]
    actual = sha256_of(raster)
    if actual != meta["raster_sha256"]:
        raise ChecksumError(str(raster), meta["raster_sha256"], actual)
    with rasterio.open(raster) as src:
        if not same_crs(CRS.from_user_input(src.crs), MOON_GEOGRAPHIC):
            raise RasterError(f"{raster}: CRS {src.crs}; expected IAU_2015:30100")
        classes = src.read(1)
        transform = src.transform
    return UnitClassRaster(classes, transform, meta["classes"], meta)
