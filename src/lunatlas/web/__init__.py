"""The shared atlas service: HTTP API (FastAPI) over an atlas, with institution tokens."""

from lunatlas.web.app import create_app
from lunatlas.web.service import ServiceStore

__all__ = ["ServiceStore", "create_app"]
