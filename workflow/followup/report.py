"""The case's follow-up report as PDF: /cases/<id>/followup.pdf."""
from __future__ import annotations

from flask import Blueprint

from workflow.security import STAFF, restrict_blueprint

bp = Blueprint("followup_report", __name__)

restrict_blueprint(bp, *STAFF)
