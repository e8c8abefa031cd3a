"""/api/v1: followup."""
from __future__ import annotations

from workflow.api.base import blueprint

bp = blueprint("followup", "followup")
