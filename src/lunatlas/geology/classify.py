"""Unit classes from a rendering of a geologic map in its official colours (pure engine).

Steps (:func:`classify_rendering`):

1. nearest official colour for every pixel (Euclidean RGB); a pixel within
   ``max_colour_distance`` of its nearest colour is *confident*;
2. every other pixel (JPEG ringing at contacts, lines, lettering) takes the class of the
   nearest confident pixel;
3. a modal filter (3 × 3) removes single-pixel noise, and a sieve merges connected areas
   smaller than ``min_area_px`` into their largest neighbour (``rasterio.features.sieve``);
4. colours two units share (:data:`lunatlas.geology.units.AMBIGUOUS_PAIRS`) form one *pair*
   class; each connected area of a pair class is resolved to one unit by the label points of
   the 1:5M maps that fall inside it (majority), and stays a pair class when none does.

Class codes: ``1..N`` are the units in table order, ``N+1..`` the unresolved pairs, 0 is
no data. Arrays are rows × columns of a global plate carrée grid (row 0 at 90°N, column 0
at 180°W).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from numpy.typing import NDArray
from rasterio.features import sieve
from scipy import ndimage
from skimage.filters.rank import modal

from lunatlas.geology.units import AMBIGUOUS_PAIRS, ColourPair


@dataclass(frozen=True)
class ClassCodes:
    """Class code ↔ unit symbol (or unresolved pair) of a class raster."""

    symbols: tuple[str, ...]
    """Unit symbols; code i + 1 is symbols[i]."""
    pairs: tuple[ColourPair, ...] = AMBIGUOUS_PAIRS

    def code(self, symbol: str) -> int:
        return self.symbols.index(symbol) + 1

    def pair_code(self, pair: ColourPair) -> int:
        return len(self.symbols) + 1 + self.pairs.index(pair)

    def describe(self, code: int) -> tuple[str, ColourPair | None]:
        """Symbol of a code, and the pair it stands for when it is an unresolved pair."""
        if 1 <= code <= len(self.symbols):
            return self.symbols[code - 1], None
        pair = self.pairs[code - len(self.symbols) - 1]
        return pair.default, pair

    def table(self) -> list[dict]:
        rows = [{"code": i + 1, "symbol": s, "ambiguous_with": ""}
                for i, s in enumerate(self.symbols)]
        rows += [{"code": self.pair_code(p), "symbol": p.default,
                  "ambiguous_with": next(s for s in p.symbols if s != p.default)}
                 for p in self.pairs]
        return rows


@dataclass
class Classification:
    """A class raster and what it took to make it."""

    classes: NDArray[np.uint8]
    codes: ClassCodes
    confident_fraction: float
    """Share of pixels within the colour threshold before neighbour filling."""
    pair_areas: list[dict] = field(default_factory=list)
    """One entry per connected pair-class area: pair, pixels, labels found, resolved symbol."""


def hex_rgb(colour: str) -> tuple[int, int, int]:
    """``#RRGGBB`` → (r, g, b)."""
    colour = colour.lstrip("#")
    return int(colour[0:2], 16), int(colour[2:4], 16), int(colour[4:6], 16)


def nearest_colour(rgb: NDArray[np.uint8], palette: NDArray[np.float32],
                   rows_per_block: int = 128) -> tuple[NDArray[np.intp], NDArray[np.float32]]:
    """Index of the nearest palette colour and its RGB distance for an (H, W, 3) image."""
    height = rgb.shape[0]
    index = np.empty(rgb.shape[:2], np.intp)
    distance = np.empty(rgb.shape[:2], np.float32)
    for start in range(0, height, rows_per_block):
        block = rgb[start:start + rows_per_block].astype(np.float32)
        d2 = ((block[:, :, None, :] - palette[None, None, :, :]) ** 2).sum(axis=-1)
        index[start:start + rows_per_block] = d2.argmin(axis=-1)
        distance[start:start + rows_per_block] = np.sqrt(d2.min(axis=-1))
    return index, distance


def _palette(units: pd.DataFrame, codes: ClassCodes) -> tuple[NDArray[np.float32], list[int]]:
    """Distinct colours and the class code each stands for (a pair's colours → its pair code)."""
    pair_of = {s: p for p in codes.pairs for s in p.symbols}
    colours, targets = [], []
    for symbol in codes.symbols:
        pair = pair_of.get(symbol)
        colours.append(hex_rgb(units.loc[symbol, "colour"]))
        targets.append(codes.pair_code(pair) if pair else codes.code(symbol))
    return np.array(colours, np.float32), targets


def classify_rendering(rgb: NDArray[np.uint8], units: pd.DataFrame,
                       labels: pd.DataFrame | None = None, *,
                       max_colour_distance: float = 20.0, min_area_px: int = 6,
                       ) -> Classification:
    """Classify an (H, W, 3) global plate carrée rendering into unit classes.

    ``units`` is :func:`lunatlas.geology.units.unit_table` (index symbol, column ``colour``,
    ``label_symbols`` separated by ``;``); ``labels`` has columns ``symbol``, ``lon``, ``lat``
    (degrees, east positive) and resolves the pair classes.
    """
    codes = ClassCodes(tuple(units.index))
    palette, targets = _palette(units, codes)
    index, distance = nearest_colour(rgb, palette)
    classes = np.asarray(targets, np.uint8)[index]
    confident = distance <= max_colour_distance
    if not confident.any():
        raise ValueError("no pixel is within the colour threshold of any unit colour")
    _, (near_r, near_c) = ndimage.distance_transform_edt(~confident, return_indices=True)
    classes = classes[near_r, near_c]
    classes = modal(classes, np.ones((3, 3), bool))
    classes = sieve(classes, size=min_area_px, connectivity=8)
    pair_areas = _resolve_pairs(classes, codes, units, labels)
    return Classification(classes, codes, float(confident.mean()), pair_areas)


def _label_pixels(labels: pd.DataFrame, shape: tuple[int, int]) -> tuple[NDArray, NDArray]:
    height, width = shape
    col = np.clip(((labels["lon"].to_numpy(float) + 180.0) % 360.0) / 360.0 * width,
                  0, width - 1).astype(int)
    row = np.clip((90.0 - labels["lat"].to_numpy(float)) / 180.0 * height,
                  0, height - 1).astype(int)
    return row, col


def _resolve_pairs(classes: NDArray[np.uint8], codes: ClassCodes, units: pd.DataFrame,
                   labels: pd.DataFrame | None) -> list[dict]:
    """Resolve each connected pair-class area by the label points inside it (in place)."""
    areas = []
    for pair in codes.pairs:
        pair_code = codes.pair_code(pair)
        component, count = ndimage.label(classes == pair_code, structure=np.ones((3, 3)))
        if count == 0:
            continue
        votes = np.zeros((count + 1, 2), int)
        if labels is not None and len(labels):
            for k, symbol in enumerate(pair.symbols):
                aliases = set(units.loc[symbol, "label_symbols"].split(";"))
                mine = labels[labels["symbol"].isin(aliases)]
                row, col = _label_pixels(mine, classes.shape)
                np.add.at(votes[:, k], component[row, col], 1)
        sizes = np.bincount(component.ravel(), minlength=count + 1)
        decided = np.zeros(count + 1, np.uint8)
        for k, symbol in enumerate(pair.symbols):
            wins = (votes[:, k] > votes[:, 1 - k])
            decided[wins] = codes.code(symbol)
        decided[0] = 0
        for i in range(1, count + 1):
            resolved = codes.describe(int(decided[i]))[0] if decided[i] else ""
            areas.append({"pair": "/".join(pair.symbols), "pixels": int(sizes[i]),
                          "labels": {s: int(votes[i, k]) for k, s in enumerate(pair.symbols)},
                          "resolved": resolved})
        mask = component > 0
        replace = decided[component]
        classes[mask & (replace > 0)] = replace[mask & (replace > 0)]
    return areas
