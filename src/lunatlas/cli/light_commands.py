"""Commands: light point, light map."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import click

from lunatlas.cli.app import (
    DEFAULT_OUT,
    cli,
    handle_errors,
    plot_option,
    steps_progress,
)
from lunatlas.crs import LONGITUDE_RANGE
from lunatlas.ephemeris.times import time_grid


@cli.group()
def light() -> None:
    """Sunlight, darkness and Earth visibility from a DEM and JPL DE421."""


def _terrain(ctx: click.Context, dem_paths: tuple[Path, ...], pole: str | None,
             no_datum_correction: bool):
    """The DEMs given (nested), else the best terrain the registry finds for the place."""
    from lunatlas.siting.terrain import choose_terrain

    choice = choose_terrain(pole, ctx.obj["data_dir"], tuple(dem_paths),
                            not no_datum_correction)
    click.echo(f"terrain: {choice.stack.describe()}", err=True)
    for note in choice.datum_notes():
        click.echo(f"vertical datum: {note}", err=True)
    if choice.warning:
        click.echo(f"warning: {choice.warning}", err=True)
    return choice.stack


time_options = [
    click.option("--start", required=True, help="UTC start, e.g. 2026-01-01."),
    click.option("--end", required=True, help="UTC end (inclusive)."),
    click.option("--step", "step_hours", type=float, default=6.0, show_default=True,
                 help="Time step (hours)."),
    click.option("--dem", "dem_paths", type=click.Path(path_type=Path), multiple=True,
                 help="DEM raster; repeat to nest several (the finest is used where it "
                      "covers). Default: the polar DEMs the registry finds, else the "
                      "embedded global DEM."),
    click.option("--height-m", type=click.FloatRange(0.0, 100.0), default=0.0,
                 show_default=True, help="Observer height above the ground (m)."),
    click.option("--no-datum-correction", is_flag=True,
                 help="Keep nested DEMs' heights as they are (default: shift each onto its "
                      "parent when their offset exceeds the parent's scatter)."),
    click.option("--azimuths", "n_azimuths", type=click.IntRange(4, 3600), default=None,
                 help="Number of horizon azimuths."),
    click.option("--max-distance-km", type=click.FloatRange(min=1.0), default=None,
                 help="Terrain farther than this is ignored for horizons (km; default 150, "
                      "beyond the farthest terrain that can shadow the poles)."),
]


def with_time_options(func: Callable) -> Callable:
    for option in reversed(time_options):
        func = option(func)
    return func


@light.command("point")
@click.option("--lat", type=click.FloatRange(-90.0, 90.0), required=True,
              help="Latitude (°, planetocentric).")
@click.option("--lon", type=click.FloatRange(*LONGITUDE_RANGE), required=True,
              help="Longitude (° east; −180..180 or 0..360, normalised).")
@with_time_options
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
@plot_option("Write the time-series plot (PNG, SVG or PDF by suffix).")
@click.pass_context
@handle_errors
def light_point_command(ctx: click.Context, lat: float, lon: float, start: str, end: str,
                        step_hours: float, dem_paths: tuple[Path, ...], height_m: float,
                        no_datum_correction: bool, n_azimuths: int | None,
                        max_distance_km: float | None, as_json: bool,
                        plot_path: Path | None) -> None:
    """Illumination and Earth visibility time series at one point (memory follows the
    rays traced, not the size of the DEMs)."""
    from lunatlas.crs import normalize_longitude
    from lunatlas.illumination import light_point

    lon = float(normalize_longitude(lon))
    time_grid(start, end, step_hours)  # dates checked before any DEM is opened
    from lunatlas.siting.terrain import pole_of_latitude

    stack = _terrain(ctx, dem_paths, pole_of_latitude(lat), no_datum_correction)
    point = light_point(stack, lat, lon, start, end, step_hours, n_azimuths=n_azimuths or 180,
                        max_distance_m=(max_distance_km or 150.0) * 1000.0,
                        observer_height_m=height_m)
    summary = point.summary()
    if plot_path is not None:
        from lunatlas.maps.light import plot_point_series

        plot_point_series(point, plot_path)
        summary["plot"] = str(plot_path)
    if as_json:
        click.echo(json.dumps(summary, indent=2))
        return
    click.echo(f"{lat:.4f}°, {lon:.4f}°E  {summary['start']} → {summary['end']} "
               f"every {step_hours:g} h ({summary['samples']} samples), observer "
               f"{height_m:g} m above ground on {summary['dem']} "
               f"({summary['horizon_pixel_m']:,.0f} m/px)")
    click.echo(f"  illumination fraction     {summary['illumination_fraction']:.2f}")
    if summary["never_lit"]:
        click.echo("  never lit during the period (a permanently shadowed region only if "
                   "the period spans the 18.6-year cycle)")
    else:
        cut = ">= " if summary["longest_darkness_window_limited"] else ""
        click.echo(f"  longest darkness          {cut}{summary['longest_darkness_days']:.2f}"
                   " days" + (" (cut by the period's start or end)" if cut else ""))
    click.echo(f"  Earth visibility fraction {summary['earth_visibility_fraction']:.2f}")
    cut = ">= " if summary["longest_earth_gap_window_limited"] else ""
    click.echo(f"  longest gap without Earth {cut}{summary['longest_earth_gap_days']:.2f} days")
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
                      dem_paths: tuple[Path, ...], height_m: float,
                      no_datum_correction: bool, n_azimuths: int | None,
                      max_distance_km: float | None, out_dir: Path, pole: str,
                      lat_limit: float, pixel_m: float | None, scheduler: str,
                      workers: int) -> None:
    """Illumination, longest night, PSR and Earth-visibility maps (COG + PNG)."""
    import numpy as np

    from lunatlas.data.writers import write_cog
    from lunatlas.ephemeris import sun_earth_vectors_me, time_grid
    from lunatlas.illumination import light_map, light_map_distributed
    from lunatlas.illumination.stacked import grid_from_stack
    from lunatlas.maps.light import plot_light_maps
    from lunatlas.terrain.grids import polar_cap_spec

    times = time_grid(start, end, step_hours)
    from lunatlas.siting.terrain import pole_of_latitude

    # a cap reaching below 70° is beyond the polar DEMs: the global DEM then serves
    stack = _terrain(ctx, dem_paths,
                     pole_of_latitude(-lat_limit if pole == "south" else lat_limit),
                     no_datum_correction)
    finest = stack.finest
    if finest.crs.is_geographic or pixel_m is not None:
        spec = polar_cap_spec(pole, lat_limit, pixel_m or max(finest.pixel_m / 2, 20.0),
                              stack.radius_m)
        crs, transform, shape = spec.crs, spec.transform, spec.shape
    else:  # the finest DEM's own grid
        crs, transform = finest.crs, finest.transform
        shape = (finest.height, finest.width)
    dem = grid_from_stack(stack, crs, transform, shape)
    max_distance = (max_distance_km or 150.0) * 1000.0
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
            maps = light_map(dem, times, step_hours, n_az, max_distance, sun_earth,
                             height_m, stack)
        else:
            from dask.distributed import Client, LocalCluster

            cluster = (LocalCluster(n_workers=workers, threads_per_worker=1, processes=True,
                                    dashboard_address=None) if scheduler == "local" else None)
            with Client(cluster or scheduler) as client:
                maps = light_map_distributed(
                    dem, times, step_hours, client, n_az, max_distance, sun_earth=sun_earth,
                    progress=lambda msg: progress.update(task, description=msg),
                    observer_height_m=height_m, stack=stack)
            if cluster is not None:
                cluster.close()
    bands = {"illumination_fraction": maps.illumination_fraction,
             "longest_darkness_days": maps.longest_darkness_days,
             "earth_visibility_fraction": maps.earth_visibility_fraction,
             "longest_earth_gap_days": maps.longest_earth_gap_days,
             "darkness_window_limited": maps.darkness_window_limited.astype("float32"),
             "never_lit": maps.never_lit.astype("float32")}
    spans_cycle = (times[-1] - times[0]) >= np.timedelta64(int(18.6 * 365.25), "D")
    dark_name = ("permanently shadowed (never lit over the 18.6-year cycle)" if spans_cycle
                 else "never lit during the period")
    units = {"illumination_fraction": "1", "longest_darkness_days": "d",
             "earth_visibility_fraction": "1", "longest_earth_gap_days": "d",
             "darkness_window_limited": "1 = longest night cut by the period (read as >=)",
             "never_lit": f"1 = {dark_name}"}
    tif = write_cog(out_dir / "illumination.tif", bands, dem, units)
    png = plot_light_maps(dem, {
        "illumination fraction": (maps.illumination_fraction, "magma", "fraction"),
        "longest darkness": (maps.longest_darkness_days, "viridis_r", "days"),
        "Earth visibility": (maps.earth_visibility_fraction, "Blues", "fraction"),
        dark_name: (np.where(np.isfinite(maps.illumination_fraction),
                             maps.never_lit.astype(float), np.nan), "binary", dark_name),
    }, out_dir / "illumination.png", f"{start} → {end}, every {step_hours:g} h, observer "
       f"{height_m:g} m above ground; terrain {stack.describe()}",
       window_limited=maps.darkness_window_limited)
    lit = np.nanmax(maps.illumination_fraction)
    click.echo(f"wrote {tif} and {png}; best illumination {lit:.2f}, "
               f"{int(maps.never_lit.sum())} cells {dark_name}")
