"""The shortlist (stage 2): offers the caseworker and procurement want to ask, each with why."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from workflow.extensions import db
from workflow.models import Offer, PurchaseCase, ShortlistEntry, User
from workflow.services import audit
from workflow.services.errors import ServiceError
from workflow.services.market_scan import PART_MAX

MAX_SCORE = sum(PART_MAX.values())   # the market scan's scores go from 0 to 100


def entries(case: PurchaseCase) -> list[ShortlistEntry]:
    return list(db.session.scalars(
        select(ShortlistEntry).where(ShortlistEntry.case_id == case.id)
        .options(joinedload(ShortlistEntry.offer).joinedload(Offer.supplier),   # each one row: one query
                 joinedload(ShortlistEntry.added_by))
        .order_by(ShortlistEntry.id)))


def facts(case: PurchaseCase) -> tuple[int, bool]:
    """How many offers are shortlisted, and whether one of them is under a framework agreement."""
    count, framework = db.session.execute(
        select(func.count(ShortlistEntry.id), func.max(Offer.framework_agreement.cast(db.Integer)))
        .join(Offer, Offer.id == ShortlistEntry.offer_id).where(ShortlistEntry.case_id == case.id)).one()
    return count, bool(framework)


def _check(case: PurchaseCase, actor: User) -> None:
    if not case.can_edit_shortlist(actor):
        raise ServiceError(_("The shortlist can only be changed in the market scan, by the case's caseworkers "
                             "and procurement colleague."))


def add(case: PurchaseCase, offer: Offer, actor: User, note: str = "", score: int | None = None) -> ShortlistEntry:
    _check(case, actor)
    if score is not None and not 0 <= score <= MAX_SCORE:
        raise ServiceError(_("The score goes from 0 to %(max)s.", max=MAX_SCORE), "score")
    if not offer.active:
        raise ServiceError(_("This offer is no longer active."))
    existing = db.session.scalar(select(ShortlistEntry).where(ShortlistEntry.case_id == case.id,
                                                               ShortlistEntry.offer_id == offer.id))
    if existing is not None:
        raise ServiceError(_("The offer is on the shortlist already."))
    entry = ShortlistEntry(case_id=case.id, offer_id=offer.id, note=note.strip() or None, score=score,
                           added_by_id=actor.id)
    db.session.add(entry)
    db.session.flush()
    audit.record("shortlist.added", entry, {"offer": offer.name, "offer_id": offer.id, "note": entry.note,
                                            "score": score}, actor=actor, case=case)
    return entry


def update_note(case: PurchaseCase, entry: ShortlistEntry, actor: User, note: str) -> None:
    _check(case, actor)
    changed = audit.changes(entry, {"note": note.strip() or None})
    if changed:
        audit.record("shortlist.note", entry, {"offer_id": entry.offer_id, "changes": changed}, actor=actor,
                     case=case)


def remove(case: PurchaseCase, entry: ShortlistEntry, actor: User) -> None:
    _check(case, actor)
    audit.record("shortlist.removed", entry, {"offer": entry.offer.name, "offer_id": entry.offer_id},
                 actor=actor, case=case)
    db.session.delete(entry)
