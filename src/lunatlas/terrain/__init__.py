"""Terrain engines: pure functions on DEM arrays (heights in metres)."""

from lunatlas.terrain.grids import cell_lonlat, local_crs, local_grid, polar_grid, regrid
from lunatlas.terrain.relief import dem_summary, hillshade, nominal_pixel_m, pixel_size_m
from lunatlas.terrain.slope import aspect_deg, rms_slope_deg, scale_factor, slope_deg

__all__ = ["aspect_deg", "cell_lonlat", "dem_summary", "hillshade", "local_crs", "local_grid",
           "nominal_pixel_m", "pixel_size_m", "polar_grid", "regrid", "rms_slope_deg",
           "scale_factor", "slope_deg"]
