"""Crater chronology: counts, published production/chronology functions, model-age fits."""

from lunatlas.chronology.counts import CraterCount, bin_count, presentation, read_count
from lunatlas.chronology.fitting import METHODS, AgeFit, fit_age, poisson_fit
from lunatlas.chronology.functions import SYSTEMS, ChronologySystem, get_system

__all__ = ["METHODS", "SYSTEMS", "AgeFit", "ChronologySystem", "CraterCount", "bin_count",
           "fit_age", "get_system", "poisson_fit", "presentation", "read_count"]
