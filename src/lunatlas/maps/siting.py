"""Siting figures: suitability and constraint maps over relief, sensitivity plot."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from adjustText import adjust_text
from matplotlib.colors import ListedColormap
from matplotlib.figure import Figure
from pyproj import CRS

from lunatlas.crs import lonlat_to
from lunatlas.maps.render import add_scale_bar, draw_graticule, grid_extent_km
from lunatlas.terrain import hillshade

CONSTRAINT_ORDER = ("nodata", "outside_area", "slope", "steep_terrain", "illumination",
                    "darkness", "psr_distance", "earth_visibility")
CONSTRAINT_COLOURS = ("#ffffff", "#7f7f7f", "#d9d9d9", "#8c564b", "#ff7f0e", "#9467bd",
                      "#17becf", "#1f77b4", "#2ca02c")


CONSTRAINT_NAMES = {"nodata": "no data", "slope": "slope too steep",
                    "steep_terrain": "too near steep terrain",
                    "illumination": "too little sunlight", "darkness": "nights too long",
                    "psr_distance": "too far from a PSR", "earth_visibility": "Earth too rarely "
                    "visible", "outside_area": "outside the area"}
"""Readable legend names of the hard constraints."""


def _base(result, title: str):
    extent = grid_extent_km(result.grid)
    fig = Figure(figsize=(9, 8), dpi=110)
    ax = fig.subplots()
    shade = hillshade(result.grid, exaggeration=3.0).to_numpy()
    ax.imshow(shade, extent=extent, cmap="gray", origin="upper", interpolation="bilinear")
    ax.set_xlabel(f"x (km, {CRS.from_user_input(result.grid.rio.crs).name})")
    ax.set_ylabel("y (km)")
    ax.set_title(title, fontsize=10)
    ax.set_aspect("equal")
    return fig, ax, extent


def _xy_km(result, rows, cols):
    t = result.grid.rio.transform()
    return ((t.c + (np.asarray(cols) + 0.5) * t.a) / 1e3,
            (t.f + (np.asarray(rows) + 0.5) * t.e) / 1e3)


def _sites_and_paths(ax, result) -> None:
    for name, target, path in result.traverses:
        rows, cols = np.array(path.cells).T
        x, y = _xy_km(result, rows, cols)
        to_psr = target.startswith("nearest")
        ax.plot(x, y, color="#00e5ff" if to_psr else "#ff4fd8", lw=1.8,
                label=f"traverse {name} → {'never lit' if to_psr else target.split()[-1]} "
                      f"({path.length_km:.0f} km)")
    x, y = (v / 1e3 for v in lonlat_to(result.grid.rio.crs, result.table["lon"].to_numpy(),
                                        result.table["lat"].to_numpy()))
    ax.scatter(x, y, marker="*", s=220, c="#ffd700", edgecolors="black", zorder=5,
               label="ranked sites")
    labels = [ax.text(xi, yi, name, color="white", fontsize=9, fontweight="bold", zorder=6,
                      bbox={"facecolor": "black", "alpha": 0.45, "edgecolor": "none",
                            "pad": 1.5})
              for name, xi, yi in zip(result.table["name"], x, y, strict=True)]
    adjust_text(labels, x=np.asarray(x), y=np.asarray(y), ax=ax,
                arrowprops={"arrowstyle": "-", "color": "white", "lw": 0.6})


def _finish(fig, ax, result, out_path: str | Path) -> Path:
    """Graticule, scale bar, sites and traverses on top, legend, save."""
    bounds = result.grid.rio.bounds()
    draw_graticule(ax, CRS.from_user_input(result.grid.rio.crs), bounds)
    add_scale_bar(ax, bounds)
    _sites_and_paths(ax, result)
    ax.legend(loc="lower left", fontsize=7.5, framealpha=0.85)
    fig.tight_layout()
    fig.savefig(out_path)
    return Path(out_path)


def plot_suitability(result, out_path: str | Path) -> Path:
    """Weighted suitability (constraints applied) with sites and traverses over relief."""
    fig, ax, extent = _base(result, "Suitability (cells failing a constraint are clear)")
    image = ax.imshow(result.suitability, extent=extent, cmap="viridis", alpha=0.75,
                      origin="upper", vmin=np.nanmin(result.suitability),
                      vmax=np.nanmax(result.suitability))
    fig.colorbar(image, ax=ax, shrink=0.8, label="weighted suitability (0–1)")
    psr = np.where(result.light.never_lit, 1.0, np.nan)
    ax.imshow(psr, extent=extent, cmap=ListedColormap(["#1f3bff"]), alpha=0.6, origin="upper")
    ax.plot([], [], "s", color="#1f3bff", label="never lit in the period")
    for ev in result.evaluations[1:]:  # finer DEMs' own grids, drawn over the region
        left, bottom, right, top = (v / 1e3 for v in ev.spec.bounds())
        ax.imshow(ev.suitability, extent=(left, right, bottom, top), cmap="viridis",
                  alpha=0.85, origin="upper", vmin=image.norm.vmin, vmax=image.norm.vmax)
        ax.plot([left, right, right, left, left], [bottom, bottom, top, top, bottom],
                color="white", lw=0.8, ls="--")
        ax.annotate(f"{ev.spec.pixel_m:g} m", (left, top), xytext=(2, -10),
                    textcoords="offset points", color="white", fontsize=7)
    return _finish(fig, ax, result, out_path)


def plot_constraints(result, out_path: str | Path) -> Path:
    """Which constraint excludes each cell (first failing in a fixed order)."""
    fig, ax, extent = _base(result, "Hard constraints: first one failing at each cell")
    code = np.zeros(result.suitability.shape)
    present = [name for name in CONSTRAINT_ORDER if name in result.failures]
    for name in reversed(present):
        code[result.failures[name]] = CONSTRAINT_ORDER.index(name) + 1
    cmap = ListedColormap(CONSTRAINT_COLOURS)
    masked = np.where(code == 0, np.nan, code)
    ax.imshow(masked, extent=extent, cmap=cmap, vmin=0, vmax=len(CONSTRAINT_COLOURS) - 1,
              alpha=0.7, origin="upper", interpolation="nearest")
    for name in present:
        i = CONSTRAINT_ORDER.index(name) + 1
        share = result.failures[name].mean()
        ax.plot([], [], "s", color=CONSTRAINT_COLOURS[i],
                label=f"{CONSTRAINT_NAMES.get(name, name)} ({share:.0%})")
    ax.plot([], [], "s", color="none", label="clear = passes all")
    return _finish(fig, ax, result, out_path)


def plot_sensitivity(result, out_path: str | Path) -> Path:
    """How often each site stays in the top 3 under perturbed weights and inputs."""
    fig = Figure(figsize=(7, 4), dpi=110)
    ax = fig.subplots()
    names = result.table["name"]
    ax.bar(names, result.sensitivity.in_top_fraction, color="#4c72b0")
    ax.set_ylim(0, 1)
    ax.set_ylabel(f"fraction of {result.sensitivity.draws} draws in the top "
                  f"{result.sensitivity.top_n}")
    ax.set_title("Sensitivity to the weights (Dirichlet) and to illumination/Earth-visibility "
                 "noise", fontsize=9)
    for i, v in enumerate(result.sensitivity.in_top_fraction):
        ax.text(i, v + 0.02, f"{v:.0%}", ha="center", fontsize=8)
    fig.tight_layout()
    fig.savefig(out_path)
    return Path(out_path)
