"""Cases in stage 4 (contract terms), and their contract drafted, submitted, reviewed and approved.

`build_terms_case` walks Karl's case through the needs assessment and the supplier dialogue (the steps of
tests/support/dialogue.py) to a chosen reply of 2.450,50 kr. a day from Solhøj; the helpers after it take the
contract on through the services as procurement, economy and the manager would. tests/test_contracts.py tests
this stage; the later stages and the reliability tests start from it.
"""
from __future__ import annotations

import itertools
from dataclasses import replace
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

from sqlalchemy import update

from tests.conftest import PASSWORD
from tests.factories import make_case
from tests.support.dialogue import reply, save_requirement, send
from workflow.extensions import db
from workflow.models import ContractVersion, Offer, PurchaseCase, Role
from workflow.models.cases import StageVisit
from workflow.process import Event, Stage
from workflow.services import cases, contracts, dialogue, needs, registry, shortlist, transitions
from workflow.services import users as user_service
from workflow.services.registry import OfferInput, SupplierInput

TODAY = date.today()
CITIZEN = "Karl Kontraktsen"
CPR = "0101901234"
CPR_FORMS = ("0101901234", "010190-1234", "010190 1234")
MASKED_CPR = "010190-xxxx"
GOALS = ("Handler selv ind en gang om ugen", "Tager selv sin medicin efter plan")
START = date(2027, 4, 1)              # the chosen reply's earliest start (the case wants 1 March)
CHOSEN_PRICE = Decimal("2450.50")     # a day; 2.450,50 × 365 = 894.432,50 a year
LIST_PRICE = Decimal("2500.00")       # the chosen offer's list price a day; 912.500,00 a year
SUPPLIER = "Solhøj Botilbud ApS"
_serials = itertools.count(1)


# --- The case --------------------------------------------------------------------------------------------------

def registry_offer(name: str, supplier_name: str, price: Decimal) -> Offer:
    """An approved § 108 offer at `price` a day, of a supplier of its own, in the registry."""
    serial = next(_serials)
    supplier = registry.create_supplier(SupplierInput(
        cvr=f"{32000000 + serial}", name=supplier_name, supplier_type="privat",
        contact_email=f"tilbud{serial}@leverandoer.example"))
    return registry.create_offer(supplier, OfferInput(
        key=f"K-{serial}-{name}", name=name, municipality="101", list_price=price, price_unit="døgn",
        price_effective_from=date(2026, 1, 1), approval_status="approved", data_updated_on=TODAY - timedelta(days=30),
        legal_bases=["SEL-108"], target_groups=["intellectual_disability"],
        service_types=["residence", "socio_educational_support"], places=10, vacancies=2,
        approved_on=date(2019, 3, 15)), TODAY)


def build_terms_case(app, staff, *, price: Decimal = CHOSEN_PRICE, cpr: str = CPR) -> PurchaseCase:
    """A case with procurement and economy on it, walked through the dialogue to a chosen reply (stage 4)."""
    case = make_case(staff.caseworker, procurement=staff.procurement, economy=staff.economy, name=CITIZEN, cpr=cpr)
    needs.save_assessment(case, cases.current_assessment(case), version=None, actor=staff.caseworker,
                          data=needs.AssessmentInput(
                              support_need="high", expected_duration="2 år", wishes="", special_conditions="",
                              required_hours_per_week=None, consent_to_contact_suppliers=True,
                              consent_date=date(2026, 11, 1), child_investigation_date=None,
                              decision_date=date(2026, 11, 2), decided_by=staff.caseworker,
                              themes={"practical_tasks": (3, "Skal guides"), "self_care": (2, "")},
                              goals=[needs.GoalInput("develop", GOALS[0], "Ugentlig status"),
                                     needs.GoalInput("maintain", GOALS[1], "")]))
    transitions.take_step(case, Event.COMPLETE_ASSESSMENT, staff.caseworker)
    chosen_offer = registry_offer("Solhøj", SUPPLIER, LIST_PRICE)
    other_offer = registry_offer("Egely", "Egely Fonden", Decimal("2600.00"))
    for offer in (chosen_offer, other_offer):
        shortlist.add(case, offer, staff.caseworker, "Relevant tilbud")
    transitions.take_step(case, Event.START_DIALOGUE, staff.caseworker)
    save_requirement(case, staff.procurement)
    asked = send(app, case, staff.procurement, [chosen_offer.id, other_offer.id])
    by_offer = {inquiry.offer_id: inquiry for inquiry in asked}
    for offer, amount in ((chosen_offer, price), (other_offer, price + 300)):
        reply(by_offer[offer.id], amount, earliest_start=START, additional_services="Ledsagelse til lægen",
              contact_phone="12345678")
    dialogue.choose(case, by_offer[chosen_offer.id], staff.procurement, "", TODAY)
    db.session.commit()
    assert case.stage == Stage.TERMS
    return case


def make_manager(staff, login: str, limit: str | None):
    """Another manager in the case's unit, with this approval limit."""
    user = user_service.create_user(login=login, full_name=f"Leder {login}", email=f"{login}@example.org",
                                    role=Role.MANAGER, unit=staff.manager.unit, password=PASSWORD,
                                    approval_limit=Decimal(limit) if limit is not None else None)
    db.session.commit()
    return user


def place_in_stage(case: PurchaseCase, stage: Stage) -> None:
    """Move a case to a stage directly (the stages after approval have no screens yet)."""
    now = datetime.now(UTC)
    db.session.execute(update(StageVisit).where(StageVisit.case_id == case.id, StageVisit.left_at.is_(None))
                       .values(left_at=now))
    db.session.add(StageVisit(case_id=case.id, stage=stage, entered_at=now))
    case.stage, case.stage_entered_at = stage, now
    db.session.commit()


# --- Its contract ----------------------------------------------------------------------------------------------

def draft_contract(case, staff) -> ContractVersion:
    """Procurement drafts the contract from the chosen reply; the walk on: submitted, reviewed, approved."""
    contract = contracts.draft_from_choice(case, staff.procurement, TODAY)
    db.session.commit()
    return contract


def submitted(case, staff) -> ContractVersion:
    contract = draft_contract(case, staff)
    contracts.submit(case, contract, staff.procurement)
    db.session.commit()
    return contract


def reviewed(case, staff) -> ContractVersion:
    contract = submitted(case, staff)
    contracts.review(case, contract, staff.economy)
    db.session.commit()
    return contract


def approved(case, staff) -> ContractVersion:
    """Submitted, reviewed and approved, its summary PDF rendered and archived as the app does."""
    contract = reviewed(case, staff)
    contracts.approve(case, contract, staff.manager)
    db.session.commit()
    return contract


def terms_of(contract: ContractVersion, **changes) -> contracts.TermsInput:
    """The contract's current terms as a TermsInput, with some changed."""
    data = contracts.TermsInput(
        acting_municipality=contract.acting_municipality, paying_municipality=contract.paying_municipality,
        supplier_contact=contract.supplier_contact or "", primary_service=contract.primary_service,
        start_date=contract.start_date, notice_months=contract.notice_months, payment_terms=contract.payment_terms,
        payment_days=contract.payment_days, acting_ean=contract.acting_ean or "",
        acting_contact=contract.acting_contact or "", paying_ean=contract.paying_ean or "",
        further_services=contract.further_services or "", goals=contract.goals or "",
        price_regulation=contract.price_regulation or "", duration_months=contract.duration_months,
        review_date=contract.review_date, absence_rules=contract.absence_rules or "",
        documentation_duties=contract.documentation_duties or "", data_processing=contract.data_processing or "",
        framework_reference=contract.framework_reference or "",
        lines=[contracts.LineInput(line.description, line.unit, line.unit_price, line.quantity, line.supplement)
               for line in contract.lines])
    return replace(data, **changes)


def line(unit: str, price: str, quantity: str = "1", description: str | None = None) -> contracts.LineInput:
    """A price line of the terms: `price` (kroner, as text) per unit."""
    return contracts.LineInput(description or f"Takst pr. {unit}", unit, Decimal(price), Decimal(quantity))


def terms_form(contract: ContractVersion, **changes) -> dict:
    """What the terms page posts for the contract as it stands (a day's price of 2.450,50), with some changed."""
    data = {"version": str(contract.version), "acting_municipality": contract.acting_municipality,
            "acting_ean": contract.acting_ean or "", "acting_contact": contract.acting_contact or "",
            "paying_municipality": contract.paying_municipality, "paying_ean": contract.paying_ean or "",
            "supplier_contact": contract.supplier_contact or "", "primary_service": contract.primary_service,
            "further_services": contract.further_services or "", "price_regulation": contract.price_regulation,
            "payment_terms": contract.payment_terms, "payment_days": str(contract.payment_days),
            "start_date": contract.start_date.strftime("%d-%m-%Y"), "duration_months": "24", "review_date": "",
            "notice_months": str(contract.notice_months), "absence_rules": contract.absence_rules or "",
            "documentation_duties": contract.documentation_duties or "", "goals": contract.goals or "",
            "data_processing": contract.data_processing or "", "framework_reference": "",
            "lines-0-description": "Døgntakst", "lines-0-unit": "døgn", "lines-0-unit_price": "2.450,50",
            "lines-0-quantity": "1"}
    data.update(changes)
    return data
