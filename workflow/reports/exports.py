"""The portfolio as a PDF report, CSV and XLSX: /reports/followup.pdf, /reports/portfolio.csv|xlsx."""
from __future__ import annotations

from flask import Blueprint

from workflow.roles import Role
from workflow.security import restrict_blueprint

bp = Blueprint("exports", __name__)

restrict_blueprint(bp, Role.MANAGER, Role.ECONOMY)
