"""The supplier dialogue (stage 3): requirement, inquiries, replies, negotiation, comparison, choice."""
from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from flask import url_for
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import select, update
from sqlalchemy.orm import selectinload

from workflow import business_days, pricing
from workflow.extensions import db
from workflow.legal_basis import BY_CODE as LEGAL_BASES
from workflow.models import (
    Choice,
    Inquiry,
    NegotiationNote,
    Offer,
    PurchaseCase,
    Reply,
    ReplyPriceLine,
    Requirement,
    ShortlistEntry,
    User,
)
from workflow.models.offers import PRICE_UNITS
from workflow.models.types import utcnow
from workflow.municipalities import BY_CODE as MUNICIPALITIES
from workflow.municipalities import distance_km
from workflow.process import Event, Stage
from workflow.roles import Role
from workflow.services import audit, cases, mail, registry, settings, transitions
from workflow.services.errors import ServiceError
from workflow.vocabulary import SERVICE_TYPE_LABELS
from workflow.vum import LEVEL_LABELS, THEME_LABELS

FREE_CHOICE_MARGIN = Decimal("0.10")  # § 108: the citizen may choose an offer at most 10 % dearer


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def age_band(age: int | None) -> str:
    """An age band instead of the birth date, so the requirement identifies no one ("–" once anonymised)."""
    if age is None:
        return "–"
    for low, high in ((0, 5), (6, 11), (12, 14), (15, 17), (18, 24), (25, 34), (35, 49), (50, 64), (65, 79)):
        if low <= age <= high:
            return f"{low}–{high}"
    return "80+"


# --- The anonymised requirement ---

def requirement(case: PurchaseCase) -> Requirement | None:
    return db.session.scalar(select(Requirement).where(Requirement.case_id == case.id))


def draft_requirement(case: PurchaseCase, today: date) -> Requirement:
    """Built from the needs assessment: functional levels, goals, services. No name, CPR or address."""
    assessment = cases.current_assessment(case)
    with force_locale("da"):  # suppliers read Danish, whoever drafts the requirement
        levels = [f"{THEME_LABELS[t.theme]}: {LEVEL_LABELS[t.level]}" for t in assessment.themes
                  if t.level is not None]
        services = [str(SERVICE_TYPE_LABELS[code]) for code in LEGAL_BASES[case.legal_basis].typical_services]
    goals = [f"{g.text}" + (f" ({g.measure})" if g.measure else "") for g in assessment.goals]
    return Requirement(
        case_id=case.id, age_band=age_band(case.citizen.age_on(today)), functional_summary="\n".join(levels),
        support_need=assessment.support_need, goals="\n".join(goals), services=", ".join(services),
        hours_per_week=assessment.required_hours_per_week, desired_start=case.desired_start,
        special_conditions=assessment.special_conditions)


def _check_identifying(case: PurchaseCase, texts: dict[str, str]) -> None:
    """Refuse a requirement that names the citizen or carries their CPR number, at the first field that does."""
    citizen = case.citizen
    parts = [part for part in citizen.name.lower().split() if len(part) > 2]
    for field_name, text in texts.items():
        lowered = (text or "").lower()
        # The name as a word, or its genitive ("Oles"): a citizen called Ole may have a requirement about "skole".
        if citizen.cpr[:6] in lowered.replace("-", "") or any(
                re.search(rf"\b{re.escape(part)}(?:s|'s?)?\b", lowered) for part in parts):
            raise ServiceError(_("The requirement must not contain the citizen's name or CPR number."), field_name)


def save_requirement(case: PurchaseCase, actor: User, version: int | None, *, age_band_text: str,
                     functional_summary: str, support_need: str | None, goals: str, services: str,
                     hours_per_week: int | None, desired_start: date | None, special_conditions: str,
                     today: date) -> Requirement:
    if not can_lead_dialogue(case, actor) and not (actor.role == Role.CASEWORKER and case.can_view(actor)):
        raise ServiceError(_("Only the case's procurement colleague and caseworkers edit the requirement."))
    if case.stage != Stage.DIALOGUE:
        raise ServiceError(_("The requirement is edited during the supplier dialogue."))
    _check_identifying(case, {"age_band": age_band_text, "functional_summary": functional_summary, "goals": goals,
                              "services": services, "special_conditions": special_conditions})
    current = requirement(case)
    if current is None:
        current = draft_requirement(case, today)
        db.session.add(current)
    else:
        cases.check_version(current, version)
    changed = audit.changes(current, {
        "age_band": age_band_text.strip(), "functional_summary": functional_summary.strip(),
        "support_need": support_need or None, "goals": goals.strip(), "services": services.strip(),
        "hours_per_week": hours_per_week, "desired_start": desired_start,
        "special_conditions": special_conditions.strip() or None})
    db.session.flush()
    audit.record("requirement.saved", current, {"changes": changed}, actor=actor, case=case)
    return current


# --- Inquiries ---

def can_lead_dialogue(case: PurchaseCase, user: User) -> bool:
    return case.stage == Stage.DIALOGUE and user.role == Role.PROCUREMENT and user.id == case.procurement_id


def default_deadline(today: date) -> date:
    return business_days.add_business_days(today, settings.get("inquiry_reply_business_days"))


def inquiries(case: PurchaseCase) -> list[Inquiry]:
    return list(db.session.scalars(
        select(Inquiry).where(Inquiry.case_id == case.id)
        .options(selectinload(Inquiry.offer).selectinload(Offer.supplier),
                 selectinload(Inquiry.replies).selectinload(Reply.lines),
                 selectinload(Inquiry.replies).selectinload(Reply.entered_by),
                 selectinload(Inquiry.notes).selectinload(NegotiationNote.author))
        .order_by(Inquiry.id)))


def _inquiry_mail(inquiry: Inquiry, req: Requirement, token: str) -> mail.Mail:
    link = url_for("supplier_reply.reply", token=token, _external=True)
    with force_locale("da"):
        subject = _("Inquiry about a place: %(basis)s", basis=LEGAL_BASES[inquiry.case.legal_basis].label)
        body = "\n".join([
            _("Dear %(supplier)s,", supplier=inquiry.offer.supplier.name), "",
            _("The municipality asks whether your offer %(offer)s can deliver the service described below.",
              offer=inquiry.offer.name),
            _("Please reply through this personal link by %(deadline)s:",
              deadline=inquiry.deadline.strftime("%d-%m-%Y")),
            link, "",
            _("Age band") + f": {req.age_band}",
            _("Desired start") + f": {req.desired_start.strftime('%d-%m-%Y') if req.desired_start else '–'}",
            _("Services") + f": {req.services}", "",
            _("The link is personal to this inquiry. Do not forward it."),
        ])
    return mail.Mail(to=[inquiry.email_to], subject=subject, body=body)


def _mail_link(inquiry: Inquiry, req: Requirement) -> None:
    """Give the inquiry a new secret link and mail it once the transaction commits.

    Only the link's hash is stored, so the mail is built now and queued; after the commit it is sent and the
    inquiry marked as mailed (if its link is still this one). Until then, or when the mail server refuses it,
    `mailed_at` stays empty: the page shows the inquiry as not sent, and procurement sends it again.
    """
    token = secrets.token_urlsafe(32)
    inquiry.token_hash, inquiry.mailed_at = _hash(token), None
    db.session.flush()
    inquiry_id, token_hash = inquiry.id, inquiry.token_hash

    def mailed(connection) -> None:
        connection.execute(update(Inquiry).where(Inquiry.id == inquiry_id, Inquiry.token_hash == token_hash)
                           .values(mailed_at=utcnow()))

    mail.send_after_commit(_inquiry_mail(inquiry, req, token), sent=mailed)


def send_inquiries(case: PurchaseCase, actor: User, offer_ids: list[int], deadline: date, sealed: bool,
                   today: date) -> list[Inquiry]:
    """Ask shortlisted offers for a reply: one secret link each, mailed once the inquiries are committed.

    Whether each mail went shows in `mailed_at` after the commit; see `_mail_link`.
    """
    if not can_lead_dialogue(case, actor):
        raise ServiceError(_("Inquiries are sent by the case's procurement colleague during the supplier dialogue."))
    assessment = cases.current_assessment(case)
    if not assessment.consent_to_contact_suppliers:
        raise ServiceError(_("The citizen's consent to contact suppliers is not recorded on the case."))
    req = requirement(case)
    if req is None:
        raise ServiceError(_("Review and save the anonymised requirement before sending."))
    if deadline <= today or not business_days.is_business_day(deadline):
        raise ServiceError(_("The deadline must be a business day after today."), "deadline")
    shortlisted = {entry.offer_id: entry for entry in db.session.scalars(
        select(ShortlistEntry).where(ShortlistEntry.case_id == case.id)
        .options(selectinload(ShortlistEntry.offer).selectinload(Offer.supplier)))}
    asked = set(db.session.scalars(select(Inquiry.offer_id).where(Inquiry.case_id == case.id)))
    chosen = [offer_id for offer_id in dict.fromkeys(offer_ids) if offer_id in shortlisted and offer_id not in asked]
    if not chosen:
        raise ServiceError(_("Choose at least one shortlisted offer that has not been asked yet."), "offers")
    missing = [shortlisted[o].offer.supplier.name for o in chosen if not shortlisted[o].offer.supplier.contact_email]
    if missing:
        raise ServiceError(_("These suppliers have no e-mail address in the registry: %(names)s",
                             names=", ".join(missing)), "offers")
    sent = []
    for offer_id in chosen:
        offer = shortlisted[offer_id].offer
        inquiry = Inquiry(case_id=case.id, offer_id=offer_id, deadline=deadline, sealed=sealed,
                          email_to=offer.supplier.contact_email, sent_by_id=actor.id)
        inquiry.offer, inquiry.case = offer, case
        db.session.add(inquiry)
        _mail_link(inquiry, req)
        audit.record("inquiry.sent", inquiry, {"offer": offer.name, "deadline": deadline.isoformat(),
                                               "sealed": sealed}, actor=actor, case=case)
        sent.append(inquiry)
    return sent


def resend(case: PurchaseCase, inquiry: Inquiry, actor: User, today: date) -> None:
    """Mail the supplier a new link, e.g. when the first mail could not be sent. The old link stops working."""
    if not can_lead_dialogue(case, actor):
        raise ServiceError(_("Only the case's procurement colleague sends an inquiry again."))
    if not inquiry.is_open(today):
        raise ServiceError(_("The inquiry is closed: its link can no longer be sent."))
    _mail_link(inquiry, requirement(case))
    audit.record("inquiry.resent", inquiry, {"offer": inquiry.offer.name}, actor=actor, case=case)


def revoke(case: PurchaseCase, inquiry: Inquiry, actor: User) -> None:
    if not can_lead_dialogue(case, actor):
        raise ServiceError(_("Only the case's procurement colleague can revoke a link."))
    if inquiry.revoked_at is None:
        inquiry.revoked_at = utcnow()
        audit.record("inquiry.revoked", inquiry, {"offer": inquiry.offer.name}, actor=actor, case=case)


def unseal(case: PurchaseCase, inquiry: Inquiry, actor: User) -> None:
    if not can_lead_dialogue(case, actor):
        raise ServiceError(_("Only the case's procurement colleague can open sealed replies."))
    if inquiry.unsealed_at is None:
        inquiry.unsealed_at = utcnow()
        audit.record("inquiry.unsealed", inquiry, {"offer": inquiry.offer.name}, actor=actor, case=case)


def by_token(token: str) -> Inquiry | None:
    if not token or len(token) > 100:
        return None
    return db.session.scalar(select(Inquiry).where(Inquiry.token_hash == _hash(token)))


# --- Replies and negotiation ---

@dataclass
class PriceLineInput:
    description: str
    unit: str
    unit_price: Decimal
    quantity: Decimal


@dataclass
class ReplyInput:
    can_deliver: bool
    earliest_start: date | None = None
    lines: list[PriceLineInput] = field(default_factory=list)
    additional_services: str = ""
    conditions: str = ""
    contact_name: str = ""
    contact_email: str = ""
    contact_phone: str = ""


def _check_reply(data: ReplyInput) -> None:
    if data.can_deliver and not data.lines:
        raise ServiceError(_("Give at least one price line."), "lines")
    for line in data.lines:
        if line.unit not in PRICE_UNITS:
            raise ServiceError(_("Choose a unit for every price line."), "lines")
        if line.unit_price is None or line.unit_price <= 0 or line.quantity is None or line.quantity <= 0:
            raise ServiceError(_("Every price line needs a unit price and a quantity above zero."), "lines")
        if not line.description.strip():
            raise ServiceError(_("Describe every price line."), "lines")


def submit_reply(inquiry: Inquiry, data: ReplyInput, today: date, entered_by: User | None = None,
                 channel: str = "link") -> Reply:
    """A new version of the supplier's reply. Through the link only until the deadline."""
    if entered_by is None and not inquiry.is_open(today):
        raise ServiceError(_("The deadline has passed or the link has been revoked. Contact the municipality."))
    if entered_by is not None and not can_lead_dialogue(inquiry.case, entered_by):
        raise ServiceError(_("Only the case's procurement colleague records replies by hand."))
    _check_reply(data)
    number = len(inquiry.replies) + 1
    reply = Reply(inquiry_id=inquiry.id, number=number, can_deliver=data.can_deliver,
                  earliest_start=data.earliest_start, additional_services=data.additional_services.strip() or None,
                  conditions=data.conditions.strip() or None, contact_name=data.contact_name.strip() or None,
                  contact_email=data.contact_email.strip() or None, contact_phone=data.contact_phone.strip() or None,
                  entered_by_id=entered_by.id if entered_by else None, channel=channel)
    reply.lines = [ReplyPriceLine(description=line.description.strip(), unit=line.unit, unit_price=line.unit_price,
                                  quantity=line.quantity) for line in data.lines] if data.can_deliver else []
    inquiry.replies.append(reply)
    db.session.flush()
    audit.record("reply.received", reply, {
        "offer": inquiry.offer.name, "version": number, "can_deliver": data.can_deliver, "channel": channel,
        "annual_cost": str(pricing.yearly_total(reply.lines))}, actor=entered_by, case=inquiry.case)
    return reply


def add_note(case: PurchaseCase, inquiry: Inquiry, author: User, text: str) -> NegotiationNote:
    if not (can_lead_dialogue(case, author) or (author.role == Role.CASEWORKER and case.can_view(author))):
        raise ServiceError(_("Only the case's procurement colleague and caseworkers write in the negotiation log."))
    if not text.strip():
        raise ServiceError(_("Write the note."), "text")
    note = NegotiationNote(inquiry_id=inquiry.id, author_id=author.id, text=text.strip())
    db.session.add(note)
    db.session.flush()
    audit.record("negotiation.note", note, {"offer": inquiry.offer.name}, actor=author, case=case)
    return note


def set_preference(case: PurchaseCase, inquiry: Inquiry, actor: User, preferred: bool) -> None:
    if not case.can_view(actor) or actor.role not in (Role.CASEWORKER, Role.PROCUREMENT):
        raise ServiceError(_("You cannot change this."))
    if inquiry.citizen_preferred != preferred:
        inquiry.citizen_preferred = preferred
        audit.record("inquiry.preference", inquiry, {"offer": inquiry.offer.name, "preferred": preferred},
                     actor=actor, case=case)


# --- Comparison and choice ---

@dataclass
class ComparisonRow:
    inquiry: Inquiry
    reply: Reply | None
    visible: bool
    gates: dict[str, bool]
    annual_cost: Decimal | None
    list_annual: Decimal | None
    distance: float | None
    score: int = 0
    cheapest: bool = False
    best: bool = False
    within_free_choice: bool = False

    @property
    def passes(self) -> bool:
        return self.reply is not None and self.reply.can_deliver and all(self.gates.values())

    @property
    def vs_list(self) -> Decimal | None:
        if self.annual_cost is None or not self.list_annual:
            return None
        return self.annual_cost - self.list_annual


WEIGHT_KEYS = ("weight_price", "weight_quality", "weight_distance", "weight_preference")


def compare(case: PurchaseCase, today: date) -> list[ComparisonRow]:
    """One row per inquiry: gates, annual cost, differences, distance, preference and a weighted score."""
    home = MUNICIPALITIES.get(case.citizen.home_municipality)
    assessment = cases.current_assessment(case)
    hours = assessment.required_hours_per_week if assessment else None
    rows = []
    for inquiry in inquiries(case):
        offer = inquiry.offer
        visible = inquiry.replies_visible(today)
        reply = inquiry.latest_reply if visible else None
        place = MUNICIPALITIES.get(offer.municipality)
        rows.append(ComparisonRow(
            inquiry=inquiry, reply=reply, visible=visible,
            gates={"approved": offer.approval_status == "approved" or case.acute, "vacancy": offer.vacancies > 0,
                   "legal_basis": case.legal_basis in offer.legal_bases},
            annual_cost=pricing.yearly_total(reply.lines) if reply and reply.can_deliver else None,
            list_annual=pricing.yearly(offer.list_price, offer.price_unit,
                                       (hours or None) if offer.price_unit == "time" else 1),
            distance=distance_km(home, place) if home and place else None))
    _score(rows, today)
    return rows


def _score(rows: list[ComparisonRow], today: date) -> None:
    weights = {key: settings.get(key) for key in WEIGHT_KEYS}
    passing = [row for row in rows if row.passes and row.annual_cost is not None]
    if not passing:
        return
    cheapest = min(row.annual_cost for row in passing)
    nearest = min((row.distance for row in passing if row.distance is not None), default=None)
    cutoff = registry.stale_cutoff(today)
    for row in passing:
        offer = row.inquiry.offer
        price = cheapest / row.annual_cost if row.annual_cost else Decimal(0)
        quality = (Decimal("0.5") if offer.approval_status == "approved" else 0) + (
            Decimal("0.5") if offer.data_updated_on > cutoff else 0)
        distance = Decimal(1) if row.distance is None or nearest is None else Decimal(
            (nearest + 10) / (row.distance + 10))
        preference = Decimal(1) if row.inquiry.citizen_preferred else Decimal(0)
        row.score = int(round(price * weights["weight_price"] + quality * weights["weight_quality"]
                              + distance * weights["weight_distance"] + preference * weights["weight_preference"]))
    best_score = max(row.score for row in passing)
    for row in passing:
        row.cheapest = row.annual_cost == cheapest
        row.best = row.score == best_score


def mark_free_choice(case: PurchaseCase, rows: list[ComparisonRow], chosen_cost: Decimal | None) -> None:
    """§ 108: offers at most 10 % dearer than the chosen one are within the citizen's free choice."""
    if case.legal_basis != "SEL-108" or chosen_cost is None:
        return
    ceiling = chosen_cost * (1 + FREE_CHOICE_MARGIN)
    for row in rows:
        row.within_free_choice = row.passes and row.annual_cost is not None and row.annual_cost <= ceiling


def choice(case: PurchaseCase) -> Choice | None:
    return db.session.scalar(select(Choice).where(Choice.case_id == case.id)
                             .options(selectinload(Choice.inquiry), selectinload(Choice.reply)))


def reopen_choice(case: PurchaseCase, actor: User) -> None:
    """Revisitation: the next round of the dialogue chooses again. The earlier choice is kept in the audit
    trail (and in the approved contract's archived summary); the earlier replies can be chosen again."""
    earlier = choice(case)
    if earlier is None:
        return
    audit.record("dialogue.choice_reopened", earlier, {
        "offer": earlier.inquiry.offer.name, "chosen_at": earlier.chosen_at.isoformat() if earlier.chosen_at else None,
        "justification": earlier.justification}, actor=actor, case=case)
    db.session.delete(earlier)
    db.session.flush()


def needs_justification(rows: list[ComparisonRow], inquiry_id: int) -> bool:
    row = next(row for row in rows if row.inquiry.id == inquiry_id)
    return not (row.best and row.cheapest)


def _declined_mail(inquiry: Inquiry) -> mail.Mail:
    with force_locale("da"):
        return mail.Mail(to=[inquiry.email_to], subject=_("Your reply to our inquiry"), body="\n".join([
            _("Dear %(supplier)s,", supplier=inquiry.offer.supplier.name), "",
            _("Thank you for your reply about %(offer)s. The municipality has chosen another offer this time.",
              offer=inquiry.offer.name)]))


def choose(case: PurchaseCase, inquiry: Inquiry, actor: User, justification: str, today: date,
           version: int | None = None) -> Choice:
    """Choose one reply, justify it when it is not both the best scored and the cheapest, tell the others."""
    if not can_lead_dialogue(case, actor):
        raise ServiceError(_("The case's procurement colleague makes the choice."))
    cases.check_version(case, version)  # before anything is written or anyone is told
    rows = compare(case, today)
    row = next((r for r in rows if r.inquiry.id == inquiry.id), None)
    if row is None or not row.passes:
        raise ServiceError(_("Choose a reply that can deliver and passes the gates."))
    if needs_justification(rows, inquiry.id) and not justification.strip():
        raise ServiceError(_("Justify the choice: it is not both the best scored and the cheapest reply."),
                           "justification")
    if choice(case) is not None:
        raise ServiceError(_("A supplier has been chosen already."))
    chosen = Choice(case_id=case.id, inquiry_id=inquiry.id, reply_id=row.reply.id,
                    justification=justification.strip() or None, chosen_by_id=actor.id)
    db.session.add(chosen)
    db.session.flush()
    audit.record("dialogue.chosen", chosen, {
        "offer": inquiry.offer.name, "annual_cost": str(row.annual_cost), "score": row.score,
        "justification": chosen.justification}, actor=actor, case=case)
    declined = [other.inquiry for other in rows
                if other.inquiry.id != inquiry.id and other.inquiry.declined_at is None]
    for other in declined:
        other.declined_at = utcnow()
        audit.record("inquiry.declined", other, {"offer": other.offer.name}, actor=actor, case=case)
    transitions.take_step(case, Event.CHOOSE_SUPPLIER, actor, version=version)
    for other in declined:  # they are told once the choice is committed; never about one rolled back
        mail.send_after_commit(_declined_mail(other))
    return chosen
