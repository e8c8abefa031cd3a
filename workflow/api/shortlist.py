"""/api/v1/cases/{id}/shortlist: the offers the case's caseworkers and procurement colleague want to ask.

The shortlist is changed in the market scan stage, by the unit's caseworkers and the case's procurement
colleague (PurchaseCase.can_edit_shortlist, checked by services/shortlist.py). Shortlist entries have
no version, so their writes need no If-Match: adding the same offer twice is refused, and a note is
simply replaced.
"""
from __future__ import annotations

import marshmallow as ma
from flask import abort
from flask_babel import gettext as _
from flask_login import current_user

from workflow.api.base import ID, MAX_ID, ApiSchema, NoBodySchema, blueprint
from workflow.api.cases import PersonSchema
from workflow.api.fields import Count, Text
from workflow.cases.loading import load_case, load_of_case
from workflow.extensions import db
from workflow.models import Offer, PurchaseCase, ShortlistEntry
from workflow.process import Stage
from workflow.services import ServiceError, cases, shortlist

bp = blueprint("shortlist", "The shortlist of a case: the offers to ask in the dialogue, each with why.")

NOTE_LENGTH = 2000   # as on the market scan page


class OfferRefSchema(ApiSchema):
    id = ma.fields.Integer()
    key = ma.fields.String()
    name = ma.fields.String()
    supplier_id = ma.fields.Integer()
    supplier_name = ma.fields.String(attribute="supplier.name")
    framework_agreement = ma.fields.Boolean()
    active = ma.fields.Boolean()


class EntrySchema(ApiSchema):
    id = ma.fields.Integer()
    offer = ma.fields.Nested(OfferRefSchema)
    note = ma.fields.String(allow_none=True)
    score = ma.fields.Integer(allow_none=True, metadata={"description": "The market scan's score (0-100) "
                                                                        "when it was shortlisted."})
    added_by = ma.fields.Nested(PersonSchema)
    added_at = ma.fields.DateTime()


class ShortlistSchema(ApiSchema):
    items = ma.fields.List(ma.fields.Nested(EntrySchema))
    can_edit = ma.fields.Boolean(metadata={"description": "Whether you may change the shortlist now."})


class NewEntrySchema(ApiSchema):
    offer_id = Count(minimum=1, maximum=MAX_ID, required=True)
    note = Text(NOTE_LENGTH, load_default="", metadata={"description": "Why this offer."})
    score = Count(minimum=0, maximum=shortlist.MAX_SCORE, load_default=None, allow_none=True)


class NoteSchema(ApiSchema):
    note = Text(NOTE_LENGTH, required=True, allow_none=True, metadata={"description": "Why this offer; "
                                                                                     "empty or null clears it."})


def _may_edit(case: PurchaseCase) -> None:
    """403 when the user may not change this shortlist even in the market scan; the service refuses the rest.

    In another stage the service's refusal (422) says when the shortlist can be changed.
    """
    if case.stage == Stage.MARKET_SCAN and not case.can_edit_shortlist(current_user):
        abort(403)



@bp.route(f"/cases/<{ID}:case_id>/shortlist", methods=["GET"])
@bp.response(200, ShortlistSchema)
def read_shortlist(case_id: int):
    """The case's shortlist: each offer with its supplier, why it was chosen, its score and who added it."""
    case = load_case(case_id)
    entries = shortlist.entries(case)
    cases.log_access(current_user, case, "shortlist.view", "API: kortliste")
    db.session.commit()
    return {"items": entries, "can_edit": case.can_edit_shortlist(current_user)}


@bp.route(f"/cases/<{ID}:case_id>/shortlist", methods=["POST"])
@bp.arguments(NewEntrySchema)
@bp.response(201, EntrySchema)
def add_entry(data: dict, case_id: int):
    """Shortlist an active offer (the case's caseworkers and procurement colleague, in the market scan).

    No If-Match: entries have no version, and an offer already on the shortlist is refused (422).
    """
    case = load_case(case_id)
    _may_edit(case)
    offer = db.session.get(Offer, data["offer_id"])
    if offer is None:
        raise ServiceError(_("There is no such offer in the registry."), "offer_id")
    entry = shortlist.add(case, offer, current_user, data["note"], data["score"])
    cases.log_access(current_user, case, "shortlist.edit", "API: kortliste")
    db.session.commit()
    return entry


@bp.route(f"/cases/<{ID}:case_id>/shortlist/<{ID}:entry_id>", methods=["PATCH"])
@bp.arguments(NoteSchema)
@bp.response(200, EntrySchema)
def update_note(data: dict, case_id: int, entry_id: int):
    """Replace the note of a shortlisted offer. No If-Match: entries have no version; the last note wins."""
    case = load_case(case_id)
    entry = load_of_case(ShortlistEntry, entry_id, case)
    _may_edit(case)
    shortlist.update_note(case, entry, current_user, data["note"] or "")
    cases.log_access(current_user, case, "shortlist.edit", "API: kortliste")
    db.session.commit()
    return entry


@bp.route(f"/cases/<{ID}:case_id>/shortlist/<{ID}:entry_id>", methods=["DELETE"])
@bp.arguments(NoBodySchema)
@bp.response(204)
def remove_entry(_body: dict, case_id: int, entry_id: int):
    """Take an offer off the shortlist. No If-Match: entries have no version."""
    case = load_case(case_id)
    entry = load_of_case(ShortlistEntry, entry_id, case)
    _may_edit(case)
    shortlist.remove(case, entry, current_user)
    db.session.commit()
    return "", 204
