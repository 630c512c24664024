"""Workflows that span capabilities and write the atlas.

They sit above the capability packages they combine (readers in ``lunatlas.data``, engines in
``lunatlas.chronology``, ``lunatlas.geology``, ``lunatlas.samples``, …) and above the store
(``lunatlas.atlas``), and below the interfaces (``lunatlas.cli``, ``lunatlas.web``). The
layering is checked by import-linter (``[tool.importlinter]`` in ``pyproject.toml``).
"""

from lunatlas.workflows.build import BuildResult, build_atlas
from lunatlas.workflows.enrich import EnrichResult, add_analyses

__all__ = ["BuildResult", "EnrichResult", "add_analyses", "build_atlas"]
