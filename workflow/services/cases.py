"""Use cases of the purchase case itself: open it, edit it, its team, comments and access log."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import insert, select

from workflow import cpr
from workflow.extensions import db
from workflow.legal_basis import BY_CODE as LEGAL_BASES
from workflow.models import (
    AccessLog,
    CaseComment,
    Citizen,
    NeedsAssessment,
    PurchaseCase,
    Role,
    StageVisit,
    User,
)
from workflow.municipalities import BY_CODE as MUNICIPALITIES
from workflow.process import Stage
from workflow.services import audit
from workflow.services.errors import ServiceError, check_version  # noqa: F401 - services call cases.check_version
from workflow.vocabulary import TARGET_GROUP_LABELS


def _validate_details(legal_basis: str, target_group: str, budget_frame: Decimal | None) -> None:
    if legal_basis not in LEGAL_BASES:
        raise ServiceError(_("Choose a legal basis from the list."), "legal_basis")
    if target_group not in TARGET_GROUP_LABELS:
        raise ServiceError(_("Choose a target group from the list."), "target_group")
    if budget_frame is not None and budget_frame < 0:
        raise ServiceError(_("The budget frame cannot be negative."), "budget_frame")


def _citizen(cpr_text: str, name: str, home_municipality: str) -> Citizen:
    try:
        number, _born = cpr.parse(cpr_text)
    except cpr.InvalidCPR as error:
        raise ServiceError(_("The CPR number is not valid. Write it as DDMMYY-SSSS."), "cpr") from error
    if home_municipality not in MUNICIPALITIES:
        raise ServiceError(_("Choose the home municipality from the list."), "home_municipality")
    citizen = db.session.scalar(select(Citizen).where(Citizen.cpr == number))
    if citizen is None:
        citizen = Citizen(cpr=number, name=name.strip(), home_municipality=home_municipality)
        db.session.add(citizen)
        db.session.flush()
    return citizen


def open_case(actor: User, *, cpr_text: str, citizen_name: str, home_municipality: str, legal_basis: str,
              target_group: str, acute: bool, desired_start: date | None, budget_frame: Decimal | None,
              procurement: User | None = None, economy: User | None = None) -> PurchaseCase:
    """A caseworker opens a purchase case for a citizen; it starts in the needs stage."""
    if actor.role != Role.CASEWORKER:
        raise ServiceError(_("Only caseworkers open purchase cases."))
    _validate_details(legal_basis, target_group, budget_frame)
    _check_team(procurement, economy)
    citizen = _citizen(cpr_text, citizen_name, home_municipality)
    case = PurchaseCase(
        citizen=citizen, legal_basis=legal_basis, target_group=target_group, unit_id=actor.unit_id,
        owner_id=actor.id, procurement_id=procurement.id if procurement else None,
        economy_id=economy.id if economy else None, acute=acute, desired_start=desired_start,
        budget_frame=budget_frame, stage=Stage.NEEDS,
    )
    db.session.add(case)
    db.session.flush()
    case.number = f"SK-{case.created_at.year}-{case.id:05d}"
    db.session.add(NeedsAssessment(case_id=case.id, sequence=1, current=True))
    db.session.add(StageVisit(case_id=case.id, stage=Stage.NEEDS, entered_at=case.created_at))
    audit.record("case.opened", case, {"number": case.number, "legal_basis": legal_basis,
                                       "target_group": target_group, "acute": acute}, actor=actor)
    return case


def update_details(case: PurchaseCase, *, version: int | None, legal_basis: str, target_group: str, acute: bool,
                   desired_start: date | None, budget_frame: Decimal | None) -> dict:
    check_version(case, version)
    if case.stage != Stage.NEEDS:
        raise ServiceError(_("The case details can only be changed in the needs stage."))
    _validate_details(legal_basis, target_group, budget_frame)
    changed = audit.changes(case, {"legal_basis": legal_basis, "target_group": target_group, "acute": acute,
                                   "desired_start": desired_start, "budget_frame": budget_frame})
    if changed:
        audit.record("case.changed", case, {"changes": changed})
    return changed


def _check_team(procurement: User | None, economy: User | None) -> None:
    if procurement is not None and (procurement.role != Role.PROCUREMENT or not procurement.active):
        raise ServiceError(_("Choose an active procurement colleague."), "procurement_id")
    if economy is not None and (economy.role != Role.ECONOMY or not economy.active):
        raise ServiceError(_("Choose an active economy colleague."), "economy_id")


def assign_team(case: PurchaseCase, *, version: int | None, owner: User, procurement: User | None,
                economy: User | None) -> dict:
    """Change the owning caseworker and the assigned procurement and economy colleagues."""
    check_version(case, version)
    if owner.role != Role.CASEWORKER or not owner.active or owner.unit_id != case.unit_id:
        raise ServiceError(_("The owner must be an active caseworker of the case's unit."), "owner_id")
    _check_team(procurement, economy)
    changed = audit.changes(case, {"owner_id": owner.id, "procurement_id": procurement.id if procurement else None,
                                   "economy_id": economy.id if economy else None})
    if changed:
        names = {user.id: user.full_name for user in (owner, procurement, economy) if user}
        audit.record("case.team_changed", case, {"changes": changed, "names": {str(k): v for k, v in names.items()}})
    return changed


def add_comment(case: PurchaseCase, author: User, body: str) -> CaseComment:
    body = body.strip()
    if not body:
        raise ServiceError(_("Write a comment."), "body")
    comment = CaseComment(case_id=case.id, author_id=author.id, body=body)
    db.session.add(comment)
    db.session.flush()
    audit.record("case.commented", comment, {"comment_id": comment.id}, actor=author, case=case)
    return comment


def log_access(user: User, case: PurchaseCase, action: str, purpose: str) -> None:
    """Every read of a citizen's data leaves a row: who, when, which citizen and case, what and why."""
    db.session.add(AccessLog(user_id=user.id, citizen_id=case.citizen_id, case_id=case.id,
                             action=action, purpose=purpose[:200]))


def log_list_access(user: User, shown: list[PurchaseCase], purpose: str) -> None:
    """A list that names citizens is a read of each of them: one row per case shown."""
    if shown:  # one statement for the page, however many rows it shows
        db.session.execute(insert(AccessLog), [
            {"user_id": user.id, "citizen_id": case.citizen_id, "case_id": case.id, "action": "case.list",
             "purpose": purpose[:200]} for case in shown])


def reveal_cpr(user: User, case: PurchaseCase) -> str:
    if not case.can_show_cpr(user):
        raise ServiceError(_("You cannot see this CPR number."))
    log_access(user, case, "cpr.show", "Vis CPR-nummer på sagen")
    audit.record("case.cpr_shown", case, {}, actor=user)
    return cpr.formatted(case.citizen.cpr)


def find_by_cpr(user: User, cpr_text: str) -> list[PurchaseCase]:
    """Cases of the citizen with this CPR number that the user may see; each find is logged."""
    try:
        number, _born = cpr.parse(cpr_text)
    except cpr.InvalidCPR as error:
        raise ServiceError(_("The CPR number is not valid. Write it as DDMMYY-SSSS."), "cpr") from error
    cases = db.session.scalars(
        select(PurchaseCase).join(Citizen).where(Citizen.cpr == number, PurchaseCase.visible_to(user))
        .order_by(PurchaseCase.id.desc())
    ).all()
    for case in cases:
        log_access(user, case, "cpr.search", "Søgning på CPR-nummer")
    return cases


def current_assessment(case: PurchaseCase) -> NeedsAssessment:
    return db.session.scalar(
        select(NeedsAssessment).where(NeedsAssessment.case_id == case.id, NeedsAssessment.current.is_(True))
    )
