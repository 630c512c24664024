"""The atlas store: one GeoPackage in IAU_2015:30100 with numbered editions.

Writes are transactional by copy-on-write: an edit copies the atlas to a temporary file
beside it, applies every change there, records the new edition and its provenance, flushes
it to disk and atomically renames it over the atlas (``os.replace``). A writer that dies at
any point leaves the previous file, and so every earlier edition, untouched. A lock file
serialises concurrent writers.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import shutil
import sqlite3
import stat
import uuid
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pyogrio
import shapely
from pyogrio.errors import DataLayerError, DataSourceError
from pyproj import CRS

from lunatlas import __version__
from lunatlas.atlas.diff import LayerDiff, diff_layer, record_changes
from lunatlas.atlas.schema import (
    ATLAS_FORMAT,
    EDITIONS_TABLE,
    LAYERS,
    META_TABLE,
    PROVENANCE_TABLE,
    SCHEMA_VERSION,
    LayerSchema,
    layer_schema,
)
from lunatlas.crs import MOON_GEOGRAPHIC, require_lunar, same_crs
from lunatlas.errors import AtlasError, InputError, LunatlasError, NotAnAtlasError

_SQLITE_MAGIC = b"SQLite format 3\x00"
_EDITION_COLUMNS = {"edition": "int64", "created_utc": "str", "reason": "str",
                    "parent": "Int64", "lunatlas_version": "str", "command": "str"}
_PROVENANCE_COLUMNS = {"edition": "int64", "layer": "str", "record_id": "str",
                       "action": "str", "source": "str", "detail": "str"}

_after_layer_write: Callable[[str], None] | None = None
"""Test hook: called with the layer name after each layer is written to the temporary copy
(lets the atomicity test kill a writer mid-write). ``None`` in normal use."""


def _typed_frame(columns: dict[str, str], geometry_type: str | None) -> pd.DataFrame:
    data = {name: pd.Series([], dtype="object" if dt == "str" else dt)
            for name, dt in columns.items()}
    if geometry_type is None:
        return pd.DataFrame(data)
    return gpd.GeoDataFrame(data, geometry=gpd.GeoSeries([], crs=MOON_GEOGRAPHIC),
                            crs=MOON_GEOGRAPHIC)


def _versioned_columns(schema: LayerSchema) -> dict[str, str]:
    return {"record_id": "str", "edition_added": "int64", "edition_removed": "Int64",
            **schema.columns}


def _write(frame: pd.DataFrame, path: Path, layer: str, geometry_type: str | None) -> None:
    kwargs = {"geometry_type": geometry_type} if geometry_type else {}
    pyogrio.write_dataframe(frame, path, layer=layer, driver="GPKG",
                            layer_options={"SPATIAL_INDEX": "YES"} if geometry_type else None,
                            **kwargs)


def _read(path: Path, layer: str, where: str | None = None) -> pd.DataFrame:
    try:
        frame = pyogrio.read_dataframe(path, layer=layer, where=where)
    except (DataLayerError, DataSourceError) as exc:
        raise AtlasError(f"{path}: cannot read layer {layer!r} ({exc})") from None
    if isinstance(frame, gpd.GeoDataFrame):
        # GeoPackage stores the authority as IAU, not IAU_2015: compare numerically, then
        # use the one canonical CRS object so frames concatenate.
        if frame.crs is None or not same_crs(CRS.from_user_input(frame.crs), MOON_GEOGRAPHIC):
            raise AtlasError(f"{path}: layer {layer!r} is not in IAU_2015:30100 ({frame.crs})")
        frame = frame.set_crs(MOON_GEOGRAPHIC, allow_override=True)
    return frame


def _conform(frame: pd.DataFrame, columns: dict[str, str]) -> pd.DataFrame:
    """Give a frame read back from GPKG the schema's dtypes (GPKG returns ints as floats).
    Columns an older atlas lacks (added to the schema since) come back empty."""
    for name, dtype in columns.items():
        if name not in frame.columns:
            frame[name] = (pd.Series(None, index=frame.index, dtype="object") if dtype == "str"
                           else pd.Series(index=frame.index, dtype=dtype))
        if dtype == "str":
            frame[name] = frame[name].astype("object").where(frame[name].notna(), None)
        else:
            frame[name] = frame[name].astype(dtype)
    return frame


@dataclass(frozen=True)
class Edition:
    """One row of the editions table."""

    edition: int
    created_utc: str
    reason: str
    parent: int | None
    lunatlas_version: str
    command: str


class Atlas:
    """An existing atlas GeoPackage, opened read-only. Use :func:`edit` to change it."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._check()

    def _check(self) -> None:
        if not self.path.is_file():
            raise AtlasError(f"{self.path}: atlas not found "
                             "(build one with `lunatlas atlas build`)")
        with open(self.path, "rb") as fh:
            if fh.read(16) != _SQLITE_MAGIC:
                raise NotAnAtlasError(f"{self.path}: not a GeoPackage (no SQLite header); "
                                      "expected a Lunatlas atlas .gpkg")
        try:
            con = sqlite3.connect(f"file:{self.path}?mode=ro", uri=True)
            try:
                names = {r[0] for r in con.execute(
                    "SELECT name FROM sqlite_master WHERE type IN ('table', 'view')")}
                meta = dict(con.execute(f"SELECT key, value FROM {META_TABLE}")) \
                    if META_TABLE in names else {}
            finally:
                con.close()
        except sqlite3.DatabaseError as exc:
            raise NotAnAtlasError(f"{self.path}: unreadable GeoPackage ({exc})") from None
        if "gpkg_contents" not in names:
            raise NotAnAtlasError(f"{self.path}: SQLite file without GeoPackage tables; expected "
                                  "a Lunatlas atlas .gpkg")
        if meta.get("format") != ATLAS_FORMAT:
            raise NotAnAtlasError(f"{self.path}: a GeoPackage but not a Lunatlas atlas (table "
                                  f"{META_TABLE!r} with format={ATLAS_FORMAT!r} is missing)")
        version = int(meta.get("schema_version", "0"))
        if version > SCHEMA_VERSION:
            raise AtlasError(f"{self.path}: atlas schema version {version} is newer than this "
                             f"Lunatlas supports ({SCHEMA_VERSION}); upgrade lunatlas")
        missing = [t for t in (*LAYERS, EDITIONS_TABLE, PROVENANCE_TABLE) if t not in names]
        if missing:
            raise NotAnAtlasError(f"{self.path}: Lunatlas atlas missing table(s) {missing}")

    # -- editions -------------------------------------------------------------------------
    def editions(self) -> list[Edition]:
        """All editions, oldest first."""
        frame = _conform(_read(self.path, EDITIONS_TABLE), dict(_EDITION_COLUMNS))
        frame = frame.sort_values("edition")
        return [Edition(int(r.edition), r.created_utc, r.reason or "",
                        None if pd.isna(r.parent) else int(r.parent),
                        r.lunatlas_version or "", r.command or "")
                for r in frame.itertuples()]

    @property
    def latest(self) -> int:
        """Number of the newest edition (0 for an atlas with none)."""
        eds = self.editions()
        return eds[-1].edition if eds else 0

    def _require_edition(self, edition: int | None) -> int:
        latest = self.latest
        if edition is None:
            return latest
        if edition < 1 or edition > latest:
            raise AtlasError(f"{self.path}: edition {edition} does not exist "
                             f"(editions 1..{latest})")
        return edition

    # -- reading ----------------------------------------------------------------------------
    def layer(self, name: str, edition: int | None = None) -> pd.DataFrame:
        """Records of layer ``name`` as of ``edition`` (default: latest), indexed by record_id.

        Returns a GeoDataFrame in :data:`MOON_GEOGRAPHIC` for spatial layers, a DataFrame for
        attribute tables. System columns are dropped except ``edition_added``.
        """
        try:
            schema = layer_schema(name)
        except KeyError as exc:
            raise AtlasError(f"{self.path}: {exc.args[0]}") from None
        n = self._require_edition(edition)
        where = f"edition_added <= {n} AND (edition_removed IS NULL OR edition_removed > {n})"
        frame = _conform(_read(self.path, name, where=where), _versioned_columns(schema))
        return frame.drop(columns=["edition_removed"]).set_index("record_id").sort_index()

    def at(self, edition: int | None = None) -> AtlasSnapshot:
        """A read-only view of the atlas as it was at ``edition`` (default: latest)."""
        return AtlasSnapshot(self, self._require_edition(edition))

    def provenance(self, edition: int | None = None) -> pd.DataFrame:
        """Provenance rows (which source/analysis produced each record change)."""
        where = None if edition is None else f"edition = {int(edition)}"
        return _conform(_read(self.path, PROVENANCE_TABLE, where=where),
                        dict(_PROVENANCE_COLUMNS))

    def diff(self, a: int, b: int) -> list[LayerDiff]:
        """Per-layer differences between editions ``a`` and ``b``."""
        a, b = self._require_edition(a), self._require_edition(b)
        result = []
        for name, schema in LAYERS.items():
            before = self.layer(name, a).drop(columns=["edition_added"])
            after = self.layer(name, b).drop(columns=["edition_added"])
            result.append(diff_layer(name, before, after, list(schema.columns),
                                     "geometry" if schema.geometry_type else None))
        return result

    def counts(self, edition: int | None = None) -> dict[str, int]:
        """Number of records per layer at ``edition``."""
        return {name: len(self.layer(name, edition)) for name in LAYERS}


@dataclass(frozen=True)
class AtlasSnapshot:
    """The atlas as of one edition."""

    atlas: Atlas
    edition: int

    def layer(self, name: str) -> pd.DataFrame:
        return self.atlas.layer(name, self.edition)

    def counts(self) -> dict[str, int]:
        return self.atlas.counts(self.edition)


# -- writing ------------------------------------------------------------------------------

@dataclass
class _Op:
    layer: str
    kind: str  # "replace", "upsert", "remove"
    frame: pd.DataFrame | None
    record_ids: tuple[str, ...]
    source: str


def _validate_frame(layer: str, frame: pd.DataFrame, schema: LayerSchema) -> pd.DataFrame:
    if "record_id" not in frame.columns:
        raise InputError(f"layer {layer!r}: records need a 'record_id' column")
    ids = frame["record_id"].astype(str)
    dupes = sorted(set(ids[ids.duplicated()]))
    if dupes:
        raise InputError(f"layer {layer!r}: duplicate record_id(s) {dupes[:5]}")
    allowed = {"record_id", "geometry", *schema.columns}
    unknown = sorted(set(frame.columns) - allowed)
    if unknown:
        raise InputError(f"layer {layer!r}: unknown column(s) {unknown}; expected "
                         f"{sorted(allowed - {'geometry'})}")
    out = frame.copy()
    out["record_id"] = ids
    if schema.geometry_type is None:
        return pd.DataFrame(out.drop(columns=["geometry"], errors="ignore"))
    if not isinstance(out, gpd.GeoDataFrame):
        raise InputError(f"layer {layer!r}: expected a GeoDataFrame with geometries")
    crs = require_lunar(CRS.from_user_input(out.crs) if out.crs else None, f"layer {layer!r}")
    if not same_crs(crs, MOON_GEOGRAPHIC):
        out = out.to_crs(MOON_GEOGRAPHIC)
    out = out.set_crs(MOON_GEOGRAPHIC, allow_override=True)
    if schema.geometry_type == "MultiPolygon":
        out["geometry"] = [shapely.MultiPolygon([g]) if isinstance(g, shapely.Polygon) else g
                           for g in out.geometry]
    if schema.geometry_type in ("Point", "MultiPolygon", "LineString"):
        bad = [t for t in out.geometry.geom_type.dropna().unique() if t != schema.geometry_type]
        if bad:
            raise InputError(f"layer {layer!r}: geometry type(s) {bad}; expected "
                             f"{schema.geometry_type}")
    return out


class Edit:
    """Stage changes to an atlas; :meth:`commit` applies them all as one new edition.

    Use as a context manager: the edition is committed when the block ends without error,
    and nothing is written if it raises.
    """

    def __init__(self, path: str | Path, reason: str, command: str = "") -> None:
        self.path = Path(path)
        self.reason = reason
        self.command = command
        self._ops: list[_Op] = []
        self._prepare: Callable[[Edit, Atlas | None], None] | None = None
        self.edition: int | None = None
        if self.path.exists():
            Atlas(self.path)  # validate before staging anything

    def prepare(self, stage: Callable[[Edit, Atlas | None], None]) -> None:
        """Stage changes when the write lock is held: ``stage(edit, atlas)`` runs inside
        :meth:`commit` with the atlas as it is then (None for a new atlas), so values derived
        from the atlas (a refitted chronology, re-dated units) come from the very edition
        they extend, whatever other writers did meanwhile."""
        self._prepare = stage

    def replace_layer(self, layer: str, frame: pd.DataFrame, source: str) -> None:
        """Make ``frame`` the layer's full content (missing records are removed)."""
        schema = self._schema(layer)
        self._ops.append(_Op(layer, "replace", _validate_frame(layer, frame, schema), (), source))

    def upsert(self, layer: str, frame: pd.DataFrame, source: str) -> None:
        """Add these records or replace the ones with the same ``record_id``."""
        schema = self._schema(layer)
        self._ops.append(_Op(layer, "upsert", _validate_frame(layer, frame, schema), (), source))

    def remove(self, layer: str, record_ids: Iterable[str], source: str) -> None:
        """Remove records by id (their earlier versions stay readable)."""
        self._schema(layer)
        self._ops.append(_Op(layer, "remove", None, tuple(str(r) for r in record_ids), source))

    def _schema(self, layer: str) -> LayerSchema:
        try:
            return layer_schema(layer)
        except KeyError as exc:
            raise InputError(exc.args[0]) from None

    def __enter__(self) -> Edit:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.commit()

    def commit(self) -> int | None:
        """Apply staged changes as one edition; returns its number, or None if nothing changed.

        A failure of the file system (no space, read-only folder, no permission) leaves the
        atlas as it was and is reported in one line (:class:`AtlasError`)."""
        try:
            return self._commit()
        except (LunatlasError, KeyboardInterrupt):
            raise
        except Exception as exc:
            raise AtlasError(_write_failure(self.path, exc)) from None

    def _commit(self) -> int | None:
        with _lock(self.path):
            base = Atlas(self.path) if self.path.exists() else None
            if self._prepare is not None:
                self._prepare(self, base)
            parent = base.latest if base else None
            edition = (parent or 0) + 1
            _remove_stale_temporaries(self.path)  # we hold the lock: no writer is mid-write
            # unique across processes and hosts (a reused PID 1 in containers must not meet
            # a dead writer's copy or its journal)
            tmp = self.path.with_name(f".{self.path.stem}.{uuid.uuid4().hex}.tmp.gpkg")
            original = self.path.stat() if self.path.exists() else None
            try:
                if base is not None:
                    _require_intact(self.path, "before the write")
                    shutil.copyfile(self.path, tmp)
                else:
                    _init_skeleton(tmp)
                provenance = self._apply(tmp, edition)
                if not provenance:
                    tmp.unlink(missing_ok=True)
                    return None
                _append(tmp, EDITIONS_TABLE, _EDITION_COLUMNS, [{
                    "edition": edition, "created_utc": datetime.now(UTC).isoformat(
                        timespec="seconds"), "reason": self.reason, "parent": parent,
                    "lunatlas_version": __version__, "command": self.command}])
                _append(tmp, PROVENANCE_TABLE, _PROVENANCE_COLUMNS, provenance)
                _create_current_views(tmp)
                _require_intact(tmp, "after the write (nothing was replaced)")
                _fsync(tmp)
                if original is not None:  # keep the atlas's mode (0600 stays private) and owner
                    os.chmod(tmp, stat.S_IMODE(original.st_mode))
                    with contextlib.suppress(PermissionError):
                        os.chown(tmp, original.st_uid, original.st_gid)
                os.replace(tmp, self.path)
                _fsync(self.path.parent)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
        self.edition = edition
        return edition

    def _apply(self, tmp: Path, edition: int) -> list[dict]:
        provenance: list[dict] = []
        for layer in dict.fromkeys(op.layer for op in self._ops):
            schema = LAYERS[layer]
            columns = _versioned_columns(schema)
            rows = _conform(_read(tmp, layer), columns)
            before = len(provenance)
            for op in (o for o in self._ops if o.layer == layer):
                rows = _apply_op(rows, op, schema, edition, provenance)
            if len(provenance) > before:
                _write(rows[list(columns) + (["geometry"] if schema.geometry_type else [])],
                       tmp, layer, schema.geometry_type)
                if _after_layer_write is not None:
                    _after_layer_write(layer)
        return provenance


def _apply_op(rows: pd.DataFrame, op: _Op, schema: LayerSchema, edition: int,
              provenance: list[dict]) -> pd.DataFrame:
    current = rows["edition_removed"].isna()
    current_ids = pd.Series(rows.index[current], index=rows.loc[current, "record_id"])
    geometry = "geometry" if schema.geometry_type else None

    def close(rid: str, action: str, detail: str = "") -> None:
        rows.loc[current_ids[rid], "edition_removed"] = edition
        if action == "removed":
            provenance.append({"edition": edition, "layer": op.layer, "record_id": rid,
                               "action": action, "source": op.source, "detail": detail})

    if op.kind == "remove":
        for rid in op.record_ids:
            if rid in current_ids.index:
                close(rid, "removed")
        return rows
    assert op.frame is not None
    ids = op.frame["record_id"].tolist()
    keep = np.ones(len(ids), dtype=bool)
    for position, rid in enumerate(ids):  # records only compared where the id exists
        if rid in current_ids.index:
            changes = record_changes(rows.loc[current_ids[rid]], op.frame.iloc[position],
                                     list(schema.columns), geometry)
            if not changes:
                keep[position] = False
                continue
            close(rid, "changed")
            action, detail = "changed", ", ".join(c.field for c in changes)
        else:
            action, detail = "added", ""
        provenance.append({"edition": edition, "layer": op.layer, "record_id": rid,
                           "action": action, "source": op.source, "detail": detail})
    if op.kind == "replace":
        for rid in sorted(set(current_ids.index) - set(ids)):
            close(rid, "removed")
    if keep.any():
        added = pd.DataFrame(op.frame[keep]).assign(edition_added=edition,
                                                    edition_removed=pd.NA)
        if geometry:
            added = gpd.GeoDataFrame(added, geometry="geometry", crs=MOON_GEOGRAPHIC)
        rows = pd.concat([rows, added], ignore_index=True)
        rows = _conform(rows, _versioned_columns(schema))
        if geometry:
            rows = gpd.GeoDataFrame(rows, geometry="geometry", crs=MOON_GEOGRAPHIC)
    return rows


def _append(path: Path, table: str, columns: dict[str, str], records: list[dict]) -> None:
    existing = _conform(_read(path, table), dict(columns))
    frame = pd.concat([existing, pd.DataFrame(records)], ignore_index=True)
    _write(_conform(frame, dict(columns))[list(columns)], path, table, None)


def _init_skeleton(path: Path) -> None:
    path.unlink(missing_ok=True)
    _write(pd.DataFrame({"key": ["format", "schema_version", "crs", "created_by"],
                         "value": [ATLAS_FORMAT, str(SCHEMA_VERSION), "IAU_2015:30100",
                                   f"lunatlas {__version__}"]}), path, META_TABLE, None)
    for name, schema in LAYERS.items():
        _write(_typed_frame(_versioned_columns(schema), schema.geometry_type), path, name,
               schema.geometry_type)
    _write(_typed_frame(_EDITION_COLUMNS, None), path, EDITIONS_TABLE, None)
    _write(_typed_frame(_PROVENANCE_COLUMNS, None), path, PROVENANCE_TABLE, None)


def _create_current_views(path: Path) -> None:
    """Register ``<layer>_current`` views (current records only) so GIS users see them."""
    con = sqlite3.connect(path)
    try:
        with con:
            for name, schema in LAYERS.items():
                view = f"{name}_current"
                con.execute(f'DROP VIEW IF EXISTS "{view}"')
                con.execute(f'CREATE VIEW "{view}" AS SELECT * FROM "{name}" '
                            "WHERE edition_removed IS NULL")
                con.execute("DELETE FROM gpkg_contents WHERE table_name = ?", (view,))
                if schema.geometry_type is None:
                    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier) "
                                "VALUES (?, 'attributes', ?)", (view, view))
                    continue
                srs_id, geom_type = con.execute(
                    "SELECT srs_id, geometry_type_name FROM gpkg_geometry_columns "
                    "WHERE table_name = ?", (name,)).fetchone()
                con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, "
                            "srs_id) VALUES (?, 'features', ?, ?)", (view, view, srs_id))
                con.execute("DELETE FROM gpkg_geometry_columns WHERE table_name = ?", (view,))
                con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', ?, ?, 0, 0)",
                            (view, geom_type, srs_id))
    finally:
        con.close()


def _fsync(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _write_failure(path: Path, exc: Exception) -> str:
    """One line on why a write failed, naming the likely cause."""
    folder = path.parent
    reason = getattr(exc, "strerror", None) or str(exc).splitlines()[0]
    try:
        free = shutil.disk_usage(folder).free
        needed = 2 * (path.stat().st_size if path.exists() else 0) + 10_000_000
        if free < needed:
            return (f"{path}: cannot write the new edition: the disk is full ({free:,} bytes "
                    f"free in {folder}, about {needed:,} needed); the atlas is unchanged")
    except OSError:
        pass
    if not os.access(folder, os.W_OK):
        return (f"{path}: cannot write the new edition: the folder {folder} is not writable "
                "(read-only or no permission); the atlas is unchanged")
    return f"{path}: cannot write the new edition ({reason}); the atlas is unchanged"


def _require_intact(path: Path, when: str) -> None:
    """AtlasError unless SQLite's quick integrity check passes on the GeoPackage."""
    try:
        with contextlib.closing(sqlite3.connect(f"file:{path}?mode=ro", uri=True)) as con:
            result = con.execute("PRAGMA quick_check").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        result = str(exc)
    if result != "ok":
        raise AtlasError(f"{path}: the GeoPackage fails SQLite's integrity check {when} "
                         f"({result}); restore it from a backup or rebuild it")


def _remove_stale_temporaries(path: Path) -> None:
    """Delete copies (and SQLite journals) that killed writers left beside the atlas. Only
    called with the write lock held, when no live writer can own one."""
    for leftover in path.parent.glob(f".{path.stem}.*.tmp.gpkg*"):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()


@contextlib.contextmanager
def _lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    lock_path = path.with_name(path.name + ".lock")
    with open(lock_path, "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


def edit(path: str | Path, reason: str, command: str = "") -> Edit:
    """Start an edit of the atlas at ``path`` (created on first commit if absent)."""
    return Edit(path, reason, command)
