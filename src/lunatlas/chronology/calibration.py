"""Calibrating the chronology function N(1) = a·(e^{bT} − 1) + c·T to sample-dated sites.

Each calibration point is a site's crater density N(1) ± σ_N (km⁻², from its count and the
production function, which does not depend on the CF) and the radiometric age T ± σ_T (Ga)
of the same unit. The fit minimises Σ r² with the effective-variance residual

    r = (ln N₁(T) − ln N) / sqrt((σ_N/N)² + (N₁'(T)·σ_T / N₁(T))²)

(both uncertainties, in log space), and reports the parameter covariance from the Jacobian.

Modes, by number of points:

* ``scale`` (1–2 points): a common factor k on a base function (N₁ = k·N₁_base), keeping
  its shape — enough to anchor a published chronology to new samples.
* ``fixed-b`` (≥ 3 points, the default): a and c free, the exponent b held at the base
  function's value. b is set by the steep pre-3.8 Ga part, which only basin points reach;
  fitted freely on the classic Neukum counts it is unconstrained (σ_b ≈ 4–5 against b ≈ 7,
  and basin points pull it to the search bound: ``tests/test_classic_calibration.py``).
* ``full`` (≥ 4 points, ``free_b=True``): a, b and c free.

Leave-one-out refits show how much each point moves the curve.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import least_squares

from lunatlas.chronology.functions import ChronologyFunction
from lunatlas.errors import InputError

CURVE_AGES_GA = np.linspace(1.0, 4.0, 31)
"""Ages where curve shifts are summarised (Ga)."""


@dataclass(frozen=True)
class CalibrationPoint:
    """A dated site: crater density N(1) ± σ (km⁻²) and sample age T ± σ (Ga)."""

    name: str
    n1: float
    n1_sigma: float
    age_ga: float
    age_sigma_ga: float
    reference: str = ""
    origin: str = ""
    """Where N(1) and the age come from (free text, e.g. ``count + sample ages``)."""

    def __post_init__(self) -> None:
        if not (self.n1 > 0 and self.n1_sigma > 0):
            raise InputError(f"calibration point {self.name!r}: N(1) and its σ must be > 0")
        if not (0 < self.age_ga <= 4.6 and self.age_sigma_ga >= 0):
            raise InputError(f"calibration point {self.name!r}: age must be in (0, 4.6] Ga "
                             "with σ ≥ 0")


@dataclass
class Calibration:
    """A fitted chronology function with parameter uncertainties."""

    cf: ChronologyFunction
    covariance: np.ndarray
    """Covariance of (a, b, c) (b's row and column zero when b is held) or of (k,) for a
    scale fit."""
    mode: str
    """``full`` (a, b, c free), ``fixed-b`` (a, c free) or ``scale`` (common factor on a
    base function)."""
    points: list[CalibrationPoint]
    base: str = ""
    scale: float = 1.0
    leave_one_out: dict[str, float] = field(default_factory=dict)
    """Max relative change of N(1)(T) over 1–4 Ga when each point is left out."""

    @property
    def sigmas(self) -> np.ndarray:
        return np.sqrt(np.diag(self.covariance))


def _residuals(n1_of_t, rate_of_t, points: list[CalibrationPoint]):
    t = np.array([p.age_ga for p in points])
    n = np.array([p.n1 for p in points])
    sn = np.array([p.n1_sigma for p in points]) / n
    st = np.array([p.age_sigma_ga for p in points])
    model = n1_of_t(t)
    sigma = np.sqrt(sn**2 + (rate_of_t(t) * st / model) ** 2)
    return (np.log(model) - np.log(n)) / sigma


BOUNDS = ([-30.0, 1.0, -6.0], [-6.0, 20.0, -1.0])
"""Search bounds for (log10 a, b, log10 c)."""


def fit_chronology(points: list[CalibrationPoint], name: str, base: ChronologyFunction,
                   leave_one_out: bool = True, free_b: bool = False) -> Calibration:
    """Fit N(1)(T) to calibration points: ``fixed-b`` (b of ``base``) with ≥ 3 points,
    ``full`` with ≥ 4 and ``free_b``, else a scale on ``base`` (see the module docstring)."""
    if not points:
        raise InputError("calibration needs at least one point")
    names = [p.name for p in points]
    if len(set(names)) != len(names):
        raise InputError(f"duplicate calibration point names in {names}")
    if len(points) >= 3 and not (free_b and len(points) >= 4):
        return _fit_fixed_b(points, name, base, leave_one_out)
    if len(points) >= 4:
        def make(x):
            return ChronologyFunction(name, name, "fitted by lunatlas", 10 ** x[0], x[1],
                                      10 ** x[2])

        x0 = np.array([np.log10(base.a), base.b, np.log10(base.c)])
        x0 = np.clip(x0, BOUNDS[0], BOUNDS[1])
        result = least_squares(lambda x: _residuals(make(x).n1, make(x).rate, points), x0,
                               bounds=BOUNDS)
        cf = make(result.x)
        jac = result.jac
        dof = max(len(points) - 3, 1)
        s2 = max(float(np.sum(result.fun**2)) / dof, 1.0)
        cov_x = np.linalg.pinv(jac.T @ jac) * s2
        # Propagate (log10 a, b, log10 c) → (a, b, c).
        d = np.diag([cf.a * np.log(10), 1.0, cf.c * np.log(10)])
        return Calibration(cf, d @ cov_x @ d, "full", list(points), base.key,
                           leave_one_out=_leave_one_out(points, name, base, cf, free_b)
                           if leave_one_out else {})
    result = least_squares(lambda x: _residuals(lambda t: np.exp(x[0]) * base.n1(t),
                                                lambda t: np.exp(x[0]) * base.rate(t),
                                                points), [0.0])
    k = float(np.exp(result.x[0]))
    cf = ChronologyFunction(name, name, f"{base.name} scaled ×{k:.4f} to "
                            f"{', '.join(names)}", base.a * k, base.b, base.c * k)
    jac = result.jac
    var_log_k = float(np.linalg.pinv(jac.T @ jac)[0, 0])
    return Calibration(cf, np.array([[var_log_k * k * k]]), "scale", list(points), base.key,
                       scale=k, leave_one_out=_leave_one_out(points, name, base, cf, False)
                       if leave_one_out else {})


def _fit_fixed_b(points: list[CalibrationPoint], name: str, base: ChronologyFunction,
                 leave_one_out: bool) -> Calibration:
    """a and c free, b held at the base's value (log-parametrised, bounded as BOUNDS)."""
    def make(x):
        return ChronologyFunction(name, name, f"fitted by lunatlas (b held at {base.b:g}, "
                                  f"from {base.name})", 10 ** x[0], base.b, 10 ** x[1])

    bounds = ([BOUNDS[0][0], BOUNDS[0][2]], [BOUNDS[1][0], BOUNDS[1][2]])
    x0 = np.clip([np.log10(base.a), np.log10(base.c)], bounds[0], bounds[1])
    result = least_squares(lambda x: _residuals(make(x).n1, make(x).rate, points), x0,
                           bounds=bounds)
    cf = make(result.x)
    dof = max(len(points) - 2, 1)
    s2 = max(float(np.sum(result.fun**2)) / dof, 1.0)
    cov_x = np.linalg.pinv(result.jac.T @ result.jac) * s2
    d = np.diag([cf.a * np.log(10), cf.c * np.log(10)])
    cov_ac = d @ cov_x @ d
    covariance = np.zeros((3, 3))
    covariance[np.ix_([0, 2], [0, 2])] = cov_ac  # b held: no variance
    return Calibration(cf, covariance, "fixed-b", list(points), base.key,
                       leave_one_out=_leave_one_out(points, name, base, cf, False)
                       if leave_one_out else {})


def _leave_one_out(points, name, base, cf, free_b) -> dict[str, float]:
    if len(points) < 2:
        return {}
    shifts = {}
    reference = cf.n1(CURVE_AGES_GA)
    for i, p in enumerate(points):
        refit = fit_chronology(points[:i] + points[i + 1:], name, base, leave_one_out=False,
                               free_b=free_b)
        shifts[p.name] = float(np.max(np.abs(refit.cf.n1(CURVE_AGES_GA) / reference - 1)))
    return shifts
