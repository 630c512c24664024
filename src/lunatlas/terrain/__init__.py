"""Terrain engines: pure functions on DEM arrays (heights in metres)."""

from lunatlas.terrain.relief import dem_summary, hillshade, pixel_size_m

__all__ = ["dem_summary", "hillshade", "pixel_size_m"]
