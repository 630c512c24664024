"""Lunar coordinate reference systems from PROJ's IAU 2015 catalogue, and helpers.

Conventions: latitudes are planetocentric degrees, longitudes east-positive degrees in
[-180, 180); projected coordinates are metres. The reference body is the IAU 2015 Moon
sphere, R = 1 737 400 m, the same sphere LOLA heights are measured from.

CRS objects are created once here and reused. Compare CRSs with :func:`same_crs` (numeric
comparison): a GeoPackage round trip stores the authority as ``IAU`` rather than
``IAU_2015``, so :meth:`pyproj.CRS.equals` is False although the definitions are identical.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
from numpy.typing import ArrayLike, NDArray
from pyproj import CRS, Geod, Transformer

from lunatlas.errors import LunarCRSError

MOON_RADIUS_M = 1_737_400.0
"""IAU 2015 mean lunar radius (metres); reference sphere of LOLA heights."""

MOON_GEOGRAPHIC = CRS.from_user_input("IAU_2015:30100")
"""Moon (2015) sphere, planetocentric geographic lat/lon (degrees, east positive)."""
MOON_EQUIRECTANGULAR = CRS.from_user_input("IAU_2015:30110")
"""Equirectangular (plate carrée), true scale at the equator, metres."""
MOON_NORTH_POLAR = CRS.from_user_input("IAU_2015:30130")
"""North polar stereographic, true scale at the pole, metres."""
MOON_SOUTH_POLAR = CRS.from_user_input("IAU_2015:30135")
"""South polar stereographic, true scale at the pole, metres."""

NAMED_CRS: dict[str, CRS] = {
    "geographic": MOON_GEOGRAPHIC,
    "equirectangular": MOON_EQUIRECTANGULAR,
    "north-polar": MOON_NORTH_POLAR,
    "south-polar": MOON_SOUTH_POLAR,
}


def named_crs(name: str) -> CRS:
    """Return one of the named lunar CRSs (``geographic``, ``equirectangular``, ...)."""
    try:
        return NAMED_CRS[name]
    except KeyError:
        raise LunarCRSError(
            f"unknown CRS name {name!r}; expected one of {', '.join(NAMED_CRS)}"
        ) from None


def is_lunar(crs: CRS | None) -> bool:
    """True when ``crs`` is defined on a Moon datum/ellipsoid (any lunar radius)."""
    if crs is None:
        return False
    geodetic = crs.geodetic_crs
    if geodetic is None:
        return False
    names = f"{geodetic.datum.name} {geodetic.ellipsoid.name}".lower()
    radius = geodetic.ellipsoid.semi_major_metre
    return "moon" in names or "lunar" in names or abs(radius - MOON_RADIUS_M) < 5_000.0


def require_lunar(crs: CRS | None, what: str) -> CRS:
    """Return ``crs`` if it is lunar, else raise :class:`LunarCRSError` naming ``what``."""
    if crs is None:
        raise LunarCRSError(f"{what}: no coordinate reference system; expected a lunar CRS "
                            "such as IAU_2015:30100")
    if not is_lunar(crs):
        raise LunarCRSError(
            f"{what}: CRS {crs.name!r} is not lunar (ellipsoid "
            f"{crs.geodetic_crs.ellipsoid.name if crs.geodetic_crs else '?'}); expected a Moon "
            "CRS such as IAU_2015:30100"
        )
    return crs


def same_crs(a: CRS, b: CRS) -> bool:
    """Numerically compare two CRSs (ignores authority names such as IAU vs IAU_2015)."""
    if a.is_geographic != b.is_geographic:
        return False
    ga, gb = a.geodetic_crs, b.geodetic_crs
    if ga is None or gb is None:
        return False
    if abs(ga.ellipsoid.semi_major_metre - gb.ellipsoid.semi_major_metre) > 1e-3:
        return False
    if abs(ga.ellipsoid.inverse_flattening - gb.ellipsoid.inverse_flattening) > 1e-9:
        return False
    if a.is_geographic:
        return True
    # Projected: same projection if sample points land on the same coordinates. This is
    # robust to equivalent parameterisations (e.g. stereographic variant A, k=1, vs
    # variant B, lat_ts=-90, which a GeoPackage round trip produces).
    lon, lat = np.meshgrid(np.arange(-165.0, 180.0, 45.0), np.arange(-85.0, 90.0, 17.0))
    xa, ya = Transformer.from_crs(ga, a, always_xy=True).transform(lon.ravel(), lat.ravel())
    xb, yb = Transformer.from_crs(gb, b, always_xy=True).transform(lon.ravel(), lat.ravel())
    xa, ya, xb, yb = (np.asarray(v, dtype=float) for v in (xa, ya, xb, yb))
    usable = np.isfinite(xa) & np.isfinite(ya) & (np.abs(xa) < 1e12) & (np.abs(ya) < 1e12)
    if not np.array_equal(usable, np.isfinite(xb) & np.isfinite(yb) & (np.abs(xb) < 1e12)
                          & (np.abs(yb) < 1e12)):
        return False
    return bool(np.allclose(xa[usable], xb[usable], atol=1e-3)
                and np.allclose(ya[usable], yb[usable], atol=1e-3))


@lru_cache(maxsize=64)
def _transformer(src_wkt: str, dst_wkt: str) -> Transformer:
    return Transformer.from_crs(CRS.from_wkt(src_wkt), CRS.from_wkt(dst_wkt), always_xy=True)


def transformer(src: CRS, dst: CRS) -> Transformer:
    """Cached ``always_xy`` transformer between two CRSs."""
    return _transformer(src.to_wkt(), dst.to_wkt())


LONGITUDE_RANGE = (-180.0, 360.0)
"""Longitudes accepted on input (both the −180..180 and the 0..360 conventions), the same in
the CLI and the HTTP API; they are normalised to [−180, 180)."""


def normalize_longitude(lon_deg: ArrayLike) -> NDArray[np.float64]:
    """Wrap longitudes (degrees) into [-180, 180)."""
    lon = np.asarray(lon_deg, dtype=float)
    return (lon + 180.0) % 360.0 - 180.0


def lonlat_to(crs: CRS, lon_deg: ArrayLike, lat_deg: ArrayLike) -> tuple[NDArray, NDArray]:
    """Project planetocentric lon/lat (degrees) into ``crs``; returns (x, y) in its units."""
    lon = normalize_longitude(lon_deg)
    lat = np.asarray(lat_deg, dtype=float)
    if np.any(np.abs(lat) > 90.0):
        raise LunarCRSError("latitude outside [-90, 90] degrees")
    x, y = transformer(MOON_GEOGRAPHIC, crs).transform(lon, lat)
    return np.asarray(x, dtype=float), np.asarray(y, dtype=float)


def to_lonlat(crs: CRS, x: ArrayLike, y: ArrayLike) -> tuple[NDArray, NDArray]:
    """Inverse of :func:`lonlat_to`: (x, y) in ``crs`` -> (lon, lat) degrees, lon in [-180, 180)."""
    lon, lat = transformer(crs, MOON_GEOGRAPHIC).transform(
        np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    )
    return normalize_longitude(lon), np.asarray(lat, dtype=float)


MOON_GEOD = Geod(a=MOON_RADIUS_M, b=MOON_RADIUS_M)
"""Geodesics on the IAU 2015 lunar sphere."""


def sphere_area_m2(geometry) -> float:
    """Area (m²) of a lon/lat polygon or multipolygon on the lunar sphere (edges are
    geodesics: densify lon/lat-line edges first).

    The sum ``Geod.geometry_area_perimeter`` makes (each ring's signed area, holes by their
    orientation, parts added), with the rings' coordinates read as arrays: its per-ring
    ``.xy`` conversion was most of its time."""
    import shapely

    total = 0.0
    for ring in shapely.get_rings(shapely.get_parts(geometry)):
        lonlat = shapely.get_coordinates(ring)
        total += MOON_GEOD.polygon_area_perimeter(lonlat[:, 0], lonlat[:, 1])[0]
    return abs(total)


def great_circle_distance_m(
    lon1_deg: ArrayLike, lat1_deg: ArrayLike, lon2_deg: ArrayLike, lat2_deg: ArrayLike,
    radius_m: float = MOON_RADIUS_M,
) -> NDArray[np.float64]:
    """Great-circle distance (metres) on a sphere of ``radius_m`` (haversine, stable near 0)."""
    lon1, lat1, lon2, lat2 = (np.radians(np.asarray(v, dtype=float))
                              for v in (lon1_deg, lat1_deg, lon2_deg, lat2_deg))
    h = (np.sin((lat2 - lat1) / 2.0) ** 2
         + np.cos(lat1) * np.cos(lat2) * np.sin((lon2 - lon1) / 2.0) ** 2)
    return 2.0 * radius_m * np.arcsin(np.sqrt(np.clip(h, 0.0, 1.0)))


def polar_stereographic_scale_factor(lat_deg: ArrayLike) -> NDArray[np.float64]:
    """Point scale factor k of the polar stereographic projection true at the pole (sphere).

    k = 2 / (1 + sin|lat|): 1 at the pole, 1.017 at 75°, 1.072 at 60°.
    """
    return 2.0 / (1.0 + np.sin(np.radians(np.abs(np.asarray(lat_deg, dtype=float)))))
