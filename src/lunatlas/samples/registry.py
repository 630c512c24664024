"""The bundled registry of sample-return missions and the radiometric ages the literature
assigns to the mapped unit at each site (``data/missions.csv``, ``data/unit_ages.csv``).

Each age row carries its reference and DOI. Compiled Apollo/Luna unit ages (Stöffler & Ryder
2001) are flagged for checking against the source table before they are used for calibration.
For the Apollo rows ``sample_id`` names a representative sample of the dated unit.
"""

from __future__ import annotations

from functools import cache
from importlib.resources import files

import geopandas as gpd
import pandas as pd

from lunatlas.crs import MOON_GEOGRAPHIC


@cache
def missions() -> pd.DataFrame:
    """Missions: landing point (° planetocentric, E), date, returned mass (kg), rock types."""
    with files("lunatlas.samples").joinpath("data/missions.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh)


@cache
def unit_ages() -> pd.DataFrame:
    """Unit ages (Ga ± 1σ) with method, reference and DOI, one row per dated analysis."""
    with files("lunatlas.samples").joinpath("data/unit_ages.csv").open(encoding="utf-8") as fh:
        return pd.read_csv(fh, keep_default_na=False, na_values={"age_ga": [""],
                                                                  "age_sigma_ga": [""]})


def sample_records() -> gpd.GeoDataFrame:
    """The registry as atlas ``samples`` records (one per dated analysis, at the landing site)."""
    ages = unit_ages().merge(missions(), on="mission", how="left", validate="many_to_one")
    record_ids = ("registry:" + ages["mission"] + ":" + ages["sample_id"]).str.replace(" ", "_")
    frame = pd.DataFrame({
        "record_id": record_ids,
        "mission": ages["mission"],
        "sample_id": ages["sample_id"],
        "rock_type": ages["rock_type"],
        "mass_g": float("nan"),  # per-sample masses are not in the registry
        "age_ga": ages["age_ga"].astype(float),
        "age_sigma_ga": ages["age_sigma_ga"].astype(float),
        "age_method": ages["method"],
        "reference": ages["reference"] + " doi:" + ages["doi"],
        "source": "lunatlas sample registry",
    })
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(ages["landing_lon"],
                                                               ages["landing_lat"]),
                            crs=MOON_GEOGRAPHIC)
