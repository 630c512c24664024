"""Small record builders shared by atlas tests."""

import geopandas as gpd
import shapely

from lunatlas.crs import MOON_GEOGRAPHIC


def sample_site(name: str = "T1") -> gpd.GeoDataFrame:
    """One site record at the south pole region."""
    return gpd.GeoDataFrame({"record_id": [f"site:{name}"], "name": [name], "rank": [1],
                             "score": [0.5], "scores_json": ["{}"], "source": ["test"]},
                            geometry=[shapely.Point(10.0, -89.0)], crs=MOON_GEOGRAPHIC)
