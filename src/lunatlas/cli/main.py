"""``lunatlas`` command-line entry point (``lunatlas.cli.main:cli``).

Every command catches :class:`lunatlas.errors.LunatlasError`, prints its message (which names
the file/field at fault) and exits with status 1; usage errors exit with status 2. The
commands live in one module per group; importing them registers them on the group.
"""

from lunatlas.cli import (  # noqa: F401  (registers the commands)
    atlas_commands,
    light_commands,
    science_commands,
    site_commands,
    web_commands,
)
from lunatlas.cli.app import cli

__all__ = ["cli"]

if __name__ == "__main__":  # pragma: no cover
    cli()
