"""Relief products from a DEM: pixel size on the ground, hillshade, summary statistics.

Pure functions (no I/O). DEMs are :class:`xarray.DataArray` with ``y``/``x`` coordinates and
a lunar CRS (rioxarray); heights in metres. For geographic grids the east–west pixel size
shrinks with cos(latitude); for projected grids the nominal pixel size is used.
"""

from __future__ import annotations

import numpy as np
import rioxarray  # noqa: F401  (the .rio accessor)
import xarray as xr

from lunatlas.crs import MOON_RADIUS_M


def pixel_size_m(dem: xr.DataArray) -> tuple[np.ndarray, np.ndarray]:
    """Ground size of each pixel (dx, dy) in metres, broadcastable to the DEM's shape.

    Geographic grids: dy = R·Δlat, dx = R·Δlon·cos(lat) (rows); projected grids: constants.
    """
    transform = dem.rio.transform()
    crs = dem.rio.crs
    if crs is not None and crs.is_geographic:
        radius = dem.attrs.get("reference_radius_m", MOON_RADIUS_M)
        lat = np.radians(dem["y"].to_numpy())
        dy = np.full((dem.sizes["y"], 1), radius * np.radians(abs(transform.e)))
        dx = (radius * np.radians(abs(transform.a)) * np.cos(lat))[:, None]
        return np.maximum(dx, 1e-6), dy
    return np.full((1, 1), abs(transform.a)), np.full((1, 1), abs(transform.e))


def hillshade(dem: xr.DataArray, azimuth_deg: float = 315.0, altitude_deg: float = 35.0,
              exaggeration: float = 1.0) -> xr.DataArray:
    """Lambertian hillshade in [0, 1] (illumination from ``azimuth_deg`` clockwise from grid
    north, ``altitude_deg`` above the horizon). NaN heights give NaN shading."""
    z = dem.to_numpy().astype("float64") * exaggeration
    dx, dy = pixel_size_m(dem)
    dz_drow, dz_dcol = np.gradient(z)
    dz_dx = dz_dcol / dx
    dz_dy = -dz_drow / dy  # rows run southward (north-up grids)
    az, alt = np.radians(azimuth_deg), np.radians(altitude_deg)
    light = np.array([np.sin(az) * np.cos(alt), np.cos(az) * np.cos(alt), np.sin(alt)])
    norm = np.sqrt(dz_dx**2 + dz_dy**2 + 1.0)
    shade = (-dz_dx * light[0] - dz_dy * light[1] + light[2]) / norm
    out = dem.copy(data=np.clip(shade, 0.0, 1.0).astype("float32"))
    out.name = "hillshade"
    out.attrs = {"units": "1", "azimuth_deg": azimuth_deg, "altitude_deg": altitude_deg}
    return out


def nominal_pixel_m(dem: xr.DataArray) -> float:
    """Ground size of one pixel in metres: the projected pixel, or for a geographic grid the
    pixel's length along the equator of the reference sphere."""
    transform = dem.rio.transform()
    crs = dem.rio.crs
    if crs is not None and crs.is_geographic:
        radius = float(dem.attrs.get("reference_radius_m", MOON_RADIUS_M))
        return float(radius * np.radians(abs(transform.a)))
    return float(abs(transform.a))


def dem_summary(dem: xr.DataArray) -> dict[str, float | int]:
    """Size, pixel spacing and height statistics (metres) of a DEM."""
    values = dem.to_numpy()
    finite = values[np.isfinite(values)]
    radius = float(dem.attrs.get("reference_radius_m", MOON_RADIUS_M))
    pixel_km = nominal_pixel_m(dem) / 1000.0
    pixel_deg = float(np.degrees(pixel_km * 1000.0 / radius))
    return {
        "width": int(dem.sizes["x"]), "height": int(dem.sizes["y"]),
        "pixel_deg": pixel_deg, "pixel_km_equator": float(pixel_km),
        "min_m": float(finite.min()), "max_m": float(finite.max()),
        "mean_m": float(finite.mean()), "std_m": float(finite.std()),
        "reference_radius_m": radius, "nodata_cells": int(np.count_nonzero(~np.isfinite(values))),
    }
