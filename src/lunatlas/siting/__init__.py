"""Station siting: criteria, suitability, candidates, sensitivity and the siting workflow."""

from lunatlas.siting.criteria import Criteria, load_criteria
from lunatlas.siting.pipeline import SitingResult, run_siting

__all__ = ["Criteria", "SitingResult", "load_criteria", "run_siting"]
