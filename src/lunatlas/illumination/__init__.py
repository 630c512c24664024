"""Horizons, illumination and Earth visibility from DEMs and ephemerides."""

from lunatlas.illumination.horizon import horizon_angles, horizon_angles_brute_force
from lunatlas.illumination.light import LightMaps, LightSeries, light_maps, light_series
from lunatlas.illumination.pipeline import (
    PointLight,
    azimuths,
    light_map,
    light_map_distributed,
    light_point,
)

__all__ = ["LightMaps", "LightSeries", "PointLight", "azimuths", "horizon_angles",
           "horizon_angles_brute_force", "light_map", "light_map_distributed", "light_maps",
           "light_point", "light_series"]
