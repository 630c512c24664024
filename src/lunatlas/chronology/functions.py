"""Published lunar production and chronology functions: one declarative table, with references.

Production functions (PF) give the shape of the cumulative crater size–frequency distribution
N(≥D) (km⁻²) of a surface of any age, normalised here so that N(≥1 km) = N(1). Chronology
functions (CF) give N(1) (km⁻²) as a function of model age T (Ga):
N(1) = a·(e^{bT} − 1) + c·T. A *chronology system* pairs one PF with one CF.
Coefficients as tabulated in the literature (and in craterstats' ``functions.txt``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import ArrayLike, NDArray

from lunatlas.errors import InputError

T_MAX_GA = 5.0
"""Upper end of model ages searched (Ga)."""


def bin_bias_correction(beta: ArrayLike, k: ArrayLike) -> NDArray:
    """Ratio of a binned differential density to the true one for a power law of cumulative
    slope ``k`` in bins of ratio ``beta`` (Michael 2013, Icarus 226, Eq. 2)."""
    beta, k = np.asarray(beta, float), np.asarray(k, float)
    g = beta**0.5 - beta**-0.5
    with np.errstate(invalid="ignore", divide="ignore"):
        ratio = (beta ** (k / 2) - beta ** (-k / 2)) / (g * k)
    return np.where(np.abs(k) < 1e-5, 1.0, ratio)


@dataclass(frozen=True)
class ProductionFunction:
    """A production function; ``cumulative``/``differential`` take N(1) as the scale."""

    key: str
    name: str
    reference: str
    d_range_km: tuple[float, float]
    polynomial: tuple[float, ...] = ()
    """a1…a11 of log10 N(≥D) = a0 + Σ aᵢ (log10 D)ⁱ (a0 = log10 N(1) sets the age)."""
    tabular_root2: tuple[float, ...] = ()
    """Incremental counts in √2 bins (Hartmann style); with ``index_1km`` the 1-km bin."""
    index_1km: int = 0

    def log_cumulative(self, d_km: ArrayLike, n1: ArrayLike = 1.0) -> NDArray:
        """log10 N(≥D) (km⁻²) for an isochron with N(1) = ``n1``."""
        x = np.log10(np.asarray(d_km, float))
        log_n1 = np.log10(np.asarray(n1, float))
        if self.polynomial:
            return log_n1 + np.polynomial.polynomial.polyval(x, (0.0, *self.polynomial))
        d_min10, h_c10 = self._tabular()
        return log_n1 + np.interp(x, d_min10, h_c10)

    def cumulative(self, d_km: ArrayLike, n1: ArrayLike = 1.0) -> NDArray:
        """N(≥D) per km² for an isochron with N(1) = ``n1``."""
        return 10.0 ** self.log_cumulative(d_km, n1)

    def differential(self, d_km: ArrayLike, n1: ArrayLike = 1.0) -> NDArray:
        """−dN/dD (km⁻³) for an isochron with N(1) = ``n1``."""
        d = np.asarray(d_km, float)
        if self.polynomial:
            x = np.log10(d)
            slope = np.polynomial.polynomial.polyval(
                x, [(i + 1) * a for i, a in enumerate(self.polynomial)])
            return -self.cumulative(d, n1) * slope / d
        d_min10, h_c10 = self._tabular()
        c = 10.0**h_c10
        h = c - np.append(c[1:], 0.0)
        d_mean10 = d_min10 + math.log10(2**0.25)
        beta = math.sqrt(2.0)
        f_bin = h / 10**d_mean10 / (2**0.25 - 2**-0.25)
        k = (h_c10 - np.roll(h_c10, -1)) / math.log10(beta)
        k[-1] = k[-2]
        f = f_bin / bin_bias_correction(beta, k)
        return np.asarray(n1, float) * 10 ** np.interp(np.log10(d), d_mean10, np.log10(f))

    def cumulative_slope(self, d_km: ArrayLike, beta: ArrayLike) -> NDArray:
        """Local log–log cumulative slope across a bin of ratio ``beta`` centred on D."""
        d, b = np.asarray(d_km, float), np.asarray(beta, float)
        return (self.log_cumulative(d * np.sqrt(b)) - self.log_cumulative(d / np.sqrt(b))) \
            / np.log10(b)

    def _tabular(self) -> tuple[NDArray, NDArray]:
        h = np.asarray(self.tabular_root2, float)
        h_c10 = np.log10(np.cumsum(h[::-1])[::-1])
        h_c10 = h_c10 - h_c10[self.index_1km]
        d_min10 = np.log10(2.0 ** ((np.arange(h.size) - self.index_1km) / 2))
        return d_min10, h_c10


@dataclass(frozen=True)
class ChronologyFunction:
    """N(1) = a·(e^{bT} − 1) + c·T with T in Ga and N(1) in km⁻²."""

    key: str
    name: str
    reference: str
    a: float
    b: float
    c: float
    doi: str = ""

    def n1(self, age_ga: ArrayLike) -> NDArray:
        """Crater density N(1) (km⁻²) at model age ``age_ga``."""
        t = np.asarray(age_ga, float)
        return self.a * np.expm1(self.b * t) + self.c * t

    def rate(self, age_ga: ArrayLike) -> NDArray:
        """dN(1)/dT (km⁻² Ga⁻¹), the cratering rate at ``age_ga``."""
        t = np.asarray(age_ga, float)
        return self.a * self.b * np.exp(self.b * t) + self.c

    def age(self, n1: ArrayLike) -> NDArray:
        """Model age (Ga) of crater density ``n1`` (inverse of :meth:`n1`; monotonic).

        Safeguarded Newton iterations on all values at once (bisection where a step leaves
        the bracket), to 1e-12 Ga; densities beyond N(1)(T_MAX_GA) are solved up to 20 Ga.
        """
        values = np.atleast_1d(np.asarray(n1, float))
        out = np.where(values == 0, 0.0, np.nan)
        solve = np.isfinite(values) & (values > 0)
        v = values[solve]
        lo = np.zeros_like(v)
        hi = np.where(v >= float(self.n1(T_MAX_GA)), 20.0, T_MAX_GA)
        t = 0.5 * (lo + hi)
        for _ in range(200):
            f = self.n1(t) - v
            lo = np.where(f < 0, t, lo)
            hi = np.where(f >= 0, t, hi)
            with np.errstate(divide="ignore", invalid="ignore"):
                stepped = t - f / self.rate(t)
            outside = ~np.isfinite(stepped) | (stepped <= lo) | (stepped >= hi)
            stepped = np.where(outside, 0.5 * (lo + hi), stepped)
            done = np.abs(stepped - t) <= 1e-12
            t = stepped
            if done.all():
                break
        out[solve] = t
        return out.reshape(np.shape(n1)) if np.ndim(n1) else out[0]


@dataclass(frozen=True)
class ChronologySystem:
    """A production function paired with a chronology function."""

    key: str
    name: str
    pf: ProductionFunction
    cf: ChronologyFunction
    notes: str = field(default="")


NEUKUM_1983_PF = ProductionFunction(
    "neukum1983", "Moon, Neukum (1983)",
    "Neukum, G. (1983) Meteoritenbombardement und Datierung planetarer Oberflächen. "
    "Habilitation thesis, Ludwig-Maximilians-Universität München",
    (0.01, 300.0),
    polynomial=(-3.6269, 0.43662, 0.79347, 0.086468, -0.26485, -0.066382, 0.037923, 0.010596,
                -0.0022496, -0.00051797, 0.0000397),
)
NEUKUM_2001_PF = ProductionFunction(
    "neukum2001", "Moon, Neukum et al. (2001)",
    "Neukum, Ivanov & Hartmann (2001) Space Sci. Rev. 96, 55–86, doi:10.1023/A:1011989004263; "
    "range from Ivanov, Neukum & Wagner (2001)",
    (0.01, 300.0),
    polynomial=(-3.557528, 0.781027, 1.021521, -0.156012, -0.444058, 0.019977, 0.086850,
                -0.005874, -0.006809, 8.25e-04, 5.54e-05),
)
HARTMANN_2010_PF = ProductionFunction(
    "hartmann2010", "Moon, Hartmann 2010 iteration",
    "Hartmann, W.K. (private communication) as tabulated by Michael (2013) Icarus 226, 885–890",
    (2**-6.5 * 2**0.25, 2**6.5 * 2**0.25),
    tabular_root2=(3.66E+04, 9.87E+03, 2.63E+03, 6.99E+02, 1.86E+02, 4.98E+01, 1.33E+01,
                   3.49E+00, 9.40E-01, 2.50E-01, 6.65E-02, 1.76E-02, 4.69E-03, 1.25E-03,
                   4.73E-04, 2.53E-04, 1.36E-04, 7.26E-05, 3.90E-05, 2.08E-05, 1.12E-05,
                   5.98E-06, 3.21E-06, 1.72E-06, 9.22E-07, 3.80E-07, 1.50E-07),
    index_1km=13,
)

NEUKUM_1983_CF = ChronologyFunction(
    "neukum1983", "Moon, Neukum (1983)", NEUKUM_1983_PF.reference, 5.44e-14, 6.93, 8.38e-4)
NEUKUM_2001_CF = ChronologyFunction(
    "neukum2001", "Moon, Neukum et al. (2001)", NEUKUM_2001_PF.reference, 5.44e-14, 6.93,
    8.38e-4, doi="10.1023/A:1011989004263")
HARTMANN_2010_CF = ChronologyFunction(
    "hartmann2010", "Moon, Hartmann 2010 iteration",
    "Hartmann (private communication); Michael (2013) Icarus 226, 885–890", 2.57e-14, 6.93,
    3.97e-4, doi="10.1016/j.icarus.2013.07.004")
YUE_2022_CF = ChronologyFunction(
    "yue2022", "Moon, Yue et al. (2022)",
    "Yue, Di, Wan et al. (2022) Updated lunar cratering chronology model with the radiometric "
    "age of Chang'e-5 samples. Nature Astronomy 6, 541–545", 1.089e-13, 6.757, 7.660e-4,
    doi="10.1038/s41550-022-01604-3")

SYSTEMS: dict[str, ChronologySystem] = {
    s.key: s for s in (
        ChronologySystem("neukum1983", "Moon, Neukum (1983)", NEUKUM_1983_PF, NEUKUM_1983_CF),
        ChronologySystem("neukum2001", "Moon, Neukum et al. (2001)", NEUKUM_2001_PF,
                         NEUKUM_2001_CF),
        ChronologySystem("hartmann2010", "Moon, Hartmann 2010 iteration", HARTMANN_2010_PF,
                         HARTMANN_2010_CF),
        ChronologySystem("yue2022", "Moon, Yue et al. (2022)", NEUKUM_2001_PF, YUE_2022_CF,
                         notes="CF recalibrated with the Chang'e-5 age; PF of Neukum et al. 2001"),
    )
}


ALIASES = {"neukum83": "neukum1983", "n83": "neukum1983", "neukum01": "neukum2001",
           "n01": "neukum2001", "nih2001": "neukum2001", "hartmann10": "hartmann2010",
           "h2010": "hartmann2010", "yue22": "yue2022"}
"""Short names craterstats users type, by normalised form (see :func:`_normalised`)."""


def _normalised(text: str) -> str:
    """Lower case, letters and digits only ("Moon, Neukum (1983)" → "moonneukum1983")."""
    return "".join(ch for ch in text.lower() if ch.isalnum())


def get_system(key: str, extra: dict[str, ChronologySystem] | None = None) -> ChronologySystem:
    """Look up a chronology system by key (``neukum2001``, ``yue2022``…), by a short name
    (``neukum83``, ``n01``…) or by its craterstats name (``Moon, Neukum (1983)``)."""
    table = {**SYSTEMS, **(extra or {})}
    if key in table:
        return table[key]
    wanted = _normalised(key)
    wanted = ALIASES.get(wanted, wanted)
    for system in table.values():
        if wanted in (_normalised(system.key), _normalised(system.name)):
            return system
    raise InputError(f"unknown chronology {key!r}; expected one of {', '.join(sorted(table))} "
                     f"(or {', '.join(sorted(ALIASES))}, or a name such as "
                     "'Moon, Neukum (1983)')")
