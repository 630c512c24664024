"""Where the atlas's geologic units come from: the official GIS release when the data folder
or cache has it, else the embedded product derived from the USGS rendering (readers)."""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd

from lunatlas.data.fetch import dataset_path
from lunatlas.errors import DatasetError
from lunatlas.geology.gis import read_geounits
from lunatlas.geology.polygons import vectorise_classes
from lunatlas.geology.product import PROVENANCE, load_product

PRODUCT_SOURCE = "lunatlas-unified-geology-product"
GIS_DATASET = "usgs-unified-geology-gis"


def geologic_units(data_dir: Path | None = None) -> tuple[gpd.GeoDataFrame, str]:
    """Unit polygons (atlas ``units`` records) and the name of the source they came from."""
    try:
        path = dataset_path(GIS_DATASET, data_dir=data_dir, download=False)
    except DatasetError:
        path = None
    if path is not None:
        return read_geounits(path), GIS_DATASET
    product = load_product()
    units = vectorise_classes(product.classes, product.transform, product.table,
                              PRODUCT_SOURCE, PROVENANCE)
    return units, PRODUCT_SOURCE

