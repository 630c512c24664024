"""Suitability engine: per-criterion scores, constraint mask, weighted suitability, ranked
candidate points and regions, weight/input sensitivity. Pure functions on 2-D arrays of one
grid (no I/O).

Scores (0 = worst, 1 = best), documented normalisations:
  power          0.7·illumination fraction + 0.3·(1 − min(longest darkness / 29.5 d, 1))
  ice            1 − min(distance to a PSR / max_psr_distance_km, 1); 0 with no PSR in the grid
  communications Earth visibility fraction (0 ⇒ relay required)
  terrain        1 − min((slope + roughness) / (2·max_slope_deg), 1)
  science        science value (0–1): geologic units within reach when the atlas has them
                 (lunatlas.geology.context.SCIENCE_FORMULA), else dated craters (the pipeline)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy import ndimage

from lunatlas.errors import InputError
from lunatlas.siting.criteria import CRITERIA, Criteria

SYNODIC_MONTH_DAYS = 29.53


@dataclass
class SiteInputs:
    """Raw criterion rasters on one grid (same shape); NaN = unknown."""

    slope_deg: np.ndarray
    roughness_deg: np.ndarray
    illumination_fraction: np.ndarray
    longest_darkness_days: np.ndarray
    earth_visibility_fraction: np.ndarray
    psr_distance_km: np.ndarray
    steep_distance_km: np.ndarray
    science_value: np.ndarray
    pixel_km: float
    science_units_within_reach: np.ndarray | None = None
    science_epochs_within_reach: np.ndarray | None = None
    science_oldest_unit_km: np.ndarray | None = None

    def raw(self) -> dict[str, np.ndarray]:
        return {k: v for k, v in self.__dict__.items() if isinstance(v, np.ndarray)}


def scores(inputs: SiteInputs, criteria: Criteria) -> dict[str, np.ndarray]:
    """Per-criterion normalised scores in [0, 1]."""
    c = criteria.constraints
    with np.errstate(invalid="ignore"):  # inf/inf where no PSR is in the grid: set to 0 below
        ice_ratio = np.clip(inputs.psr_distance_km / c.max_psr_distance_km, 0, 1)
    power = (0.7 * inputs.illumination_fraction
             + 0.3 * (1 - np.clip(inputs.longest_darkness_days / SYNODIC_MONTH_DAYS, 0, 1)))
    return {
        "power": np.clip(power, 0, 1),
        "ice": np.where(np.isinf(inputs.psr_distance_km), 0.0, 1 - ice_ratio),
        "communications": np.clip(inputs.earth_visibility_fraction, 0, 1),
        "terrain": 1 - np.clip((inputs.slope_deg + inputs.roughness_deg)
                               / (2 * c.max_slope_deg), 0, 1),
        "science": np.clip(inputs.science_value, 0, 1),
    }


def constraint_failures(inputs: SiteInputs, criteria: Criteria) -> dict[str, np.ndarray]:
    """Boolean rasters: True where a hard constraint excludes the cell."""
    c = criteria.constraints
    with np.errstate(invalid="ignore"):
        out = {
            "slope": inputs.slope_deg > c.max_slope_deg,
            "illumination": inputs.illumination_fraction < c.min_illumination_fraction,
            "darkness": inputs.longest_darkness_days > c.max_longest_darkness_days,
            "psr_distance": inputs.psr_distance_km > c.max_psr_distance_km,
            "earth_visibility": inputs.earth_visibility_fraction < c.min_earth_visibility_fraction,
            "steep_terrain": inputs.steep_distance_km < c.min_steep_terrain_distance_km,
        }
    unknown = np.zeros(inputs.slope_deg.shape, bool)
    for array in inputs.raw().values():
        unknown |= np.isnan(array)  # +inf is a real answer: "none within the grid"
    out["nodata"] = unknown
    return out


def suitability(score: dict[str, np.ndarray], failures: dict[str, np.ndarray],
                weights: dict[str, float]) -> np.ndarray:
    """Weighted mean score where every constraint passes, NaN elsewhere."""
    total = sum(weights.values())
    if total <= 0:
        raise InputError("weights must sum to a positive number")
    value = sum(weights[k] * score[k] for k in CRITERIA) / total
    excluded = np.logical_or.reduce(list(failures.values()))
    return np.where(excluded, np.nan, value)


def best_points(suit: np.ndarray, count: int, min_spacing_px: float) -> list[tuple[int, int]]:
    """Highest-suitability cells, each at least ``min_spacing_px`` from the ones before."""
    work = np.where(np.isfinite(suit), suit, -np.inf)
    yy, xx = np.indices(suit.shape)
    picks: list[tuple[int, int]] = []
    while len(picks) < count:
        idx = int(np.argmax(work))
        r, c = divmod(idx, suit.shape[1])
        if not np.isfinite(work[r, c]):
            break
        picks.append((r, c))
        work[(yy - r) ** 2 + (xx - c) ** 2 < min_spacing_px**2] = -np.inf
    return picks


def regions(suit: np.ndarray, quantile: float) -> tuple[np.ndarray, float]:
    """Connected regions (8-connectivity) of cells at or above the suitability quantile."""
    valid = suit[np.isfinite(suit)]
    if valid.size == 0:
        raise InputError("no cell passes the constraints: no candidate regions")
    threshold = float(np.quantile(valid, quantile))
    labels, _ = ndimage.label(np.nan_to_num(suit, nan=-1.0) >= threshold,
                              structure=np.ones((3, 3)))
    return labels, threshold


@dataclass
class Sensitivity:
    """How often each candidate stays in the top N under perturbed weights and inputs."""

    top_n: int
    draws: int
    in_top_fraction: np.ndarray
    rank_samples: np.ndarray = field(repr=False)


def sensitivity(inputs: SiteInputs, criteria: Criteria, points: list[tuple[int, int]],
                top_n: int, rng: np.random.Generator) -> Sensitivity:
    """Monte Carlo over Dirichlet-perturbed weights and noisy illumination-type inputs."""
    base = criteria.normalised_weights()
    alpha = np.array([base[k] for k in CRITERIA]) * criteria.candidates.weight_concentration
    alpha = np.maximum(alpha, 1e-3)
    rows = np.array([p[0] for p in points])
    cols = np.array([p[1] for p in points])
    sub = {k: v[rows, cols] for k, v in inputs.raw().items() if isinstance(v, np.ndarray)}
    draws = criteria.candidates.monte_carlo_draws
    noise = criteria.candidates.illumination_noise
    ranks = np.empty((draws, len(points)), int)
    for i in range(draws):
        w = dict(zip(CRITERIA, rng.dirichlet(alpha), strict=True))
        perturbed = dict(sub)
        for key in ("illumination_fraction", "earth_visibility_fraction"):
            perturbed[key] = np.clip(sub[key] + rng.normal(0, noise, len(points)), 0, 1)
        point_inputs = SiteInputs(**{k: np.asarray(v)[None, :] for k, v in perturbed.items()},
                                  pixel_km=inputs.pixel_km)
        s = suitability(scores(point_inputs, criteria),
                        constraint_failures(point_inputs, criteria), w)[0]
        order = np.argsort(-np.nan_to_num(s, nan=-np.inf), kind="stable")
        ranks[i, order] = np.arange(len(points))
    return Sensitivity(top_n, draws, (ranks < top_n).mean(axis=0), ranks)
