"""The managers' portfolio dashboard: /reports."""
from __future__ import annotations

from flask import Blueprint

from workflow.roles import Role
from workflow.security import restrict_blueprint

bp = Blueprint("dashboard", __name__)

restrict_blueprint(bp, Role.MANAGER, Role.ECONOMY)
