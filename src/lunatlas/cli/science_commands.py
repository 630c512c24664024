"""Commands: samples, chronology."""

from __future__ import annotations

import json
import math
from pathlib import Path

import click
from rich.table import Table

from lunatlas.cli.app import (
    atlas_option,
    cli,
    command_line,
    handle_errors,
    plot_option,
    stdout,
)


@cli.group()
def samples() -> None:
    """Returned samples: the registry and new analyses that enrich the atlas."""


@samples.command("list")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@atlas_option
def samples_list(as_json: bool, atlas_path: Path) -> None:
    """Returned samples and their ages: the atlas's (with added analyses and discordance
    flags) when --atlas exists, else the bundled registry."""
    from lunatlas.samples import missions, unit_ages

    if atlas_path.exists():
        from lunatlas.atlas import Atlas

        layer = Atlas(atlas_path).layer("samples")
        rows = layer.assign(landing_lat=layer.geometry.y, landing_lon=layer.geometry.x,
                            method=layer["age_method"]).reset_index()
        title = f"Samples in {atlas_path}"
    else:
        rows = unit_ages().merge(missions(), on="mission")
        rows["reference"] = rows["reference"] + " doi:" + rows["doi"]
        rows["discordance"] = ""
        title = "Returned samples and unit ages (bundled registry)"
    if as_json:
        click.echo(rows.drop(columns="geometry", errors="ignore").to_json(orient="records",
                                                                          indent=2))
        return
    table = Table(title=title)
    for column in ("mission", "sample", "landing", "unit", "age (Ga)", "method", "reference",
                   "discordance"):
        table.add_column(column, overflow="fold")
    for r in rows.itertuples():
        table.add_row(r.mission, str(r.sample_id), f"{r.landing_lat:.3f}°, {r.landing_lon:.3f}°E",
                      str(r.unit or ""), age_text(r.age_ga, r.age_sigma_ga), str(r.method),
                      str(r.reference), str(r.discordance or ""))
    stdout.print(table)


def age_text(age: float, sigma: float) -> str:
    """"3.150 ± 0.040", the age alone without a σ, "—" without an age."""
    if age is None or math.isnan(age):
        return "—"
    if sigma is None or math.isnan(sigma):
        return f"{age:.3f}"
    return f"{age:.3f} ± {sigma:.3f}"


@samples.command("add")
@click.argument("analyses_file", type=click.Path(path_type=Path))
@atlas_option
@click.option("--strict", is_flag=True,
              help="Refuse the file if an age is more than 3σ from its unit's accepted age "
                   "(default: add it with a discordance flag).")
@click.pass_context
@handle_errors
def samples_add(ctx: click.Context, analyses_file: Path, atlas_path: Path,
                strict: bool) -> None:
    """Ingest new analyses (CSV/JSON); refit the chronology and re-date units (one edition)."""
    from lunatlas.workflows import add_analyses

    result = add_analyses(atlas_path, analyses_file, command_line(ctx), strict)
    click.echo(f"{atlas_path}: edition {result.edition}: {result.added} analyses added, "
               f"{result.redated} unit(s) re-dated")
    for note in result.discordant:
        click.echo(f"warning: discordant age, added with a flag: {note}", err=True)
    if result.calibration is not None:
        cf = result.calibration.cf
        click.echo(f"chronology ({result.calibration.mode}): N(1) = {cf.a:.4e}·(exp({cf.b:.4g}"
                   f"·T) − 1) + {cf.c:.4e}·T")
    click.echo(f"see the changes: lunatlas atlas diff {max((result.edition or 1) - 1, 1)} "
               f"{result.edition} --atlas {atlas_path}")

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


@chronology.command("points")
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
@click.option("--csv", "as_csv", is_flag=True,
              help="The table as CSV (fill in N(1) and pass it to `calibrate --points`).")
def chronology_points(as_json: bool, as_csv: bool) -> None:
    """The bundled calibration table: each site's age and, where confirmed, its N(1)."""
    from lunatlas.samples.registry import calibration_table

    frame = calibration_table()
    if as_csv:
        click.echo(frame.to_csv(index=False), nl=False)
        return
    if as_json:
        records = frame.astype(object).where(frame.notna(), None).to_dict(orient="records")
        click.echo(json.dumps(records, indent=2, ensure_ascii=False))
        return
    table = Table(title="Calibration sites: crater density N(1) (km⁻², D ≥ 1 km) and age (Ga)")
    for column in ("site", "age (Ga)", "N(1) (km⁻²)", "status"):
        table.add_column(column, overflow="fold")
    for r in frame.itertuples():
        age = f"{r.age_ga:g}" + ("" if math.isnan(r.age_sigma_ga) else f" ± {r.age_sigma_ga:g}")
        n1 = ("" if math.isnan(r.n1_per_km2)
              else f"({r.n1_per_km2 * 1e3:.3f} ± {r.n1_sigma_per_km2 * 1e3:.3f})e-3")
        table.add_row(r.site, age, n1 or r.n1_source, r.status)
    stdout.print(table)
    click.echo("Rows marked 'age only' lack a published N(1) that could be confirmed offline; "
               "they are listed, not fitted. Supply densities with `lunatlas chronology "
               "calibrate --points CSV`. References: --json.")


@chronology.command("calibrate")
@click.option("--points", "points_file", type=click.Path(path_type=Path), default=None,
              help="CSV of calibration points: site, n1_per_km2, n1_sigma_per_km2, age_ga, "
                   "age_sigma_ga[, reference]. Default: the classic set (second-hand) and "
                   "the new points (Chang'e 5 and 6), as an atlas built now would use them.")
@click.option("--from-atlas", is_flag=True,
              help="Use the calibration points stored in the atlas (--atlas) instead.")
@atlas_option
@click.option("--base", default="yue2022", show_default=True,
              help="Chronology whose b (and, with fewer than 3 points, shape) the fit keeps.")
@click.option("--free-b", is_flag=True,
              help="Fit b too (needs ≥ 4 points; poorly constrained on the classic points).")
@click.option("--name", default="calibrated", show_default=True, help="Name of the result.")
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="Write the fitted function (JSON).")
@plot_option("Write the calibration plot (PNG, SVG or PDF by suffix).")
@click.pass_context
@handle_errors
def chronology_calibrate(ctx: click.Context, points_file: Path | None, from_atlas: bool,
                         atlas_path: Path, base: str, free_b: bool, name: str,
                         out_path: Path | None, plot_path: Path | None) -> None:
    """Fit N(1) = a·(e^{bT} − 1) + c·T to calibration points, with leave-one-out shifts."""
    from lunatlas.chronology import get_system
    from lunatlas.chronology.calibration import fit_chronology

    if points_file is not None or from_atlas:
        points = _points_from_table(points_file, atlas_path if from_atlas else None)
    else:
        from lunatlas.samples.enrich import registry_calibration_points

        points = registry_calibration_points(ctx.obj["data_dir"])
    base_system = get_system(base)
    result = fit_chronology(points, name, base_system.cf, free_b=free_b)
    cf, sig = result.cf, result.sigmas
    plural = "" if len(points) == 1 else "s"
    click.echo(f"{name} ({result.mode} fit, {len(points)} point{plural}): N(1) = "
               f"{cf.a:.4e}·(exp({cf.b:.4g}·T) − 1) + {cf.c:.4e}·T")
    if result.mode == "scale":
        click.echo(f"  scale on {base}: {result.scale:.4f} ± {sig[0]:.4f}")
    else:
        b_text = (f"{sig[1]:.3g}" if result.mode == "full"
                  else f"held at {base_system.name}'s value")
        click.echo(f"  a = {cf.a:.3e} ± {sig[0]:.2e}   b = {cf.b:.4g} ({b_text})   "
                   f"c = {cf.c:.3e} ± {sig[2]:.2e}")
    table = Table(title="Calibration points", title_justify="left")
    for column in ("site", "N(1) km⁻²", "age (Ga)", "N(1) from", "leave one out"):
        table.add_column(column, overflow="fold")
    for p in points:
        table.add_row(p.name, f"{p.n1:.3e} ± {p.n1_sigma:.1e}",
                      f"{p.age_ga:.3f} ± {p.age_sigma_ga:.3f}", p.origin.split(" + ")[0],
                      f"{result.leave_one_out[p.name]:.1%}" if p.name in result.leave_one_out
                      else "")
    stdout.print(table)
    click.echo("leave-one-out shift: the most N(1)(T) moves over 1–4 Ga without that point")
    if out_path is not None:
        out_path.write_text(json.dumps({"name": name, "a": cf.a, "b": cf.b, "c": cf.c,
                                        "mode": result.mode, "base": base,
                                        "covariance": result.covariance.tolist(),
                                        "leave_one_out": result.leave_one_out,
                                        "points": [p.__dict__ for p in points]}, indent=2))
        click.echo(f"  wrote {out_path}")
    if plot_path is not None:
        from lunatlas.chronology import SYSTEMS
        from lunatlas.maps.calibration import plot_calibration
        from lunatlas.samples.registry import calibration_table

        table = calibration_table()
        fitted = {p.name for p in points}
        missing = [(r.site, float(r.age_ga)) for r in table.itertuples()
                   if r.site not in fitted and math.isnan(r.n1_per_km2)
                   and not str(r.n1_source)]
        references = {SYSTEMS[k].name: SYSTEMS[k].cf for k in dict.fromkeys(
            ("neukum1983", "yue2022", base)) if k in SYSTEMS}
        plot_calibration(result, references, plot_path, missing)
        click.echo(f"  wrote {plot_path}")


def _points_from_table(points_file: Path | None, atlas_path: Path | None):
    """Calibration points from a CSV or the atlas's calibration layer (validated)."""
    import pandas as pd

    from lunatlas.chronology.calibration import CalibrationPoint
    from lunatlas.errors import InputError

    where = points_file or atlas_path
    if points_file is not None:
        try:
            frame = pd.read_csv(points_file)
        except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
            raise InputError(f"{points_file}: not a readable CSV ({exc})") from None
    else:
        from lunatlas.atlas import Atlas

        frame = Atlas(atlas_path).layer("calibration")
    frame = frame.reset_index(drop=True)
    needed = ["site", "n1_per_km2", "n1_sigma_per_km2", "age_ga", "age_sigma_ga"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise InputError(f"{where}: missing column(s) {missing}")
    numeric = needed[1:]
    values = frame[numeric].apply(pd.to_numeric, errors="coerce")
    not_numbers = frame[numeric].notna() & values.isna()
    if not_numbers.to_numpy().any():
        row, column = next((i, c) for i in frame.index for c in numeric
                           if not_numbers.at[i, c])
        raise InputError(f"{where}: line {row + 2}, field {column!r}: "
                         f"expected a number, got {frame.at[row, column]!r}")
    usable = values.notna().all(axis=1)
    skipped = frame.loc[~usable, "site"].astype(str).tolist()
    if skipped:
        click.echo(f"skipped {len(skipped)} site(s) without N(1) ± σ and age ± σ: "
                   f"{', '.join(skipped)}")
    reference_column = next((c for c in ("reference", "n1_reference") if c in frame.columns),
                            None)
    references = (frame[reference_column].where(frame[reference_column].notna(), "")
                  if reference_column else pd.Series("", index=frame.index))
    origin = (frame["source"].where(frame["source"].notna(), "") if "source" in frame.columns
              else pd.Series(str(where), index=frame.index))
    return [CalibrationPoint(str(frame.at[i, "site"]), *map(float, values.loc[i]),
                             str(references[i]), str(origin[i]))
            for i in frame.index[usable]]


@chronology.command("fit")
@click.argument("count_file", type=click.Path(path_type=Path))
@click.option("--chronology", "system_key", default=None,
              help="Chronology system: a key, short name or craterstats name (see "
                   "`lunatlas chronology list`). Default: the atlas's fitted chronology "
                   "(--atlas), else its base (yue2022).")
@atlas_option
@click.option("--range", "d_range", type=float, nargs=2, required=True,
              help="Diameter range D_MIN D_MAX (km).")
@click.option("--method", type=click.Choice(["poisson", "b-poisson", "c-fit", "d-fit"]),
              default="poisson", show_default=True,
              help="Fit method (craterstats' names): Poisson likelihood, its binned variant, "
                   "cumulative or differential fit.")
@click.option("--binning", type=click.Choice(["pseudo-log", "20/decade", "10/decade",
                                              "root-2", "x2"]),
              default="pseudo-log", show_default=True, help="Binning for c-fit/d-fit/plots.")
@click.option("--resurfacing", is_flag=True, help="Resurfacing correction (c-fit).")
@click.option("--area", "area_km2", type=float, default=None,
              help="Count area (km²) for CSV files without an area_km2 column.")
@plot_option("Write the CSFD plot (PNG, SVG or PDF by suffix).")
@click.option("--presentation", "kind", type=click.Choice(["cumulative", "differential", "R"]),
              default="cumulative", show_default=True, help="Plot presentation.")
@click.option("--json", "as_json", is_flag=True, help="Print the fit as JSON.")
@handle_errors
def chronology_fit(count_file: Path, system_key: str | None, atlas_path: Path,
                   d_range: tuple[float, float], method: str, binning: str,
                   resurfacing: bool, area_km2: float | None, plot_path: Path | None,
                   kind: str, as_json: bool) -> None:
    """Model age of a crater count (.scc, .diam, .stat or CSV)."""
    from lunatlas.chronology import fit_age, get_system, read_count
    from lunatlas.samples.enrich import BASE_SYSTEM, fitted_system

    system = get_system(system_key) if system_key else None
    if system is None and atlas_path.exists():
        from lunatlas.atlas import Atlas

        system = fitted_system(Atlas(atlas_path).layer("chronologies"))
    if system is None:
        system = get_system(BASE_SYSTEM)
        if not as_json:
            click.echo(f"no atlas chronology at {atlas_path}: using {system.name}, the "
                       "atlas's base", err=True)
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


@chronology.command("count")
@click.option("--area", "area_path", type=click.Path(path_type=Path), default=None,
              help="Polygons to count in (any OGR vector file in a lunar CRS).")
@click.option("--unit", "unit_symbol", default=None,
              help="Count in every polygon of this geologic unit (atlas units layer).")
@click.option("--region", default=None,
              help="Limit --unit to south-pole, north-pole or 'lat,lon,half_width_km'.")
@click.option("--catalog", "catalogue_name", required=True,
              help="head2010-craters (≥ 20 km), lroc-5-20km-craters (60°S–60°N) or "
                   "lu1319381-south (≥ 1 km, south of 60°S).")
@click.option("--range", "d_range", type=float, nargs=2, default=None,
              help="Diameter range D_MIN D_MAX (km); default: the catalogue's complete range.")
@click.option("--chronology", "system_key", default=None,
              help="Chronology (default: the atlas's fitted one, else yue2022).")
@atlas_option
@click.option("--out", "out_path", type=click.Path(path_type=Path), default=None,
              help="The count as a craterstats .scc (default: beside the atlas).")
@click.pass_context
@handle_errors
def chronology_count(ctx: click.Context, area_path: Path | None, unit_symbol: str | None,
                     region: str | None, catalogue_name: str,
                     d_range: tuple[float, float] | None, system_key: str | None,
                     atlas_path: Path, out_path: Path | None) -> None:
    """Count a catalogue's craters in an area or a geologic unit and fit a model age
    (Poisson; craters whose centres lie inside count)."""
    import shapely

    from lunatlas.chronology import fit_age, get_system, read_count
    from lunatlas.chronology.catalog import (
        MIN_CRATERS,
        count_in_area,
        craters_in,
        diameter_range,
        get_catalogue,
        scc_text,
    )
    from lunatlas.crs import MOON_GEOGRAPHIC
    from lunatlas.data.loaders import load_crater_catalogue
    from lunatlas.errors import InputError
    from lunatlas.samples.enrich import BASE_SYSTEM, fitted_system

    if (area_path is None) == (unit_symbol is None):
        raise InputError("give exactly one of --area FILE or --unit SYMBOL")
    catalogue = get_catalogue(catalogue_name)
    store = None
    if atlas_path.exists():
        from lunatlas.atlas import Atlas

        store = Atlas(atlas_path)
    if area_path is not None:
        from lunatlas.cli.site_commands import read_polygons

        shapes = read_polygons(area_path).to_crs(MOON_GEOGRAPHIC)
        label = area_path.stem
    else:
        if store is None:
            raise InputError(f"--unit {unit_symbol}: no atlas at {atlas_path} (build one with "
                             "`lunatlas atlas build` or pass --atlas)")
        units = store.layer("units")
        shapes = units[units["symbol"] == unit_symbol] if "symbol" in units else units[:0]
        if shapes.empty:
            symbols = sorted(set(units.get("symbol", [])))
            raise InputError(f"--unit {unit_symbol!r}: no such unit in {atlas_path} "
                             f"(symbols: {', '.join(symbols)})")
        label = unit_symbol
    area = shapely.union_all(shapes.geometry.to_numpy())
    if region is not None:
        area = shapely.intersection(area, region_polygon(region))
        label = f"{label} in {region}"
        if area.is_empty:
            raise InputError(f"--region {region}: no part of {label} lies there")
    craters = load_crater_catalogue(catalogue.name, ctx.obj["data_dir"])
    count = count_in_area(area, craters, catalogue, label, d_range)
    fitted = fitted_system(store.layer("chronologies")) if store is not None else None
    system = get_system(system_key) if system_key else fitted or get_system(BASE_SYSTEM)
    out_path = out_path or atlas_path.parent / (
        "count_" + "".join(ch if ch.isalnum() else "_" for ch in label) + f"_{catalogue.name}.scc")
    out_path.parent.mkdir(parents=True, exist_ok=True)
    out_path.write_text(scc_text(count, area, craters_in(area, craters, catalogue, d_range),
                                 f"{catalogue.title}: craters with centres in {label}"),
                        encoding="utf-8")
    written = read_count(out_path)
    n = written.diameters_km.size
    d_lo, d_hi = diameter_range(catalogue, d_range)
    d_hi_fit = min(d_hi, float(written.diameters_km.max()) * 1.01) if n else d_hi
    span = f"≥ {d_lo:g}" if math.isinf(d_hi) else f"{d_lo:g}–{d_hi:g}"
    click.echo(f"{label}: {n} craters of {catalogue.title} with D {span} km on "
               f"{written.area_km2:,.0f} km² (count written to {out_path})")
    if n < MIN_CRATERS:
        click.echo(f"  too few craters for a model age (fewer than {MIN_CRATERS})")
        return
    fit = fit_age(written, system, (d_lo, d_hi_fit), "poisson")
    click.echo(f"  model age {fit.text()} ({system.name}, Poisson, D {d_lo:g}–"
               f"{d_hi_fit:.3g} km)")


def region_polygon(region: str):
    """A region as a lon/lat polygon: the caps beyond ±84° or a local square."""
    import numpy as np
    import shapely

    from lunatlas.crs import to_lonlat
    from lunatlas.siting.terrain import REGIONS, region_spec

    if region in REGIONS:
        limit = REGIONS[region][1]
        return (shapely.box(-180, -90, 180, limit) if limit < 0
                else shapely.box(-180, limit, 180, 90))
    spec = region_spec(region, 1000.0)
    left, bottom, right, top = spec.bounds()
    edge = np.linspace(0.0, 1.0, 33)
    xs = np.concatenate([left + (right - left) * edge, np.full(33, right),
                         right - (right - left) * edge, np.full(33, left)])
    ys = np.concatenate([np.full(33, bottom), bottom + (top - bottom) * edge,
                         np.full(33, top), top - (top - bottom) * edge])
    lon, lat = to_lonlat(spec.crs, xs, ys)
    return shapely.Polygon(np.column_stack([lon, lat]))
