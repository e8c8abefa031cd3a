"""Cases in the supplier dialogue (stage 3), built through the same services the pages use.

`build_dialogue_case` opens and assesses Karoline's case (her wishes name her and her address, which must never
reach a supplier), shortlists three offers and starts the dialogue; `save_requirement`, `send` and `reply` take
it on as procurement and the suppliers would. tests/support/contracts.py walks its own case on to stage 4 with
the same steps.
"""
from __future__ import annotations

import itertools
import re
from datetime import date, timedelta
from decimal import Decimal
from types import SimpleNamespace

from tests.factories import make_case
from workflow.extensions import db
from workflow.models import Inquiry, Offer, PurchaseCase, Reply, Requirement
from workflow.process import Event
from workflow.services import cases, dialogue, needs, registry, shortlist, transitions
from workflow.services.registry import OfferInput, SupplierInput

TODAY = date.today()  # the pages use date.today(); the services get the day passed in
FRESH = TODAY - timedelta(days=30)

CITIZEN = "Karoline Testesen"
CPR = "0101901234"
GOAL = "Handler selv ind en gang om ugen"
WISHES = f"{CITIZEN} ønsker at bo tæt på sin søster; bor nu på Testvej 12, 2100 København Ø"

# (offer name, supplier name, e-mail, list price a day)
OFFERS = (("Solhøj", "Solhøj ApS", "tilbud@solhoej.example", "2500.00"),
          ("Egely", "Egely Fonden", "kontakt@egely.example", "2400.00"),
          ("Bakkely", "Bakkely A/S", "svar@bakkely.example", "2600.00"))
_cvrs = itertools.count(31000001)


# The supplier's secret link in an inquiry mail.
LINK = re.compile(r"https?://[^/\s]+/reply/([A-Za-z0-9_-]{20,})")

def assess_with_consent(case: PurchaseCase, caseworker, *, consent: bool = True) -> None:
    """A complete assessment whose wishes and narratives name the citizen and an address (never for suppliers)."""
    needs.save_assessment(case, cases.current_assessment(case), version=None, actor=caseworker,
                          data=needs.AssessmentInput(
                              support_need="high", expected_duration="2 år", wishes=WISHES, special_conditions="",
                              required_hours_per_week=None, consent_to_contact_suppliers=consent,
                              consent_date=date(2026, 11, 1) if consent else None, child_investigation_date=None,
                              decision_date=date(2026, 11, 2), decided_by=caseworker,
                              themes={"practical_tasks": (3, "Karoline skal guides i Netto på Testvej"),
                                      "self_care": (2, "")},
                              goals=[needs.GoalInput("develop", GOAL, "Ugentlig status")]))


def new_offer(name: str, supplier_name: str, email: str | None, price: str, **changes) -> Offer:
    supplier = registry.create_supplier(SupplierInput(
        cvr=str(next(_cvrs)), name=supplier_name, supplier_type="privat", contact_email=email or ""))
    values = {"key": f"K-{name}", "name": name, "municipality": "101", "list_price": Decimal(price),
              "price_unit": "døgn", "price_effective_from": date(2026, 1, 1), "approval_status": "approved",
              "data_updated_on": FRESH, "legal_bases": ["SEL-108"], "target_groups": ["intellectual_disability"],
              "service_types": ["residence", "socio_educational_support"], "places": 10, "vacancies": 2,
              "approved_on": date(2019, 3, 15)}
    values.update(changes)
    return registry.create_offer(supplier, OfferInput(**values), TODAY)


def build_dialogue_case(staff, *, consent: bool = True, to_dialogue: bool = True, legal_basis: str = "SEL-108",
                        name: str = CITIZEN, cpr: str = CPR, offers=OFFERS):
    """A caseworker's case with procurement and economy on it, assessed, three offers shortlisted, in the dialogue."""
    case = make_case(staff.caseworker, legal_basis=legal_basis, procurement=staff.procurement,
                     economy=staff.economy, name=name, cpr=cpr)
    assess_with_consent(case, staff.caseworker, consent=consent)
    transitions.take_step(case, Event.COMPLETE_ASSESSMENT, staff.caseworker)
    made = []
    for offer_name, supplier_name, email, price in offers:
        offer = new_offer(offer_name, supplier_name, email, price,
                          legal_bases=sorted({"SEL-108", legal_basis}))
        shortlist.add(case, offer, staff.caseworker, "Relevant tilbud")
        made.append(offer)
    if to_dialogue:
        transitions.take_step(case, Event.START_DIALOGUE, staff.caseworker)
    db.session.commit()
    return SimpleNamespace(case=case, offers={offer.name: offer for offer in made})


def save_requirement(case: PurchaseCase, actor, **changes) -> Requirement:
    """The requirement as drafted from the needs assessment (with `changes`), saved by actor."""
    draft = dialogue.draft_requirement(case, TODAY)
    values = {"age_band_text": draft.age_band, "functional_summary": draft.functional_summary,
              "support_need": draft.support_need, "goals": draft.goals, "services": draft.services,
              "hours_per_week": draft.hours_per_week, "desired_start": draft.desired_start,
              "special_conditions": draft.special_conditions or ""}
    values.update(changes)
    saved = dialogue.save_requirement(case, actor, None, today=TODAY, **values)
    db.session.commit()
    return saved


def send(app, case: PurchaseCase, actor, offer_ids=None, *, sealed: bool = False, deadline: date | None = None,
         today: date = TODAY) -> list[Inquiry]:
    """Send through the service; the links are built as in a request to http://localhost."""
    if offer_ids is None:
        offer_ids = [entry.offer_id for entry in shortlist.entries(case)]
    with app.test_request_context():
        sent = dialogue.send_inquiries(case, actor, offer_ids, deadline or dialogue.default_deadline(today),
                                       sealed, today)
    db.session.commit()
    return sent


def reply_input(price: str | Decimal, *, unit: str = "døgn", quantity: str = "1", can_deliver: bool = True,
                **changes) -> dialogue.ReplyInput:
    """A reply at `price` a day from 1 March 2027, with the other fields of ReplyInput in `changes`."""
    lines = [dialogue.PriceLineInput("Døgntakst", unit, Decimal(price), Decimal(quantity))] if can_deliver else []
    values = {"can_deliver": can_deliver, "earliest_start": date(2027, 3, 1), "lines": lines,
              "contact_name": "Lise Leverandør", "contact_email": "lise@leverandoer.example"}
    values.update(changes)
    return dialogue.ReplyInput(**values)


def reply(inquiry: Inquiry, price: str | Decimal, **kwargs) -> Reply:
    made = dialogue.submit_reply(inquiry, reply_input(price, **kwargs), TODAY)
    db.session.commit()
    return made
