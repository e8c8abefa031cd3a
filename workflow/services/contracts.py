"""Contract terms (stage 4) and approval with four eyes (stage 5).

The process module decides who may submit, review, approve and reject; this module keeps the
contract versions, their price lines and the append-only approval history, and freezes a
version with its PDF summary when it is approved.
"""
from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from workflow import pricing
from workflow.extensions import db
from workflow.models import ApprovalEvent, ContractPriceLine, ContractVersion, PurchaseCase, User
from workflow.models.contracts import PAYMENT_TERMS
from workflow.models.offers import PRICE_UNITS
from workflow.models.types import utcnow
from workflow.process import Event, Stage
from workflow.services import audit, cases, dialogue, settings, transitions
from workflow.services.errors import ServiceError
from workflow.vocabulary import SERVICE_TYPE_LABELS
from workflow.vum import GOAL_TYPE_LABELS

DEFAULT_ABSENCE = ("Ved borgerens fravær eller hospitalsindlæggelse betales fuld takst de første 30 dage, "
                   "derefter 75 % af taksten.")
DEFAULT_DOCUMENTATION = ("Leverandøren sender statusrapport om målene senest 14 dage før hver opfølgning og "
                         "underretter straks om utilsigtede hændelser og magtanvendelse.")
DEFAULT_DATA_PROCESSING = ("Leverandøren er selvstændig dataansvarlig for egen behandling af borgerens oplysninger "
                           "og behandler dem efter databeskyttelsesforordningen.")


def versions(case: PurchaseCase) -> list[ContractVersion]:
    return list(db.session.scalars(
        select(ContractVersion).where(ContractVersion.case_id == case.id)
        .options(selectinload(ContractVersion.lines), selectinload(ContractVersion.drafted_by),
                 selectinload(ContractVersion.approved_by))
        .order_by(ContractVersion.number)))


def current(case: PurchaseCase) -> ContractVersion | None:
    """The version being worked on, or else the one in force."""
    found = [v for v in versions(case) if v.status != "superseded"]
    working = [v for v in found if v.status != "approved"]
    return (working or found or [None])[-1]


def in_force(case: PurchaseCase) -> ContractVersion | None:
    return next((v for v in reversed(versions(case)) if v.status == "approved"), None)


def history(contract_ids: list[int]) -> list[ApprovalEvent]:
    if not contract_ids:
        return []
    return list(db.session.scalars(select(ApprovalEvent).where(ApprovalEvent.contract_id.in_(contract_ids))
                                   .options(selectinload(ApprovalEvent.actor)).order_by(ApprovalEvent.id)))


def status_of(case: PurchaseCase, contract: ContractVersion) -> str:
    """The version's status, where an approved version in force is "active" once the delivery has started
    and "ended" once the case is closed."""
    if contract.status != "approved" or case.delivery_started_on is None:
        return contract.status
    return "active" if case.is_open else "ended"


def tier_for(annual_cost: Decimal) -> str:
    """The approval tier (from settings) that an annual cost falls in."""
    for tier in settings.get("approval_tiers"):
        if tier["limit"] is None or annual_cost <= Decimal(tier["limit"]):
            return tier["name"]
    return settings.get("approval_tiers")[-1]["name"]


def eu_threshold_passed(contract: ContractVersion) -> bool:
    total = contract.total_value
    return total is not None and total > Decimal(settings.get("eu_threshold_dkk"))


def complete(contract: ContractVersion | None) -> bool:
    return bool(contract and contract.lines and contract.start_date
                and (contract.duration_months or contract.review_date)
                and contract.supplier_cvr and contract.acting_municipality and contract.paying_municipality)


def can_edit(case: PurchaseCase, contract: ContractVersion | None, user: User) -> bool:
    """Procurement and economy on the case draft the terms while the case is in stage 4."""
    return (contract is not None and contract.editable and case.stage == Stage.TERMS
            and user.id in (case.procurement_id, case.economy_id))


def draft_refusal(case: PurchaseCase, user: User) -> str | None:
    """Why this user cannot draft the terms from the chosen reply now, or None when they can: procurement on
    the case drafts the first terms in stage 4, once (later versions are copies of the one in force)."""
    if case.stage != Stage.TERMS:
        return _("The terms are drafted in the stage %(stage)s.", stage=Stage.TERMS.label)
    if user.id != case.procurement_id:
        return _("Only procurement on the case drafts the terms.")
    if current(case) is not None:
        return _("The terms are drafted already.")
    return None


def can_draft(case: PurchaseCase, user: User) -> bool:
    return draft_refusal(case, user) is None


def summary_document(case: PurchaseCase, *, draft: bool = False) -> tuple[bytes, str] | None:
    """The contract summary as (PDF, file name): the approved version byte for byte as archived, or the version
    being worked on as a watermarked draft (when there is none approved, or `draft` asks for it). None: no terms."""
    from workflow.services import contract_pdf  # the PDF layer imports this module's helpers

    approved = in_force(case)
    working = current(case)
    if working is not None and working.status != "approved" and draft:
        approved = None
    if approved is not None:
        return approved.pdf, f"{case.number}-kontrakt-v{approved.number}.pdf"
    if working is not None:
        return contract_pdf.render(case, working, draft=True), f"{case.number}-kontrakt-udkast.pdf"
    return None


def facts(case: PurchaseCase) -> dict:
    # Without a version being worked on (none yet, or one in force: every running placement), current() would
    # be the approved one and there is nothing to ask; one look at the statuses spares reading the versions.
    if db.session.scalar(select(ContractVersion.id).where(
            ContractVersion.case_id == case.id, ContractVersion.status.not_in(("approved", "superseded")))
            .limit(1)) is None:
        return {}
    contract = current(case)
    if contract is None or contract.status == "approved":
        return {}
    return {"terms_complete": complete(contract), "annual_cost": contract.annual_cost,
            "drafted_by_id": contract.drafted_by_id, "submitted_by_id": contract.submitted_by_id,
            "reviewed": contract.status == "reviewed", "reviewed_by_id": contract.reviewed_by_id}


# --- Drafting ---

def draft_from_choice(case: PurchaseCase, actor: User, today: date) -> ContractVersion:
    """Version 1, pre-filled from the chosen reply, the offer and the needs assessment."""
    chosen = dialogue.choice(case)
    if chosen is None:
        raise ServiceError(_("No supplier has been chosen yet."))
    offer = chosen.inquiry.offer
    supplier = offer.supplier
    reply = chosen.reply
    assessment = cases.current_assessment(case)
    contract = ContractVersion(
        case_id=case.id, number=max((v.number for v in versions(case)), default=0) + 1, status="draft",
        drafted_by_id=actor.id,
        acting_municipality=current_app.config["MUNICIPALITY_NAME"],
        acting_ean=current_app.config["MUNICIPALITY_EAN"],
        acting_contact=f"{case.owner.full_name}, {case.owner.email}",
        paying_municipality=current_app.config["MUNICIPALITY_NAME"], paying_ean=current_app.config["MUNICIPALITY_EAN"],
        supplier_name=supplier.name, supplier_cvr=supplier.cvr, supplier_ean=supplier.ean,
        supplier_contact=", ".join(filter(None, (reply.contact_name, reply.contact_email, reply.contact_phone))),
        offer_name=offer.name, legal_basis=case.legal_basis,
        primary_service=_service_text(offer),
        further_services=reply.additional_services, goals="\n".join(_goal_text(g) for g in assessment.goals),
        list_price_annual=pricing.yearly(offer.list_price, offer.price_unit,
                                         (assessment.required_hours_per_week or None) if offer.price_unit == "time"
                                         else 1),
        start_date=reply.earliest_start or case.desired_start, duration_months=24, notice_months=3,
        absence_rules=DEFAULT_ABSENCE, documentation_duties=DEFAULT_DOCUMENTATION,
        data_processing=DEFAULT_DATA_PROCESSING, framework_reference=offer.framework_name)
    contract.lines = [ContractPriceLine(description=line.description, unit=line.unit, unit_price=line.unit_price,
                                        quantity=line.quantity) for line in reply.lines]
    db.session.add(contract)
    db.session.flush()
    audit.record("contract.drafted", contract, {"number": 1, "supplier": supplier.name}, actor=actor, case=case)
    return contract


def _goal_text(goal) -> str:
    with force_locale("da"):
        kind = str(GOAL_TYPE_LABELS.get(goal.goal_type, goal.goal_type))
        measured = _("measured by %(measure)s", measure=goal.measure) if goal.measure else ""
    return f"{kind}: {goal.text}" + (f" ({measured})" if measured else "")


def _service_text(offer) -> str:
    with force_locale("da"):  # contract text is Danish, whoever drafts it
        return f"{offer.name}: " + ", ".join(str(SERVICE_TYPE_LABELS[code]) for code in offer.service_types)


def new_version(case: PurchaseCase, actor: User | None) -> ContractVersion:
    """Renegotiation or change within frame: a draft copy of the version in force."""
    base = in_force(case)
    if base is None:
        raise ServiceError(_("There is no approved contract to change."))
    copy = ContractVersion(**{
        column.key: getattr(base, column.key) for column in ContractVersion.__table__.columns
        if column.key not in ("id", "number", "status", "submitted_by_id", "reviewed_by_id", "approved_by_id",
                              "approved_at", "created_at", "pdf", "pdf_sha256", "document_id", "version",
                              "drafted_by_id")})
    copy.number = max(v.number for v in versions(case)) + 1
    copy.status = "draft"
    copy.drafted_by_id = actor.id if actor else base.drafted_by_id
    copy.lines = [ContractPriceLine(description=line.description, unit=line.unit, unit_price=line.unit_price,
                                    quantity=line.quantity, supplement=line.supplement) for line in base.lines]
    db.session.add(copy)
    db.session.flush()
    audit.record("contract.new_version", copy, {"number": copy.number}, actor=actor, case=case)
    return copy


@dataclass
class LineInput:
    description: str
    unit: str
    unit_price: Decimal
    quantity: Decimal
    supplement: bool = False


@dataclass
class TermsInput:
    acting_municipality: str
    paying_municipality: str
    supplier_contact: str
    primary_service: str
    start_date: date | None
    notice_months: int
    payment_terms: str
    payment_days: int
    acting_ean: str = ""
    acting_contact: str = ""
    paying_ean: str = ""
    further_services: str = ""
    goals: str = ""
    price_regulation: str = ""
    duration_months: int | None = None
    review_date: date | None = None
    absence_rules: str = ""
    documentation_duties: str = ""
    data_processing: str = ""
    framework_reference: str = ""
    lines: list[LineInput] = field(default_factory=list)


TEXT_LIMITS = {"acting_municipality": 100, "paying_municipality": 100, "acting_contact": 200,
               "supplier_contact": 300, "price_regulation": 200, "framework_reference": 200}


def _check(data: TermsInput) -> None:
    for name, limit in TEXT_LIMITS.items():
        if len(getattr(data, name) or "") > limit:
            raise ServiceError(_("The text is too long (at most %(n)s characters).", n=limit), name)
    if data.payment_terms not in PAYMENT_TERMS:
        raise ServiceError(_("Choose the payment terms from the list."), "payment_terms")
    if not 0 <= data.payment_days <= 30:
        raise ServiceError(_("Payment is due at most 30 days after the invoice."), "payment_days")
    for ean in (data.acting_ean, data.paying_ean):
        if ean and not (ean.isdigit() and len(ean) == 13):
            raise ServiceError(_("An EAN number has 13 digits."), "acting_ean")
    if not data.lines:
        raise ServiceError(_("Give at least one price line."), "lines")
    for line in data.lines:
        if line.unit not in PRICE_UNITS or line.unit_price is None or line.unit_price <= 0 or line.quantity <= 0:
            raise ServiceError(_("Every price line needs a unit, a unit price and a quantity above zero."), "lines")
    if data.duration_months is not None and not 1 <= data.duration_months <= 240:
        raise ServiceError(_("The expected duration goes from 1 to 240 months."), "duration_months")
    if data.start_date and data.review_date and data.review_date <= data.start_date:
        raise ServiceError(_("The review date must be after the start date."), "review_date")


def save_terms(case: PurchaseCase, contract: ContractVersion, actor: User, version: int | None,
               data: TermsInput) -> dict:
    cases.check_version(contract, version)
    if not can_edit(case, contract, actor):
        raise ServiceError(_("These terms cannot be changed: only a draft, by procurement or economy on the case."))
    _check(data)
    values = {name: getattr(data, name) for name in (
        "acting_municipality", "paying_municipality", "supplier_contact", "primary_service", "start_date",
        "notice_months", "payment_terms", "payment_days", "duration_months", "review_date")}
    values.update({name: (getattr(data, name) or "").strip() or None for name in (
        "acting_ean", "acting_contact", "paying_ean", "further_services", "goals", "absence_rules",
        "documentation_duties", "data_processing", "framework_reference")})
    values["price_regulation"] = data.price_regulation.strip() or "Årlig regulering efter PL-indekset"
    changed = audit.changes(contract, values)
    old_lines = [(x.description, x.unit, x.unit_price, x.quantity, x.supplement) for x in contract.lines]
    new_lines = [(x.description.strip(), x.unit, x.unit_price, x.quantity, x.supplement) for x in data.lines]
    if old_lines != new_lines:
        contract.lines = [ContractPriceLine(description=d, unit=u, unit_price=p, quantity=q, supplement=s)
                          for d, u, p, q, s in new_lines]
        # The lines are rows of their own: without this, a change of them alone would leave the version (and so
        # a form's version or an API ETag read before it) as it was, and a stale save would go through.
        contract.version += 1
        before = sum((pricing.yearly(p, u, q) for _d, u, p, q, _s in old_lines), Decimal("0.00"))
        changed["annual_cost"] = [str(before), str(contract.annual_cost)]
    if changed:
        db.session.flush()
        audit.record("contract.saved", contract, {"number": contract.number, "changes": changed}, actor=actor,
                     case=case)
    return changed


# --- Approval ---

def _event(contract: ContractVersion, action: str, actor: User, reason: str | None = None) -> None:
    db.session.add(ApprovalEvent(contract_id=contract.id, action=action, actor_id=actor.id, reason=reason,
                                 tier=tier_for(contract.annual_cost), annual_cost=contract.annual_cost))
    audit.record(f"contract.{action}", contract, {"number": contract.number, "reason": reason,
                                                  "annual_cost": str(contract.annual_cost)},
                 actor=actor, case=contract.case)


def submit(case: PurchaseCase, contract: ContractVersion, actor: User, version: int | None = None) -> None:
    if contract.status != "draft":
        raise ServiceError(_("Only a draft can be submitted."))
    transitions.take_step(case, Event.SUBMIT_TERMS, actor, version=version)
    contract.status, contract.submitted_by_id = "submitted", actor.id
    _event(contract, "submitted", actor)


def review(case: PurchaseCase, contract: ContractVersion, actor: User, version: int | None = None) -> None:
    if contract.status != "submitted":
        raise ServiceError(_("Only submitted terms can be reviewed."))
    transitions.take_step(case, Event.REVIEW_TERMS, actor, version=version)
    contract.status, contract.reviewed_by_id = "reviewed", actor.id
    _event(contract, "reviewed", actor)


def reject(case: PurchaseCase, contract: ContractVersion, actor: User, reason: str, version: int | None = None) -> None:
    if contract.status not in ("submitted", "reviewed"):
        raise ServiceError(_("Only terms waiting for approval can be rejected."))
    transitions.take_step(case, Event.REJECT, actor, version=version, reason=reason)
    contract.status, contract.submitted_by_id, contract.reviewed_by_id = "draft", None, None
    _event(contract, "rejected", actor, reason.strip())


def approve(case: PurchaseCase, contract: ContractVersion, actor: User, version: int | None = None,
            render=None) -> None:
    """Four eyes and the tier are the process's guards; approval freezes the version with its PDF."""
    if contract.status != "reviewed":
        raise ServiceError(_("The terms must be reviewed before approval."))
    previous = in_force(case)
    transitions.take_step(case, Event.APPROVE, actor, version=version)
    contract.approved_by_id, contract.approved_at = actor.id, utcnow()
    contract.document_id = f"SK-KON-{case.id:06d}-{contract.number:02d}-{uuid.uuid4().hex[:8]}"
    _event(contract, "approved", actor)
    db.session.flush()
    contract.pdf = (render or _render_final)(case, contract)
    contract.pdf_sha256 = hashlib.sha256(contract.pdf).hexdigest()
    contract.status = "approved"
    if previous is not None:
        previous.status = "superseded"
        audit.record("contract.superseded", previous, {"number": previous.number, "by": contract.number},
                     actor=actor, case=case)


def _render_final(case: PurchaseCase, contract: ContractVersion) -> bytes:
    from workflow.services import contract_pdf  # the PDF layer imports this module's helpers

    return contract_pdf.render(case, contract, draft=False)
