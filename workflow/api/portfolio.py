"""/api/v1: portfolio."""
from __future__ import annotations

from workflow.api.base import blueprint

bp = blueprint("portfolio", "portfolio")
