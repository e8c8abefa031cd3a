"""/api/v1/cases/{id}/…: the supplier dialogue (stage 3), for staff.

The anonymised requirement, the inquiries to shortlisted offers, replies entered by staff, the
negotiation log, the comparison of the replies and the choice. The supplier's own reply page
(the personal link in the inquiry mail) is not part of the API.

- The requirement: GET answers the saved requirement with its ETag, or, before one is saved, the
  draft built from the needs assessment (`saved: false`, no ETag) — as the page's form is
  pre-filled. PUT replaces it: with If-Match once it exists; the first save takes no If-Match
  (one sent then is refused with 412, and a second "first" save after someone else's is 428).
- Sealed replies: an inquiry's replies are sent only when they are visible
  (`replies_visible`: not sealed, opened by procurement, or the deadline has passed).
- The choice changes the case's stage, so it takes the CASE's ETag (GET /cases/{id}) in If-Match.
"""
from __future__ import annotations

from decimal import Decimal

import marshmallow as ma
from flask import abort, request
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy.exc import IntegrityError

from workflow import clock, pricing
from workflow.api import problems
from workflow.api.base import ID, IF_MATCH_DOC, MAX_ID, ApiSchema, blueprint, etag_header, if_match
from workflow.api.cases import PersonSchema
from workflow.api.fields import Count, Day, Money, Text
from workflow.cases.loading import load_case, load_of_case
from workflow.dialogue.forms import ManualReplyForm
from workflow.extensions import db
from workflow.forms import MAX_QUANTITY
from workflow.models import Inquiry
from workflow.models.offers import PRICE_UNITS
from workflow.services import ServiceError, cases, dialogue
from workflow.vum import SUPPORT_NEED_LABELS

bp = blueprint("dialogue", "The supplier dialogue: anonymised requirement, inquiries, replies, comparison and choice.")

# The channels a reply entered by staff was received through: the page's form's own list.
CHANNELS = [code for code, _label in ManualReplyForm.channel.kwargs["choices"]]
# The requirement's texts that suppliers read (checked for the citizen's name and CPR number).
STATUSES = ("open", "closed", "revoked", "declined")
INQUIRY_ACTIONS = ("revoke", "unseal", "prefer", "unprefer", "resend")


AMOUNT_PATTERN = r"^-?\d+\.\d{2}$"  # a computed amount may have more than the ten digits accepted as input


def Amount(**kwargs) -> Money:  # noqa: N802 - a field type, named like one
    """A computed amount in DKK, such as an annual cost."""
    return Money(metadata={"pattern": AMOUNT_PATTERN, **kwargs.pop("metadata", {})}, **kwargs)


class Computed(Money):
    """An amount in DKK computed from the object sent (e.g. a reply's annual cost)."""

    def __init__(self, compute, **kwargs):
        super().__init__(dump_only=True, metadata={"pattern": AMOUNT_PATTERN, **kwargs.pop("metadata", {})},
                         **kwargs)
        self.compute = compute

    def serialize(self, attr, obj, accessor=None, **kwargs):
        return self._serialize(self.compute(obj), attr, obj, **kwargs)


class VisibleReplies(ma.fields.List):
    """An inquiry's replies, every version, oldest first; none while they are sealed."""

    def serialize(self, attr, obj, accessor=None, **kwargs):
        replies = obj.replies if obj.replies_visible(clock.today()) else []
        return self._serialize(replies, attr, obj, **kwargs)


# --- Schemas ---

class RequirementSchema(ApiSchema):
    age_band = Text(40, required=True, blank=False, metadata={"description": "E.g. 35–49; never a birth date."})
    functional_summary = Text(5000, load_default="", allow_none=True)
    support_need = ma.fields.String(load_default=None, allow_none=True,
                                    validate=ma.validate.OneOf(list(SUPPORT_NEED_LABELS)))
    goals = Text(5000, load_default="", allow_none=True)
    services = Text(2000, load_default="", allow_none=True)
    hours_per_week = Count(minimum=0, maximum=168, load_default=None, allow_none=True)
    desired_start = Day(load_default=None, allow_none=True)
    special_conditions = Text(5000, load_default="", allow_none=True)


class RequirementReadSchema(ApiSchema):
    id = ma.fields.Integer(allow_none=True, metadata={"description": "null for the unsaved draft."})
    saved = ma.fields.Function(lambda requirement: requirement.id is not None, metadata={
        "type": "boolean", "description": "false: the draft from the needs assessment, not saved."})
    version = ma.fields.Integer(allow_none=True)
    age_band = ma.fields.String()
    functional_summary = ma.fields.String(allow_none=True)
    support_need = ma.fields.String(allow_none=True)
    goals = ma.fields.String(allow_none=True)
    services = ma.fields.String(allow_none=True)
    hours_per_week = ma.fields.Integer(allow_none=True)
    desired_start = ma.fields.Date(allow_none=True)
    special_conditions = ma.fields.String(allow_none=True)
    changed_at = ma.fields.DateTime(allow_none=True)


class NamedRefSchema(ApiSchema):
    id = ma.fields.Integer()
    name = ma.fields.String()


class ReplyPriceLineSchema(ApiSchema):
    description = Text(200, required=True, blank=False)
    unit = ma.fields.String(required=True, validate=ma.validate.OneOf(PRICE_UNITS))
    unit_price = Money(required=True, metadata={"description": "DKK without VAT, per unit."})
    quantity = Money(maximum=MAX_QUANTITY, load_default=lambda: Decimal("1"),
                     metadata={"description": "Per unit period: hours a week for hourly prices; otherwise 1.",
                               "example": "1"})


class ReplyPriceLineReadSchema(ReplyPriceLineSchema):
    per_year = Computed(lambda line: pricing.yearly(line.unit_price, line.unit, line.quantity))


class ReplyInputSchema(ApiSchema):
    channel = ma.fields.String(required=True, validate=ma.validate.OneOf(CHANNELS),
                               metadata={"description": "How the reply was received."})
    can_deliver = ma.fields.Boolean(required=True)
    earliest_start = Day(load_default=None, allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(ReplyPriceLineSchema), load_default=list,
                           validate=ma.validate.Length(max=10),
                           metadata={"description": "At least one when the supplier can deliver."})
    additional_services = Text(5000, load_default="", allow_none=True)
    conditions = Text(5000, load_default="", allow_none=True)
    contact_name = Text(200, load_default="", allow_none=True)
    contact_email = Text(254, load_default="", allow_none=True)
    contact_phone = Text(40, load_default="", allow_none=True)

    @ma.validates("contact_email")
    def _email(self, value, **_kwargs):
        if value:
            ma.validate.Email(error=_("Write a valid e-mail address."))(value)


class ReplySchema(ApiSchema):
    id = ma.fields.Integer()
    number = ma.fields.Integer(metadata={"description": "The version: every revision is kept."})
    can_deliver = ma.fields.Boolean()
    earliest_start = ma.fields.Date(allow_none=True)
    lines = ma.fields.List(ma.fields.Nested(ReplyPriceLineReadSchema))
    annual_cost = Computed(lambda reply: pricing.yearly_total(reply.lines))
    additional_services = ma.fields.String(allow_none=True)
    conditions = ma.fields.String(allow_none=True)
    contact_name = ma.fields.String(allow_none=True)
    contact_email = ma.fields.String(allow_none=True)
    contact_phone = ma.fields.String(allow_none=True)
    submitted_at = ma.fields.DateTime()
    channel = ma.fields.String(metadata={"description": "link (the supplier's own page), phone, e-mail, negotiation"})
    entered_by = ma.fields.Nested(PersonSchema, allow_none=True,
                                  metadata={"description": "The colleague who entered it by hand; null via the link."})


class NegotiationNoteSchema(ApiSchema):
    id = ma.fields.Integer()
    author = ma.fields.Nested(PersonSchema)
    text = ma.fields.String()
    created_at = ma.fields.DateTime()


class NegotiationNoteInputSchema(ApiSchema):
    text = Text(5000, required=True, blank=False)


def _status(inquiry: Inquiry) -> str:
    if inquiry.revoked_at is not None:
        return "revoked"
    if inquiry.declined_at is not None:
        return "declined"
    return "open" if inquiry.is_open(clock.today()) else "closed"


class InquirySchema(ApiSchema):
    id = ma.fields.Integer()
    offer = ma.fields.Nested(NamedRefSchema)
    supplier = ma.fields.Nested(NamedRefSchema, attribute="offer.supplier")
    email_to = ma.fields.String()
    sent_at = ma.fields.DateTime()
    mailed_at = ma.fields.DateTime(allow_none=True, metadata={
        "description": "When the mail with the link went to the mail server, after the inquiry was saved; null: not "
                       "sent (the server refused it), so the supplier has no link yet: resend it."})
    sent_by = ma.fields.Nested(PersonSchema)
    deadline = ma.fields.Date()
    sealed = ma.fields.Boolean()
    unsealed_at = ma.fields.DateTime(allow_none=True)
    revoked_at = ma.fields.DateTime(allow_none=True)
    declined_at = ma.fields.DateTime(allow_none=True, metadata={"description": "When told they were not chosen."})
    citizen_preferred = ma.fields.Boolean()
    status = ma.fields.Function(_status, metadata={"type": "string",
        "enum": list(STATUSES),
        "description": "open: the supplier may still reply through the link; closed: the deadline has passed or "
                       "the dialogue is over; revoked: the link was revoked; declined: told they were not chosen."})
    replies_visible = ma.fields.Function(lambda inquiry: inquiry.replies_visible(clock.today()), metadata={
        "type": "boolean",
        "description": "false while the replies are sealed: then `replies` is empty."})
    reply_count = ma.fields.Function(lambda inquiry: len(inquiry.replies), metadata={
        "type": "integer", "description": "Also while sealed."})
    replies = VisibleReplies(ma.fields.Nested(ReplySchema), metadata={
        "description": "Every version, oldest first; empty while sealed."})
    notes = ma.fields.List(ma.fields.Nested(NegotiationNoteSchema), metadata={"description": "The negotiation log."})


class SendInquiriesSchema(ApiSchema):
    offer_ids = ma.fields.List(Count(minimum=1, maximum=MAX_ID), required=True,
                               validate=ma.validate.Length(min=1, max=100),
                               metadata={"description": "Shortlisted offers that have not been asked yet."})
    deadline = Day(required=True, metadata={"description": "A business day after today."})
    sealed = ma.fields.Boolean(load_default=False,
                               metadata={"description": "Nobody sees the replies before the deadline unless "
                                                        "procurement opens them."})


class InquiryActionSchema(ApiSchema):
    """No body (or an empty object)."""


class ChoiceSchema(ApiSchema):
    id = ma.fields.Integer()
    inquiry_id = ma.fields.Integer()
    reply_id = ma.fields.Integer()
    offer = ma.fields.Nested(NamedRefSchema, attribute="inquiry.offer")
    justification = ma.fields.String(allow_none=True)
    chosen_by = ma.fields.Nested(PersonSchema)
    chosen_at = ma.fields.DateTime()


class ChoiceInputSchema(ApiSchema):
    inquiry_id = Count(minimum=1, maximum=MAX_ID, required=True)
    justification = Text(5000, load_default="", allow_none=True, metadata={
        "description": "Required when the reply is not both the best scored and the cheapest."})


class GatesSchema(ApiSchema):
    approved = ma.fields.Boolean()
    vacancy = ma.fields.Boolean()
    legal_basis = ma.fields.Boolean()


class ComparisonRowSchema(ApiSchema):
    inquiry_id = ma.fields.Integer(attribute="inquiry.id")
    offer = ma.fields.Nested(NamedRefSchema, attribute="inquiry.offer")
    supplier = ma.fields.Nested(NamedRefSchema, attribute="inquiry.offer.supplier")
    visible = ma.fields.Boolean(metadata={"description": "false while the replies are sealed."})
    reply_id = ma.fields.Function(lambda row: row.reply.id if row.reply else None, allow_none=True,
                                  metadata={"type": "integer"})
    reply_number = ma.fields.Function(lambda row: row.reply.number if row.reply else None, allow_none=True,
                                      metadata={"type": "integer"})
    can_deliver = ma.fields.Function(lambda row: row.reply.can_deliver if row.reply else None, allow_none=True,
                                     metadata={"type": "boolean", "description": "null: no visible reply."})
    gates = ma.fields.Nested(GatesSchema)
    passes = ma.fields.Boolean(metadata={"description": "Can deliver and passes every gate: may be chosen."})
    annual_cost = Amount(allow_none=True)
    list_annual = Amount(allow_none=True, metadata={"description": "The offer's list price for a year."})
    vs_list = Amount(allow_none=True, metadata={"description": "Annual cost minus the list price for a year."})
    vs_budget = Amount(allow_none=True, metadata={"description": "Annual cost minus the case's budget frame."})
    distance_km = ma.fields.Float(attribute="distance", allow_none=True)
    citizen_preferred = ma.fields.Boolean(attribute="inquiry.citizen_preferred")
    score = ma.fields.Function(lambda row: row.score if row.passes else None, allow_none=True,
                               metadata={"type": "integer", "description": "Weighted score; null unless it passes."})
    cheapest = ma.fields.Boolean()
    best = ma.fields.Boolean(metadata={"description": "The best scored of those that pass."})
    needs_justification = ma.fields.Boolean(
        metadata={"description": "Choosing this reply needs a justification (not both best scored and cheapest)."})
    within_free_choice = ma.fields.Boolean(
        metadata={"description": "§ 108, after the choice: at most 10 % dearer than the chosen reply."})
    chosen = ma.fields.Boolean()


class ComparisonSchema(ApiSchema):
    budget_frame = Money(allow_none=True)
    rows = ma.fields.List(ma.fields.Nested(ComparisonRowSchema))
    choice = ma.fields.Nested(ChoiceSchema, allow_none=True)


# --- Helpers ---

def _today():
    return clock.today()



# --- The requirement ---

@bp.route(f"/cases/<{ID}:case_id>/requirement", methods=["GET"])
@bp.response(200, RequirementReadSchema)
def read_requirement(case_id: int):
    """The anonymised requirement suppliers are sent, with its ETag; before it is saved, the draft built from
    the needs assessment (saved: false, no ETag)."""
    case = load_case(case_id)
    today = _today()
    saved = dialogue.requirement(case)
    cases.log_access(current_user, case, "requirement.view", "API: anonymiseret kravspecifikation")
    db.session.commit()
    if saved is None:
        return dialogue.draft_requirement(case, today)  # not added to the session: never stored
    return saved, 200, etag_header("requirement", saved)


@bp.route(f"/cases/<{ID}:case_id>/requirement", methods=["PUT"])
@bp.arguments(RequirementSchema)
@bp.response(200, RequirementReadSchema)
@bp.doc(parameters=[{**IF_MATCH_DOC["parameters"][0], "required": False, "description":
                     "The requirement's ETag as last read; required once it has been saved. Saving the first "
                     "(the draft) takes none."}])
def save_requirement(data: dict, case_id: int):
    """Save the anonymised requirement (the case's procurement colleague and caseworkers, in the dialogue).
    Refused (422) when a text names the citizen or carries their CPR number."""
    case = load_case(case_id)
    current = dialogue.requirement(case)
    if current is not None:
        version = if_match("requirement", current)
    elif request.headers.get("If-Match", "").strip():
        abort(problems.problem(412))  # nothing saved yet that the client could have read
    else:
        version = None
    try:
        saved = dialogue.save_requirement(
            case, current_user, version, age_band_text=data["age_band"],
            functional_summary=data["functional_summary"] or "", support_need=data["support_need"],
            goals=data["goals"] or "", services=data["services"] or "", hours_per_week=data["hours_per_week"],
            desired_start=data["desired_start"], special_conditions=data["special_conditions"] or "",
            today=_today())
    except IntegrityError:  # someone else saved the first requirement at the same moment
        db.session.rollback()
        abort(problems.problem(412))
    cases.log_access(current_user, case, "requirement.edit", "API: anonymiseret kravspecifikation")
    db.session.commit()
    return saved, 200, etag_header("requirement", saved)


# --- Inquiries ---

@bp.route(f"/cases/<{ID}:case_id>/inquiries", methods=["GET"])
@bp.response(200, InquirySchema(many=True))
def list_inquiries(case_id: int):
    """The inquiries sent for the case, with their status, replies (when not sealed) and negotiation log."""
    case = load_case(case_id)
    asked = dialogue.inquiries(case)
    cases.log_access(current_user, case, "dialogue.view", "API: leverandørdialog")
    db.session.commit()
    return asked


@bp.route(f"/cases/<{ID}:case_id>/inquiries", methods=["POST"])
@bp.arguments(SendInquiriesSchema)
@bp.response(201, InquirySchema(many=True))
def send_inquiries(data: dict, case_id: int):
    """Send inquiries to shortlisted offers (the case's procurement colleague, in the dialogue): each supplier
    is mailed a personal link once the inquiries are saved; `mailed_at` is null for a mail the server refused.
    Needs the citizen's consent and a saved requirement."""
    case = load_case(case_id)
    try:
        sent = dialogue.send_inquiries(case, current_user, data["offer_ids"], data["deadline"], data["sealed"],
                                       _today())
    except ServiceError as error:
        if error.field == "offers":
            error.field = "offer_ids"
        raise
    db.session.commit()
    return sent, 201


@bp.route(f"/cases/<{ID}:case_id>/inquiries/<{ID}:inquiry_id>", methods=["GET"])
@bp.response(200, InquirySchema)
def read_inquiry(case_id: int, inquiry_id: int):
    """One inquiry with its replies (every version, when not sealed) and negotiation log."""
    case = load_case(case_id)
    inquiry = load_of_case(Inquiry, inquiry_id, case)
    cases.log_access(current_user, case, "dialogue.view", "API: leverandørdialog")
    db.session.commit()
    return inquiry


@bp.route(f"/cases/<{ID}:case_id>/inquiries/<{ID}:inquiry_id>/replies", methods=["POST"])
@bp.arguments(ReplyInputSchema)
@bp.response(201, ReplySchema)
def enter_reply(data: dict, case_id: int, inquiry_id: int):
    """Record a reply received by phone, e-mail or in negotiation (the case's procurement colleague): a new
    version of the supplier's reply, marked as entered by hand. Also after the deadline."""
    case = load_case(case_id)
    inquiry = load_of_case(Inquiry, inquiry_id, case)
    reply = dialogue.submit_reply(inquiry, dialogue.ReplyInput(
        can_deliver=data["can_deliver"], earliest_start=data["earliest_start"],
        lines=[dialogue.PriceLineInput(line["description"], line["unit"], line["unit_price"], line["quantity"])
               for line in data["lines"]],
        additional_services=data["additional_services"] or "", conditions=data["conditions"] or "",
        contact_name=data["contact_name"] or "", contact_email=data["contact_email"] or "",
        contact_phone=data["contact_phone"] or ""), _today(), entered_by=current_user, channel=data["channel"])
    db.session.commit()
    return reply, 201


@bp.route(f"/cases/<{ID}:case_id>/inquiries/<{ID}:inquiry_id>/notes", methods=["POST"])
@bp.arguments(NegotiationNoteInputSchema)
@bp.response(201, NegotiationNoteSchema)
def add_note(data: dict, case_id: int, inquiry_id: int):
    """Write in the inquiry's negotiation log (the case's procurement colleague and caseworkers)."""
    case = load_case(case_id)
    inquiry = load_of_case(Inquiry, inquiry_id, case)
    note = dialogue.add_note(case, inquiry, current_user, data["text"])
    db.session.commit()
    return note, 201


@bp.route(f"/cases/<{ID}:case_id>/inquiries/<{ID}:inquiry_id>/<any({','.join(INQUIRY_ACTIONS)}):action>",
          methods=["POST"])
@bp.arguments(InquiryActionSchema)
@bp.response(200, InquirySchema)
def inquiry_action(_data: dict, case_id: int, inquiry_id: int, action: str):
    """revoke the supplier's link or unseal the replies (the case's procurement colleague); prefer / unprefer:
    record the citizen's preference (caseworkers and procurement on the case); resend: mail the supplier a new
    link while the inquiry is open (the old one stops working), e.g. when `mailed_at` is null."""
    case = load_case(case_id)
    inquiry = load_of_case(Inquiry, inquiry_id, case)
    actions = {
        "revoke": lambda: dialogue.revoke(case, inquiry, current_user),
        "unseal": lambda: dialogue.unseal(case, inquiry, current_user),
        "prefer": lambda: dialogue.set_preference(case, inquiry, current_user, True),
        "unprefer": lambda: dialogue.set_preference(case, inquiry, current_user, False),
        "resend": lambda: dialogue.resend(case, inquiry, current_user, _today()),
    }
    actions[action]()
    db.session.commit()  # a resent link's mail leaves now; `mailed_at` says whether it went
    return inquiry


# --- Comparison and choice ---

@bp.route(f"/cases/<{ID}:case_id>/comparison", methods=["GET"])
@bp.response(200, ComparisonSchema)
def comparison(case_id: int):
    """The replies side by side: gates, annual cost, differences, distance, preference and weighted score;
    and the choice once it is made."""
    case = load_case(case_id)
    rows = dialogue.compare(case, _today())
    chosen = dialogue.choice(case)
    chosen_row = next((row for row in rows if chosen and row.inquiry.id == chosen.inquiry_id), None)
    dialogue.mark_free_choice(case, rows, chosen_row.annual_cost if chosen_row else None)
    for row in rows:
        row.needs_justification = dialogue.needs_justification(rows, row.inquiry.id)
        row.chosen = row is chosen_row
        row.vs_budget = (row.annual_cost - case.budget_frame
                         if row.annual_cost is not None and case.budget_frame else None)
    cases.log_access(current_user, case, "dialogue.compare", "API: sammenligning af tilbud")
    db.session.commit()
    return {"budget_frame": case.budget_frame, "rows": rows, "choice": chosen}


@bp.route(f"/cases/<{ID}:case_id>/choice", methods=["POST"])
@bp.arguments(ChoiceInputSchema)
@bp.response(200, ChoiceSchema)
@bp.doc(**IF_MATCH_DOC)
def choose(data: dict, case_id: int):
    """Choose the supplier (the case's procurement colleague): the others are told, and the case moves on to
    the contract terms. Send the CASE's ETag in If-Match."""
    case = load_case(case_id)
    version = if_match("case", case)
    inquiry = db.session.get(Inquiry, data["inquiry_id"])
    if inquiry is None or inquiry.case_id != case.id:
        raise ServiceError(_("Choose a reply that can deliver and passes the gates."), "inquiry_id")
    chosen = dialogue.choose(case, inquiry, current_user, data["justification"] or "", _today(), version=version)
    db.session.commit()
    return chosen

