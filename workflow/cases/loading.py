"""Loading a case for a page: 404 unless the user may see it (never a hint that it exists)."""
from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy.orm import joinedload

from workflow.extensions import db
from workflow.models import PurchaseCase


def load_case(case_id: int) -> PurchaseCase:
    case = db.session.get(PurchaseCase, case_id, options=[
        joinedload(PurchaseCase.citizen), joinedload(PurchaseCase.unit), joinedload(PurchaseCase.owner),
        joinedload(PurchaseCase.procurement), joinedload(PurchaseCase.economy)])
    if case is None or not case.can_view(current_user):
        abort(404)
    return case
