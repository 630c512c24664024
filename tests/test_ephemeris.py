"""Ephemeris: SPICE (spiceypy + DE421 SPK + Moon PA/ME kernels) cross-checked against an
independent path: jplephem reading the ``de421`` package (JPL's own Chebyshev files, with
the lunar physical librations), rotated ICRF → MOON_PA by the Euler angles and
MOON_PA → MOON_ME by the published DE421 constant rotation."""

import numpy as np
import pytest

from lunatlas.ephemeris import (
    azimuth_elevation,
    body_vectors_me,
    sub_point,
    time_grid,
    utc_to_et,
)
from lunatlas.errors import InputError

ARCSEC = np.pi / (180 * 3600)
# MOON_PA → MOON_ME for DE421 (Williams, Boggs & Folkner 2008, JPL IOM 335-JW,DB,WF-20080314-001):
# rotations 67.92" (z), 78.56" (y), 0.30" (x); v_ME = Mᵀ v_PA with M = R3·R2·R1.
PA_TO_ME_ARCSEC = (67.92, 78.56, 0.30)


def _rot(axis, angle):
    c, s = np.cos(angle), np.sin(angle)
    if axis == 1:
        return np.array([[1, 0, 0], [0, c, s], [0, -s, c]])
    if axis == 2:
        return np.array([[c, 0, -s], [0, 1, 0], [s, 0, c]])
    return np.array([[c, s, 0], [-s, c, 0], [0, 0, 1]])


def _pa_to_me():
    a3, a2, a1 = (v * ARCSEC for v in PA_TO_ME_ARCSEC)
    return (_rot(3, a3) @ _rot(2, a2) @ _rot(1, a1)).T


def test_pa_to_me_rotation_reproduces_naif_example():
    # Worked example in NAIF's moon_080317.tf: Earth seen from the Moon at ET 259056665.
    pa = np.array([379908.634, 33385.003, -12516.8859])
    me = np.array([379892.825, 33510.118, -12661.5278])
    np.testing.assert_allclose(_pa_to_me() @ pa, me, atol=2e-3)


def _independent_vectors(et):
    de421 = pytest.importorskip("de421")
    from jplephem.ephem import Ephemeris

    eph = Ephemeris(de421)
    jd = 2451545.0 + np.asarray(et) / 86400.0
    moon_geo = eph.position("moon", jd)
    earth = eph.position("earthmoon", jd) - moon_geo / (1.0 + eph.EMRAT)
    moon = earth + moon_geo
    sun = eph.position("sun", jd)
    phi, theta, psi = eph.position("librations", jd)
    pa_to_me = _pa_to_me()
    out = {"SUN": [], "EARTH": []}
    for i in range(jd.size):
        icrf_to_pa = _rot(3, psi[i]) @ _rot(1, theta[i]) @ _rot(3, phi[i])
        m = pa_to_me @ icrf_to_pa
        out["SUN"].append(m @ (sun[:, i] - moon[:, i]))
        out["EARTH"].append(m @ (earth[:, i] - moon[:, i]))
    return {k: np.array(v) for k, v in out.items()}


def _separation_deg(a, b):
    a = a / np.linalg.norm(a, axis=1, keepdims=True)
    b = b / np.linalg.norm(b, axis=1, keepdims=True)
    return np.degrees(np.arctan2(np.linalg.norm(np.cross(a, b), axis=1), (a * b).sum(axis=1)))


def test_sub_solar_and_sub_earth_points_agree_2020_2040():
    rng = np.random.default_rng(2020)
    start = np.datetime64("2020-01-01T00:00:00")
    seconds = rng.uniform(0, 20 * 365.25 * 86400, size=60).astype("int64")
    times = start + seconds.astype("timedelta64[s]")
    et = utc_to_et(times)
    reference = _independent_vectors(et)
    for body in ("SUN", "EARTH"):
        ours = body_vectors_me(body, times, abcorr="NONE")
        assert _separation_deg(ours, reference[body]).max() < 0.01
        lat1, lon1 = sub_point(ours)
        lat2, lon2 = sub_point(reference[body])
        assert np.abs(lat1 - lat2).max() < 0.01
        assert np.abs((lon1 - lon2 + 180) % 360 - 180).max() < 0.01
        np.testing.assert_allclose(np.linalg.norm(ours, axis=1),
                                   np.linalg.norm(reference[body], axis=1), rtol=1e-6)


def test_physical_sanity_of_sun_and_earth():
    times = time_grid("2026-01-01", "2026-12-31", 24)
    sun = body_vectors_me("SUN", times)
    earth = body_vectors_me("EARTH", times)
    au = 149_597_870.7
    assert np.all(np.abs(np.linalg.norm(sun, axis=1) / au - 1) < 0.035)
    assert np.all((np.linalg.norm(earth, axis=1) > 356_000)
                  & (np.linalg.norm(earth, axis=1) < 407_000))
    lat, lon = sub_point(earth)  # librations keep the sub-Earth point within ~8° of (0, 0)
    assert np.abs(lat).max() < 8 and np.abs(lon).max() < 9
    lat_s, _ = sub_point(sun)  # the Moon's equator is tilted 1.54° to the ecliptic
    assert np.abs(lat_s).max() < 1.7


def test_topocentric_parallax_of_the_earth():
    times = time_grid("2026-03-01", "2026-03-02", 12)
    earth = body_vectors_me("EARTH", times)
    lat, lon = sub_point(earth)
    _, el, _ = azimuth_elevation(earth, lat[0], lon[0])
    assert el[0] == pytest.approx(90.0, abs=1e-6)  # overhead at the sub-Earth point
    _, el_limb, _ = azimuth_elevation(earth, 0.0, lon[0] + 90.0)
    assert abs(el_limb[0]) < 8.0


@pytest.mark.parametrize("start, end, step, message", [
    ("2026-02-01", "2026-01-01", 1, "empty or reversed"),
    ("2026-01-01", "2026-01-01", 1, "empty or reversed"),
    ("2026-01-01", "2026-01-02", 0, "step"),
    ("2026-01-01", "2026-01-02", -3, "step"),
    ("yesterday", "2026-01-02", 1, "not a UTC date"),
])
def test_bad_time_ranges(start, end, step, message):
    with pytest.raises(InputError, match=message):
        time_grid(start, end, step)
