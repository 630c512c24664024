"""Geologic units on maps: unit polygons rasterised in their official colours, and a legend of
the units in view. Rendering only (the polygons come from the atlas ``units`` layer)."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure
from matplotlib.patches import Patch

from lunatlas.geology.classify import hex_rgb
from lunatlas.geology.units import EPOCH_ORDER, unit_table


def unit_rgba(codes: np.ndarray, symbols: list[str], alpha: float = 0.78) -> np.ndarray:
    """RGBA image of unit codes in the official colours (transparent where no unit)."""
    table = unit_table()
    palette = np.zeros((len(symbols) + 1, 4))
    for i, symbol in enumerate(symbols, start=1):
        palette[i, :3] = np.array(hex_rgb(table.loc[symbol, "colour"])) / 255.0
        palette[i, 3] = alpha
    return palette[codes]


def units_legend(fig: Figure, codes: np.ndarray, symbols: list[str], *, ncol: int = 6,
                 title: str = "Geologic units in view (USGS Unified Geologic Map 1:5M)"):
    """A legend below the axes of the units present in ``codes``, oldest epoch last."""
    table = unit_table()
    present = np.unique(codes)
    shown = [symbols[c - 1] for c in present if c > 0]
    shown.sort(key=lambda s: (EPOCH_ORDER.index(table.loc[s, "epoch_code"]), s))
    handles = [Patch(facecolor=table.loc[s, "colour"], edgecolor="#333333", linewidth=0.4,
                     label=f"{s} {table.loc[s, 'name']}") for s in shown]
    if handles:
        fig.legend(handles=handles, loc="lower center", bbox_to_anchor=(0.5, 0.005),
                   ncol=ncol, fontsize=6.2,
                   title=title, title_fontsize=7.5, frameon=False,
                   handlelength=1.2, columnspacing=1.0)
    return shown
