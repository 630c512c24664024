"""Geologic context of every cell of a siting grid (engine): which units lie within traverse
reach, how many epochs they span, how far the oldest (pre-Nectarian) material and the units
no returned sample has dated are.

Distances are planar on the grid (metres → km), measured from cell centres to the nearest
cell of a unit on a grid widened by the reach, so units beyond the grid's edge count.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import geopandas as gpd
import numpy as np
from affine import Affine
from pyproj import CRS
from scipy import ndimage

from lunatlas.geology.grid import rasterise_units
from lunatlas.geology.units import unit_table

SCIENCE_FORMULA = ("0.35·min(units within reach / 10, 1) + 0.20·min(epochs within reach / 6, "
                   "1) + 0.30·(1 − min(distance to pre-Nectarian material / reach, 1)) + "
                   "0.15·[a unit no returned sample has dated within reach]")


@dataclass
class UnitContext:
    """Per-cell unit counts and distances (km) on the siting grid."""

    reach_km: float
    units_within_reach: np.ndarray
    epochs_within_reach: np.ndarray
    oldest_km: np.ndarray
    """Distance to the nearest unit at least as old as the criterion's threshold (km)."""
    unsampled_km: np.ndarray
    """Distance to the nearest unit of a kind no returned sample has dated (km)."""
    distance_km: dict[str, np.ndarray] = field(repr=False, default_factory=dict)
    """Symbol → distance (km) from each cell to the nearest cell of that unit."""

    def science_value(self) -> np.ndarray:
        """The science criterion's value (0–1), :data:`SCIENCE_FORMULA`."""
        return (0.35 * np.minimum(self.units_within_reach / 10.0, 1.0)
                + 0.20 * np.minimum(self.epochs_within_reach / 6.0, 1.0)
                + 0.30 * (1.0 - np.minimum(self.oldest_km / self.reach_km, 1.0))
                + 0.15 * (self.unsampled_km <= self.reach_km))

    def units_near(self, row: int, col: int) -> list[dict]:
        """Units within reach of a cell, nearest first: symbol, name, epoch, distance (km)."""
        table = unit_table()
        near = [(float(d[row, col]), s) for s, d in self.distance_km.items()
                if d[row, col] <= self.reach_km]
        return [{"symbol": s, "name": table.loc[s, "name"], "epoch": table.loc[s, "epoch"],
                 "distance_km": round(d, 1)} for d, s in sorted(near)]


def unit_context(units: gpd.GeoDataFrame, shape: tuple[int, int], transform: Affine,
                 crs: CRS, reach_km: float, oldest_young_ga: float = 3.92,
                 sampled_symbols: frozenset[str] = frozenset()) -> UnitContext:
    """Unit context of a projected grid (``shape``, ``transform`` in metres, ``crs``).

    ``oldest_young_ga``: a unit counts as oldest material when its epoch began at least
    this long ago (3.92 Ga: pre-Nectarian, Wilhelms 1987). ``sampled_symbols``: unit
    symbols that some returned sample dates.
    """
    pixel_km = abs(transform.a) / 1000.0
    margin = int(np.ceil(reach_km / pixel_km)) + 1
    wide_shape = (shape[0] + 2 * margin, shape[1] + 2 * margin)
    wide = transform * Affine.translation(-margin, -margin)
    codes, symbols = rasterise_units(units, wide_shape, wide, crs)
    table = unit_table()
    inner = (slice(margin, margin + shape[0]), slice(margin, margin + shape[1]))
    distances: dict[str, np.ndarray] = {}
    for code, symbol in enumerate(symbols, start=1):
        present = codes == code
        if not present.any():
            continue
        d = ndimage.distance_transform_edt(~present)[inner] * pixel_km
        distances[symbol] = d.astype(np.float32)
    inf = np.full(shape, np.inf, np.float32)
    within = {s: d <= reach_km for s, d in distances.items()}
    count = sum((w.astype(np.int16) for w in within.values()), np.zeros(shape, np.int16))
    epochs = {table.loc[s, "epoch_code"] for s in distances}
    epoch_count = sum((np.any([within[s] for s in distances
                               if table.loc[s, "epoch_code"] == e], axis=0).astype(np.int16)
                       for e in epochs), np.zeros(shape, np.int16))
    oldest = [distances[s] for s in distances if table.loc[s, "epoch_young_ga"]
              >= oldest_young_ga]
    unsampled = [distances[s] for s in distances if s not in sampled_symbols]
    return UnitContext(reach_km, count.astype(float), epoch_count.astype(float),
                       np.minimum.reduce(oldest) if oldest else inf,
                       np.minimum.reduce(unsampled) if unsampled else inf, distances)
