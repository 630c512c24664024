"""Command: site (the main job) and site explain."""

from __future__ import annotations

import json
from pathlib import Path

import click

from lunatlas.cli.app import (
    DEFAULT_OUT,
    LunatlasError,
    cli,
    command_line,
    handle_errors,
    steps_progress,
)


def _run_site(ctx: click.Context, params: dict, progress=None):
    from lunatlas.atlas import Atlas
    from lunatlas.siting import load_criteria, run_siting
    from lunatlas.workflows import build_atlas

    criteria = load_criteria(params["criteria_path"])
    atlas_path = params["atlas_path"] or params["out_dir"] / "atlas.gpkg"
    if not atlas_path.exists():
        build_atlas(atlas_path, data_dir=ctx.obj["data_dir"], command=command_line(ctx))
    store = Atlas(atlas_path)
    features = store.layer("craters")
    area = read_polygons(params["area_path"]) if params["area_path"] else None
    units = store.layer("units")
    unit_target = None
    if params["to_unit"]:
        wanted = params["to_unit"]
        if wanted in units.index:
            unit_target = (wanted, units.loc[[wanted]])
        elif "symbol" in units.columns and (units["symbol"] == wanted).any():
            unit_target = (wanted, units[units["symbol"] == wanted])
        else:
            symbols = sorted(set(units["symbol"].dropna())) if "symbol" in units else []
            raise LunatlasError(f"--to-unit {wanted!r}: no unit with that record id or symbol "
                                f"in {atlas_path} (symbols: {', '.join(symbols)})")
    result = run_siting(params["region"], criteria, features, data_dir=ctx.obj["data_dir"],
                        dem_paths=tuple(params["dem_paths"]), start=params["start"],
                        end=params["end"], step_hours=params["step_hours"],
                        pixel_m=params["pixel_m"], progress=progress, area=area,
                        unit_target=unit_target, units=units,
                        observer_height_m=params["height_m"],
                        correct_datum=not params["no_datum_correction"])
    return result, atlas_path


def dem_files(path: Path) -> list[Path]:
    """The files a DEM is made of: a PDS3 label and its data file, else the file itself."""
    if path.suffix.lower() == ".lbl":
        data = [p for p in (path.with_suffix(".IMG"), path.with_suffix(".img")) if p.exists()]
        return [path, *data[:1]]
    return [path]


def format_site_table(table) -> str:
    """The ranked sites as printed: nights cut by the period shown as ">= N", the terrain
    each site rests on, and the nearest named feature."""
    from lunatlas.siting.pipeline import decimals_for
    from lunatlas.siting.report import night_text

    shown = table[["rank", "name", "lat", "lon", "terrain_m", "suitability",
                   "raw_illumination_fraction", "raw_longest_darkness_days",
                   "raw_earth_visibility_fraction", "in_top3_fraction", "place"]].copy()
    places = [decimals_for(v) for v in table["terrain_m"]]
    shown["lat"] = [f"{v:.{d}f}" for v, d in zip(table["lat"], places, strict=True)]
    shown["lon"] = [f"{v:.{d}f}" for v, d in zip(table["lon"], places, strict=True)]
    shown["terrain_m"] = [f"{v:,.0f}" for v in shown["terrain_m"]]
    shown["raw_longest_darkness_days"] = night_text(table)
    shown.columns = ["rank", "name", "lat", "lon", "terrain m", "suitability", "sunlit",
                     "longest night d", "Earth vis.", "in top 3", "place"]
    return shown.to_string(index=False)


def write_geology_tiles(units, out_dir: Path) -> Path | None:
    """The atlas's units as a global class COG (0.088°/px) for the viewer's geology tiles."""
    import json

    from rasterio.transform import from_origin

    from lunatlas.crs import MOON_GEOGRAPHIC
    from lunatlas.data.writers import write_class_cog
    from lunatlas.geology.grid import rasterise_units

    if units.empty or "symbol" not in units.columns:
        return None
    shape = (2048, 4096)
    transform = from_origin(-180.0, 90.0, 360.0 / shape[1], 180.0 / shape[0])
    codes, symbols = rasterise_units(units, shape, transform)
    return write_class_cog(out_dir / "geology_units.tif", codes, transform, MOON_GEOGRAPHIC,
                           {"symbols": json.dumps(symbols),
                            "source": "atlas units layer (USGS Unified Geologic Map 1:5M)"})


def read_polygons(path: Path):
    """Polygons (any OGR vector file with a lunar CRS) that restrict the candidates."""
    import geopandas as gpd
    from pyproj import CRS

    from lunatlas.crs import require_lunar
    from lunatlas.errors import InputError

    try:
        shapes = gpd.read_file(path)
    except Exception as exc:  # pyogrio raises several kinds for unreadable files
        raise InputError(f"{path}: not a readable vector file ({exc})") from None
    require_lunar(CRS.from_user_input(shapes.crs) if shapes.crs else None, str(path))
    if shapes.empty or not shapes.geom_type.isin(["Polygon", "MultiPolygon"]).all():
        raise InputError(f"{path}: expected polygon features")
    return shapes


@cli.group(invoke_without_command=True)
@click.option("--region", default="south-pole", show_default=True,
              help="south-pole, north-pole, or 'lat,lon,half_width_km'.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_OUT, show_default=True, help="Output folder.")
@click.option("--atlas", "atlas_path", type=click.Path(path_type=Path), default=None,
              help="Atlas to extend (default: OUT/atlas.gpkg, built if absent).")
@click.option("--criteria", "criteria_path", type=click.Path(path_type=Path), default=None,
              help="Criteria TOML (default: the documented bundled one).")
@click.option("--dem", "dem_paths", type=click.Path(path_type=Path), multiple=True,
              help="DEM; repeat to nest several (finest used where it covers). Default: "
                   "every polar DEM in the data folder or cache nested in the embedded "
                   "1.6 km LOLA polar DEM.")
@click.option("--height-m", type=click.FloatRange(0.0, 100.0), default=None,
              help="Observer height above the ground for light and Earth visibility (m); "
                   "default: the criteria file's [observer] height_m (2 m, a lander's "
                   "solar array).")
@click.option("--no-datum-correction", is_flag=True,
              help="Keep each nested DEM's heights as they are (default: shift a DEM onto "
                   "its parent when their offset exceeds the parent's scatter).")
@click.option("--start", default="2026-01-01", show_default=True, help="UTC start.")
@click.option("--end", default="2026-12-31", show_default=True, help="UTC end.")
@click.option("--step", "step_hours", type=float, default=6.0, show_default=True,
              help="Time step (hours).")
@click.option("--pixel-m", type=click.FloatRange(min=10.0), default=None,
              help="Region grid pixel (m); default: the coarsest DEM's (500 m–2 km). Finer "
                   "DEMs are evaluated on their own grids as well.")
@click.option("--points", "points_csv", type=click.Path(path_type=Path), default=None,
              help="Also score these points (CSV: name, lat, lon).")
@click.option("--area", "area_path", type=click.Path(path_type=Path), default=None,
              help="Polygons (GeoJSON/GPKG… in a lunar CRS) restricting the candidates.")
@click.option("--to-unit", default=None,
              help="Also plan a traverse from the top site to this geologic unit (a symbol "
                   "such as pNt, or a record id such as unit:pNt:3).")
@click.pass_context
@handle_errors
def site(ctx: click.Context, **params) -> None:
    """Rank candidate station sites (the main job): atlas, maps and report into --out."""
    ctx.obj["site_params"] = params
    if ctx.invoked_subcommand is not None:
        return
    import time

    import pandas as pd

    from lunatlas.atlas import edit
    from lunatlas.data.fetch import sha256_of
    from lunatlas.maps.siting import plot_constraints, plot_sensitivity, plot_suitability
    from lunatlas.siting.criteria import default_criteria_text
    from lunatlas.siting.report import site_records, traverse_records, write_report

    started = time.perf_counter()
    points = None
    if params["points_csv"]:
        try:
            points = pd.read_csv(params["points_csv"])
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise LunatlasError(f"{params['points_csv']}: not a readable CSV ({exc})") from None
        missing = [c for c in ("name", "lat", "lon") if c not in points.columns]
        if missing:
            raise LunatlasError(f"{params['points_csv']}: missing column(s) {missing}; "
                                "expected name, lat, lon")
    out_dir: Path = params["out_dir"]
    out_dir.mkdir(parents=True, exist_ok=True)
    steps = ["choosing terrain", "ephemeris", "horizons", "illumination and Earth visibility",
             "criteria", "sensitivity", "traverses"]
    with steps_progress(len(steps)) as progress:
        task = progress.add_task("siting", total=len(steps))

        def step(message: str) -> None:
            progress.update(task, description=message)
            progress.advance(task)

        result, atlas_path = _run_site(ctx, params, step)
    click.echo(f"terrain: {result.terrain.stack.describe()}; observer "
               f"{result.observer_height_m:g} m above ground", err=True)
    for note in result.terrain.datum_notes():
        click.echo(f"vertical datum: {note}", err=True)
    if result.terrain.warning:
        click.echo(f"warning: {result.terrain.warning}", err=True)
    command = command_line(ctx)
    sites = site_records(result, f"siting {params['region']}")
    traverses = traverse_records(result, "lunatlas site")

    def stage(change, store) -> None:
        """Replace only the records this job owns (site:*, traverse:*): curator-accepted
        assessments and other institutions' records stay."""
        for layer, frame, prefix in (("sites", sites, "site:"),
                                     ("traverses", traverses, "traverse:")):
            held = store.layer(layer).index if store is not None else []
            stale = [rid for rid in held if str(rid).startswith(prefix)
                     and rid not in set(frame.get("record_id", []))]
            if stale:
                change.remove(layer, stale, "lunatlas site")
            if not frame.empty:
                change.upsert(layer, frame, "lunatlas site")

    with edit(atlas_path, f"siting {params['region']}", command) as change:
        change.prepare(stage)
    from lunatlas.atlas import Atlas
    from lunatlas.data.writers import write_cog
    from lunatlas.siting.explain import write_criteria_rasters
    from lunatlas.terrain import hillshade

    write_criteria_rasters(result, out_dir)
    for filename, array in (
            ("hillshade.tif", hillshade(result.grid, exaggeration=3.0).to_numpy()),
            ("suitability.tif", result.suitability),
            ("illumination_fraction.tif", result.light.illumination_fraction)):
        write_cog(out_dir / filename, {filename[:-4]: array}, result.grid)
    from lunatlas.data import load_global_dem

    global_dem = load_global_dem(ctx.obj["data_dir"])
    write_cog(out_dir / "hillshade_global.tif",
              {"hillshade": hillshade(global_dem, exaggeration=3.0).to_numpy()}, global_dem)
    figures = {"suitability": plot_suitability(result, out_dir / "site_suitability.png"),
               "constraints": plot_constraints(result, out_dir / "site_constraints.png"),
               "sensitivity": plot_sensitivity(result, out_dir / "site_sensitivity.png")}
    from lunatlas.maps import render_south_polar_map

    snapshot = Atlas(atlas_path).at()
    layers = {n: snapshot.layer(n) for n in ("craters", "samples", "sites", "units")}
    write_geology_tiles(layers["units"], out_dir)
    if params["region"] == "south-pole":
        figures["atlas"] = render_south_polar_map(
            result.terrain.dem, layers, out_dir / "map_south_polar.png",
            title=f"Lunatlas south polar view, edition {snapshot.edition}: ranked sites")
    criteria_text = (Path(params["criteria_path"]).read_text("utf-8")
                     if params["criteria_path"] else default_criteria_text())
    provenance = [{"input": f"terrain ({layer.pixel_m:,.0f} m/px)",
                   "dataset": f"{layer.label} ({path.name})",
                   "sha256": sha256_of(path)[:16] + "…"}
                  for layer in result.terrain.stack.layers for path in dem_files(layer.path)]
    provenance += [
        {"input": "ephemeris", "dataset": "de421-spk + moon-frame-kernels + naif-lsk",
         "sha256": "registry-pinned"},
        {"input": "features", "dataset": f"atlas {atlas_path.name} edition "
         f"{snapshot.edition}", "sha256": sha256_of(atlas_path)[:16] + "…"}]
    wall = time.perf_counter() - started
    md, html_path = write_report(result, out_dir, figures, criteria_text, provenance,
                                 command, wall, snapshot.edition, atlas_path)
    if points is not None:
        scored = result.score_points(points)
        scored.to_csv(out_dir / "scored_points.csv", index=False)
        click.echo(f"scored {len(scored)} points → {out_dir / 'scored_points.csv'}")
    click.echo(format_site_table(result.table))
    click.echo(f"atlas {atlas_path} edition {snapshot.edition}; report {md} and {html_path}; "
               f"wall time {wall:.1f} s")


@site.command("explain")
@click.option("--lat", type=click.FloatRange(-90.0, 90.0), required=True,
              help="Latitude (°).")
@click.option("--lon", type=click.FloatRange(-180.0, 360.0), required=True,
              help="Longitude (° east; −180..180 or 0..360, normalised).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
@click.pass_context
@handle_errors
def site_explain(ctx: click.Context, lat: float, lon: float, as_json: bool) -> None:
    """Why a place is (not) a candidate, from the run `site --out DIR` finished: its values,
    scores and failing constraints on the finest grid there (nothing is recomputed and no
    atlas is created)."""
    from lunatlas.crs import normalize_longitude
    from lunatlas.siting.explain import explain_from_rasters

    out_dir: Path = ctx.obj["site_params"]["out_dir"]
    lon = float(normalize_longitude(lon))
    info = explain_from_rasters(out_dir, lat, lon)
    if as_json:
        click.echo(json.dumps(info, indent=2))
        return
    from rich.table import Table

    from lunatlas.cli.app import stdout

    click.echo(f"{lat:.4f}°, {lon:.4f}°E on the "
               f"{info['terrain_m']:g} m grid of {info['run']}: suitability "
               f"{'—' if info['suitability'] is None else format(info['suitability'], '.3f')}"
               f"; excluded by: {', '.join(info['excluded_by']) or 'nothing'}")
    table = Table(title=None)
    for column in ("quantity", "value"):
        table.add_column(column)
    for name, value in info["raw"].items():
        table.add_row(name, "—" if value is None else f"{value:.4g}")
    for name, value in info["scores"].items():
        table.add_row(f"{name} score (0–1)", "—" if value is None else f"{value:.3f}")
    stdout.print(table)
