"""/api/v1: dialogue."""
from __future__ import annotations

from workflow.api.base import blueprint

bp = blueprint("dialogue", "dialogue")
