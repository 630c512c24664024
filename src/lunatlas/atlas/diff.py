"""Compare two snapshots of an atlas layer: added, removed and changed records.

Pure functions on frames (no I/O). A record is identified by ``record_id``; it changed when
any attribute or its geometry differs.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import shapely

GEOMETRY_TOLERANCE_DEG = 1e-9


@dataclass
class FieldChange:
    """One field of one record: value before and after."""

    field: str
    old: Any
    new: Any


@dataclass
class RecordChange:
    """A record present in both snapshots with different contents."""

    record_id: str
    fields: list[FieldChange]


@dataclass
class LayerDiff:
    """Differences in one layer between two snapshots."""

    layer: str
    added: list[str] = field(default_factory=list)
    removed: list[str] = field(default_factory=list)
    changed: list[RecordChange] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        return not (self.added or self.removed or self.changed)


def _same_value(a: Any, b: Any) -> bool:
    a_missing = a is None or (isinstance(a, float) and math.isnan(a)) or a is pd.NA
    b_missing = b is None or (isinstance(b, float) and math.isnan(b)) or b is pd.NA
    if a_missing or b_missing:
        return a_missing and b_missing
    if isinstance(a, float) or isinstance(b, float):
        try:
            return math.isclose(float(a), float(b), rel_tol=1e-12, abs_tol=1e-12)
        except (TypeError, ValueError):
            return False
    return bool(a == b)


def _same_geometry(a: Any, b: Any) -> bool:
    if a is None or b is None:
        return a is None and b is None
    return bool(shapely.equals_exact(a, b, tolerance=GEOMETRY_TOLERANCE_DEG))


def _plain(value: Any) -> Any:
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    if hasattr(value, "item"):
        return value.item()
    return value


def record_changes(old: pd.Series, new: pd.Series, columns: list[str],
                   geometry_column: str | None) -> list[FieldChange]:
    """Field-level changes between two versions of one record."""
    changes = [FieldChange(c, _plain(old.get(c)), _plain(new.get(c)))
               for c in columns if not _same_value(old.get(c), new.get(c))]
    if geometry_column and not _same_geometry(old.get(geometry_column), new.get(geometry_column)):
        changes.append(FieldChange(
            "geometry",
            None if old.get(geometry_column) is None else old[geometry_column].wkt,
            None if new.get(geometry_column) is None else new[geometry_column].wkt,
        ))
    return changes


def diff_layer(layer: str, before: pd.DataFrame, after: pd.DataFrame, columns: list[str],
               geometry_column: str | None) -> LayerDiff:
    """Diff two snapshots (frames indexed by ``record_id``) of one layer."""
    result = LayerDiff(layer)
    old_ids, new_ids = set(before.index), set(after.index)
    result.added = sorted(new_ids - old_ids)
    result.removed = sorted(old_ids - new_ids)
    for rid in sorted(old_ids & new_ids):
        changes = record_changes(before.loc[rid], after.loc[rid], columns, geometry_column)
        if changes:
            result.changed.append(RecordChange(rid, changes))
    return result
