"""/api/v1: offers."""
from __future__ import annotations

from workflow.api.base import blueprint

bp = blueprint("offers", "offers")
