"""Model ages from crater counts: Poisson likelihood, cumulative fit and differential fit.

- Poisson (Michael, Kneissl & Neesemann 2016, Icarus 277, 279–285): the number k of craters
  with D in [D_min, D_max) is Poisson with mean λ(T) = A·N(1)(T)·[C(D_min) − C(D_max)]
  (C: production function for N(1) = 1); the age density is P(k | λ(T))·dλ/dT, evaluated on a
  grid in log N(1), and the age is its median with the 15.9/84.1 % points as bounds.
  Buffered counts (craters weighted by the area their ejecta/buffer reaches) use
  λ = N(1)·∫(A + D·P/2 + πD²/4)·F(D) dD with the area's perimeter P.
- Cumulative / differential fits (Michael & Neukum 2010; Michael 2013): least squares of the
  binned log densities against the PF isochron, weighted as craterstats does; bounds from the
  first bin's ±0.98σ Poisson error. Cumulative fits may apply the resurfacing correction.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy.integrate import simpson
from scipy.special import gammaln

from lunatlas.chronology.counts import CraterCount, bin_count, presentation
from lunatlas.chronology.functions import ChronologySystem
from lunatlas.errors import InputError

SIGMA_1 = (1 - math.erf(1 / math.sqrt(2))) / 2  # 0.1587
METHODS = ("poisson", "b-poisson", "c-fit", "d-fit")


@dataclass
class AgeFit:
    """A model age with its 1σ-equivalent bounds (Ga) and crater density N(1) (km⁻²)."""

    method: str
    chronology: str
    d_min_km: float
    d_max_km: float
    n_craters: float
    age_ga: float
    age_low_ga: float
    age_high_ga: float
    n1_per_km2: float
    n1_low_per_km2: float
    n1_high_per_km2: float
    area_km2: float
    binning: str = ""
    resurfacing: bool = False
    source: str = ""

    def text(self) -> str:
        """``3.42 Ga (+0.08 −0.11), N(1) = 4.1e-3 km^-2``."""
        plus, minus = self.age_high_ga - self.age_ga, self.age_ga - self.age_low_ga
        digits = 2 if self.age_ga >= 0.1 else 3 if self.age_ga >= 0.01 else 4
        exponent = math.floor(math.log10(self.n1_per_km2))
        mantissa = self.n1_per_km2 / 10**exponent
        return (f"{self.age_ga:.{digits}f} Ga (+{plus:.{digits}f} −{minus:.{digits}f}), "
                f"N(1) = {mantissa:.1f}e{exponent} km^-2")

    def as_dict(self) -> dict:
        return asdict(self)


def _clip_range(system: ChronologySystem, d_range: tuple[float, float]) -> tuple[float, float]:
    lo, hi = float(d_range[0]), float(d_range[1])
    if not (np.isfinite(lo) and lo > 0 and hi > lo):
        raise InputError(f"diameter range {d_range}: expected 0 < D_min < D_max (km)")
    pf_lo, pf_hi = system.pf.d_range_km
    return max(lo, pf_lo), min(hi, pf_hi)


def age_density(count: CraterCount, system: ChronologySystem, d_range: tuple[float, float],
                buffered: bool = False, n_samples: int = 5000) -> tuple[np.ndarray, np.ndarray,
                                                                        int]:
    """(T grid Ga, normalised age density, k) of the Poisson method."""
    lo, hi = _clip_range(system, d_range)
    if count.prebinned is not None:
        raise InputError(f"{count.source}: Poisson fits need individual crater diameters, not a "
                         "binned .stat table")
    k = count.in_range(lo, hi)
    cf, pf = system.cf, system.pf
    log_n1 = np.log10(cf.n1(1.0)) + np.linspace(-10.0, 5.0, n_samples)
    n1 = 10.0**log_n1
    ages = cf.age(n1)
    if buffered:
        if count.perimeter_km is None:
            raise InputError(f"{count.source}: buffered Poisson needs the area's perimeter "
                             "(Perimeter line); use method poisson")
        d = np.linspace(lo, hi, 500)
        integrand = (count.area_km2 + d * count.perimeter_km / 2 + np.pi * d**2 / 4) \
            * pf.differential(d, 1.0)
        lam = n1 * simpson(integrand, x=d)
    else:
        lam = n1 * count.area_km2 * (pf.cumulative(lo) - pf.cumulative(hi))
    log_p = k * np.log(lam) - lam - gammaln(k + 1) + np.log(cf.rate(ages))
    density = np.exp(log_p - log_p.max())
    norm = np.trapezoid(density, ages)
    return ages, density / norm, k


def _percentiles(ages: np.ndarray, density: np.ndarray, q: list[float]) -> np.ndarray:
    cdf = np.concatenate([[0.0], np.cumsum(0.5 * (density[1:] + density[:-1]) * np.diff(ages))])
    cdf /= cdf[-1]
    return np.interp(q, cdf, ages)


def poisson_fit(count: CraterCount, system: ChronologySystem, d_range: tuple[float, float],
                buffered: bool = False) -> AgeFit:
    """Poisson-likelihood model age (median and 1σ-equivalent percentiles)."""
    ages, density, k = age_density(count, system, d_range, buffered)
    low, median, high = _percentiles(ages, density, [SIGMA_1, 0.5, 1 - SIGMA_1])
    cf = system.cf
    lo, hi = _clip_range(system, d_range)
    return AgeFit("b-poisson" if buffered else "poisson", system.key, lo, hi, k, float(median),
                  float(low), float(high), float(cf.n1(median)), float(cf.n1(low)),
                  float(cf.n1(high)), count.area_km2, source=count.source)


def _resurfacing_adjustment(d, y, pf) -> float:
    """Cumulative offset so that the fit passes through the largest-crater point
    (resurfacing correction, Michael & Neukum 2010), found by iteration."""
    adj = 0.0
    for _ in range(20):
        previous = adj
        a0 = _weighted_a0(d, y + adj, y + adj, pf.log_cumulative)
        adj = float(pf.cumulative(d[-1], 10**a0)) - y[-1]
        if abs(previous - adj) < 1e-4:
            break
    return adj


def _weighted_a0(d, y, weights, log_shape) -> float:
    residual = np.log10(y) - log_shape(d, 1.0)
    return float(np.sum(weights * residual) / np.sum(weights))


def binned_fit(count: CraterCount, system: ChronologySystem, d_range: tuple[float, float],
               kind: str = "cumulative", binning: str = "pseudo-log",
               resurfacing: bool = False) -> AgeFit:
    """Cumulative (``kind='cumulative'``) or differential least-squares isochron fit."""
    lo, hi = float(d_range[0]), float(d_range[1])
    if not (lo > 0 and hi > lo):
        raise InputError(f"diameter range {d_range}: expected 0 < D_min < D_max (km)")
    binned = bin_count(count, binning)
    pf, cf = system.pf, system.cf
    points = presentation(binned, count.area_km2, kind, pf)
    select = (binned.d_mean > lo) & (binned.d_mean < hi)
    if not select.any():
        raise InputError(f"{count.source}: no craters in {lo}–{hi} km to fit")
    d, y = points["d"][select], points["y"][select].copy()
    if kind == "cumulative":
        if resurfacing and d.size > 1:
            y = y + _resurfacing_adjustment(d, y, pf)
        err = y / np.sqrt(binned.n_cum_event[select])
        a0 = _weighted_a0(d, y, y, pf.log_cumulative)
    elif kind == "differential":
        err = points["err"][select]
        a0 = _weighted_a0(d, y, err, lambda dd, n1: np.log10(pf.differential(dd, n1)))
    else:
        raise InputError(f"unknown fit {kind!r}; expected cumulative or differential")
    with np.errstate(invalid="ignore", divide="ignore"):
        offsets = [0.0, np.log10(y[0]) - np.log10(y[0] - 0.98 * err[0]),
                   np.log10(y[0]) - np.log10(y[0] + 0.98 * err[0])]
    a0s = [a0 - o if np.isfinite(o) else -np.inf for o in offsets]
    n1s = [10.0**a for a in a0s]
    ages = [float(cf.age(n)) if n > 0 else 0.0 for n in n1s]
    return AgeFit("c-fit" if kind == "cumulative" else "d-fit", system.key, lo, hi,
                  float(binned.n[select].sum()), ages[0], ages[1], ages[2], n1s[0], n1s[1],
                  n1s[2], count.area_km2, binning, resurfacing and kind == "cumulative",
                  count.source)


def fit_age(count: CraterCount, system: ChronologySystem, d_range: tuple[float, float],
            method: str = "poisson", binning: str = "pseudo-log",
            resurfacing: bool = False) -> AgeFit:
    """Dispatch to the named method (poisson, b-poisson, c-fit, d-fit)."""
    if method == "poisson":
        return poisson_fit(count, system, d_range)
    if method == "b-poisson":
        return poisson_fit(count, system, d_range, buffered=True)
    if method == "c-fit":
        return binned_fit(count, system, d_range, "cumulative", binning, resurfacing)
    if method == "d-fit":
        return binned_fit(count, system, d_range, "differential", binning)
    raise InputError(f"unknown fit method {method!r}; expected one of {', '.join(METHODS)}")
