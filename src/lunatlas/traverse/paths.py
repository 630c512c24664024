"""Least-cost traverses with scikit-image's minimum-cost-path (``MCP_Geometric``: diagonal
steps cost √2), over a cost surface that grows with slope, roughness and darkness and is
impassable above a hard slope limit. Pure functions on arrays of one grid."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from skimage.graph import MCP_Geometric

from lunatlas.errors import InputError


def cost_surface(slope_deg: np.ndarray, roughness_deg: np.ndarray,
                 illumination_fraction: np.ndarray, max_slope_deg: float) -> np.ndarray:
    """Cost per cell crossed (1 on flat, smooth, always-lit ground; ∞ above the slope limit):
    1 + 3·(slope/limit)² + (roughness/limit) + 1·(1 − illumination)."""
    ratio = slope_deg / max_slope_deg
    cost = 1.0 + 3.0 * ratio**2 + roughness_deg / max_slope_deg + (1.0 - illumination_fraction)
    cost = np.where(slope_deg > max_slope_deg, np.inf, cost)
    return np.where(np.isfinite(cost) & (cost > 0), cost, np.inf)


@dataclass
class Traverse:
    """A planned path (grid cells from start to target) and its figures."""

    cells: list[tuple[int, int]]
    length_km: float
    elevation_gain_m: float
    elevation_loss_m: float
    max_slope_deg: float
    sunlit_fraction: float
    """Fraction of the path's cells with any of the Sun visible at the chosen instant."""
    cost: float


def least_cost_traverse(cost: np.ndarray, start: tuple[int, int],
                        targets: list[tuple[int, int]], heights_m: np.ndarray,
                        slope_deg: np.ndarray, sunlit: np.ndarray,
                        pixel_km: float) -> Traverse:
    """Cheapest path from ``start`` to the cheapest reachable of ``targets``."""
    ny, nx = cost.shape
    for r, c in [start, *targets]:
        if not (0 <= r < ny and 0 <= c < nx):
            raise InputError(f"traverse point ({r}, {c}) lies outside the DEM grid {ny}×{nx}")
    if not targets:
        raise InputError("traverse: no target cells")
    if not np.isfinite(cost[start]):
        raise InputError("traverse start is on impassable terrain (steeper than the limit)")
    mcp = MCP_Geometric(cost)
    cumulative, _ = mcp.find_costs([start], targets)
    reached = [(cumulative[t], t) for t in targets if np.isfinite(cumulative[t])]
    if not reached:
        raise InputError("no target is reachable without crossing slopes above the limit")
    total, end = min(reached)
    cells = [tuple(int(v) for v in p) for p in mcp.traceback(end)]
    rows, cols = np.array(cells).T
    steps = np.hypot(np.diff(rows), np.diff(cols)) * pixel_km
    dz = np.diff(heights_m[rows, cols])
    return Traverse(cells, float(steps.sum()), float(dz[dz > 0].sum()),
                    float(-dz[dz < 0].sum()), float(np.nanmax(slope_deg[rows, cols])),
                    float(np.mean(sunlit[rows, cols])), float(total))
