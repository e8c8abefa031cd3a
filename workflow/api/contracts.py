"""/api/v1: contracts."""
from __future__ import annotations

from workflow.api.base import blueprint

bp = blueprint("contracts", "contracts")
