"""Shared fixtures. Real data from ../shared/data is used where present; tests that need it
are skipped with the reason when it is absent."""

from __future__ import annotations

from pathlib import Path

import pytest

SHARED_DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The read-only ../shared/data folder (skips the test when absent)."""
    if not (SHARED_DATA / "MANIFEST.md").is_file():
        pytest.skip(f"real-data test: {SHARED_DATA} (shared/data beside the checkout) is absent")
    return SHARED_DATA


@pytest.fixture(scope="session")
def global_dem():
    """The embedded global DEM (fetched once into the cache)."""
    from lunatlas.data import load_global_dem

    return load_global_dem()


@pytest.fixture(scope="session")
def built_atlas(tmp_path_factory) -> Path:
    """An atlas with one edition built from the embedded defaults (do not modify)."""
    from lunatlas.workflows import build_atlas

    path = tmp_path_factory.mktemp("atlas") / "atlas.gpkg"
    build_atlas(path)
    return path


@pytest.fixture(scope="session")
def crater_counts():
    """Folder of craterstats' lunar sample counts (the registry's embedded dataset; the
    same files, by SHA-256, as shared/data/crater_counts)."""
    from lunatlas.data import fetch

    return fetch("craterstats-sample-counts")[0].parent
