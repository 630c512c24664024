"""Figures: maps of the atlas over shaded relief (matplotlib, PNG/SVG)."""

from lunatlas.maps.render import render_global_map, render_south_polar_map, south_polar_grid

__all__ = ["render_global_map", "render_south_polar_map", "south_polar_grid"]
