"""Lunatlas: a lunar geologic atlas that turns into station-siting decisions.

Capabilities live in sub-packages named after them: ``crs``, ``data``, ``atlas``,
``terrain``, ``maps`` and ``cli`` (later: ``samples``, ``chronology``, ``ephemeris``,
``illumination``, ``siting``, ``traverse``, ``web``).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("lunatlas")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
