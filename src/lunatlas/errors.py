"""Exception classes. Every message names the input (file, dataset, field) and what was expected.

Interfaces catch :class:`LunatlasError` and print its message; anything else is a bug.
"""

from __future__ import annotations


class LunatlasError(Exception):
    """Base class of every error Lunatlas raises on purpose."""


class InputError(LunatlasError, ValueError):
    """A user-supplied value or file does not meet expectations."""


class DatasetError(LunatlasError):
    """A dataset is unknown, unavailable offline, or cannot be read."""


class ChecksumError(DatasetError):
    """A file's SHA-256 differs from the registry's."""

    def __init__(self, path: str, expected: str, actual: str) -> None:
        self.path, self.expected, self.actual = path, expected, actual
        super().__init__(
            f"{path}: SHA-256 mismatch: expected {expected}, got {actual}. "
            "The file is corrupt, truncated or a different version; delete it and fetch again."
        )


class RasterError(InputError):
    """A raster is missing, unreadable, or has no usable georeferencing."""


class LunarCRSError(InputError):
    """A dataset's coordinate reference system is missing or not lunar."""


class AtlasError(LunatlasError):
    """An atlas cannot be opened, read or written."""


class NotAnAtlasError(AtlasError):
    """The file exists but is not a Lunatlas atlas GeoPackage."""
