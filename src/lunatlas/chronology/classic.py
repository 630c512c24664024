"""The classic crater-chronology calibration set, bundled from shared/data.

``data/classic_calibration_points.csv`` is written by ``scripts/build_classic_calibration.py``.
It holds N(1) (craters ≥ 1 km per km²) ± σ and radiometric ages (Ga ± σ) from several
compilations: ``neukum_counts`` (Neukum's counts with Stöffler & Ryder 2001 ages),
``lefeuvre2011``, ``robbins2014`` and ``change5``.

Every value is **second-hand**: the primary tables were not available offline, so each was
transcribed from public code that re-tabulates them. Each row's ``read_from`` names the
repository, the commit and the function it was read from. Every calibration point built
from this table says so in its reference.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import pandas as pd

from lunatlas.chronology.calibration import CalibrationPoint

CLASSIC_COMPILATION = "neukum_counts"
"""The compilation whose densities stand in for the classic sites in the atlas fit."""


@cache
def classic_table() -> pd.DataFrame:
    """The bundled classic calibration rows (all compilations)."""
    path = files("lunatlas.chronology").joinpath("data/classic_calibration_points.csv")
    with path.open(encoding="utf-8") as fh:
        return pd.read_csv(fh, comment="#", keep_default_na=True).fillna({"note": ""})


def classic_reference(row) -> str:
    """How a classic row is cited: second-hand, and where it was read."""
    return f"second-hand ({row['compilation']}): read from {row['read_from']}"


def classic_points(compilation: str = CLASSIC_COMPILATION,
                   basins: bool = True) -> list[CalibrationPoint]:
    """Calibration points of one compilation: the rows with N(1) ± σ and age ± σ."""
    table = classic_table()
    rows = table[(table["compilation"] == compilation)
                 & table[["n1_sigma_per_km2", "age_sigma_ga"]].notna().all(axis=1)]
    if not basins:
        rows = rows[~rows["site"].str.contains("basin")]
    return [CalibrationPoint(r["site"], float(r["n1_per_km2"]), float(r["n1_sigma_per_km2"]),
                             float(r["age_ga"]), float(r["age_sigma_ga"]), classic_reference(r),
                             "classic calibration set (second-hand)")
            for _, r in rows.iterrows()]
