"""A whole purchase through the API alone, as an integration would drive it: case, needs, shortlist, inquiry,
reply, choice, terms, approval by a second user, the PDF, the start of delivery and a follow-up.

Only the offer registry is there beforehand (as in any municipality); every step after it is an API call by
the person whose work it is, with If-Match on each write.
"""
from __future__ import annotations

import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from tests.support.api import ApiClient
from workflow import business_days, clock
from workflow.models import AccessLog, ContractVersion, FollowUp, PurchaseCase
from workflow.services import registry
from workflow.services.registry import OfferInput, SupplierInput

CPR, CPR_DIGITS = "241182-2345", "2411822345"
TODAY = clock.today()
STARTED = TODAY - timedelta(days=100)   # the placement began a while ago: its first follow-up is overdue


@pytest.fixture(autouse=True)
def outbox(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))


@pytest.fixture
def registry_offers(db):
    for number, (name, price) in enumerate((("Solbakken", "2450.00"), ("Engly", "2390.00"))):
        supplier = registry.create_supplier(SupplierInput(
            cvr=f"3300000{number}", name=f"{name} ApS", supplier_type="privat", contact_email=f"tilbud@{name}.example"))
        registry.create_offer(supplier, OfferInput(
            key=f"K-{name}", name=name, municipality="101", list_price=Decimal(price), price_unit="døgn",
            price_effective_from=date(2026, 1, 1), approval_status="approved", data_updated_on=TODAY - timedelta(30),
            legal_bases=["SEL-108"], target_groups=["intellectual_disability"], service_types=["residence"],
            places=10, vacancies=2, approved_on=date(2019, 3, 15)), TODAY)
    db.session.commit()


class Recording(ApiClient):
    """An ApiClient that keeps every answer, to check afterwards that no CPR number left the server."""

    answers: list[str] = []

    def call(self, method, path, **kwargs):
        response = super().call(method, path, **kwargs)
        body = response.get_data().decode(errors="replace")
        Recording.answers.append(f"{method} {path} {dict(response.headers)} {body}")
        assert response.status_code < 500, response.get_data(as_text=True)
        return response


def ok(response, status: int = 200) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    return response.json


def etag_of(client, path: str) -> str:
    return client.get(path).headers["ETag"]


def test_a_purchase_from_needs_to_follow_up_through_the_api_alone(app, staff, db, registry_offers):
    Recording.answers = []
    caseworker, procurement, economy, manager = (Recording(app, staff[login]) for login in
                                                 ("caseworker", "procurement", "economy", "manager"))

    # 1. The caseworker opens the case (the CPR number travels in the body only) and records the needs.
    case = ok(caseworker.post("/cases", json={
        "cpr": CPR, "citizen_name": "Mette Madsen", "home_municipality": "101", "legal_basis": "SEL-108",
        "target_group": "intellectual_disability", "budget_frame": "1200000.00",
        "procurement_id": staff.procurement.id, "economy_id": staff.economy.id}), 201)
    path = f"/cases/{case['id']}"
    assert case["citizen"]["cpr_masked"] == "241182-xxxx" and case["stage"] == "needs"
    ok(caseworker.write("PUT", f"{path}/needs", json={
        "support_need": "high", "expected_duration": "2 år", "consent_to_contact_suppliers": True,
        "consent_date": (TODAY - timedelta(days=3)).isoformat(),
        "decision_date": (TODAY - timedelta(days=2)).isoformat(),
        "decided_by_id": staff.caseworker.id,
        "themes": [{"code": "self_care", "level": 3, "narrative": "Hjælp til personlig pleje morgen og aften"}],
        "goals": [{"goal_type": "develop", "text": "Handler selv ind en gang om ugen", "measure": "Ugentlig status"}]}))
    assert ok(caseworker.write("POST", f"{path}/steps/complete_assessment", etag=etag_of(caseworker, path)))[
        "stage"] == "market_scan"

    # 2. Market scan: the caseworker finds the offers in the registry and shortlists them.
    offers = ok(caseworker.get("/offers?legal_basis=SEL-108&page_size=10"))["items"]
    assert {offer["name"] for offer in offers} == {"Solbakken", "Engly"}
    for offer in offers:
        ok(caseworker.post(f"{path}/shortlist", json={"offer_id": offer["id"], "note": "Ledig plads, tæt på"}), 201)
    assert len(ok(caseworker.get(f"{path}/shortlist"))["items"]) == 2
    assert ok(caseworker.write("POST", f"{path}/steps/start_dialogue", etag=etag_of(caseworker, path)))[
        "stage"] == "dialogue"

    # 3. Supplier dialogue: procurement saves the anonymised requirement, asks both, enters a reply, chooses.
    draft = ok(procurement.get(f"{path}/requirement"))
    requirement = {key: draft[key] for key in ("age_band", "functional_summary", "support_need", "goals",
                                               "services", "hours_per_week", "desired_start", "special_conditions")}
    ok(procurement.put(f"{path}/requirement", json=requirement))
    deadline = business_days.add_business_days(TODAY, 5)
    sent = ok(procurement.post(f"{path}/inquiries", json={
        "offer_ids": [offer["id"] for offer in offers], "deadline": deadline.isoformat(), "sealed": False}), 201)
    engly = next(inquiry for inquiry in sent if inquiry["offer"]["name"] == "Engly")
    ok(procurement.post(f"{path}/inquiries/{engly['id']}/replies", json={
        "channel": "phone", "can_deliver": True, "earliest_start": STARTED.isoformat(),
        "lines": [{"description": "Døgntakst", "unit": "døgn", "unit_price": "2390.00", "quantity": "1"}],
        "contact_name": "Lise Leverandør", "contact_email": "lise@engly.example"}), 201)
    rows = ok(procurement.get(f"{path}/comparison"))["rows"]
    passing = [row for row in rows if row["passes"]]
    assert len(passing) == 1
    ok(procurement.write("POST", f"{path}/choice", json={"inquiry_id": engly["id"], "justification": ""},
                         etag=etag_of(procurement, path)))
    assert ok(procurement.get(path))["stage"] == "terms"

    # 4. Terms: procurement drafts them from the chosen reply, sets the start, and submits.
    contract = ok(procurement.post(f"{path}/contract"), 201)
    terms = {name: contract[name] for name in (
        "acting_municipality", "acting_ean", "acting_contact", "paying_municipality", "paying_ean",
        "supplier_contact", "primary_service", "further_services", "price_regulation", "payment_terms",
        "payment_days", "duration_months", "review_date", "notice_months", "absence_rules",
        "documentation_duties", "goals", "data_processing", "framework_reference")}
    terms["lines"] = [{name: line[name] for name in ("description", "unit", "unit_price", "quantity", "supplement")}
                      for line in contract["lines"]]
    terms.update(start_date=STARTED.isoformat(), acting_contact=terms["acting_contact"] or "Sagsbehandler Hansen",
                 supplier_contact=terms["supplier_contact"] or "Lise Leverandør")
    saved = ok(procurement.write("PUT", f"{path}/contract/terms", json=terms,
                                 etag=etag_of(procurement, f"{path}/contract")))
    assert saved["annual_cost"] == "872350.00"                                   # 2.390,00 × 365
    ok(procurement.write("POST", f"{path}/contract/submit", etag=etag_of(procurement, path)))

    # 5. Approval with four eyes: procurement cannot approve its own terms; economy reviews, the manager approves.
    refused = procurement.write("POST", f"{path}/contract/approve", etag=etag_of(procurement, path))
    assert refused.status_code == 422 and refused.headers["Content-Type"] == "application/problem+json"
    ok(economy.write("POST", f"{path}/contract/review", etag=etag_of(economy, path)))
    approved = ok(manager.write("POST", f"{path}/contract/approve", etag=etag_of(manager, path)))
    assert approved["status"] in ("approved", "active")
    assert ok(manager.get(path))["stage"] == "delivery"

    # 6. The archived contract summary as PDF: the terms, the supplier, never the CPR number.
    pdf = manager.get(f"{path}/contract.pdf")
    assert pdf.status_code == 200 and pdf.headers["Content-Type"] == "application/pdf"
    text = " ".join(page.extract_text() for page in PdfReader(io.BytesIO(pdf.data)).pages)
    assert "Engly" in text and CPR not in text and CPR_DIGITS not in text

    # 7. The caseworker records the start of delivery; the first follow-up falls due (overdue by now).
    ok(caseworker.write("POST", f"{path}/delivery", json={"started_on": STARTED.isoformat()},
                        etag=etag_of(caseworker, path)))
    overdue = ok(caseworker.get("/follow-ups?state=overdue"))["items"]
    assert [(item["case"]["id"], item["kind"]) for item in overdue] == [(case["id"], "individual")]

    # 8. The follow-up is recorded: goals partly achieved, the placement continues; the next one is scheduled.
    upcoming = caseworker.get(f"{path}/follow-ups/next")
    body = {"held_on": TODAY.isoformat(), "participants": "Mette, kontaktperson og sagsbehandler",
            "citizen_view": "Trives og vil gerne blive.", "outcome": "continue",
            "scores": [{"goal_id": goal["id"], "score": "partly"} for goal in upcoming.json["goals"]]}
    recorded = ok(caseworker.write("POST", f"{path}/follow-ups/record", json=body, etag=upcoming.headers["ETag"]))
    assert recorded["outcome"] == "continue"
    assert ok(caseworker.get("/follow-ups?state=overdue"))["items"] == []

    # What the database holds afterwards: one running placement, the follow-ups, the reads in the access log.
    db.session.expire_all()
    stored = db.session.get(PurchaseCase, case["id"])
    assert stored.stage == "follow_up" and stored.delivery_started_on == STARTED
    assert db.session.scalar(select(ContractVersion.status).where(ContractVersion.case_id == stored.id)) == "approved"
    held = db.session.scalars(select(FollowUp).where(FollowUp.case_id == stored.id, FollowUp.kind == "individual")
                              .order_by(FollowUp.due_date)).all()
    assert [follow_up.held_on for follow_up in held] == [TODAY, None]
    purposes = set(db.session.scalars(select(AccessLog.purpose).where(AccessLog.case_id == stored.id)))
    assert all(purpose.startswith("API: ") for purpose in purposes) and len(purposes) >= 8
    leaked = [answer[:200] for answer in Recording.answers if CPR in answer or CPR_DIGITS in answer]
    assert not leaked
