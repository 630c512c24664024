"""Geologic units: the Unified Geologic Map of the Moon as unit polygons (from its official GIS
release when a user has it, else from Lunatlas's compact product derived from a rendering)."""

from lunatlas.geology.units import EPOCHS, TIME_SCALE, unit_info, unit_table

__all__ = ["EPOCHS", "TIME_SCALE", "unit_info", "unit_table"]
