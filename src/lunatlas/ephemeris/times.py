"""UTC time grids with validation."""

from __future__ import annotations

import numpy as np

from lunatlas.errors import InputError

MAX_INSTANTS = 1_000_000
"""Most instants in one time grid (18.6 years hourly is 163 000; a year by the minute 526 000):
beyond this a run would take hours and gigabytes, so it is refused."""
EPHEMERIS_SPAN = (np.datetime64("1900-01-01T00:00:00"), np.datetime64("2050-01-01T00:00:00"))
"""UTC span the embedded ephemeris covers: JPL DE421 with the Moon PA kernel
moon_pa_de421_1900-2050 (DE421 alone reaches 1899-07 to 2053-10)."""


def _parse(value: str | np.datetime64, name: str) -> np.datetime64:
    try:
        return np.datetime64(value, "s")
    except (ValueError, TypeError):
        raise InputError(f"{name}: {value!r} is not a UTC date/time (expected e.g. "
                         "2026-01-01 or 2026-01-01T12:00)") from None


def time_grid(start: str | np.datetime64, end: str | np.datetime64,
              step_hours: float) -> np.ndarray:
    """UTC instants from ``start`` to ``end`` inclusive every ``step_hours`` (datetime64[s]).

    Raises :class:`InputError` for a reversed or empty range or a step ≤ 0.
    """
    t0, t1 = _parse(start, "start"), _parse(end, "end")
    if not np.isfinite(step_hours) or step_hours <= 0:
        raise InputError(f"step: {step_hours} h; expected a step > 0 hours")
    if t1 <= t0:
        raise InputError(f"time range {t0} → {t1} is empty or reversed; expected end after start")
    if t0 < EPHEMERIS_SPAN[0] or t1 > EPHEMERIS_SPAN[1]:
        raise InputError(f"time range {t0} → {t1} leaves the ephemeris span "
                         f"{EPHEMERIS_SPAN[0]} → {EPHEMERIS_SPAN[1]} (JPL DE421 with the Moon "
                         "PA kernel 1900–2050)")
    step = np.timedelta64(int(round(step_hours * 3600)), "s")
    if step <= np.timedelta64(0, "s"):
        raise InputError(f"step: {step_hours} h rounds to 0 s")
    count = int((t1 - t0) // step) + 1
    if count > MAX_INSTANTS:
        raise InputError(f"{count:,} instants from {t0} to {t1} every {step_hours:g} h; at most "
                         f"{MAX_INSTANTS:,} (use a longer step)")
    return np.arange(t0, t1 + np.timedelta64(1, "s"), step)
