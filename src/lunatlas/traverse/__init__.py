"""Traverse planning: least-cost paths over slope, roughness and darkness (scikit-image)."""

from lunatlas.traverse.paths import Traverse, cost_surface, least_cost_traverse

__all__ = ["Traverse", "cost_surface", "least_cost_traverse"]
