"""/api/v1: shortlist."""
from __future__ import annotations

from workflow.api.base import blueprint

bp = blueprint("shortlist", "shortlist")
