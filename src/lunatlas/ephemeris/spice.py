"""Sun and Earth vectors in MOON_ME from SPICE (spiceypy) with DE421 and the Moon kernels.

Kernels come from the dataset registry (``de421-spk``, ``moon-frame-kernels``,
``naif-lsk``), read by path; they are loaded into SPICE's kernel pool once per process.
This module is the reader at the edge: engines receive plain arrays.
"""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np
import spiceypy

from lunatlas.data.fetch import fetch

_lock = threading.Lock()
_loaded: set[str] = set()
KERNEL_DATASETS = ("naif-lsk", "de421-spk", "moon-frame-kernels")
MOON_FRAME = "MOON_ME"


def load_kernels(data_dir: Path | None = None) -> list[Path]:
    """Furnish the leap-second, DE421 SPK and Moon frame kernels (idempotent)."""
    paths = [p for name in KERNEL_DATASETS for p in fetch(name, data_dir=data_dir)]
    with _lock:
        for path in paths:
            if str(path) not in _loaded:
                spiceypy.furnsh(str(path))
                _loaded.add(str(path))
    return paths


def utc_to_et(times: np.ndarray) -> np.ndarray:
    """UTC datetime64 values → SPICE ephemeris time (TDB seconds past J2000)."""
    load_kernels()
    stamps = np.asarray(times, dtype="datetime64[ms]")
    with _lock:
        return np.array([spiceypy.str2et(str(t).replace("T", " ")) for t in stamps.ravel()],
                        dtype=float).reshape(stamps.shape)


def body_vectors_me(body: str, times: np.ndarray, abcorr: str = "LT+S") -> np.ndarray:
    """Moon-centred position of ``body`` (km, MOON_ME) at UTC ``times``; shape (T, 3).

    ``abcorr`` is SPICE's aberration correction: ``LT+S`` gives apparent directions as seen
    from the Moon; ``NONE`` gives geometric positions.
    """
    et = utc_to_et(np.atleast_1d(times))
    with _lock:
        positions, _ = spiceypy.spkpos(body, et, MOON_FRAME, abcorr, "MOON")
    return np.asarray(positions, dtype=float).reshape(-1, 3)


def sun_earth_vectors_me(times: np.ndarray, abcorr: str = "LT+S") -> tuple[np.ndarray,
                                                                            np.ndarray]:
    """Sun and Earth positions (km, MOON_ME) relative to the Moon's centre, shape (T, 3)."""
    return body_vectors_me("SUN", times, abcorr), body_vectors_me("EARTH", times, abcorr)
