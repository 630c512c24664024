"""Siting outputs: atlas records (sites, traverses), Markdown and HTML reports."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from lunatlas.crs import MOON_GEOGRAPHIC, to_lonlat
from lunatlas.siting.criteria import CRITERIA


def site_records(result, source: str) -> gpd.GeoDataFrame:
    """Atlas ``sites`` records (points) with per-criterion raw values and scores as JSON."""
    t = result.table
    frame = pd.DataFrame({
        "record_id": "site:" + t["name"], "name": t["name"], "rank": t["rank"].astype("Int64"),
        "score": t["suitability"],
        "scores_json": [json.dumps({c: row[c] for c in t.columns
                                    if c.startswith(("raw_", "score_"))
                                    or c in ("relay_required", "in_top3_fraction",
                                             "region_area_km2", "place", "terrain_m", "dem",
                                             "darkness_window_limited")},
                                   default=_json_value)
                        for _, row in t.iterrows()],
        "source": source,
    })
    return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(t["lon"], t["lat"]),
                            crs=MOON_GEOGRAPHIC)


def _json_value(value):
    """numpy scalars in the site table as JSON numbers/booleans."""
    return value.item() if hasattr(value, "item") else str(value)


def traverse_records(result, source: str) -> gpd.GeoDataFrame:
    """Atlas ``traverses`` records (lines in lon/lat)."""
    t = result.grid.rio.transform()
    rows = []
    for name, target, path in result.traverses:
        r, c = np.array(path.cells).T
        lon, lat = to_lonlat(result.grid.rio.crs, t.c + (c + 0.5) * t.a, t.f + (r + 0.5) * t.e)
        key = "dark" if target.startswith("nearest") else target.split()[-1]
        rows.append({"record_id": f"traverse:{name}:{key}", "name": f"{name} → {key}",
                     "from_site": name, "target": target, "length_km": round(path.length_km, 3),
                     "elevation_gain_m": round(path.elevation_gain_m, 1),
                     "max_slope_deg": round(path.max_slope_deg, 2),
                     "sunlit_fraction": round(path.sunlit_fraction, 3), "source": source,
                     "geometry": shapely.LineString(np.column_stack([lon, lat]))})
    if not rows:
        return gpd.GeoDataFrame({"record_id": []}, geometry=[], crs=MOON_GEOGRAPHIC)
    return gpd.GeoDataFrame(pd.DataFrame(rows), geometry="geometry", crs=MOON_GEOGRAPHIC)


HEADERS = {
    "lat": "lat (°)", "lon": "lon (°E)", "terrain_m": "terrain (m/px)",
    "suitability": "suitability (0–1)", "in_top3_fraction": "in top 3 (share of draws)",
    "relay_required": "relay required",
    **{f"score_{c}": f"{c} score (0–1)" for c in CRITERIA},
    "raw_illumination_fraction": "sunlit (fraction)",
    "raw_longest_darkness_days": "longest night (d)",
    "raw_earth_visibility_fraction": "Earth visible (fraction)",
    "raw_psr_distance_km": "to PSR (km)", "raw_slope_deg": "slope (°)",
    "raw_roughness_deg": "roughness (°)", "raw_science_value": "science value (0–1)",
    "region_area_km2": "region area (km²)",
    "raw_science_units_within_reach": "units within reach",
    "raw_science_epochs_within_reach": "epochs within reach",
    "raw_science_oldest_unit_km": "to a pre-Nectarian unit (km)",
}
"""Report column headings, with units."""


def night_text(table: pd.DataFrame) -> list[str]:
    """Longest nights as printed: ">= N" where the night is cut by the period."""
    return [(">= " if cut else "") + f"{days:.2f}" for days, cut in
            zip(table["raw_longest_darkness_days"], table["darkness_window_limited"],
                strict=True)]


def _units_row(result, site) -> dict:
    """One site's geologic context: the units within reach, nearest first."""
    near = result.units_near(site.row, site.col)
    oldest = [u for u in near if u["epoch"] == "pre-Nectarian"]
    return {"name": site.name, "units": len(near),
            "epochs": ", ".join(sorted({u["epoch"] for u in near})),
            "nearest pre-Nectarian (km)": oldest[0]["distance_km"] if oldest else "beyond reach",
            "units within reach (km)": "; ".join(f"{u['symbol']} {u['distance_km']:.0f}"
                                                 for u in near)}


def _markdown_table(frame: pd.DataFrame) -> str:
    head = "| " + " | ".join(frame.columns) + " |"
    sep = "|" + "---|" * len(frame.columns)
    body = ["| " + " | ".join(str(v) for v in row) + " |" for row in frame.itertuples(index=False)]
    return "\n".join([head, sep, *body])


def write_report(result, out_dir: Path, figures: dict[str, Path], criteria_text: str,
                 provenance: list[dict], command: str, wall_s: float, edition: int | None,
                 atlas_path: Path) -> tuple[Path, Path]:
    """report.md and report.html with the table, maps, sensitivity, criteria, provenance."""
    t = result.table.copy()
    t["raw_longest_darkness_days"] = night_text(t)
    summary = t[["rank", "name", "lat", "lon", "place", "terrain_m", "suitability",
                 "in_top3_fraction", "relay_required"] + [f"score_{c}" for c in CRITERIA]]
    raw = t[["name", "raw_illumination_fraction", "raw_longest_darkness_days",
             "raw_earth_visibility_fraction", "raw_psr_distance_km", "raw_slope_deg",
             "raw_roughness_deg", "raw_science_value", "region_area_km2"]
           + [c for c in ("raw_science_units_within_reach", "raw_science_epochs_within_reach",
                          "raw_science_oldest_unit_km") if c in t.columns]]
    geology = pd.DataFrame([_units_row(result, site) for site in t.itertuples()])
    paths = pd.DataFrame([{"from": n, "to": tgt, "length_km": round(p.length_km, 1),
                           "elevation_gain_m": round(p.elevation_gain_m),
                           "elevation_loss_m": round(p.elevation_loss_m),
                           "max_slope_deg": round(p.max_slope_deg, 1),
                           f"sunlit_fraction at {result.sunlit_at}": round(p.sunlit_fraction, 2)}
                          for n, tgt, p in result.traverses])
    excluded = {k: f"{v.mean():.1%}" for k, v in result.failures.items()}
    lines = [
        "# Lunatlas station siting report", "",
        f"Command: `{command}`  ", f"Atlas: `{atlas_path}` edition {edition}  ",
        f"Period: {result.times[0]} → {result.times[-1]} every {result.step_hours:g} h "
        f"({result.times.size} instants); wall time {wall_s:.1f} s", "",
    ]
    if result.terrain.warning:
        lines += [f"> **Terrain warning:** {result.terrain.warning}", ""]
    lines += ["## Terrain and light model", "",
              f"Terrain stack (finest first): {result.terrain.stack.describe()}. Each site's "
              "values come from the finest DEM's own grid at its place (`terrain_m`); "
              "horizons reach "
              f"{result.max_distance_km:g} km with the Moon's curvature, near field "
              "from the site's grid, far field from the coarser DEMs.  ",
              f"Observer {result.observer_height_m:g} m above the ground (criteria "
              "`[observer] height_m`).  ",
              f"Ice criterion: distance to {result.psr_source}.  ",
              "A longest night written `>= N` touches the start or end of the period: the "
              "night may be longer.", ""]
    lines += [f"- Vertical datum: {note}" for note in result.terrain.datum_notes()]
    lines += ["", "## Ranked candidate sites", "", _markdown_table(summary.rename(columns=HEADERS)),
              "", "Raw criterion values:", "", _markdown_table(raw.rename(columns=HEADERS)), "",
              "`in_top3_fraction`: share of Monte Carlo draws (weights and illumination/Earth "
              "visibility perturbed) in which the site ranks in the top 3.", "",
              f"## Geology within {result.criteria.science.reach_km:g} km (science "
              "criterion)", "",
              _markdown_table(geology) if result.geology is not None else
              "The atlas has no geologic units: the science score used dated craters.", "",
              "## Maps", ""]
    lines += [f"![{name}]({path.name})" for name, path in figures.items()]
    lines += ["", "## Traverses (nearest ground never lit in the period; top site to "
              "runner-up)", "",
              _markdown_table(paths) if not paths.empty else "no reachable never-lit ground",
              "",
              "## Constraints: share of cells each one excludes", "",
              _markdown_table(pd.DataFrame([excluded])), "",
              "## Criteria used", "", "```toml", criteria_text.strip(), "```", "",
              "## Data provenance", "", _markdown_table(pd.DataFrame(provenance)), ""]
    md = out_dir / "report.md"
    text = "\n".join(lines)
    md.write_text(text, encoding="utf-8")
    out_html = out_dir / "report.html"
    out_html.write_text(render_html(text, "Lunatlas siting report"), encoding="utf-8")
    return md, out_html


def render_html(markdown_text: str, title: str) -> str:
    """The Markdown report as a standalone HTML page (Python-Markdown + a Jinja2 template)."""
    import jinja2
    import markdown

    body = markdown.markdown(markdown_text, extensions=["tables", "fenced_code"])
    env = jinja2.Environment(loader=jinja2.PackageLoader("lunatlas.siting", "templates"),
                             autoescape=jinja2.select_autoescape(["html", "j2"]))
    return env.get_template("report.html.j2").render(title=title, body=body)
