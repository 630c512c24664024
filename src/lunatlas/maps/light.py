"""Figures for illumination: a point's Sun/Earth time series and summary map panels."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import xarray as xr
from matplotlib.figure import Figure

from lunatlas.illumination.pipeline import PointLight
from lunatlas.maps.render import grid_extent_km


def plot_point_series(point: PointLight, out_path: str | Path) -> Path:
    """Sun and Earth elevation vs the local horizon, and the visible solar fraction."""
    s = point.series
    t = point.times.astype("datetime64[s]").astype(object)
    fig = Figure(figsize=(12, 7), dpi=110)
    ax1, ax2 = fig.subplots(2, 1, sharex=True, height_ratios=[3, 1])
    ax1.plot(t, s.sun_elevation_deg, color="#f4a300", lw=1, label="Sun centre elevation")
    ax1.plot(t, s.sun_horizon_deg, color="#6d4c41", lw=0.8, ls="--",
             label="horizon under the Sun")
    ax1.plot(t, s.earth_elevation_deg, color="#1e88e5", lw=1, label="Earth centre elevation")
    ax1.axhline(0, color="grey", lw=0.5)
    ax1.set_ylabel("elevation (°)")
    ax1.legend(loc="upper right", fontsize=8)
    summary = point.summary()
    night = ("never lit in the period" if summary["never_lit"] else
             f"longest night {'≥ ' if summary['longest_darkness_window_limited'] else ''}"
             f"{summary['longest_darkness_days']:.1f} d")
    ax1.set_title(
        f"{point.lat_deg:.3f}°, {point.lon_deg:.3f}°E, {point.observer_height_m:g} m above "
        f"ground — illumination {summary['illumination_fraction']:.0%}, Earth visible "
        f"{summary['earth_visibility_fraction']:.0%}, {night}", fontsize=10)
    ax2.fill_between(t, s.sun_fraction, step="mid", color="#f4a300", alpha=0.7)
    ax2.set_ylim(0, 1.05)
    ax2.set_ylabel("solar disc\nvisible")
    ax2.set_xlabel("UTC")
    fig.autofmt_xdate()
    fig.tight_layout()
    fig.savefig(out_path)
    return Path(out_path)


def plot_light_maps(grid: xr.DataArray, maps: dict[str, np.ndarray], out_path: str | Path,
                    title: str, window_limited: np.ndarray | None = None) -> Path:
    """A panel per summary map (illumination, darkness, Earth visibility, never lit).

    A panel whose colour map is ``"binary"`` gets a two-entry legend instead of a colour
    bar; cells where the longest night is cut by the period (``window_limited``) are
    hatched on the darkness panel ("≥").
    """
    from matplotlib.colors import ListedColormap
    from matplotlib.patches import Patch

    left, right, bottom, top = grid_extent_km(grid)
    extent = (left, right, bottom, top)
    fig = Figure(figsize=(6 * len(maps), 5.6), dpi=100)
    axes = np.atleast_1d(fig.subplots(1, len(maps)))
    for ax, (name, (array, cmap, label)) in zip(axes, maps.items(), strict=True):
        ax.set_title(name, fontsize=10)
        ax.set_xlabel("x (km)")
        ax.set_aspect("equal")
        if cmap == "binary":
            ax.imshow(np.where(np.isfinite(array), array, np.nan), extent=extent,
                      cmap=ListedColormap(["#d9d2c5", "#1b1b1b"]), vmin=0, vmax=1,
                      interpolation="nearest")
            ax.legend(handles=[Patch(color="#1b1b1b", label=label),
                               Patch(color="#d9d2c5", label="lit at some time")],
                      loc="lower left", fontsize=8)
            continue
        image = ax.imshow(array, extent=extent, cmap=cmap, interpolation="nearest")
        fig.colorbar(image, ax=ax, shrink=0.8, label=label)
        if "darkness" in name and window_limited is not None and window_limited.any():
            ax.contourf(np.linspace(left, right, array.shape[1]),
                        np.linspace(top, bottom, array.shape[0]),
                        window_limited.astype(float), levels=[0.5, 1.5], colors="none",
                        hatches=["////"])
            ax.legend(handles=[Patch(facecolor="none", hatch="////", edgecolor="0.3",
                                     label="night cut by the period (≥)")],
                      loc="lower left", fontsize=8)
    axes[0].set_ylabel("y (km)")
    fig.suptitle(title)
    fig.tight_layout()
    fig.savefig(out_path)
    return Path(out_path)
