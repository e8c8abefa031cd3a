"""SCRATCH"""
from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader

from tests.factories import make_case
from workflow.extensions import db as _db
from workflow.process import Event
from workflow.services import cases, contracts, dialogue, needs, registry, shortlist, transitions
from workflow.services.contract_pdf import render
from workflow.services.registry import OfferInput, SupplierInput

TODAY = date.today()
CPR = "0101901234"


@pytest.fixture(autouse=True)
def outbox(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))


def test_scratch(app, staff):
    case = make_case(staff.caseworker, procurement=staff.procurement, economy=staff.economy, name="Karl Kontrakt",
                     cpr=CPR)
    needs.save_assessment(case, cases.current_assessment(case), version=None, actor=staff.caseworker,
                          data=needs.AssessmentInput(
                              support_need="high", expected_duration="2 år", wishes="", special_conditions="",
                              required_hours_per_week=None, consent_to_contact_suppliers=True,
                              consent_date=date(2026, 11, 1), child_investigation_date=None,
                              decision_date=date(2026, 11, 2), decided_by=staff.caseworker,
                              themes={"practical_tasks": (3, "x"), "self_care": (2, "")},
                              goals=[needs.GoalInput("develop", "Handler selv ind en gang om ugen", "Ugentlig status"),
                                     needs.GoalInput("maintain", "Tager selv sin medicin", "")]))
    transitions.take_step(case, Event.COMPLETE_ASSESSMENT, staff.caseworker)
    for i, (name, price) in enumerate((("Solhøj", "2500.00"), ("Egely", "2600.00"))):
        supplier = registry.create_supplier(SupplierInput(cvr=f"3100000{i}", name=f"{name} ApS", supplier_type="privat",
                                                          contact_email=f"t{i}@x.example"))
        offer = registry.create_offer(supplier, OfferInput(
            key=f"K-{name}", name=name, municipality="101", list_price=Decimal(price), price_unit="døgn",
            price_effective_from=date(2026, 1, 1), approval_status="approved", data_updated_on=TODAY - timedelta(30),
            legal_bases=["SEL-108"], target_groups=["intellectual_disability"],
            service_types=["residence", "socio_educational_support"], places=10, vacancies=2,
            approved_on=date(2019, 3, 15)), TODAY)
        shortlist.add(case, offer, staff.caseworker, "Relevant")
    transitions.take_step(case, Event.START_DIALOGUE, staff.caseworker)
    req = dialogue.draft_requirement(case, TODAY)
    dialogue.save_requirement(case, staff.procurement, None, age_band_text=req.age_band,
                              functional_summary=req.functional_summary, support_need=req.support_need,
                              goals=req.goals, services=req.services, hours_per_week=req.hours_per_week,
                              desired_start=req.desired_start, special_conditions="", today=TODAY)
    with app.test_request_context():
        asked = dialogue.send_inquiries(case, staff.procurement, [e.offer_id for e in shortlist.entries(case)],
                                        dialogue.default_deadline(TODAY), sealed=False, today=TODAY)
    for inquiry, price in zip(asked, ("2450.50", "2700.00")):
        dialogue.submit_reply(inquiry, dialogue.ReplyInput(
            can_deliver=True, earliest_start=date(2027, 3, 1),
            lines=[dialogue.PriceLineInput("Døgntakst", "døgn", Decimal(price), Decimal(1))],
            contact_name="Lise", contact_email="lise@x.example", additional_services="Ledsagelse"), TODAY)
    dialogue.choose(case, asked[0], staff.procurement, "", TODAY)
    _db.session.commit()
    print(case.stage)
    c = contracts.draft_from_choice(case, staff.procurement, TODAY)
    _db.session.commit()
    print(c.annual_cost, c.total_value, c.list_price_annual, c.goals, c.supplier_contact, c.start_date)
    with app.test_request_context():
        pdf = render(case, c, draft=True)
    r = PdfReader(io.BytesIO(pdf))
    print(len(r.pages))
    print("\n=====\n".join(p.extract_text() for p in r.pages))
    print(pdf[:1500])
