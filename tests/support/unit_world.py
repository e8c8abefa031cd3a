"""A unit's world: its cases in every stage of the process and the rows around them.

`build_world` builds one unit's world through the services the pages use: a case in each stage (with a needs
assessment, a shortlist entry, inquiries and replies, contracts submitted, reviewed and approved, follow-ups and
an ending), three offers, an offer import and an API token. `World` names each object by what it is, and the
text (case numbers, CPR numbers, the surname) that marks the unit's citizens on a page. The access matrix
(tests/reliability/test_access_matrix.py) builds one world per unit of the `staff` fixture; the mass-assignment
tests (tests/reliability/test_mass_assignment.py) build one.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path

from tests.conftest import Staff
from tests.factories import assess, make_case, to_market_scan
from tests.support.dialogue import reply, save_requirement, send
from tests.support.running import follow_up_input, unrendered_summary
from workflow.extensions import db
from workflow.models import PurchaseCase, Role
from workflow.process import Event, Stage
from workflow.services import api_tokens, contracts, dialogue, followup, offer_import, registry, shortlist, transitions
from workflow.services.registry import OfferInput, SupplierInput

TODAY = date.today()
EXAMPLE_CSV = Path(__file__).resolve().parents[1] / "data" / "offers-example.csv"
OTHER = "Fremmedsen"      # the surname of every unit-2 citizen: never on a unit-1 user's page
OWN = "Egensen"
_serials = itertools.count(1)


def unit_staff(staff: Staff, suffix: str) -> Staff:
    """The users of one unit of the `staff` fixture by role, so that builders written for staff.caseworker etc.
    build in that unit."""
    return Staff({role.value: staff[f"{role.value}{suffix}"] for role in Role})


@dataclass
class World:
    people: Staff
    unit_id: int
    cases: dict[str, int] = field(default_factory=dict)     # what the case shows (its stage) → case id
    inquiries: list[tuple[int, int]] = field(default_factory=list)   # (case id, inquiry id)
    entries: list[tuple[int, int]] = field(default_factory=list)     # (case id, shortlist entry id)
    follow_ups: list[tuple[int, int]] = field(default_factory=list)  # (case id, follow-up id)
    offers: list[int] = field(default_factory=list)
    suppliers: list[int] = field(default_factory=list)
    import_id: int = 0
    token_id: int = 0
    cprs: list[str] = field(default_factory=list)
    markers: list[str] = field(default_factory=list)   # text that identifies this unit's citizens and cases


def make_offers(tag: str) -> list:
    """Three approved § 108 offers of three suppliers in the registry."""
    made = []
    for name, price in (("Solhøj", Decimal("2500.00")), ("Egely", Decimal("2600.00")), ("Lærkely", Decimal("2700"))):
        serial = next(_serials)
        supplier = registry.create_supplier(SupplierInput(
            cvr=f"{41000000 + serial}", name=f"{name} ApS {tag}", supplier_type="privat",
            contact_email=f"tilbud{serial}@leverandoer.example"))
        made.append(registry.create_offer(supplier, OfferInput(
            key=f"AM-{serial}", name=f"{name} {tag}", municipality="101", list_price=price, price_unit="døgn",
            price_effective_from=date(2026, 1, 1), approval_status="approved",
            data_updated_on=TODAY - timedelta(days=30), legal_bases=["SEL-108"],
            target_groups=["intellectual_disability"], service_types=["residence", "socio_educational_support"],
            places=10, vacancies=2, approved_on=date(2019, 3, 15)), TODAY))
    db.session.commit()
    return made


def _open(people: Staff, world: World, stage: str, surname: str) -> PurchaseCase:
    case = make_case(people.caseworker, procurement=people.procurement, economy=people.economy,
                     name=f"{stage.title()} {surname}")
    world.cases[stage] = case.id
    world.cprs.append(case.citizen.cpr)
    world.markers += [case.number, case.citizen.cpr]
    return case


def _in_dialogue(app, people: Staff, world: World, offers, stage: str, surname: str):
    """Assessed, three offers shortlisted, the requirement saved, two of them asked, both replied."""
    case = _open(people, world, stage, surname)
    assess(case, people.caseworker)
    transitions.take_step(case, Event.COMPLETE_ASSESSMENT, people.caseworker)
    for offer in offers:
        shortlist.add(case, offer, people.caseworker, "Relevant tilbud")
    transitions.take_step(case, Event.START_DIALOGUE, people.caseworker)
    save_requirement(case, people.procurement)
    asked = send(app, case, people.procurement, [offer.id for offer in offers[:2]])
    for inquiry, price in zip(asked, (Decimal("2450.50"), Decimal("2750.00")), strict=True):
        reply(inquiry, price, earliest_start=TODAY + timedelta(days=60), additional_services="Ledsagelse",
              contact_phone="12345678")
    world.inquiries += [(case.id, inquiry.id) for inquiry in asked]
    return case, asked


def build_world(app, people: Staff, surname: str) -> World:
    """One unit's cases in every stage of the process, built through the services the pages use."""
    world = World(people=people, unit_id=people.caseworker.unit_id, markers=[surname])
    offers = make_offers(surname[:4])
    world.offers = [offer.id for offer in offers]
    world.suppliers = [offer.supplier_id for offer in offers]

    assess(_open(people, world, "needs", surname), people.caseworker)

    scan = _open(people, world, "market_scan", surname)
    to_market_scan(scan, people.caseworker)
    entry = shortlist.add(scan, offers[0], people.caseworker, "Tæt på familien")
    db.session.commit()
    world.entries.append((scan.id, entry.id))

    _in_dialogue(app, people, world, offers, "dialogue", surname)

    later = ("terms", "approval", "approval_reviewed", "delivery", "follow_up", "ending")
    for index, stage in enumerate(later):
        case, asked = _in_dialogue(app, people, world, offers, stage, surname)
        dialogue.choose(case, asked[0], people.procurement, "", TODAY)
        contract = contracts.draft_from_choice(case, people.procurement, TODAY)
        db.session.commit()
        if index >= 1:
            contracts.submit(case, contract, people.procurement)
        if index >= 2:
            contracts.review(case, contract, people.economy)
        if index >= 3:
            contracts.approve(case, contract, people.manager, render=unrendered_summary)
        if index >= 4:
            followup.start_delivery(case, people.caseworker, TODAY - timedelta(days=30), TODAY)
        if index >= 5:
            followup.record(case, people.caseworker, follow_up_input(
                case, TODAY, "end", end_date=TODAY + timedelta(days=90), end_reason="Flytter"), TODAY)
        db.session.commit()
        world.follow_ups += [(case.id, row.id) for row in followup.follow_ups(case)]

    batch = offer_import.store_for_preview("tilbud.csv", EXAMPLE_CSV.read_text(encoding="utf-8"), people.procurement)
    world.import_id = batch.id
    world.token_id = api_tokens.create(people.caseworker, "ESDH", None, TODAY).token.id
    db.session.commit()
    for stage, case_id in world.cases.items():
        assert db.session.get(PurchaseCase, case_id).stage == Stage(stage.removesuffix("_reviewed")), stage
    return world
