"""The bundled registry of sample-return missions and the radiometric ages the literature
assigns to the mapped unit at each site (``data/missions.csv``, ``data/unit_ages.csv``).
``dates_mapped_unit`` is ``no`` for material foreign to the unit mapped at the landing point
(the Chang'e 6 norite clasts from the South Pole–Aitken melt sheet); such ages do not date
the geologic unit polygon there.

Each age row carries its reference and DOI. The Apollo/Luna unit ages are the best estimates
of Stöffler & Ryder (2001), checked against the figures stated in that paper's abstract. For
the Apollo rows ``sample_id`` names a representative sample of the dated unit.

``data/calibration_points.csv`` is the calibration table: every classic and new calibration
site with its age (Ga ± 1σ, reference, DOI) and, where it could be confirmed, its crater
density N(1) (km⁻², craters ≥ 1 km) with the N(1) reference. ``n1_source`` says where a
density comes from instead (``count:<record>``: fitted to a count in the atlas). Rows with
neither are kept so that the table shows what is missing; they are not used in fits.
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
        "unit": ages["unit"],
        "rock_type": ages["rock_type"],
        "mass_g": float("nan"),  # per-sample masses are not in the registry
        "age_ga": ages["age_ga"].astype(float),
        "age_sigma_ga": ages["age_sigma_ga"].astype(float),
        "age_method": ages["method"],
        "reference": ages["reference"] + " doi:" + ages["doi"],
        "dates_mapped_unit": ages["dates_mapped_unit"],
        "discordance": "",
        "source": "lunatlas sample registry",
    })
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(ages["landing_lon"],
                                                               ages["landing_lat"]),
                            crs=MOON_GEOGRAPHIC)


@cache
def calibration_table() -> pd.DataFrame:
    """The bundled calibration table, one row per site (see the module docstring).

    A site without a confirmed N(1) takes the classic set's density (``classic_site``,
    compilation :data:`~lunatlas.chronology.classic.CLASSIC_COMPILATION`) when that row has
    a σ; its ``n1_reference`` then says it is second-hand and where it was read.
    """
    from lunatlas.chronology.classic import CLASSIC_COMPILATION, classic_reference, classic_table

    path = files("lunatlas.samples").joinpath("data/calibration_points.csv")
    with path.open(encoding="utf-8") as fh:
        table = pd.read_csv(fh, dtype={"n1_source": str, "n1_doi": str, "n1_reference": str,
                                       "classic_site": str})
    table = table.fillna({"n1_source": "", "n1_doi": "", "n1_reference": "",
                          "classic_site": ""})
    classic = classic_table()
    classic = classic[(classic["compilation"] == CLASSIC_COMPILATION)
                      & classic["n1_sigma_per_km2"].notna()].set_index("site")
    for i, row in table.iterrows():
        if pd.notna(row["n1_per_km2"]) or row["n1_source"] or row["classic_site"] not in \
                classic.index:
            continue
        c = classic.loc[row["classic_site"]]
        table.loc[i, ["n1_per_km2", "n1_sigma_per_km2"]] = (c["n1_per_km2"],
                                                            c["n1_sigma_per_km2"])
        table.loc[i, "n1_reference"] = classic_reference(
            pd.Series({"compilation": CLASSIC_COMPILATION, "read_from": c["read_from"]}))
        table.loc[i, "n1_source"] = f"classic:{CLASSIC_COMPILATION}"
        table.loc[i, "status"] = "calibration point: second-hand N(1) from the classic set"
    return table

