"""The units of the USGS Unified Geologic Map of the Moon (1:5M, 2020) and the lunar time scale.

``data/unified_units.csv`` lists the map's 49 unit symbols with a name, the system/epoch
code of the symbol's prefix, the official colour (USGS ``GeologyUnit_colors``), the symbols
under which the older 1:5M maps label the same unit (used to resolve colours the rendering
shares), and a short description written for Lunatlas.

The age range of each epoch follows Wilhelms (1987), *The Geologic History of the Moon*, USGS
Prof. Paper 1348, as used by craterstats (:data:`lunatlas.chronology.units.EPOCHS_WILHELMS_1987`).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib.resources import files

import pandas as pd

from lunatlas.errors import InputError

TIME_SCALE = "Wilhelms (1987), USGS Prof. Paper 1348 (boundaries as used by craterstats)"

EPOCHS: dict[str, tuple[str, float, float]] = {
    "C": ("Copernican", 0.0, 1.1),
    "E": ("Eratosthenian", 1.1, 3.2),
    "EI": ("Eratosthenian–Imbrian", 1.1, 3.85),
    "I": ("Imbrian", 3.2, 3.85),
    "IN": ("Imbrian–Nectarian", 3.2, 3.92),
    "N": ("Nectarian", 3.85, 3.92),
    "pN": ("pre-Nectarian", 3.92, 4.55),
}
"""Epoch code (the unit symbol's prefix) → name, youngest and oldest age (Ga)."""

EPOCH_ORDER = ("C", "E", "EI", "I", "IN", "N", "pN")
"""Youngest to oldest."""


@dataclass(frozen=True)
class ColourPair:
    """Units whose colours the rendering cannot tell apart, and how to tell them apart."""

    symbols: tuple[str, str]
    default: str
    """The symbol given to an area no label point resolves (the one more often labelled)."""
    reason: str


AMBIGUOUS_PAIRS = (
    ColourPair(("INp", "Ig"), "INp", "identical official colour #73B2C2"),
    ColourPair(("Csc", "Nnj"), "Csc", "identical official colour #FFFFBE"),
    ColourPair(("Nbl", "Nbm"), "Nbl", "official colours 4 RGB units apart (#FFCDB9/#FFCCBD), "
                                      "below the JPEG noise"),
)


@cache
def unit_table() -> pd.DataFrame:
    """The 49 units, indexed by symbol: name, epoch, epoch range (Ga), colour, description."""
    path = files("lunatlas.geology").joinpath("data/unified_units.csv")
    with path.open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype=str, keep_default_na=False)
    table["epoch"] = table["epoch_code"].map(lambda c: EPOCHS[c][0])
    table["epoch_young_ga"] = table["epoch_code"].map(lambda c: EPOCHS[c][1])
    table["epoch_old_ga"] = table["epoch_code"].map(lambda c: EPOCHS[c][2])
    return table.set_index("symbol")


def unit_info(symbol: str, source: str = "unit table") -> pd.Series:
    """One unit's row; an unknown symbol is an :class:`InputError` naming ``source``."""
    table = unit_table()
    if symbol not in table.index:
        raise InputError(f"{source}: unknown unit symbol {symbol!r}; expected one of the 49 "
                         "symbols of the Unified Geologic Map (lunatlas.geology.unit_table())")
    return table.loc[symbol]


def epoch_rank(code: str) -> int:
    """0 for Copernican … 6 for pre-Nectarian."""
    return EPOCH_ORDER.index(code)
