"""Crater counts: readers for craterstats' .scc, .diam and .stat files and plain CSV, and
binned presentations (cumulative, differential, relative R).

Readers are at the edge; binning is a pure function. Errors name the file, the row and the
field.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from lunatlas.errors import InputError

PSEUDO_LOG_STEPS = (1.0, 1.1, 1.2, 1.3, 1.4, 1.5, 1.7, 2.0, 2.5, 3.0, 3.5, 4.0, 4.5, 5.0, 6.0,
                    7.0, 8.0, 9.0)
BINNINGS = ("pseudo-log", "20/decade", "10/decade", "root-2", "x2")


@dataclass
class CraterCount:
    """Diameters (km) of craters counted on an area (km²); optional per-crater fractions
    (buffered counts) and the area's perimeter (km)."""

    name: str
    area_km2: float
    diameters_km: np.ndarray
    fractions: np.ndarray
    perimeter_km: float | None = None
    source: str = ""
    prebinned: dict | None = field(default=None, repr=False)
    """For .stat input: bin minima, counts and event counts (no individual diameters)."""

    def __post_init__(self) -> None:
        where = self.source or self.name
        if not np.isfinite(self.area_km2) or self.area_km2 <= 0:
            raise InputError(f"{where}: area {self.area_km2} km²; expected a positive area")
        d = np.asarray(self.diameters_km, float)
        bad = np.flatnonzero(~np.isfinite(d) | (d <= 0))
        if bad.size:
            raise InputError(f"{where}: crater {bad[0] + 1}: diameter {float(d[bad[0]])} km; "
                             "expected a positive number")
        f = np.asarray(self.fractions, float)
        if f.shape != d.shape or np.any((f < 0) | (f > 1)):
            raise InputError(f"{where}: crater fractions must lie in [0, 1], one per crater")
        order = np.argsort(d)
        self.diameters_km, self.fractions = d[order], f[order]

    def in_range(self, d_min: float, d_max: float) -> int:
        """Number of craters with d_min ≤ D < d_max."""
        d = self.diameters_km
        return int(np.count_nonzero((d >= d_min) & (d < d_max)))


def _structure(text: str) -> tuple[dict[str, str], dict[str, list[list[str]]]]:
    """Parse craterstats' 'key = value' lines and '{table' blocks (comments start with #)."""
    values: dict[str, str] = {}
    tables: dict[str, list[list[str]]] = {}
    current: str | None = None
    for raw in text.splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if current is not None:
            if line.startswith("}"):
                current = None
            else:
                tables[current].append(line.split())
            continue
        match = re.match(r"^(\w+)\s*=\s*\{\s*(.*)$", line)
        if match:
            current = match.group(1)
            tables[current] = [[c.strip() for c in match.group(2).split(",")]]
            continue
        if "=" in line:
            key, value = line.split("=", 1)
            values[key.strip()] = value.strip()
    return values, tables


def _number(value: str, where: str, what: str) -> float:
    match = re.match(r"\s*([-+\d.eE]+)", value)
    try:
        return float(match.group(1)) if match else float("nan")
    except ValueError:
        raise InputError(f"{where}: {what} {value!r} is not a number") from None


def _table(tables: dict, name: str, path: Path, required: str) -> tuple[list[str], list[list]]:
    if name not in tables:
        raise InputError(f"{path}: no '{name} = {{…}}' table; expected the {name} list")
    header, *rows = tables[name]
    if required not in header:
        raise InputError(f"{path}: table '{name}' has columns {header}; expected '{required}'")
    for i, row in enumerate(rows, 1):
        if len(row) != len(header):
            raise InputError(f"{path}: {name} row {i}: {len(row)} values for columns {header}")
    return header, rows


def _column(header: list[str], rows: list[list[str]], name: str, path: Path) -> np.ndarray:
    j = header.index(name)
    out = np.empty(len(rows))
    for i, row in enumerate(rows, 1):
        try:
            out[i - 1] = float(row[j])
        except ValueError:
            raise InputError(f"{path}: crater row {i}, field {name!r}: {row[j]!r} is not a "
                             "number") from None
    return out


def _count_file(path: Path, area_key: str, diameter_column: str) -> CraterCount:
    """Shared reader of .scc/.diam: an area line and a crater table (diameter, fraction)."""
    values, tables = _structure(_read_text(path))
    if area_key not in values:
        raise InputError(f"{path}: no '{area_key} = …' line; expected the count area in km²")
    area = _number(values[area_key], str(path), area_key)
    header, rows = _table(tables, "crater", path, diameter_column)
    diam = _column(header, rows, diameter_column, path)
    frac = _column(header, rows, "fraction", path) if "fraction" in header else np.ones_like(diam)
    perimeter = None
    for key in ("Perimeter", "Total_perimeter"):
        if key in values:
            perimeter = _number(values[key], str(path), key)
    return CraterCount(path.stem, area, diam, frac, perimeter, str(path))


def read_scc(path: str | Path) -> CraterCount:
    """craterstats/CraterTools spatial crater count (.scc): Total_area, crater table
    (``diam``, optional ``fraction``), optional Perimeter (buffered counts)."""
    return _count_file(Path(path), "Total_area", "diam")


def read_diam(path: str | Path) -> CraterCount:
    """craterstats .diam file: ``area = …`` and a ``crater = {diameter[, fraction…]`` table."""
    return _count_file(Path(path), "area", "diameter")


def read_stat(path: str | Path) -> CraterCount:
    """craterstats .stat export (binned: D, n, …, C(D), N_cum, …): area from N_cum/C(D)."""
    path = Path(path)
    rows = [line.split() for line in _read_text(path).splitlines()
            if line.strip() and not line.lstrip().startswith("#")]
    if not rows or len(rows[0]) not in (7, 11):
        raise InputError(f"{path}: expected 7 or 11 numeric columns per row (stat format)")
    try:
        table = np.array([[float(v) for v in r] for r in rows])
    except ValueError as exc:
        raise InputError(f"{path}: non-numeric value in stat table ({exc})") from None
    area = table[0, 4] / table[0, 5]
    d_min, n = table[:, 0], table[:, 1]
    n_event = table[:, 10] if table.shape[1] == 11 else n
    count = CraterCount(path.stem, area, np.array([]), np.array([]), None, str(path))
    count.prebinned = {"d_min": d_min, "n": n, "n_event": n_event}
    return count


def read_csv_count(path: str | Path, area_km2: float | None = None) -> CraterCount:
    """Plain CSV with a ``diameter_km`` column (optional ``fraction``); the area comes from
    ``area_km2`` or an ``area_km2`` column (one value)."""
    path = Path(path)
    try:
        frame = pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise InputError(f"{path}: not a readable CSV ({exc})") from None
    if "diameter_km" not in frame.columns:
        raise InputError(f"{path}: columns {list(frame.columns)}; expected 'diameter_km' "
                         "(and 'area_km2' unless --area is given)")
    if area_km2 is None:
        if "area_km2" not in frame.columns or frame["area_km2"].dropna().nunique() != 1:
            raise InputError(f"{path}: give the count area: one value in an 'area_km2' column "
                             "or --area")
        area_km2 = float(frame["area_km2"].dropna().iloc[0])
    diam = pd.to_numeric(frame["diameter_km"], errors="coerce").to_numpy()
    bad = np.flatnonzero(~np.isfinite(diam) | (diam <= 0))
    if bad.size:
        raise InputError(f"{path}: row {bad[0] + 2}, field 'diameter_km': "
                         f"{frame['diameter_km'].iloc[bad[0]]!r}; expected a positive number")
    frac = frame["fraction"].to_numpy(float) if "fraction" in frame.columns else np.ones_like(diam)
    return CraterCount(path.stem, float(area_km2), diam, frac, None, str(path))


def read_count(path: str | Path, area_km2: float | None = None) -> CraterCount:
    """Read a crater count by extension: .scc, .diam, .stat or .csv."""
    path = Path(path)
    readers = {".scc": read_scc, ".diam": read_diam, ".stat": read_stat}
    if path.suffix.lower() == ".csv":
        return read_csv_count(path, area_km2)
    if path.suffix.lower() not in readers:
        raise InputError(f"{path}: unknown crater-count format {path.suffix!r}; expected .scc, "
                         ".diam, .stat or .csv")
    return readers[path.suffix.lower()](path)


def _read_text(path: Path) -> str:
    if not path.is_file():
        raise InputError(f"{path}: crater-count file not found")
    try:
        return path.read_text(encoding="utf-8-sig", errors="strict")
    except UnicodeDecodeError:
        return path.read_text(encoding="latin-1")


# -- binning --------------------------------------------------------------------------------

def bin_edges(binning: str, d_lo: float, d_hi: float) -> np.ndarray:
    """Bin boundaries (km) covering [d_lo, d_hi] for a named binning."""
    if binning not in BINNINGS:
        raise InputError(f"unknown binning {binning!r}; expected one of {', '.join(BINNINGS)}")
    r0, r1 = np.log10(d_lo), np.log10(d_hi) + 0.001
    if binning == "pseudo-log":
        decades = 10.0 ** np.arange(np.floor(r0), np.ceil(r1 + 0.1))
        edges = np.outer(decades, PSEUDO_LOG_STEPS).ravel()
    else:
        per_decade = {"20/decade": 20.0, "10/decade": 10.0, "root-2": 2 / np.log10(2),
                      "x2": 1 / np.log10(2)}[binning]
        edges = 10 ** (np.arange(np.floor(r0 * per_decade), np.ceil(r1 * per_decade) + 1)
                       / per_decade)
    lo = max(np.searchsorted(edges, 10**r0) - 1, 0)
    hi = np.searchsorted(edges, 10**r1) + 1
    return edges[lo:hi]


@dataclass
class Binned:
    """A binned count (arrays over non-empty bins, ascending D)."""

    d_min: np.ndarray
    d_max: np.ndarray
    n: np.ndarray
    """Crater number per bin (fractions summed)."""
    n_event: np.ndarray
    """Craters per bin (each counted once)."""
    n_cum: np.ndarray
    n_cum_event: np.ndarray

    @property
    def d_mean(self) -> np.ndarray:
        return np.sqrt(self.d_min * self.d_max)

    @property
    def width(self) -> np.ndarray:
        return self.d_max - self.d_min


def bin_count(count: CraterCount, binning: str = "pseudo-log") -> Binned:
    """Histogram a count (reverse cumulative sums include all larger bins)."""
    if count.prebinned is not None:
        d_min = np.asarray(count.prebinned["d_min"], float)
        d_max = np.append(d_min[1:], d_min[-1] * d_min[-1] / d_min[-2])
        n = np.asarray(count.prebinned["n"], float)
        n_event = np.asarray(count.prebinned["n_event"], float)
    else:
        d = count.diameters_km
        if d.size == 0:
            raise InputError(f"{count.source or count.name}: no craters to bin")
        edges = bin_edges(binning, d.min(), d.max())
        n_event = np.histogram(d, bins=edges)[0].astype(float)
        n = np.histogram(d, bins=edges, weights=count.fractions)[0]
        d_min, d_max = edges[:-1], edges[1:]
    n_cum = np.cumsum(n[::-1])[::-1]
    n_cum_event = np.cumsum(n_event[::-1])[::-1]
    keep = n > 0
    return Binned(d_min[keep], d_max[keep], n[keep], n_event[keep], n_cum[keep],
                  n_cum_event[keep])


def presentation(binned: Binned, area_km2: float, kind: str, pf=None) -> dict[str, np.ndarray]:
    """Plot values: ``cumulative`` (at bin minima), ``differential`` (at geometric bin means,
    corrected for binning bias with the PF's local slope, Michael 2013) or ``R`` (relative,
    D³·dN/dD). Returns d, y and 1σ err (Poisson, from event counts)."""
    if kind == "cumulative":
        y = binned.n_cum / area_km2
        return {"d": binned.d_min, "y": y, "err": y / np.sqrt(binned.n_cum_event)}
    d = binned.d_mean
    y = binned.n / binned.width / area_km2
    err = y / np.sqrt(binned.n_event)
    if kind == "differential":
        from lunatlas.chronology.functions import bin_bias_correction

        beta = (binned.d_mean / binned.d_min) ** 2
        k = pf.cumulative_slope(d, beta) if pf is not None else np.full_like(d, -3.0)
        return {"d": d, "y": y / bin_bias_correction(beta, k), "err": err}
    if kind == "R":
        return {"d": d, "y": d**3 * y, "err": d**3 * err}
    raise InputError(f"unknown presentation {kind!r}; expected cumulative, differential or R")
