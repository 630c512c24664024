"""Siting criteria: a TOML file of constraints and weights, validated (pydantic), with a
documented default (``default_criteria.toml``) that cites its sources."""

from __future__ import annotations

import tomllib
from importlib.resources import files
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from lunatlas.errors import InputError

CRITERIA = ("power", "ice", "communications", "terrain", "science")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Constraints(_Strict):
    max_slope_deg: float = Field(gt=0, le=90)
    min_illumination_fraction: float = Field(ge=0, le=1)
    max_longest_darkness_days: float = Field(gt=0, le=400)
    max_psr_distance_km: float = Field(gt=0)
    """``inf`` disables the constraint (sites far from any PSR, e.g. on the far side)."""
    min_earth_visibility_fraction: float = Field(ge=0, le=1)
    min_steep_terrain_distance_km: float = Field(ge=0, le=500)
    steep_slope_deg: float = Field(gt=0, le=90)


class Weights(_Strict):
    power: float = Field(ge=0)
    ice: float = Field(ge=0)
    communications: float = Field(ge=0)
    terrain: float = Field(ge=0)
    science: float = Field(ge=0)

    @model_validator(mode="after")
    def _positive_sum(self) -> Weights:
        if sum(self.as_dict().values()) <= 0:
            raise ValueError("weights must sum to a positive number")
        return self

    def as_dict(self) -> dict[str, float]:
        return {name: float(getattr(self, name)) for name in CRITERIA}


class Science(_Strict):
    reach_km: float = Field(gt=0, le=2000)
    pre_nectarian_age_ga: float = Field(gt=0, le=4.6)


class Candidates(_Strict):
    count: int = Field(ge=1, le=100)
    min_spacing_km: float = Field(gt=0)
    region_quantile: float = Field(gt=0, lt=1)
    monte_carlo_draws: int = Field(ge=10, le=100_000)
    weight_concentration: float = Field(gt=0)
    illumination_noise: float = Field(ge=0, le=0.5)


class Observer(_Strict):
    height_m: float = Field(ge=0, le=100)
    """Height above the local surface at which light and Earth are judged (m)."""


class Criteria(_Strict):
    constraints: Constraints
    weights: Weights
    science: Science
    candidates: Candidates
    observer: Observer = Field(default_factory=lambda: Observer(height_m=2.0))

    def normalised_weights(self) -> dict[str, float]:
        raw = self.weights.as_dict()
        total = sum(raw.values())
        return {k: v / total for k, v in raw.items()}


def default_criteria_text() -> str:
    """The bundled default criteria (TOML with citations)."""
    return files("lunatlas.siting").joinpath("default_criteria.toml").read_text("utf-8")


def load_criteria(path: str | Path | None = None) -> Criteria:
    """Read and validate a criteria TOML (default: the bundled one). Errors name the key."""
    where = "default criteria" if path is None else str(path)
    try:
        text = default_criteria_text() if path is None else Path(path).read_text("utf-8")
    except OSError as exc:
        raise InputError(f"{where}: cannot read criteria file ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"{where}: not valid TOML ({exc})") from None
    try:
        return Criteria.model_validate(data)
    except ValidationError as exc:
        problems = [f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()]
        raise InputError(f"{where}: " + "; ".join(problems)) from None
