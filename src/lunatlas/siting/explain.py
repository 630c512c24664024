"""A finished siting run's criteria as rasters, and the explanation of a point read back
from them (``lunatlas site explain``: nothing is recomputed, no atlas is touched).

Every grid of the run (the region grid and each finer DEM's own grid) is written as
``site_criteria_<pixel>m.tif``: one float32 band per raw criterion and score, the
suitability, and one 0/1 band per hard constraint (``fails_<name>``), band descriptions
naming them; tags record the observer height and the run's period.
"""

from __future__ import annotations

import math
from pathlib import Path

import rasterio
from pyproj import CRS

from lunatlas.crs import lonlat_to
from lunatlas.data.writers import write_cog
from lunatlas.errors import InputError

PATTERN = "site_criteria_*m.tif"


def plain_value(value) -> float | None:
    """A raster value as JSON: rounded to 1e-6, None where not finite."""
    value = float(value)
    return None if not math.isfinite(value) else round(value, 6)


def write_criteria_rasters(result, out_dir: Path) -> list[Path]:
    """One COG per evaluated grid of a :class:`~lunatlas.siting.pipeline.SitingResult`."""
    paths = []
    for path in out_dir.glob(PATTERN):
        path.unlink()  # a previous run's grids
    for ev in result.evaluations:
        bands = {f"raw_{k}": v for k, v in ev.inputs.raw().items()}
        bands.update({f"score_{k}": v for k, v in ev.scores.items()})
        bands["suitability"] = ev.suitability
        bands.update({f"fails_{k}": v.astype("float32") for k, v in ev.failures.items()})
        bands["darkness_window_limited"] = ev.light.darkness_window_limited.astype("float32")
        tags = {"observer_height_m": str(result.observer_height_m),
                "period": f"{result.times[0]} to {result.times[-1]}",
                "step_hours": str(result.step_hours)}
        paths.append(write_cog(out_dir / f"site_criteria_{ev.spec.pixel_m:.0f}m.tif", bands,
                               ev.grid, tags=tags))
    return paths


def explain_from_rasters(out_dir: Path, lat: float, lon: float) -> dict:
    """Values, scores and failing constraints at (lat, lon) on the finest grid of the run in
    ``out_dir`` that holds the point."""
    paths = sorted(Path(out_dir).glob(PATTERN),
                   key=lambda p: float(p.stem.rsplit("_", 1)[1][:-1]))
    if not paths:
        raise InputError(f"{out_dir}: no finished siting run there (no {PATTERN}); run "
                         f"`lunatlas site --out {out_dir}` first")
    for path in paths:  # finest first
        with rasterio.open(path) as src:
            x, y = (float(v) for v in lonlat_to(CRS.from_user_input(src.crs), lon, lat))
            row, col = src.index(x, y)
            if not (0 <= row < src.height and 0 <= col < src.width):
                continue
            values = src.read(window=((row, row + 1), (col, col + 1)))[:, 0, 0]
            names = src.descriptions
            tags = src.tags()
            pixel = abs(src.transform.a)
        cell = dict(zip(names, values.tolist(), strict=True))
        return {
            "lat": lat, "lon": lon, "run": str(out_dir), "grid": path.name,
            "terrain_m": pixel, "cell": [int(row), int(col)],
            "observer_height_m": float(tags.get("observer_height_m", "nan")),
            "period": tags.get("period", ""),
            "raw": {k[4:]: plain_value(v) for k, v in cell.items() if k.startswith("raw_")},
            "scores": {k[6:]: plain_value(v) for k, v in cell.items() if k.startswith("score_")},
            "suitability": plain_value(cell["suitability"]),
            "excluded_by": [k[6:] for k, v in cell.items() if k.startswith("fails_") and v > 0],
            "longest_darkness_window_limited": bool(cell.get("darkness_window_limited", 0)),
        }
    raise InputError(f"point {lat}, {lon} lies outside every grid of the run in {out_dir}")
