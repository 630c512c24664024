"""The chronology calibration plot: calibration points, fitted curve and reference curves.

Upper panel: crater density N(1) (km⁻², craters ≥ 1 km, log scale) against age (Ga) with
each point's ±1σ in both, the fitted function with its ±1σ band (from the parameter
covariance), published functions for comparison, and ticks at the ages of sites that have
an age but no usable N(1) (what the fit is missing). Lower panel: the model age the fitted
function gives minus the age a reference gives for the same density, over 0.5–4.2 Ga.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
from adjustText import adjust_text
from matplotlib.figure import Figure

from lunatlas.chronology.calibration import Calibration
from lunatlas.chronology.functions import ChronologyFunction

AGES_GA = np.linspace(0.0, 4.3, 431)
COLOURS = ("#1f77b4", "#2ca02c", "#9467bd", "#8c564b")


def _band(calibration: Calibration, ages: np.ndarray, draws: int = 400,
          seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """16th/84th percentiles of N(1)(T) over parameter draws from the fit covariance."""
    cf, cov = calibration.cf, np.asarray(calibration.covariance, float)
    rng = np.random.default_rng(seed)
    if calibration.mode == "scale":
        k = rng.normal(calibration.scale, np.sqrt(cov[0, 0]), draws)
        base = cf.n1(ages) / calibration.scale
        curves = np.clip(k, 1e-6, None)[:, None] * base[None, :]
    else:
        params = rng.multivariate_normal([cf.a, cf.b, cf.c], cov, draws,
                                         check_valid="ignore")  # b held: singular
        params[:, [0, 2]] = np.clip(params[:, [0, 2]], 1e-30, None)
        curves = np.array([ChronologyFunction("draw", "draw", "", *p).n1(ages)
                           for p in params])
    return np.percentile(curves, 16, axis=0), np.percentile(curves, 84, axis=0)


def plot_calibration(calibration: Calibration, references: dict[str, ChronologyFunction],
                     out_path: str | Path,
                     missing_n1: Sequence[tuple[str, float]] = ()) -> Path:
    """Write the calibration plot (PNG or SVG, by suffix)."""
    fig = Figure(figsize=(8, 8.5), dpi=110)
    top, bottom = fig.subplots(2, 1, gridspec_kw={"height_ratios": [3, 1.2]}, sharex=True)
    ages = AGES_GA[1:]
    cf = calibration.cf
    low, high = _band(calibration, ages)
    top.fill_between(ages, low, high, color="#d62728", alpha=0.18, lw=0)
    top.plot(ages, cf.n1(ages), color="#d62728", lw=2,
             label=f"{cf.name} ({calibration.mode} fit, {len(calibration.points)} point"
                   f"{'' if len(calibration.points) == 1 else 's'})")
    for (label, ref), colour in zip(references.items(), COLOURS, strict=False):
        top.plot(ages, ref.n1(ages), color=colour, lw=1, ls="--", label=label)
    labels = []
    for p in calibration.points:
        second_hand = "second-hand" in p.origin
        top.errorbar(p.age_ga, p.n1, xerr=p.age_sigma_ga, yerr=p.n1_sigma, fmt="o",
                     color="black", mfc="white" if second_hand else "black", ms=5,
                     elinewidth=1, capsize=2, zorder=4)
        labels.append(top.text(p.age_ga, p.n1, p.name, fontsize=7.5, zorder=5))
    if any("second-hand" in p.origin for p in calibration.points):
        top.plot([], [], "o", color="black", mfc="white", label="second-hand N(1) (classic set)")
    for site, age in missing_n1:
        top.axvline(age, color="0.6", lw=0.6, ls=":")
        top.text(age, 1.5e-5, f" {site}", rotation=90, fontsize=6.5, color="0.4",
                 va="bottom", ha="right")
    if missing_n1:
        top.plot([], [], color="0.6", lw=0.6, ls=":", label="age known, N(1) missing "
                 f"({len(missing_n1)} sites)")
    top.set_yscale("log")
    top.set_ylim(1e-5, 1)
    top.set_xlim(0, 4.3)
    adjust_text(labels, ax=top, arrowprops={"arrowstyle": "-", "color": "0.5", "lw": 0.5})
    top.set_ylabel("N(1): craters ≥ 1 km per km²")
    top.set_title("Lunar chronology calibration", fontsize=11)
    top.legend(fontsize=8, loc="upper left")
    top.grid(True, which="major", color="0.9", lw=0.5)
    window = (ages >= 0.5) & (ages <= 4.2)
    for (label, ref), colour in zip(references.items(), COLOURS, strict=False):
        density = ref.n1(ages[window])
        bottom.plot(ages[window], cf.age(density) - ages[window], color=colour, lw=1.2,
                    label=f"vs {label}")
    bottom.axhline(0, color="0.4", lw=0.6)
    bottom.set_xlabel("age on the reference curve (Ga)")
    bottom.set_ylabel("fitted − reference age (Ga)")
    bottom.legend(fontsize=7.5, loc="lower left")
    bottom.grid(True, color="0.9", lw=0.5)
    fig.tight_layout()
    fig.savefig(out_path)
    return Path(out_path)
