"""Loading a case and its rows for a page or an API call: 404 unless the user may see it (never a hint)."""
from __future__ import annotations

from flask import abort
from flask_login import current_user
from sqlalchemy.orm import joinedload

from workflow.extensions import db
from workflow.models import PurchaseCase

# The case with its citizen, unit and people, in one query. Loader options are immutable: built once, not on
# every request.
_WITH_PEOPLE = (joinedload(PurchaseCase.citizen), joinedload(PurchaseCase.unit), joinedload(PurchaseCase.owner),
                joinedload(PurchaseCase.procurement), joinedload(PurchaseCase.economy))


def load_case(case_id: int) -> PurchaseCase:
    case = db.session.get(PurchaseCase, case_id, options=_WITH_PEOPLE)
    if case is None or not case.can_view(current_user):
        abort(404)
    return case


def load_of_case(model, object_id: int, case: PurchaseCase):
    """A row that belongs to the case (an inquiry, a shortlist entry, a follow-up); 404 for another case's."""
    found = db.session.get(model, object_id)
    if found is None or found.case_id != case.id:
        abort(404)
    return found
