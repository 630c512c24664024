"""Map rendering: shaded relief coloured by height, atlas layers, graticule and scale bar.

Two views: global equirectangular (plate carrée on the IAU 2015 sphere, degrees) and
south-polar stereographic (IAU_2015:30135, metres, true scale at the pole). Rendering only:
the DEM reprojection uses rasterio's warp, the relief comes from :mod:`lunatlas.terrain`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import cmcrameri  # noqa: F401  (registers the cmc.* colour maps)
import geopandas as gpd
import matplotlib as mpl
import numpy as np
import xarray as xr
from adjustText import adjust_text
from matplotlib.collections import EllipseCollection
from matplotlib.colors import LightSource, Normalize
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.transform import from_origin

from lunatlas.crs import (
    MOON_GEOGRAPHIC,
    MOON_RADIUS_M,
    MOON_SOUTH_POLAR,
    lonlat_to,
    polar_stereographic_scale_factor,
    same_crs,
)
from lunatlas.geology.grid import rasterise_units
from lunatlas.maps.geology import unit_rgba, units_legend
from lunatlas.terrain import hillshade, nominal_pixel_m

HEIGHT_CMAP = "cmc.grayC"
"""Heights in Crameri's perceptually uniform grey ramp (dark lowlands, pale highlands): the
Moon's own colours under the shading, with no Earth-like blue 'seas'."""
KM_PER_DEG_EQUATOR = np.radians(1.0) * MOON_RADIUS_M / 1000.0
LAYER_STYLE: dict[str, dict] = {
    "crater": {"color": "#f4d35e", "label": "craters (IAU named)"},
    "polar crater": {"color": "#5bc0eb", "label": "polar craters (PSR hosts)"},
    "basin": {"color": "#e55934", "label": "impact basins"},
}


def _height_norm(dem: xr.DataArray) -> Normalize:
    """Colour scale spanning the 1st–99th percentile of the finite heights."""
    finite = dem.to_numpy()[np.isfinite(dem.to_numpy())]
    return Normalize(vmin=float(np.percentile(finite, 1)), vmax=float(np.percentile(finite, 99)))


def _relief_rgb(dem: xr.DataArray) -> np.ndarray:
    shade = hillshade(dem, exaggeration=3.0).to_numpy()
    heights = dem.to_numpy()
    norm = _height_norm(dem)
    rgb = mpl.colormaps[HEIGHT_CMAP](norm(np.nan_to_num(heights, nan=norm.vmin)))[..., :3]
    blended = LightSource().blend_overlay(rgb, np.nan_to_num(shade, nan=0.5)[..., None])
    blended[~np.isfinite(heights)] = 0.85
    return blended


def _draw_base(fig: Figure, ax, grid: xr.DataArray, extent: tuple[float, float, float, float],
               units: gpd.GeoDataFrame | None, crs: CRS | None = None) -> bool:
    """Units in official colours over grey shaded relief when the atlas has units (legend
    below the map), else relief coloured by height (with its colour bar). True with units."""
    if units is None or units.empty:
        ax.imshow(_relief_rgb(grid), extent=extent, origin="upper", interpolation="bilinear")
        _colorbar(fig, ax, grid)
        return False
    shade = hillshade(grid, exaggeration=3.0).to_numpy()
    ax.imshow(np.nan_to_num(shade, nan=0.5), cmap="gray", vmin=0, vmax=1, extent=extent,
              origin="upper", interpolation="bilinear")
    if crs is None:
        shape, transform = (1024, 2048), from_origin(-180.0, 90.0, 360 / 2048, 180 / 1024)
    else:  # a finer grid than the DEM's over the same extent: unit contacts stay crisp
        left, right, bottom, top = (v * 1e3 for v in extent)
        shape = (1600, 1600)
        transform = from_origin(left, top, (right - left) / shape[1], (top - bottom) / shape[0])
    codes, symbols = rasterise_units(units, shape, transform, crs)
    image_extent = (-180.0, 180.0, -90.0, 90.0) if crs is None else extent
    ax.imshow(unit_rgba(codes, symbols), extent=image_extent, origin="upper",
              interpolation="nearest")
    units_legend(fig, codes, symbols, ncol=5 if crs is None else 3)
    return True


def _scale_bar(ax, x0: float, y0: float, length: float, label: str, color: str = "white") -> None:
    ax.plot([x0, x0 + length], [y0, y0], color=color, lw=3, solid_capstyle="butt")
    for x in (x0, x0 + length):
        ax.plot([x, x], [y0 - length * 0.02, y0 + length * 0.02], color=color, lw=1.5)
    ax.text(x0, y0, label + "\n", color=color, ha="left", va="bottom", fontsize=8,
            fontweight="bold", bbox={"facecolor": "black", "alpha": 0.35, "edgecolor": "none"})


def _plot_craters(ax, craters: gpd.GeoDataFrame, x: np.ndarray, y: np.ndarray,
                  width: np.ndarray, height: np.ndarray) -> None:
    """Draw craters as true-size rim outlines (``width``/``height``: rim diameter in map units)."""
    if craters.empty:
        return
    kinds = craters["kind"].fillna("crater").to_numpy()
    for kind, style in LAYER_STYLE.items():
        sel = kinds == kind
        if not sel.any():
            continue
        outlines = EllipseCollection(width[sel], height[sel], np.zeros(int(sel.sum())),
                                     units="xy", offsets=np.column_stack([x[sel], y[sel]]),
                                     offset_transform=ax.transData, facecolors="none",
                                     edgecolors=style["color"], linewidths=0.8)
        ax.add_collection(outlines)
        ax.plot([], [], "o", mfc="none", mec=style["color"],
                label=f"{style['label']} ({int(sel.sum())})")


def _plot_points(ax, layers: Mapping[str, gpd.GeoDataFrame], project,
                 max_abs_lat: float | None = None) -> None:
    """Samples and sites; with ``max_abs_lat`` (the global map) points nearer the poles are
    left out, and the legend says where they are shown instead."""
    for name, marker, color in (("samples", "*", "#ff5d8f"), ("sites", "^", "#9bf6ff")):
        frame = layers.get(name)
        if frame is None or frame.empty:
            continue
        pts = frame.geometry.representative_point()
        label = f"{name} ({len(frame)})"
        if max_abs_lat is not None:
            near_pole = np.abs(pts.y.to_numpy()) > max_abs_lat
            pts = pts[~near_pole]
            if near_pole.any():
                label = (f"{name} ({len(pts)}; {int(near_pole.sum())} beyond "
                         f"{max_abs_lat:g}° on the polar map)")
        if pts.empty:
            ax.plot([], [], marker, color=color, mec="black", label=label)
            continue
        x, y = project(pts.x.to_numpy(), pts.y.to_numpy())
        ax.scatter(x, y, marker=marker, s=60, c=color, edgecolors="black", linewidths=0.5,
                   label=label, zorder=5)


def render_global_map(dem: xr.DataArray, layers: Mapping[str, gpd.GeoDataFrame],
                      out_path: str | Path, title: str = "") -> Path:
    """Global equirectangular map (lon −180..180, lat −90..90) of atlas layers over relief."""
    out_path = Path(out_path)
    dem_geo = dem if dem.rio.crs.is_geographic else dem.rio.reproject(MOON_GEOGRAPHIC)
    left, bottom, right, top = dem_geo.rio.bounds()
    units = layers.get("units")
    has_units = units is not None and not units.empty
    fig = Figure(figsize=(14, 9.8 if has_units else 7.6), dpi=110)
    ax = fig.subplots()
    _draw_base(fig, ax, dem_geo, (left, right, bottom, top), units)
    craters = layers.get("craters")
    if craters is not None and not craters.empty:
        lat = craters.geometry.y.to_numpy()
        height_deg = craters["diameter_km"].to_numpy(float) / KM_PER_DEG_EQUATOR
        width_deg = height_deg / np.maximum(np.cos(np.radians(lat)), 0.05)
        _plot_craters(ax, craters, craters.geometry.x.to_numpy(), lat, width_deg, height_deg)
    _plot_points(ax, layers, lambda x, y: (x, y), max_abs_lat=80.0)
    for lon in range(-180, 181, 30):
        ax.axvline(lon, color="white", lw=0.4, alpha=0.5)
    for lat in range(-90, 91, 30):
        ax.axhline(lat, color="white", lw=0.4, alpha=0.5)
    ax.set_xticks(range(-180, 181, 30))
    ax.set_yticks(range(-90, 91, 30))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: lon_label(v)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: lat_label(v)))
    ax.set_xlabel("longitude (planetocentric)")
    ax.set_ylabel("latitude (planetocentric)")
    ax.set_xlim(-180, 180)
    ax.set_ylim(-90, 90)
    bar_km = 1000.0
    _scale_bar(ax, -170, -82, bar_km / KM_PER_DEG_EQUATOR, f"{bar_km:.0f} km (at the equator)")
    ax.set_title(title or "Lunatlas — global view (equirectangular, IAU 2015 Moon sphere)")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    if has_units:
        fig.subplots_adjust(left=0.05, right=0.98, top=0.96, bottom=0.24)
    else:
        fig.tight_layout()
    fig.savefig(out_path)
    return out_path


def _colorbar(fig, ax, dem: xr.DataArray) -> None:
    mappable = mpl.cm.ScalarMappable(norm=_height_norm(dem), cmap=HEIGHT_CMAP)
    bar = fig.colorbar(mappable, ax=ax, shrink=0.7, pad=0.01)
    bar.set_label("height above 1 737.4 km sphere (m)")


def grid_extent_km(grid: xr.DataArray) -> tuple[float, float, float, float]:
    """(left, right, bottom, top) of a projected grid in km, for ``imshow`` extents."""
    left, bottom, right, top = grid.rio.bounds()
    return left / 1e3, right / 1e3, bottom / 1e3, top / 1e3


def south_polar_grid(dem: xr.DataArray, lat_limit_deg: float = -75.0,
                     pixel_m: float | None = None) -> xr.DataArray:
    """Reproject a DEM to south polar stereographic, covering the cap south of ``lat_limit_deg``.

    Pixel size defaults to the source's ground resolution (at least 240 m).
    """
    half_width = 2.0 * MOON_RADIUS_M * np.tan(np.radians(90.0 + lat_limit_deg) / 2.0)
    if pixel_m is None:
        pixel_m = max(nominal_pixel_m(dem), 240.0)
    n = int(np.ceil(2 * half_width / pixel_m))
    from affine import Affine

    transform = Affine(pixel_m, 0, -n * pixel_m / 2, 0, -pixel_m, n * pixel_m / 2)
    polar = dem.rio.reproject(MOON_SOUTH_POLAR, transform=transform, shape=(n, n),
                              resampling=Resampling.bilinear, nodata=np.nan)
    polar.attrs.update({k: v for k, v in dem.attrs.items() if k != "_FillValue"})
    return polar


def render_south_polar_map(dem: xr.DataArray, layers: Mapping[str, gpd.GeoDataFrame],
                           out_path: str | Path, lat_limit_deg: float = -75.0,
                           title: str = "") -> Path:
    """South-polar stereographic map (IAU_2015:30135) south of ``lat_limit_deg``."""
    out_path = Path(out_path)
    already_polar = same_crs(CRS.from_user_input(dem.rio.crs), MOON_SOUTH_POLAR)
    polar = dem if already_polar else south_polar_grid(dem, lat_limit_deg)
    left, bottom, right, top = polar.rio.bounds()
    units = layers.get("units")
    has_units = units is not None and not units.empty
    fig = Figure(figsize=(10, 11.6 if has_units else 9), dpi=110)
    ax = fig.subplots()
    _draw_base(fig, ax, polar, (left / 1e3, right / 1e3, bottom / 1e3, top / 1e3), units,
               MOON_SOUTH_POLAR)

    def project(lon, lat):
        x, y = lonlat_to(MOON_SOUTH_POLAR, lon, lat)
        return x / 1e3, y / 1e3

    craters = layers.get("craters")
    if craters is not None and not craters.empty:
        inside = craters[craters.geometry.y <= lat_limit_deg + 2]
        x, y = project(inside.geometry.x.to_numpy(), inside.geometry.y.to_numpy())
        diameter = inside["diameter_km"].to_numpy(float) * polar_stereographic_scale_factor(
            inside.geometry.y.to_numpy())
        _plot_craters(ax, inside, x, y, diameter, diameter)
        labels = [ax.text(xi, yi, name, fontsize=6.5, color="white")
                  for name, xi, yi, lat in zip(inside["name"], x, y, inside.geometry.y,
                                               strict=True)
                  if name and lat <= lat_limit_deg]
    else:
        labels = []
    in_frame = {name: frame[frame.geometry.representative_point().y <= lat_limit_deg]
                for name, frame in layers.items() if name in ("samples", "sites")
                and frame is not None}
    _plot_points(ax, {**layers, **in_frame}, project)
    sites = in_frame.get("sites")
    if sites is not None and not sites.empty:
        sx, sy = project(sites.geometry.x.to_numpy(), sites.geometry.y.to_numpy())
        labels += [ax.text(xi, yi, name, fontsize=8, color="#9bf6ff", fontweight="bold")
                   for name, xi, yi in zip(sites["name"], sx, sy, strict=True)]
    if labels:
        adjust_text(labels, ax=ax, arrowprops={"arrowstyle": "-", "color": "white",
                                               "lw": 0.4})
    for lat in np.arange(-85.0, lat_limit_deg - 1e-9, 5.0):
        lon = np.linspace(-180, 180, 361)
        gx, gy = project(lon, np.full_like(lon, lat))
        ax.plot(gx, gy, color="white", lw=0.5, alpha=0.6)
        tx, ty = project(np.array([45.0]), np.array([lat]))
        ax.text(tx[0], ty[0], lat_label(lat), color="white", fontsize=7)
    for lon0 in range(-180, 180, 30):
        lat = np.linspace(lat_limit_deg, -90, 50)
        gx, gy = project(np.full_like(lat, lon0), lat)
        ax.plot(gx, gy, color="white", lw=0.5, alpha=0.6)
        tx, ty = project(np.array([float(lon0)]), np.array([lat_limit_deg + 0.7]))
        ax.text(tx[0], ty[0], lon_label(lon0), color="white", fontsize=7, ha="center")
    extent_km = (right - left) / 1e3
    bar_km = float(10 ** np.floor(np.log10(extent_km / 4)))
    k_edge = float(polar_stereographic_scale_factor(lat_limit_deg))
    _scale_bar(ax, left / 1e3 + extent_km * 0.05, bottom / 1e3 + extent_km * 0.05, bar_km,
               f"{bar_km:.0f} km (true at pole; ×{k_edge:.3f} at {lat_limit_deg:.0f}°)")
    ax.set_xlabel("x (km, south polar stereographic)")
    ax.set_ylabel("y (km)")
    ax.set_title(title or f"Lunatlas — south polar view (IAU_2015:30135), "
                          f"{lat_limit_deg:.0f}°–90°S")
    ax.set_xlim(left / 1e3, right / 1e3)
    ax.set_ylim(bottom / 1e3, top / 1e3)
    ax.set_aspect("equal")
    ax.legend(loc="upper right", fontsize=8, framealpha=0.8)
    if has_units:
        fig.subplots_adjust(left=0.08, right=0.97, top=0.96, bottom=0.22)
    else:
        fig.tight_layout()
    fig.savefig(out_path)
    return out_path


def lat_label(lat: float) -> str:
    """"60°S", "45°N", "0°"."""
    return "0°" if abs(lat) < 1e-9 else f"{abs(lat):g}°{'S' if lat < 0 else 'N'}"


def lon_label(lon: float) -> str:
    """"30°W", "150°E", "0°", "180°" (east-positive input, any range)."""
    lon = ((lon + 180.0) % 360.0) - 180.0
    if abs(lon) < 1e-9:
        return "0°"
    if abs(abs(lon) - 180.0) < 1e-9:
        return "180°"
    return f"{abs(lon):g}°{'W' if lon < 0 else 'E'}"


def draw_graticule(ax, crs: CRS, bounds_m: tuple[float, float, float, float],
                   color: str = "white") -> None:
    """Parallels and meridians, labelled 88°S / 30°W where they leave the frame, over a
    projected map whose axes are in km (any lunar projected CRS, poles included)."""
    from lunatlas.crs import lonlat_to, to_lonlat

    left, bottom, right, top = bounds_m
    xx, yy = np.meshgrid(np.linspace(left, right, 60), np.linspace(bottom, top, 60))
    lon, lat = to_lonlat(crs, xx, yy)
    lat_lo, lat_hi = float(np.nanmin(lat)), float(np.nanmax(lat))
    span = lat_hi - lat_lo
    step = next(s for s in (0.5, 1, 2, 5, 10, 15, 30) if span / s <= 8)
    polar = lat_hi > 89.9 or lat_lo < -89.9
    lon_step = 30 if polar or span > 3 else 10

    def inside(x, y):
        return (x >= left) & (x <= right) & (y >= bottom) & (y <= top)

    def draw(x, y, label):
        keep = inside(x, y)
        if keep.sum() < 2:
            return
        ax.plot(np.where(keep, x, np.nan) / 1e3, np.where(keep, y, np.nan) / 1e3,
                color=color, lw=0.5, alpha=0.7)
        i = int(np.flatnonzero(keep)[-1])
        ax.text(x[i] / 1e3, y[i] / 1e3, label, color=color, fontsize=7, ha="center",
                va="center", bbox={"facecolor": "black", "alpha": 0.35, "edgecolor": "none",
                                   "pad": 1})

    for value in np.arange(np.ceil(lat_lo / step) * step, lat_hi, step):
        if abs(value) >= 90:
            continue
        lons = np.linspace(-180, 180, 721)
        x, y = lonlat_to(crs, lons, np.full_like(lons, value))
        draw(np.asarray(x), np.asarray(y), lat_label(value))
    lons_present = lon[np.isfinite(lon)]
    for value in np.arange(-180, 180, lon_step):
        if not polar and not (lons_present.min() <= value <= lons_present.max()):
            continue
        lats = np.linspace(max(lat_lo, -89.999), min(lat_hi, 89.999), 400)
        if lat_lo > 0:
            lats = lats[::-1]  # from the pole outward: labels where meridians leave the frame
        x, y = lonlat_to(crs, np.full_like(lats, float(value)), lats)
        draw(np.asarray(x), np.asarray(y), lon_label(value))


def add_scale_bar(ax, bounds_m: tuple[float, float, float, float], note: str = "") -> None:
    """A scale bar of a round length in the lower right of a km-axis map (the legend
    takes the lower left)."""
    left, bottom, right, _top = bounds_m
    extent_km = (right - left) / 1e3
    decade = 10 ** np.floor(np.log10(extent_km / 4))
    bar_km = float(max(m * decade for m in (1, 2, 5) if m * decade <= extent_km / 4))
    _scale_bar(ax, right / 1e3 - extent_km * 0.05 - bar_km, bottom / 1e3 + extent_km * 0.06,
               bar_km, f"{bar_km:g} km{note}")
