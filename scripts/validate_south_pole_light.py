"""Validate south-polar illumination from the terrain stack against published work.

With the 200 m tile nested in the 1.6 km LOLA polar DEM (one year, 6-hourly by default),
at several observer heights:

* the best-lit cells on Connecting Ridge and on the Shackleton rim, beside the values
  published for them (Bussey et al. 2010; Gläser et al. 2014, 2018);
* the rank correlation of the computed illumination with NASA AVGVISIB block-averaged to
  1.08 km (``illumination_reference/avgvisib_south_1km_inner562.csv``; ordering only);
* never-lit cells against the LOLA PSR polygons (area, overlap) over the cap to 75°S on
  the 1.6 km DEM, and inside the 200 m tile;
* the Shackleton floor never lit.

Prints Markdown tables; ``--json`` writes the numbers. Run::

    python scripts/validate_south_pole_light.py --data-dir ../shared/data
"""

from __future__ import annotations

import argparse
import json
import math
import time
from pathlib import Path

import numpy as np
import pandas as pd
from affine import Affine
from rasterio import features as rio_features
from scipy.stats import spearmanr

from lunatlas.crs import MOON_SOUTH_POLAR, lonlat_to, polar_stereographic_scale_factor
from lunatlas.data.fetch import dataset_path
from lunatlas.ephemeris import sun_earth_vectors_me, time_grid
from lunatlas.illumination.light import light_maps
from lunatlas.illumination.pipeline import azimuths, geometry_of
from lunatlas.illumination.stacked import grid_from_stack, grid_horizons
from lunatlas.siting.terrain import load_psr_polygons
from lunatlas.terrain.grids import polar_cap_spec
from lunatlas.terrain.stack import TerrainStack, open_layer

SHACKLETON = (-89.67, 129.78, 20.92)
"""IAU gazetteer: centre latitude, longitude (°E) and diameter (km)."""
DE_GERLACHE = (-88.48, 271.66, 32.71)
BUSSEY_2010 = (-88.74, 124.5)
"""Bussey et al. 2010 (Icarus 208, 558): most illuminated place, 86 % of 2020, "close to the
rim of Shackleton crater at 88.74°S 124.5°E" (as printed in the abstract)."""
PUBLISHED = [
    ("Bussey et al. 2010, Icarus 208:558 (Kaguya topography, 2020, surface)",
     "best point near the Shackleton rim 86 %; two points < 10 km apart lit together 94 %"),
    ("Gläser et al. 2014, Icarus 243:78 (LOLA 20 m, 2 m / 10 m, 19 years)",
     "Connecting Ridge 92.27 % at 2 m, 95.65 % at 10 m; longest nights 3–5 days"),
    ("Gläser et al. 2018, Planet. Space Sci. (LOLA 20 m, 2017–2037)",
     "south-pole sites 69.5–82.9 % at the surface; 77.1–88.0 % at 2 m, maximum on the ridge "
     "between Shackleton and de Gerlache"),
    ("Mazarico et al. 2011, Icarus 211:1066 (LOLA 240 m horizons)",
     "south-polar PSR area 16 055 km² (to 80°S in their maps)"),
]


def _xy(lat: float, lon: float) -> tuple[float, float]:
    x, y = lonlat_to(MOON_SOUTH_POLAR, lon, lat)
    return float(x), float(y)


def _segment_distance(px, py, a, b):
    ax, ay = a
    bx, by = b
    t = np.clip(((px - ax) * (bx - ax) + (py - ay) * (by - ay))
                / ((bx - ax) ** 2 + (by - ay) ** 2), 0.0, 1.0)
    return np.hypot(px - (ax + t * (bx - ax)), py - (ay + t * (by - ay)))


def zones(xx: np.ndarray, yy: np.ndarray) -> dict[str, np.ndarray]:
    """Shackleton rim (9–12.5 km from the centre), floor (< 3 km) and Connecting Ridge
    (the corridor of 12 km half-width between Shackleton's rim and de Gerlache's rim, off
    both rims: the ridge is not straight, so the corridor is wide)."""
    sx, sy = _xy(*SHACKLETON[:2])
    gx, gy = _xy(*DE_GERLACHE[:2])
    r_s = SHACKLETON[2] / 2 * 1000.0
    r_g = DE_GERLACHE[2] / 2 * 1000.0
    d_s = np.hypot(xx - sx, yy - sy)
    ux, uy = (gx - sx) / math.hypot(gx - sx, gy - sy), (gy - sy) / math.hypot(gx - sx, gy - sy)
    start = (sx + ux * r_s, sy + uy * r_s)
    end = (gx - ux * r_g, gy - uy * r_g)
    d_g = np.hypot(xx - gx, yy - gy)
    ridge = ((_segment_distance(xx, yy, start, end) < 12_000.0) & (d_s > 12_500.0)
             & (d_g > r_g + 2000.0))
    return {"Shackleton rim": (d_s >= 9000.0) & (d_s <= 12_500.0),
            "Connecting Ridge": ridge, "Shackleton floor": d_s < 3000.0}


def stack_of(data_dir: Path, tiles: tuple[str, ...]) -> TerrainStack:
    """The 1.6 km LOLA polar DEM with the named registry tiles nested in it."""
    names = ("lola-polar-south-1600m", *tiles)
    return TerrainStack([open_layer(dataset_path(name, data_dir, download=name == names[0]),
                                    name) for name in names])


def tile_maps(stack: TerrainStack, sun, earth, step_hours, n_az, height_m, max_km):
    tile = next(layer for layer in stack.layers if layer.label == "south-pole-200m")
    shape = (tile.height, tile.width)
    horizons, heights = grid_horizons(stack, MOON_SOUTH_POLAR, tile.transform, shape,
                                      azimuths(n_az), max_km * 1000.0, height_m)
    grid = grid_from_stack(stack, MOON_SOUTH_POLAR, tile.transform, shape, heights)
    return grid, light_maps(horizons, geometry_of(grid), sun, earth, step_hours)


def best_in(zone: np.ndarray, grid, maps) -> dict:
    values = np.where(zone, maps.illumination_fraction, -np.inf)
    r, c = np.unravel_index(int(np.argmax(values)), values.shape)
    from lunatlas.crs import to_lonlat

    lon, lat = to_lonlat(MOON_SOUTH_POLAR, float(grid.x[c]), float(grid.y[r]))
    return {"lat": round(float(lat), 3), "lon_e": round(float(lon) % 360.0, 2),
            "illumination": round(float(maps.illumination_fraction[r, c]), 3),
            "longest_night_days": float(maps.longest_darkness_days[r, c]),
            "night_cut_by_period": bool(maps.darkness_window_limited[r, c])}


def avgvisib_correlation(data_dir: Path, grid, maps) -> dict:
    ref = pd.read_csv(data_dir / "illumination_reference/avgvisib_south_1km_inner562.csv")
    x, y = lonlat_to(MOON_SOUTH_POLAR, ref["lon"].to_numpy(), ref["lat"].to_numpy())
    t = grid.rio.transform()
    half = 540.0  # the reference blocks are 1.08 km (18 × 60 m)
    values = []
    for xi, yi in zip(x, y, strict=True):
        c0, c1 = int((xi - half - t.c) / t.a), int(math.ceil((xi + half - t.c) / t.a))
        r0, r1 = int((yi + half - t.f) / t.e), int(math.ceil((yi - half - t.f) / t.e))
        block = maps.illumination_fraction[max(r0, 0):r1, max(c0, 0):c1]
        values.append(float(np.nanmean(block)) if block.size else np.nan)
    ours = np.array(values)
    ok = np.isfinite(ours)
    rho = spearmanr(ours[ok], ref["average_illumination_percent"].to_numpy()[ok])
    return {"cells": int(ok.sum()), "spearman_rho": round(float(rho.statistic), 3)}


def psr_comparison(never_lit: np.ndarray, transform: Affine, psr, lat: np.ndarray,
                   inside: np.ndarray) -> dict:
    """Areas (km², scale-corrected) and overlap of never-lit cells and PSR polygons."""
    shape = never_lit.shape
    mapped = rio_features.rasterize(((g, 1) for g in psr.to_crs(MOON_SOUTH_POLAR).geometry),
                                    out_shape=shape, transform=transform, fill=0,
                                    dtype="uint8").astype(bool)
    k = polar_stereographic_scale_factor(lat)
    cell_km2 = (abs(transform.a) / 1000.0) ** 2 / k**2
    ours, theirs = never_lit & inside, mapped & inside
    both = ours & theirs
    area = lambda m: float((cell_km2 * m).sum())  # noqa: E731
    return {"never_lit_km2": round(area(ours)), "psr_polygons_km2": round(area(theirs)),
            "overlap_km2": round(area(both)),
            "psr_covered_by_never_lit": round(area(both) / max(area(theirs), 1e-9), 3),
            "never_lit_inside_psr": round(area(both) / max(area(ours), 1e-9), 3),
            "iou": round(area(both) / max(area(ours | theirs), 1e-9), 3)}


def cap_comparison(data_dir: Path, sun, earth, step_hours, n_az, max_km) -> dict:
    stack = stack_of(data_dir, ())
    spec = polar_cap_spec("south", -75.0, 1600.0)
    horizons, heights = grid_horizons(stack, spec.crs, spec.transform, spec.shape,
                                      azimuths(n_az), max_km * 1000.0)
    grid = grid_from_stack(stack, spec.crs, spec.transform, spec.shape, heights)
    geometry = geometry_of(grid)
    maps = light_maps(horizons, geometry, sun, earth, step_hours)
    lat = geometry.lat_deg.reshape(spec.shape)
    psr = load_psr_polygons("south", data_dir)
    out = {}
    for limit in (-80.0, -75.0):
        out[f"poleward of {abs(limit):g}°S"] = psr_comparison(
            maps.never_lit, spec.transform, psr, lat, lat <= limit)
    return out


def run(data_dir: Path, year: int = 2020, step_hours: float = 6.0, n_az: int = 128,
        heights=(0.0, 2.0, 10.0), max_km: float = 150.0, cap: bool = True,
        tiles: tuple[str, ...] = ("south-pole-200m",)) -> dict:
    """The validation on the 200 m tile's grid; ``tiles`` nested in the 1.6 km DEM (add
    "south-pole-40m" to cover the 200 m tile's patched inset with the 40 m tile)."""
    times = time_grid(f"{year}-01-01", f"{year}-12-31T18:00", step_hours)
    sun, earth = sun_earth_vectors_me(times)
    stack = stack_of(data_dir, tiles)
    result: dict = {"period": f"{times[0]} → {times[-1]} every {step_hours:g} h",
                    "terrain": stack.describe(),
                    "datum": [c.describe() for c in stack.datum_checks], "heights": {}}
    psr = load_psr_polygons("south", data_dir)
    for height in heights:
        started = time.perf_counter()
        grid, maps = tile_maps(stack, sun, earth, step_hours, n_az, height, max_km)
        xx, yy = np.meshgrid(grid.x.to_numpy(), grid.y.to_numpy())
        z = zones(xx, yy)
        entry = {name: best_in(mask, grid, maps) for name, mask in z.items()
                 if name != "Shackleton floor"}
        floor = z["Shackleton floor"]
        entry["Shackleton floor never lit"] = round(float(maps.never_lit[floor].mean()), 3)
        entry["AVGVISIB"] = avgvisib_correlation(data_dir, grid, maps)
        if height == 0.0:
            lat = geometry_of(grid).lat_deg.reshape(grid.shape)
            entry["PSR in the 200 m tile"] = psr_comparison(
                maps.never_lit, grid.rio.transform(), psr, lat, np.ones(grid.shape, bool))
        entry["seconds"] = round(time.perf_counter() - started, 1)
        result["heights"][f"{height:g} m"] = entry
    from lunatlas.illumination.pipeline import light_point

    bussey = light_point(stack, *BUSSEY_2010, f"{year}-01-01", f"{year}-12-31T18:00",
                         step_hours, n_azimuths=360, max_distance_m=max_km * 1000.0)
    summary = bussey.summary()
    result["Bussey 2010 point as printed"] = {
        "lat": BUSSEY_2010[0], "lon_e": BUSSEY_2010[1], "dem": summary["dem"],
        "illumination": round(summary["illumination_fraction"], 3),
        "longest_night_days": summary["longest_darkness_days"],
        "km_from_shackleton_centre": round(math.hypot(
            *np.subtract(_xy(*BUSSEY_2010), _xy(*SHACKLETON[:2]))) / 1000.0, 1)}
    if cap:
        result["cap (1.6 km DEM, 0 m)"] = cap_comparison(data_dir, sun, earth, step_hours,
                                                         min(n_az, 64), max_km)
    return result


def markdown(result: dict) -> str:
    lines = [f"Period {result['period']}; terrain {result['terrain']}.", ""]
    lines += [f"- datum: {d}" for d in result["datum"]]
    lines += ["", "| height | zone | lat | lon °E | illumination | longest night (d) |",
              "|---|---|---|---|---|---|"]
    for height, entry in result["heights"].items():
        for zone in ("Connecting Ridge", "Shackleton rim"):
            b = entry[zone]
            night = (">= " if b["night_cut_by_period"] else "") + f"{b['longest_night_days']:.2f}"
            lines.append(f"| {height} | {zone} | {b['lat']} | {b['lon_e']} | "
                         f"{b['illumination']:.2f} | {night} |")
    b = result.get("Bussey 2010 point as printed")
    if b:
        lines += ["", f"Bussey 2010 point as printed ({b['lat']}, {b['lon_e']}°E, "
                  f"{b['km_from_shackleton_centre']} km from Shackleton's centre, on "
                  f"{b['dem']}): illumination {b['illumination']:.2f}, longest night "
                  f"{b['longest_night_days']:.2f} d (0 m, point path)."]
    lines += ["", "| height | Shackleton floor never lit | AVGVISIB Spearman ρ (cells) |",
              "|---|---|---|"]
    for height, entry in result["heights"].items():
        a = entry["AVGVISIB"]
        lines.append(f"| {height} | {entry['Shackleton floor never lit']:.0%} | "
                     f"{a['spearman_rho']} ({a['cells']}) |")
    lines += ["", "| comparison | never lit km² | PSR polygons km² | overlap km² | "
              "PSR covered | never-lit inside PSR | IoU |", "|---|---|---|---|---|---|---|"]
    psr_rows = {"200 m tile (0 m)": result["heights"].get("0 m", {}).get(
        "PSR in the 200 m tile")}
    psr_rows.update(result.get("cap (1.6 km DEM, 0 m)", {}))
    for name, p in psr_rows.items():
        if p:
            lines.append(f"| {name} | {p['never_lit_km2']} | {p['psr_polygons_km2']} | "
                         f"{p['overlap_km2']} | {p['psr_covered_by_never_lit']:.0%} | "
                         f"{p['never_lit_inside_psr']:.0%} | {p['iou']:.2f} |")
    lines += ["", "Published:"] + [f"- {who}: {what}" for who, what in PUBLISHED]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data-dir", type=Path, default=Path("../shared/data"))
    parser.add_argument("--year", type=int, default=2020)
    parser.add_argument("--step", type=float, default=6.0, help="hours")
    parser.add_argument("--azimuths", type=int, default=128)
    parser.add_argument("--json", type=Path, default=None)
    parser.add_argument("--with-40m", action="store_true",
                        help="also nest the 40 m tile (it replaces the 200 m tile's inset)")
    args = parser.parse_args()
    tiles = ("south-pole-200m", "south-pole-40m") if args.with_40m else ("south-pole-200m",)
    result = run(args.data_dir, args.year, args.step, args.azimuths, tiles=tiles)
    print(markdown(result))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
