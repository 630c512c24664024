"""Reproject and crop DEMs to polar stereographic or local grids (rioxarray / GDAL warp)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling

from lunatlas.crs import (
    MOON_NORTH_POLAR,
    MOON_RADIUS_M,
    MOON_SOUTH_POLAR,
    normalize_longitude,
    to_lonlat,
)
from lunatlas.errors import InputError


def local_crs(lat_deg: float, lon_deg: float, radius_m: float = MOON_RADIUS_M) -> CRS:
    """A stereographic CRS on the Moon sphere centred on a point (true scale there).

    Within 1° of a pole the IAU polar stereographic CRS is returned instead.
    """
    if not -90.0 <= lat_deg <= 90.0:
        raise InputError(f"latitude {lat_deg} outside [-90, 90]")
    if lat_deg <= -89.0:
        return MOON_SOUTH_POLAR
    if lat_deg >= 89.0:
        return MOON_NORTH_POLAR
    lon = float(normalize_longitude(lon_deg))
    return CRS.from_proj4(f"+proj=stere +lat_0={lat_deg} +lon_0={lon} +k=1 +x_0=0 +y_0=0 "
                          f"+R={radius_m} +units=m +no_defs +type=crs")


def _wrap_global(dem: xr.DataArray, pad: int = 2) -> xr.DataArray:
    """Copy a few columns across the antimeridian of a global geographic DEM, so that
    reprojection has data on both sides of ±180° (avoids a seam of nodata)."""
    crs = CRS.from_user_input(dem.rio.crs)
    transform = dem.rio.transform()
    if not crs.is_geographic or not math.isclose(abs(transform.a) * dem.sizes["x"], 360.0,
                                                 rel_tol=1e-6):
        return dem
    left = dem.isel(x=slice(-pad, None))
    right = dem.isel(x=slice(0, pad))
    left = left.assign_coords(x=left["x"] - 360.0)
    right = right.assign_coords(x=right["x"] + 360.0)
    wrapped = xr.concat([left, dem, right], dim="x")
    # Mirror the rows nearest each pole across it (shifted by 180° of longitude), so that
    # cells at the pole itself interpolate instead of falling off the grid.
    half = dem.sizes["x"] // 2
    top = wrapped.isel(y=slice(0, pad)).roll(x=half, roll_coords=False)
    bottom = wrapped.isel(y=slice(-pad, None)).roll(x=half, roll_coords=False)
    top = top.isel(y=slice(None, None, -1)).assign_coords(y=180.0 - top["y"][::-1].to_numpy())
    bottom = bottom.isel(y=slice(None, None, -1)).assign_coords(
        y=-180.0 - bottom["y"][::-1].to_numpy())
    wrapped = xr.concat([top, wrapped, bottom], dim="y")
    wrapped.attrs = dem.attrs
    new_transform = transform @ Affine.translation(-pad, -pad)
    return wrapped.rio.write_crs(crs).rio.write_transform(new_transform)


@dataclass(frozen=True)
class GridSpec:
    """A north-up grid: CRS, transform (square pixels, metres) and shape (rows, cols)."""

    crs: CRS
    transform: Affine
    shape: tuple[int, int]

    @property
    def pixel_m(self) -> float:
        return abs(self.transform.a)

    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in the grid's CRS."""
        t, (ny, nx) = self.transform, self.shape
        return t.c, t.f + t.e * ny, t.c + t.a * nx, t.f


def square_spec(crs: CRS, center_xy: tuple[float, float], half_width_m: float,
                pixel_m: float) -> GridSpec:
    """Square grid of about ``2·half_width_m`` around ``center_xy``; an odd number of cells,
    so that the centre is a cell centre."""
    if pixel_m <= 0 or half_width_m <= 0:
        raise InputError("grid pixel size and half width must be > 0 metres")
    n = 2 * int(math.ceil(half_width_m / pixel_m)) + 1
    transform = Affine(pixel_m, 0, center_xy[0] - n * pixel_m / 2, 0, -pixel_m,
                       center_xy[1] + n * pixel_m / 2)
    return GridSpec(crs, transform, (n, n))


def polar_cap_spec(pole: str, lat_limit_deg: float, pixel_m: float,
                   radius_m: float = MOON_RADIUS_M) -> GridSpec:
    """Polar stereographic grid (IAU_2015:30135 / 30130) over the cap beyond a latitude."""
    crs = {"south": MOON_SOUTH_POLAR, "north": MOON_NORTH_POLAR}.get(pole)
    if crs is None:
        raise InputError(f"pole must be 'south' or 'north', got {pole!r}")
    half = 2.0 * radius_m * math.tan(math.radians(90.0 - abs(lat_limit_deg)) / 2.0)
    return square_spec(crs, (0.0, 0.0), half, pixel_m)


def local_spec(lat_deg: float, lon_deg: float, half_width_m: float, pixel_m: float,
               radius_m: float = MOON_RADIUS_M) -> GridSpec:
    """Grid centred on (lat, lon) in :func:`local_crs` (polar stereographic near a pole)."""
    crs = local_crs(lat_deg, lon_deg, radius_m)
    center = (0.0, 0.0)
    if crs in (MOON_SOUTH_POLAR, MOON_NORTH_POLAR):
        from lunatlas.crs import lonlat_to

        x, y = lonlat_to(crs, lon_deg, lat_deg)
        center = (float(x), float(y))
    return square_spec(crs, center, half_width_m, pixel_m)


def reproject_to(dem: xr.DataArray, spec: GridSpec) -> xr.DataArray:
    """``dem`` warped (bilinear) onto a grid; NaN where it has no data."""
    out = _wrap_global(dem).rio.reproject(spec.crs, transform=spec.transform,
                                          shape=spec.shape, resampling=Resampling.bilinear,
                                          nodata=np.nan)
    out.attrs.update({k: v for k, v in dem.attrs.items() if k != "_FillValue"})
    return out


def regrid(dem: xr.DataArray, crs: CRS, center_xy: tuple[float, float], half_width_m: float,
           pixel_m: float) -> xr.DataArray:
    """Square grid of ``2·half_width_m`` around ``center_xy`` (in ``crs``), bilinear."""
    return reproject_to(dem, square_spec(crs, center_xy, half_width_m, pixel_m))


def local_grid(dem: xr.DataArray, lat_deg: float, lon_deg: float, half_width_m: float,
               pixel_m: float) -> xr.DataArray:
    """Crop/reproject ``dem`` to a local stereographic grid centred on (lat, lon)."""
    radius = float(dem.attrs.get("reference_radius_m", MOON_RADIUS_M))
    return reproject_to(dem, local_spec(lat_deg, lon_deg, half_width_m, pixel_m, radius))


def polar_grid(dem: xr.DataArray, pole: str, lat_limit_deg: float,
               pixel_m: float) -> xr.DataArray:
    """Polar stereographic grid (IAU_2015:30135 or 30130) covering the cap beyond the limit."""
    return reproject_to(dem, polar_cap_spec(pole, lat_limit_deg, pixel_m))


def cell_lonlat(dem: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Longitude and latitude (°) of every cell centre of a DEM grid, shape (ny, nx)."""
    xx, yy = np.meshgrid(dem["x"].to_numpy(), dem["y"].to_numpy())
    crs = CRS.from_user_input(dem.rio.crs)
    if crs.is_geographic:
        return normalize_longitude(xx), yy
    return to_lonlat(crs, xx, yy)
