"""Returned samples: the mission/age registry and validated ingest of new analyses."""

from lunatlas.samples.analyses import Analysis, analysis_records, read_analyses
from lunatlas.samples.registry import missions, sample_records, unit_ages

__all__ = ["Analysis", "analysis_records", "missions", "read_analyses", "sample_records",
           "unit_ages"]
