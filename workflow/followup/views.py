"""Stages 6 to 8 on a case: start of delivery, follow-ups (citizen and supplier side), ending."""
from __future__ import annotations

from flask import Blueprint

from workflow.security import STAFF, restrict_blueprint

bp = Blueprint("followup", __name__)

restrict_blueprint(bp, *STAFF)
