"""Nested DEM stacks: several DEMs of one body, finest first, read by window.

A :class:`TerrainStack` answers "height here" from the finest DEM that covers each place
(for example a 40 m tile inside a 200 m tile inside the 1.6 km LOLA polar DEM inside the
global DEM). Nothing reads a whole raster: heights are gathered block by block (512² cells,
an LRU cache of at most :data:`CACHE_BLOCKS` blocks per layer and level), and a layer that
is much finer than the resolution asked for is read through GDAL's decimated, averaged
reads (overviews where the file has them). Memory therefore follows the number of samples
asked for, not the size of the files.

Vertical datum: on opening, each DEM is compared over its footprint (averaged to the coarse
pixel) with the coarsest DEM of the stack that overlaps it on at least
:data:`MIN_DATUM_SAMPLES` coarse pixels (the geodetic reference, e.g. LOLA), else with its
parent. An offset larger than the scatter of the differences (1.4826 × MAD) is reported in
:attr:`DemLayer.datum_note` and, by default, removed by shifting the finer DEM; offsets under
:data:`MIN_DATUM_OFFSET_M` are left alone. Referring every tile to the reference, not to a
parent that may itself be patched, keeps one datum across the stack (the shared 200 m
south-pole tile holds a ≈ 140 m lower inset exactly where the 40 m tile lies).

This module is a reader (it opens files); the horizon and light engines receive arrays.
"""

from __future__ import annotations

import math
import warnings
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
import xarray as xr
from affine import Affine
from pyproj import CRS
from rasterio.enums import Resampling
from rasterio.errors import RasterioIOError
from rasterio.windows import Window

from lunatlas.crs import MOON_RADIUS_M, require_lunar, transformer
from lunatlas.data.loaders import check_relief, height_scaling
from lunatlas.errors import InputError, RasterError

BLOCK = 512
"""Side of the square blocks (cells, at the level being read) that gathers read at once."""
CACHE_BLOCKS = 48
"""Blocks kept per layer (48 × 512² × 4 B ≈ 48 MiB)."""
GDAL_CACHE_MB = 64
"""GDAL's own block cache while reading (its default, 5 % of RAM, would hold whole files)."""
MIN_DATUM_OFFSET_M = 1.0
"""Offsets below a metre are left alone whatever the scatter (integer-metre products)."""
MIN_DATUM_SAMPLES = 16
"""A DEM is referred to the coarsest DEM under it when they share at least this many
comparison points (coarse pixels), else to its parent."""


@dataclass
class DemLayer:
    """One DEM of a stack: georeferencing and scaling, read lazily by window."""

    path: Path
    label: str
    crs: CRS
    transform: Affine
    width: int
    height: int
    radius_m: float
    scale: float
    offset: float
    nodata: float | None
    vertical_offset_m: float = 0.0
    """Added to every height (datum correction onto the parent DEM)."""
    datum_note: str = ""
    array: np.ndarray | None = field(default=None, repr=False)
    """In-memory heights (metres) instead of a file (grids built in code, tests)."""
    _cache: OrderedDict = field(default_factory=OrderedDict, repr=False)

    def __getstate__(self) -> dict:
        state = dict(self.__dict__)
        state["_cache"] = OrderedDict()  # blocks are re-read where the layer is unpickled
        return state

    @property
    def pixel_m(self) -> float:
        """Nominal pixel size on the ground (metres; at the equator for geographic DEMs)."""
        size = abs(self.transform.a)
        return size * math.pi / 180.0 * self.radius_m if self.crs.is_geographic else size

    @property
    def wraps(self) -> bool:
        """True for a geographic DEM whose columns span 360° (they wrap around)."""
        return self.crs.is_geographic and math.isclose(abs(self.transform.a) * self.width,
                                                       360.0, rel_tol=1e-6)

    def describe(self) -> str:
        return f"{self.label} ({self.pixel_m:,.0f} m/px, {self.width}×{self.height})"

    # -- reading ------------------------------------------------------------------------
    def _block(self, level: int, brow: int, bcol: int) -> np.ndarray:
        """Heights (float32, NaN = nodata) of one block at decimation ``level``."""
        key = (level, brow, bcol)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        span = BLOCK * level
        r0, c0 = brow * span, bcol * span
        h, w = min(span, self.height - r0), min(span, self.width - c0)
        out_shape = (max(1, math.ceil(h / level)), max(1, math.ceil(w / level)))
        if self.array is not None:
            values = _block_mean(self.array[r0:r0 + h, c0:c0 + w].astype("float64"), level)
        else:
            try:
                with rasterio.Env(GDAL_CACHEMAX=GDAL_CACHE_MB), rasterio.open(self.path) as src:
                    raw = src.read(1, window=Window(c0, r0, w, h), out_shape=out_shape,
                                   resampling=Resampling.average if level > 1
                                   else Resampling.nearest, masked=True)
            except RasterioIOError as exc:
                raise RasterError(f"{self.path}: cannot read block at row {r0}, col {c0} "
                                  f"({exc})") from None
            values = (raw.astype("float64") * self.scale + self.offset).filled(np.nan)
            check_relief(self.path, values, self.radius_m, f"block at row {r0}, col {c0}")
        block = (values + self.vertical_offset_m).astype("float32")
        self._cache[key] = block
        if len(self._cache) > CACHE_BLOCKS:
            self._cache.popitem(last=False)
        return block

    def _gather(self, level: int, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
        """Heights at integer (row, col) of the level-``level`` grid (valid indices only)."""
        out = np.empty(rows.shape, dtype="float64")
        if rows.size == 0:
            return out
        n_bcols = math.ceil(self.width / (BLOCK * level))
        block_id = (rows // BLOCK) * n_bcols + cols // BLOCK
        order = np.argsort(block_id, kind="stable")
        ids, starts = np.unique(block_id[order], return_index=True)
        bounds = [*starts.tolist(), order.size]
        for i, bid in enumerate(ids.tolist()):
            sel = order[bounds[i]:bounds[i + 1]]
            brow, bcol = divmod(bid, n_bcols)
            block = self._block(level, brow, bcol)
            out[sel] = block[rows[sel] - brow * BLOCK, cols[sel] - bcol * BLOCK]
        return out

    def sample(self, x: np.ndarray, y: np.ndarray, resolution_m: float | None = None
               ) -> np.ndarray:
        """Bilinear heights (m, with the datum correction) at (x, y) in this layer's CRS.

        NaN outside the DEM and where it has no data (a corner without data falls back to
        the nearest cell). With ``resolution_m`` much coarser than the layer, the layer is
        read decimated (average) to about half that resolution, so fine DEMs are averaged
        rather than point-sampled.
        """
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        level = 1
        if resolution_m is not None and resolution_m > 2.0 * self.pixel_m:
            level = max(1, int(resolution_m / (2.0 * self.pixel_m)))
        t = self.transform
        n_rows = math.ceil(self.height / level)
        n_cols = math.ceil(self.width / level)
        col = ((x - t.c) / t.a) / level - 0.5
        row = ((y - t.f) / t.e) / level - 0.5
        out = np.full(x.shape, np.nan)
        finite = np.isfinite(col) & np.isfinite(row)
        if self.wraps:
            col = np.where(finite, np.mod(col, n_cols), col)
            inside = finite & (row >= -0.5) & (row <= n_rows - 0.5)
        else:
            inside = (finite & (row >= -0.5) & (row <= n_rows - 0.5)
                      & (col >= -0.5) & (col <= n_cols - 0.5))
        if not inside.any() or n_rows < 2 or n_cols < 2:
            return out
        r, c = row[inside], col[inside]
        r0 = np.clip(np.floor(r).astype(np.int64), 0, n_rows - 2)
        c0 = (np.floor(c).astype(np.int64) % n_cols if self.wraps
              else np.clip(np.floor(c).astype(np.int64), 0, n_cols - 2))
        c1 = (c0 + 1) % n_cols if self.wraps else c0 + 1
        fr = np.clip(r - r0, 0.0, 1.0)
        fc = np.clip(c - np.floor(c) if self.wraps else c - c0, 0.0, 1.0)
        z00 = self._gather(level, r0, c0)
        z01 = self._gather(level, r0, c1)
        z10 = self._gather(level, r0 + 1, c0)
        z11 = self._gather(level, r0 + 1, c1)
        h = ((1 - fc) * (1 - fr) * z00 + fc * (1 - fr) * z01 + (1 - fc) * fr * z10
             + fc * fr * z11)
        holes = ~np.isfinite(h)
        if holes.any():  # nearest corner where the interpolation meets a hole
            near_r = fr[holes] >= 0.5
            near_c = fc[holes] >= 0.5
            corners = np.where(near_r, np.where(near_c, z11[holes], z10[holes]),
                               np.where(near_c, z01[holes], z00[holes]))
            h[holes] = corners
        out[inside] = h
        return out

    def footprint_contains(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """True where (x, y) in this layer's CRS falls inside the raster's extent."""
        if self.wraps:
            t = self.transform
            row = (np.asarray(y) - t.f) / t.e
            return np.isfinite(row) & (row >= 0) & (row <= self.height)
        t = self.transform
        col = (np.asarray(x) - t.c) / t.a
        row = (np.asarray(y) - t.f) / t.e
        return (np.isfinite(col) & np.isfinite(row) & (col >= 0) & (col <= self.width)
                & (row >= 0) & (row <= self.height))


def _block_mean(values: np.ndarray, level: int) -> np.ndarray:
    """Mean of ``level`` × ``level`` cells (NaN-aware; ragged edges averaged as they are)."""
    if level == 1:
        return values
    h, w = values.shape
    ph, pw = -h % level, -w % level
    padded = np.pad(values, ((0, ph), (0, pw)), constant_values=np.nan)
    blocks = padded.reshape(padded.shape[0] // level, level, padded.shape[1] // level, level)
    with np.errstate(invalid="ignore"), warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # all-NaN blocks stay NaN
        return np.nanmean(blocks, axis=(1, 3))


def layer_from_array(dem: xr.DataArray, label: str = "in-memory DEM") -> DemLayer:
    """A stack layer over an in-memory DEM grid (rioxarray CRS and transform)."""
    crs = require_lunar(CRS.from_user_input(dem.rio.crs) if dem.rio.crs else None, label)
    geodetic = crs.geodetic_crs
    radius = float(dem.attrs.get("reference_radius_m",
                                 geodetic.ellipsoid.semi_major_metre if geodetic
                                 else MOON_RADIUS_M))
    values = np.asarray(dem.to_numpy(), dtype="float32")
    ny, nx = values.shape
    return DemLayer(Path(str(dem.attrs.get("source", label))), label, crs,
                    dem.rio.transform(), nx, ny, radius, 1.0, 0.0, None, array=values)


def _preview(src) -> np.ma.MaskedArray:
    """Heights to check on opening: the whole raster when small, an overview when the file
    has one, else 16 × 16 windows of 32² cells spread over it (never the whole file)."""
    if src.width * src.height <= 4096**2:
        return src.read(1, masked=True)
    if src.overviews(1):
        return src.read(1, out_shape=(512, 512), masked=True)
    parts = []
    for r in np.linspace(0, src.height - 32, 16).astype(int):
        for c in np.linspace(0, src.width - 32, 16).astype(int):
            parts.append(src.read(1, window=Window(int(c), int(r), 32, 32), masked=True))
    return np.ma.concatenate([p.ravel() for p in parts])


def open_layer(path: str | Path, label: str | None = None) -> DemLayer:
    """Open a DEM for windowed reading (GeoTIFF, PDS3 ``.LBL``/``.IMG``, any GDAL raster).

    Checks the CRS (lunar), the geotransform (north-up) and the height range on a decimated
    read: heights beyond ±20 km of the reference sphere mean wrong units or scale.
    """
    path = Path(path)
    if not path.exists():
        raise RasterError(f"{path}: DEM file not found")
    try:
        with rasterio.open(path) as src:
            crs = CRS.from_user_input(src.crs) if src.crs else None
            require_lunar(crs, str(path))
            transform = src.transform
            if transform.is_identity:
                raise RasterError(f"{path}: raster has no geotransform; expected georeferenced "
                                  "pixels")
            if transform.b != 0 or transform.d != 0:
                raise RasterError(f"{path}: rotated rasters are not supported; warp it "
                                  "north-up first (gdalwarp)")
            scale, offset, radius = height_scaling(src, 1, crs)
            preview = _preview(src)
            width, height, nodata = src.width, src.height, src.nodata
    except RasterioIOError as exc:
        raise RasterError(f"{path}: not a readable raster ({exc})") from None
    heights = (preview.astype("float64") * scale + offset).filled(np.nan)
    if not np.isfinite(heights).any():
        raise RasterError(f"{path}: every cell is nodata")
    check_relief(path, heights, radius, f"scale {scale}, offset {offset}")
    return DemLayer(path, label or path.name, crs, transform, width, height, radius,
                    scale, offset, nodata)


@dataclass
class DatumCheck:
    """A finer DEM compared with its parent over their overlap (metres)."""

    fine: str
    coarse: str
    offset_m: float
    """Median of coarse − fine (the shift that puts the fine DEM on the coarse datum)."""
    scatter_m: float
    """1.4826 × MAD of the differences: the coarse DEM's noise at this comparison."""
    samples: int
    corrected: bool

    def describe(self) -> str:
        verdict = ("corrected" if self.corrected else
                   "within the scatter, kept"
                   if abs(self.offset_m) <= max(self.scatter_m, MIN_DATUM_OFFSET_M)
                   else "not corrected (--no-datum-correction)")
        return (f"{self.fine} reads {-self.offset_m:+.0f} m against {self.coarse} "
                f"(scatter {self.scatter_m:.0f} m, {self.samples} samples): {verdict}")


class TerrainStack:
    """DEMs of one body, finest first; heights come from the finest DEM covering a place."""

    def __init__(self, layers: Sequence[DemLayer], correct_datum: bool = True):
        if not layers:
            raise InputError("terrain stack: no DEM given")
        self.layers = sorted(layers, key=lambda layer: layer.pixel_m)
        self._check_body()
        self.datum_checks: list[DatumCheck] = []
        for i in range(len(self.layers) - 2, -1, -1):  # coarsest first
            fine = self.layers[i]
            check = self._compare(fine, self.layers[i + 1])  # raises without overlap
            for reference in self.layers[:i:-1]:  # the coarsest DEM with enough overlap
                if reference is self.layers[i + 1]:
                    break
                wide = self._compare(fine, reference)
                if wide.samples >= MIN_DATUM_SAMPLES:
                    check = wide
                    break
            if correct_datum and abs(check.offset_m) > max(check.scatter_m,
                                                           MIN_DATUM_OFFSET_M):
                fine.vertical_offset_m += check.offset_m
                fine._cache.clear()
                check.corrected = True
            fine.datum_note = check.describe()
            self.datum_checks.append(check)
        self.datum_checks.reverse()

    @property
    def radius_m(self) -> float:
        return self.layers[0].radius_m

    @property
    def finest(self) -> DemLayer:
        return self.layers[0]

    def describe(self) -> str:
        return " inside ".join(layer.describe() for layer in self.layers)

    def _check_body(self) -> None:
        first = self.layers[0]
        for layer in self.layers[1:]:
            if abs(layer.radius_m - first.radius_m) > 1.0:
                raise InputError(
                    f"terrain stack: {layer.path} is on a sphere/ellipsoid of radius "
                    f"{layer.radius_m:.0f} m but {first.path} on {first.radius_m:.0f} m; "
                    "every DEM of a stack must share one body and reference radius")

    @staticmethod
    def _compare(fine: DemLayer, coarse: DemLayer) -> DatumCheck:
        """Fine DEM averaged to the coarse pixel against the coarse DEM, over the overlap
        (the coarse DEM already corrected)."""
        t = fine.transform
        step_px = max(1.0, coarse.pixel_m / fine.pixel_m)
        n_c = max(2, int(fine.width / step_px))
        n_r = max(2, int(fine.height / step_px))
        cols = (np.arange(n_c) + 0.5) * fine.width / n_c
        rows = (np.arange(n_r) + 0.5) * fine.height / n_r
        cc, rr = np.meshgrid(cols, rows)
        x, y = t.c + t.a * cc.ravel(), t.f + t.e * rr.ravel()
        h_fine = fine.sample(x, y, resolution_m=coarse.pixel_m)
        cx, cy = transformer(fine.crs, coarse.crs).transform(x, y)
        h_coarse = coarse.sample(np.asarray(cx), np.asarray(cy))
        ok = np.isfinite(h_fine) & np.isfinite(h_coarse)
        if not ok.any():
            raise InputError(f"terrain stack: {fine.path} has no overlap with its parent DEM "
                             f"{coarse.path}; a nested DEM must lie inside the coarser one")
        diff = h_coarse[ok] - h_fine[ok]
        offset = float(np.median(diff))
        scatter = float(1.4826 * np.median(np.abs(diff - offset)))
        return DatumCheck(fine.label, coarse.label, offset, scatter, int(ok.sum()), False)

    # -- queries --------------------------------------------------------------------------
    def layer_at(self, crs: CRS, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """Index (into :attr:`layers`) of the finest DEM with data at each point; −1 none."""
        out = np.full(np.shape(x), -1, dtype=np.int64)
        for i, layer in enumerate(self.layers):
            todo = out < 0
            if not todo.any():
                break
            lx, ly = transformer(crs, layer.crs).transform(np.asarray(x)[todo],
                                                           np.asarray(y)[todo])
            h = layer.sample(np.asarray(lx), np.asarray(ly))
            idx = np.flatnonzero(todo)[np.isfinite(h)]
            out.flat[idx] = i
        return out

    def heights(self, crs: CRS, x: np.ndarray, y: np.ndarray,
                resolution_m: float | None = None) -> np.ndarray:
        """Heights (m) at points (x, y) in ``crs`` from the finest DEM covering each one.

        ``resolution_m`` is the spacing the caller samples at: finer DEMs are averaged to it.
        A point inside a finer DEM's footprint but on its nodata falls through to coarser.
        """
        x = np.asarray(x, dtype="float64")
        y = np.asarray(y, dtype="float64")
        out = np.full(x.shape, np.nan)
        for layer in self.layers:
            todo = ~np.isfinite(out)
            if not todo.any():
                break
            lx, ly = transformer(crs, layer.crs).transform(x[todo], y[todo])
            out[todo] = layer.sample(np.asarray(lx), np.asarray(ly), resolution_m)
        return out

    def grid(self, crs: CRS, transform: Affine, shape: tuple[int, int]) -> np.ndarray:
        """Heights (float64, NaN = no DEM) on a north-up grid, row by row in bands."""
        ny, nx = shape
        out = np.empty(shape)
        pixel = abs(transform.a)
        if crs.is_geographic:
            pixel = pixel * math.pi / 180.0 * self.radius_m
        xs = transform.c + transform.a * (np.arange(nx) + 0.5)
        band = max(1, 2_000_000 // max(nx, 1))
        for r0 in range(0, ny, band):
            r1 = min(ny, r0 + band)
            ys = transform.f + transform.e * (np.arange(r0, r1) + 0.5)
            xx, yy = np.meshgrid(xs, ys)
            out[r0:r1] = self.heights(crs, xx, yy, pixel).reshape(r1 - r0, nx)
        return out

    def point_height(self, crs: CRS, x: float, y: float) -> tuple[float, DemLayer]:
        """Height at one point and the DEM it came from; InputError outside every DEM."""
        index = int(self.layer_at(crs, np.array([x]), np.array([y]))[0])
        if index < 0:
            raise InputError(f"point ({x:.0f}, {y:.0f}) in {crs.name}: outside every DEM of "
                             f"the stack ({self.describe()})")
        layer = self.layers[index]
        lx, ly = transformer(crs, layer.crs).transform(np.array([x]), np.array([y]))
        return float(layer.sample(np.asarray(lx), np.asarray(ly))[0]), layer


def open_stack(paths: Sequence[str | Path], labels: Sequence[str] | None = None,
               correct_datum: bool = True) -> TerrainStack:
    """Open DEM files (any order) as a stack, finest first, with datum checks."""
    labels = list(labels) if labels is not None else [None] * len(paths)
    return TerrainStack([open_layer(p, label) for p, label in zip(paths, labels, strict=True)],
                        correct_datum=correct_datum)
