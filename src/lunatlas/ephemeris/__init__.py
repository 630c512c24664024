"""Sun and Earth seen from the lunar surface, from JPL DE421 (SPICE kernels, offline).

Frame: MOON_ME (mean Earth / polar axis, DE421), the frame of LOLA DEMs. Times are UTC
(``numpy.datetime64``); distances km; angles degrees.
"""

from lunatlas.ephemeris.geometry import (
    azimuth_elevation,
    enu_basis,
    grid_convergence_deg,
    sub_point,
    surface_point_me,
)
from lunatlas.ephemeris.spice import body_vectors_me, sun_earth_vectors_me, utc_to_et
from lunatlas.ephemeris.times import time_grid

__all__ = [
    "azimuth_elevation",
    "body_vectors_me",
    "enu_basis",
    "grid_convergence_deg",
    "sub_point",
    "sun_earth_vectors_me",
    "surface_point_me",
    "time_grid",
    "utc_to_et",
]
