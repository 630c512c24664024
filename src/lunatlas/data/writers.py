"""Raster writers at the edge: Cloud-Optimized GeoTIFFs carrying the lunar CRS."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr
from pyproj import CRS

from lunatlas.crs import require_lunar


def write_cog(path: str | Path, bands: dict[str, np.ndarray], like: xr.DataArray,
              units: dict[str, str] | None = None, tags: dict[str, str] | None = None
              ) -> Path:
    """Write float32 bands on the grid of ``like`` as one COG (band descriptions = names,
    ``tags`` on the dataset).

    Written to a temporary file and renamed, so a failure leaves no partial output.
    """
    path = Path(path)
    crs = require_lunar(CRS.from_user_input(like.rio.crs) if like.rio.crs else None,
                        "output grid")
    height, width = like.shape
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.tif")
    profile = {"driver": "COG", "width": width, "height": height, "count": len(bands),
               "dtype": "float32", "crs": crs.to_wkt(), "transform": like.rio.transform(),
               "nodata": np.nan, "compress": "deflate"}
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            for i, (name, array) in enumerate(bands.items(), 1):
                dst.write(np.asarray(array, dtype="float32"), i)
                dst.set_band_description(i, name)
                if units and name in units:
                    dst.update_tags(i, units=units[name])
            if tags:
                dst.update_tags(**tags)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path


def write_class_cog(path: str | Path, classes: np.ndarray, transform, crs: CRS,
                    tags: dict[str, str]) -> Path:
    """Write a uint8 class raster (0 = no data) as a COG with ``tags`` (nearest overviews)."""
    path = Path(path)
    crs = require_lunar(crs, "class raster grid")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp.tif")
    profile = {"driver": "COG", "width": classes.shape[1], "height": classes.shape[0],
               "count": 1, "dtype": "uint8", "crs": crs.to_wkt(), "transform": transform,
               "nodata": 0, "compress": "deflate", "overview_resampling": "nearest"}
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            dst.write(np.asarray(classes, dtype="uint8"), 1)
            dst.update_tags(**tags)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
