"""The atlas: a versioned GeoPackage of units, craters, samples and sites (IAU_2015:30100)."""

from lunatlas.atlas.diff import FieldChange, LayerDiff, RecordChange
from lunatlas.atlas.schema import LAYERS, LayerSchema
from lunatlas.atlas.store import Atlas, AtlasSnapshot, Edit, Edition, edit

__all__ = ["LAYERS", "Atlas", "AtlasSnapshot", "Edit", "Edition", "FieldChange", "LayerDiff",
           "LayerSchema", "RecordChange", "edit"]
