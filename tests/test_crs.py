import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod, Proj

from lunatlas.crs import (
    MOON_EQUIRECTANGULAR,
    MOON_GEOGRAPHIC,
    MOON_NORTH_POLAR,
    MOON_RADIUS_M,
    MOON_SOUTH_POLAR,
    great_circle_distance_m,
    is_lunar,
    lonlat_to,
    named_crs,
    normalize_longitude,
    polar_stereographic_scale_factor,
    require_lunar,
    same_crs,
    to_lonlat,
)
from lunatlas.errors import LunarCRSError

MOON_SPHERE = Geod(a=MOON_RADIUS_M, f=0.0)
lons = st.floats(-180.0, 179.999, allow_nan=False)


def test_catalogue_crs_are_the_iau_2015_moon_sphere():
    for crs in (MOON_GEOGRAPHIC, MOON_EQUIRECTANGULAR, MOON_NORTH_POLAR, MOON_SOUTH_POLAR):
        assert crs.geodetic_crs.ellipsoid.semi_major_metre == MOON_RADIUS_M
        assert crs.geodetic_crs.ellipsoid.inverse_flattening == 0.0
        assert is_lunar(crs)
    assert MOON_GEOGRAPHIC.to_authority() == ("IAU_2015", "30100")
    assert named_crs("south-polar") is MOON_SOUTH_POLAR
    with pytest.raises(LunarCRSError, match="unknown CRS name"):
        named_crs("mercator")


@settings(max_examples=200, deadline=None)
@given(lon=lons, lat=st.floats(-89.9, -45.0))
def test_south_polar_round_trip(lon, lat):
    x, y = lonlat_to(MOON_SOUTH_POLAR, lon, lat)
    lon2, lat2 = to_lonlat(MOON_SOUTH_POLAR, x, y)
    assert abs(lat2 - lat) < 1e-9
    assert abs(normalize_longitude(lon2 - lon)) < 1e-7
    # Independent forward formula for the spherical stereographic, true at the pole.
    rho = 2 * MOON_RADIUS_M * np.tan(np.radians(90 + lat) / 2)
    assert np.hypot(x, y) == pytest.approx(rho, rel=1e-9, abs=1e-6)


@settings(max_examples=200, deadline=None)
@given(lon=lons, lat=st.floats(45.0, 89.9))
def test_north_polar_round_trip(lon, lat):
    x, y = lonlat_to(MOON_NORTH_POLAR, lon, lat)
    lon2, lat2 = to_lonlat(MOON_NORTH_POLAR, x, y)
    assert abs(lat2 - lat) < 1e-9 and abs(normalize_longitude(lon2 - lon)) < 1e-7


@settings(max_examples=200, deadline=None)
@given(lon=lons, lat=st.floats(-89.0, 89.0))
def test_equirectangular_is_arc_length(lon, lat):
    x, y = lonlat_to(MOON_EQUIRECTANGULAR, lon, lat)
    assert x == pytest.approx(np.radians(lon) * MOON_RADIUS_M, abs=1e-6)
    assert y == pytest.approx(np.radians(lat) * MOON_RADIUS_M, abs=1e-6)
    lon2, lat2 = to_lonlat(MOON_EQUIRECTANGULAR, x, y)
    assert abs(lat2 - lat) < 1e-9 and abs(normalize_longitude(lon2 - lon)) < 1e-9


def test_known_distances():
    quarter = np.pi * MOON_RADIUS_M / 2
    assert great_circle_distance_m(0, 0, 0, 90) == pytest.approx(quarter)
    assert great_circle_distance_m(0, 0, 180, 0) == pytest.approx(2 * quarter)
    assert great_circle_distance_m(10, 0, 11, 0) == pytest.approx(30_323.6, abs=0.5)  # 1°
    assert great_circle_distance_m(5, 5, 5, 5) == 0.0


@settings(max_examples=200, deadline=None)
@given(lon1=lons, lat1=st.floats(-90, 90), lon2=lons, lat2=st.floats(-90, 90))
def test_distance_matches_pyproj_geod_on_the_sphere(lon1, lat1, lon2, lat2):
    _, _, expected = MOON_SPHERE.inv(lon1, lat1, lon2, lat2)
    assert great_circle_distance_m(lon1, lat1, lon2, lat2) == pytest.approx(expected, abs=1e-3)


def test_apollo_11_to_chang_e_6_distance():
    # Apollo 11 (0.674°N, 23.473°E) to Chang'e 6 (41.625°S, 153.978°W), cross-checked by Geod.
    _, _, expected = MOON_SPHERE.inv(23.473, 0.674, -153.978, -41.625)
    got = great_circle_distance_m(23.473, 0.674, -153.978, -41.625)
    assert got == pytest.approx(expected, rel=1e-9)
    assert 4_000e3 < got < 5_500e3


def test_longitude_normalisation():
    np.testing.assert_allclose(normalize_longitude([0, 180, 190, 360, -181, 359.5]),
                               [0, -180, -170, 0, 179, -0.5])


def test_polar_scale_factor_matches_proj():
    proj = Proj(MOON_SOUTH_POLAR)
    for lat in (-89.0, -85.0, -75.0, -60.0):
        k = proj.get_factors(30.0, lat).meridional_scale
        assert polar_stereographic_scale_factor(lat) == pytest.approx(k, rel=1e-9)


def test_earth_crs_is_refused():
    assert not is_lunar(CRS.from_epsg(4326))
    with pytest.raises(LunarCRSError, match="not lunar"):
        require_lunar(CRS.from_epsg(4326), "some.tif")
    with pytest.raises(LunarCRSError, match="no coordinate reference system"):
        require_lunar(None, "some.tif")


def test_same_crs_survives_geopackage_round_trip(tmp_path):
    import geopandas as gpd
    import shapely

    frame = gpd.GeoDataFrame({"a": [1]}, geometry=[shapely.Point(1, 2)], crs=MOON_SOUTH_POLAR)
    path = tmp_path / "x.gpkg"
    frame.to_file(path)
    back = gpd.read_file(path).crs
    assert same_crs(CRS.from_user_input(back), MOON_SOUTH_POLAR)
    assert not same_crs(MOON_NORTH_POLAR, MOON_SOUTH_POLAR)
    assert not same_crs(MOON_GEOGRAPHIC, MOON_SOUTH_POLAR)
