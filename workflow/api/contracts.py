"""/api/v1/cases/{id}/contract: the contract terms (stage 4), their approval with four eyes (stage 5) and the
PDF contract summary.

The same services as the pages decide everything: who drafts and edits the terms (contracts.can_draft,
contracts.can_edit), what terms are valid, and who may submit, review, approve and reject (the process's
guards: roles, four eyes and approval limits). A refusal is a 422 with the service's message.
"""
from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from flask import Response, abort, url_for
from flask_login import current_user

from workflow import clock
from workflow.api import problems
from workflow.api.base import ID, IF_MATCH_DOC, ApiSchema, NoBodySchema, blueprint, etag, etag_header, found, if_match
from workflow.api.cases import PersonSchema, StepSchema
from workflow.api.fields import Count, Day, Money, Text
from workflow.cases.loading import load_case
from workflow.extensions import db
from workflow.forms import MAX_QUANTITY
from workflow.models.contracts import PAYMENT_TERMS
from workflow.models.offers import PRICE_UNITS
from workflow.process import Event
from workflow.services import cases, contracts, transitions

bp = blueprint("contracts", "Contract terms (stage 4), their approval with four eyes (stage 5) and the "
                            "PDF contract summary.")

CONTRACT_EVENTS = (Event.SUBMIT_TERMS, Event.REVIEW_TERMS, Event.APPROVE, Event.REJECT)
STATUSES = ["draft", "submitted", "reviewed", "approved", "superseded", "active", "ended"]
# The approval steps are steps of the case: they take the case's ETag, as the other steps do.
CASE_IF_MATCH_DOC = {"parameters": [{
    **IF_MATCH_DOC["parameters"][0],
    "description": "The ETag of the case, as GET /cases/{case_id} answers it or as `case_etag` of the contract; "
                   "the step is refused with 412 if the case has changed.",
}]}


# --- Schemas ---

class ContractLineSchema(ApiSchema):
    description = Text(200, load_default="")
    unit = ma.fields.String(required=True, validate=ma.validate.OneOf(PRICE_UNITS))
    unit_price = Money(required=True)
    quantity = Money(maximum=MAX_QUANTITY, load_default=None,
                     metadata={"description": "Hours a week for hourly prices; otherwise 1 (the default).",
                               "example": "1.00"})
    supplement = ma.fields.Boolean(load_default=False, metadata={"description": "A supplement (tillægsydelse)."})


class ContractTermsSchema(ApiSchema):
    """The terms that procurement and economy set; the rest comes from the chosen reply and is read-only."""

    acting_municipality = Text(100, required=True, blank=False)
    acting_ean = Text(13, load_default="", allow_none=True)
    acting_contact = Text(200, load_default="", allow_none=True)
    paying_municipality = Text(100, required=True, blank=False,
                               metadata={"description": "May differ from the acting municipality."})
    paying_ean = Text(13, load_default="", allow_none=True)
    supplier_contact = Text(300, load_default="", allow_none=True)
    primary_service = Text(2000, required=True, blank=False)
    further_services = Text(2000, load_default="", allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(ContractLineSchema), required=True, validate=ma.validate.Length(max=12))
    price_regulation = Text(200, load_default="", allow_none=True,
                            metadata={"description": "Blank: yearly regulation by the PL index."})
    payment_terms = ma.fields.String(required=True, validate=ma.validate.OneOf(PAYMENT_TERMS))
    payment_days = Count(minimum=0, maximum=30, required=True,
                         metadata={"description": "Days to pay after the invoice."})
    start_date = Day(load_default=None, allow_none=True)
    duration_months = Count(minimum=1, maximum=240, load_default=None, allow_none=True,
                            metadata={"description": "Expected duration; or give a review date."})
    review_date = Day(load_default=None, allow_none=True)
    notice_months = Count(minimum=0, maximum=24, required=True)
    absence_rules = Text(3000, load_default="", allow_none=True)
    documentation_duties = Text(3000, load_default="", allow_none=True)
    goals = Text(5000, load_default="", allow_none=True)
    data_processing = Text(3000, load_default="", allow_none=True)
    framework_reference = Text(200, load_default="", allow_none=True)


class ContractEventSchema(ApiSchema):
    contract_number = ma.fields.Integer()
    action = ma.fields.String(metadata={"enum": ["submitted", "reviewed", "approved", "rejected"]})
    actor = ma.fields.Nested(PersonSchema)
    occurred_at = ma.fields.DateTime()
    reason = ma.fields.String(allow_none=True)
    tier = ma.fields.String(allow_none=True)
    annual_cost = Money(allow_none=True)


def _status(contract) -> str:
    return contracts.status_of(contract.case, contract)


class ContractVersionSummarySchema(ApiSchema):
    id = ma.fields.Integer()
    number = ma.fields.Integer()
    status = ma.fields.Function(_status, metadata={"type": "string", "enum": STATUSES})
    supplier_name = ma.fields.String()
    annual_cost = Money()
    total_value = Money(allow_none=True)
    tier = ma.fields.Function(lambda contract: contracts.tier_for(contract.annual_cost), metadata={"type": "string"})
    start_date = ma.fields.Date(allow_none=True)
    drafted_by = ma.fields.Nested(PersonSchema)
    approved_by = ma.fields.Nested(PersonSchema, allow_none=True)
    approved_at = ma.fields.DateTime(allow_none=True)
    document_id = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()


class ContractSchema(ContractTermsSchema):
    """A contract version: its terms, what follows from them, who did what, and the steps open to the user."""

    id = ma.fields.Integer()
    number = ma.fields.Integer()
    status = ma.fields.Function(_status, metadata={
        "type": "string", "enum": STATUSES,
        "description": "An approved version is 'active' once the delivery has started, 'ended' when the case is."})
    supplier_name = ma.fields.String()
    supplier_cvr = ma.fields.String()
    supplier_ean = ma.fields.String(allow_none=True)
    offer_name = ma.fields.String()
    legal_basis = ma.fields.String()
    list_price_annual = Money(allow_none=True, metadata={"description": "The offer's list price over a year."})
    annual_cost = Money(metadata={"description": "The price lines over a year."})
    total_value = Money(allow_none=True, metadata={"description": "Over the duration or until the review date."})
    difference_from_list = Money(allow_none=True)
    tier = ma.fields.Function(lambda contract: contracts.tier_for(contract.annual_cost), metadata={
        "type": "string", "description": "The approval tier the annual cost falls in."})
    eu_threshold_passed = ma.fields.Function(contracts.eu_threshold_passed, metadata={
        "type": "boolean", "description": "The total value is above the EU threshold of the light regime."})
    complete = ma.fields.Function(contracts.complete, metadata={
        "type": "boolean", "description": "Complete enough to submit: parties, price lines and start date."})
    editable = ma.fields.Function(lambda contract: contracts.can_edit(contract.case, contract, current_user),
                                  metadata={"type": "boolean", "description": "The user may save the terms."})
    drafted_by = ma.fields.Nested(PersonSchema)
    submitted_by = ma.fields.Nested(PersonSchema, allow_none=True)
    reviewed_by = ma.fields.Nested(PersonSchema, allow_none=True)
    approved_by = ma.fields.Nested(PersonSchema, allow_none=True)
    approved_at = ma.fields.DateTime(allow_none=True)
    created_at = ma.fields.DateTime()
    document_id = ma.fields.String(allow_none=True)
    pdf_sha256 = ma.fields.String(allow_none=True, metadata={"description": "Of the archived summary, once approved."})
    version = ma.fields.Integer()
    case_etag = ma.fields.Function(lambda contract: etag("case", contract.case), metadata={
        "type": "string", "description": "If-Match for submit, review, approve and reject."})
    steps = ma.fields.List(ma.fields.Nested(StepSchema), metadata={
        "description": "The approval steps open to the user's role: allowed, or with what is missing."})
    history = ma.fields.List(ma.fields.Nested(ContractEventSchema), metadata={
        "description": "Every request and decision on the case's contract versions, oldest first."})

    @ma.pre_dump
    def _around(self, contract, **_kwargs):
        case = contract.case
        numbers = {version.id: version.number for version in contracts.versions(case)}
        return _Shown(contract, steps=[
            step for step in transitions.steps_for(case, current_user) if step.event in CONTRACT_EVENTS],
            history=[_Shown(event, contract_number=numbers[event.contract_id])
                     for event in contracts.history(list(numbers))])


class _Shown:
    """An object with what is shown around it (for a schema to dump)."""

    def __init__(self, shown, **around):
        self._shown = shown
        self.__dict__.update(around)

    def __getattr__(self, name):
        return getattr(self._shown, name)


class ContractRejectSchema(ApiSchema):
    reason = Text(3000, required=True)


class ContractPdfArgs(ApiSchema):
    draft = ma.fields.Boolean(load_default=False, metadata={
        "description": "The version being worked on as a draft, even when an earlier version is approved."})


# --- Views ---

def _contract(case):
    return found(contracts.current(case))


def _answer(contract, status: int = 200, headers: dict | None = None):
    return contract, status, {**etag_header("contract", contract), **(headers or {})}


@bp.route(f"/cases/<{ID}:case_id>/contract", methods=["GET"])
@bp.response(200, ContractSchema)
def read_contract(case_id: int):
    """The contract version being worked on (or else the one in force): terms, prices, status, approval history."""
    case = load_case(case_id)
    contract = _contract(case)
    cases.log_access(current_user, case, "contract.view", "API: kontrakt og vilkår")
    db.session.commit()
    return _answer(contract)


@bp.route(f"/cases/<{ID}:case_id>/contract/versions", methods=["GET"])
@bp.response(200, ContractVersionSummarySchema(many=True))
def list_versions(case_id: int):
    """Every version of the case's contract, oldest first."""
    case = load_case(case_id)
    versions = contracts.versions(case)
    cases.log_access(current_user, case, "contract.view", "API: kontraktversioner")
    db.session.commit()
    return versions


@bp.route(f"/cases/<{ID}:case_id>/contract", methods=["POST"])
@bp.arguments(NoBodySchema)
@bp.response(201, ContractSchema)
def draft_contract(_body: dict, case_id: int):
    """Draft the terms from the chosen reply (procurement on the case, in stage 4, when there are none yet)."""
    case = load_case(case_id)
    refusal = contracts.draft_refusal(case, current_user)
    if refusal:
        abort(problems.problem(403, refusal))
    contract = contracts.draft_from_choice(case, current_user, clock.today())
    cases.log_access(current_user, case, "contract.edit", "API: kontraktvilkår")
    db.session.commit()
    return _answer(contract, 201, {"Location": url_for("api_contracts.read_contract", case_id=case.id)})


@bp.route(f"/cases/<{ID}:case_id>/contract/terms", methods=["PUT"])
@bp.arguments(ContractTermsSchema)
@bp.response(200, ContractSchema)
@bp.doc(**IF_MATCH_DOC)
def save_terms(data: dict, case_id: int):
    """Replace the terms of the draft (procurement and economy on the case, in stage 4). Send If-Match."""
    case = load_case(case_id)
    contract = _contract(case)
    if not contracts.can_edit(case, contract, current_user):
        abort(403)
    version = if_match("contract", contract)
    lines = [contracts.LineInput(line["description"], line["unit"], line["unit_price"],
                                 line["quantity"] if line["quantity"] is not None else Decimal(1), line["supplement"])
             for line in data.pop("lines")]
    values = {name: ("" if value is None and name not in ("start_date", "duration_months", "review_date") else value)
              for name, value in data.items()}
    contracts.save_terms(case, contract, current_user, version, contracts.TermsInput(lines=lines, **values))
    cases.log_access(current_user, case, "contract.edit", "API: kontraktvilkår")
    db.session.commit()
    return _answer(contract)


def _decide(case_id: int, decide) -> tuple:
    case = load_case(case_id)
    contract = _contract(case)
    version = if_match("case", case)
    decide(case, contract, version)
    cases.log_access(current_user, case, "contract.approval", "API: godkendelse af kontrakt")
    db.session.commit()
    return _answer(contract)


@bp.route(f"/cases/<{ID}:case_id>/contract/submit", methods=["POST"])
@bp.arguments(NoBodySchema)
@bp.response(200, ContractSchema)
@bp.doc(**CASE_IF_MATCH_DOC)
def submit(_body: dict, case_id: int):
    """Submit the complete terms for review and approval (procurement on the case)."""
    return _decide(case_id, lambda case, contract, version: contracts.submit(
        case, contract, current_user, version=version))


@bp.route(f"/cases/<{ID}:case_id>/contract/review", methods=["POST"])
@bp.arguments(NoBodySchema)
@bp.response(200, ContractSchema)
@bp.doc(**CASE_IF_MATCH_DOC)
def review(_body: dict, case_id: int):
    """Mark the submitted terms as reviewed (economy or procurement on the case; not who drafted or submitted)."""
    return _decide(case_id, lambda case, contract, version: contracts.review(
        case, contract, current_user, version=version))


@bp.route(f"/cases/<{ID}:case_id>/contract/approve", methods=["POST"])
@bp.arguments(NoBodySchema)
@bp.response(200, ContractSchema)
@bp.doc(**CASE_IF_MATCH_DOC)
def approve(_body: dict, case_id: int):
    """Approve the reviewed terms (a manager within their approval limit, who neither drafted nor submitted them).

    The version is frozen and its PDF summary archived.
    """
    return _decide(case_id, lambda case, contract, version: contracts.approve(
        case, contract, current_user, version=version))


@bp.route(f"/cases/<{ID}:case_id>/contract/reject", methods=["POST"])
@bp.arguments(ContractRejectSchema)
@bp.response(200, ContractSchema)
@bp.doc(**CASE_IF_MATCH_DOC)
def reject(data: dict, case_id: int):
    """Reject the terms waiting for approval, with a reason: they go back to drafting."""
    return _decide(case_id, lambda case, contract, version: contracts.reject(
        case, contract, current_user, data["reason"], version=version))


@bp.route(f"/cases/<{ID}:case_id>/contract.pdf", methods=["GET"])
@bp.arguments(ContractPdfArgs, location="query", as_kwargs=True)
@bp.response(200, {"type": "string", "format": "binary"}, content_type="application/pdf",
             description="The approved summary byte for byte as archived (PDF/A); else the draft, watermarked.")
def summary_pdf(case_id: int, draft: bool):
    """The PDF contract summary: the approved version as archived, or the version being worked on as a draft."""
    case = load_case(case_id)
    document = found(contracts.summary_document(case, draft=draft))
    body, name = document
    cases.log_access(current_user, case, "contract.pdf", "API: kontraktresumé (PDF)")
    db.session.commit()
    return Response(body, mimetype="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'})
