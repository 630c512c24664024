"""Crater size–frequency plots in the field's conventions: log–log, isochrons, fitted age."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

from lunatlas.chronology.counts import CraterCount, bin_count, presentation
from lunatlas.chronology.fitting import AgeFit
from lunatlas.chronology.functions import ChronologySystem

ISOCHRONS_GA = (0.01, 0.1, 1.0, 3.0, 3.5, 4.0)
LABELS = {"cumulative": "cumulative crater frequency N(≥D), km⁻²",
          "differential": "differential crater frequency, km⁻³",
          "R": "relative crater frequency R"}


def _curve(system: ChronologySystem, kind: str, d: np.ndarray, n1: float) -> np.ndarray:
    if kind == "cumulative":
        return system.pf.cumulative(d, n1)
    values = system.pf.differential(d, n1)
    return values if kind == "differential" else values * d**3


def plot_csfd(count: CraterCount, system: ChronologySystem, fits: list[AgeFit],
              out_path: str | Path, kind: str = "cumulative",
              binning: str = "pseudo-log") -> Path:
    """Binned count with ±1σ bars, reference isochrons and fitted isochrons (PNG or SVG)."""
    binned = bin_count(count, binning)
    points = presentation(binned, count.area_km2, kind, system.pf)
    fig = Figure(figsize=(7.5, 7), dpi=110)
    ax = fig.subplots()
    ax.set_xscale("log")
    ax.set_yscale("log")
    lo = max(points["d"].min() / 2, system.pf.d_range_km[0])
    hi = min(points["d"].max() * 2, system.pf.d_range_km[1])
    d = np.geomspace(lo, hi, 300)
    for age in ISOCHRONS_GA:
        ax.plot(d, _curve(system, kind, d, float(system.cf.n1(age))), color="0.75", lw=0.8)
        ax.text(d[0], _curve(system, kind, d[:1], float(system.cf.n1(age)))[0], f"{age:g} Ga",
                fontsize=7, color="0.5", ha="left", va="bottom")
    ax.errorbar(points["d"], points["y"], yerr=points["err"], fmt="o", ms=4, color="black",
                ecolor="0.3", elinewidth=0.8, capsize=0, label=f"{count.name} "
                f"({count.area_km2:.4g} km², {count.diameters_km.size or int(binned.n.sum())} "
                "craters)")
    colours = ("#d62728", "#1f77b4", "#2ca02c", "#9467bd")
    for fit, colour in zip(fits, colours, strict=False):
        dr = np.geomspace(fit.d_min_km, fit.d_max_km, 100)
        ax.plot(dr, _curve(system, kind, dr, fit.n1_per_km2), color=colour, lw=2,
                label=f"{fit.method}: {fit.text()}")
    ax.set_xlabel("crater diameter D, km")
    ax.set_ylabel(LABELS[kind])
    ax.set_title(f"{count.name} — {system.name}", fontsize=10)
    ax.legend(fontsize=7.5, loc="lower left")
    ax.grid(True, which="major", color="0.9", lw=0.5)
    fig.tight_layout()
    fig.savefig(out_path)
    return Path(out_path)
