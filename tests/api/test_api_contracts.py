"""The contracts resource: drafting the terms, saving them, four-eyes approval and the PDF summary.

The cases are built to stage 4 with build_terms_case (tests/support/contracts.py); from there everything goes through
the API. Only the approval in the first test renders a real PDF (the others are refused before it, or stub it).
"""
from __future__ import annotations

import hashlib

import pytest
from sqlalchemy import select

from tests.support.contracts import TODAY, build_terms_case, make_manager
from workflow.models import AccessLog, ContractVersion, PurchaseCase
from workflow.process import Stage
from workflow.services import contract_pdf, contracts

TERMS_FIELDS = ("acting_municipality", "acting_ean", "acting_contact", "paying_municipality", "paying_ean",
                "supplier_contact", "primary_service", "further_services", "lines", "price_regulation",
                "payment_terms", "payment_days", "start_date", "duration_months", "review_date", "notice_months",
                "absence_rules", "documentation_duties", "goals", "data_processing", "framework_reference")
LINE_FIELDS = ("description", "unit", "unit_price", "quantity", "supplement")
FOUR_EYES = {"en": "You drafted or submitted these terms, so someone else must review and approve them.",
             "da": "Du har udarbejdet eller indsendt disse vilkår, så en anden skal gennemgå og godkende dem."}


def terms_of(body: dict, **changes) -> dict:
    """The terms part of a contract as read, ready to PUT back, with some changed."""
    terms = {name: body[name] for name in TERMS_FIELDS}
    terms["lines"] = [{name: line[name] for name in LINE_FIELDS} for line in body["lines"]]
    return {**terms, **changes}


def fresh_contract(contract_id: int) -> ContractVersion:
    from workflow.extensions import db

    db.session.expire_all()
    return db.session.get(ContractVersion, contract_id)


def case_stage(case_id: int) -> str:
    from workflow.extensions import db

    db.session.expire_all()
    return db.session.get(PurchaseCase, case_id).stage


def step(client, case_id: int, action: str, etag: str, json=None):
    return client.post(f"/cases/{case_id}/contract/{action}", json=json, headers={"If-Match": etag})


@pytest.fixture
def terms_case(app, staff):
    return build_terms_case(app, staff)


@pytest.fixture
def drafted(api, terms_case):
    """The case with its terms drafted by procurement through the API: (case id, contract as read)."""
    response = api("procurement").post(f"/cases/{terms_case.id}/contract")
    assert response.status_code == 201, response.json
    return terms_case.id, response.json


def test_draft_terms_submit_review_and_approve_through_the_api(api, staff, db, terms_case):
    case_id = terms_case.id
    procurement, economy, manager = api("procurement"), api("economy"), api("manager")
    path = f"/cases/{case_id}/contract"

    # Nothing to read before the terms are drafted; only procurement on the case drafts them.
    assert procurement.get(path).status_code == 404
    for login in ("economy", "caseworker", "manager"):
        refused = api(login, "en").post(path)
        assert refused.status_code == 403, login
        assert refused.json["detail"] == "Only procurement on the case drafts the terms."
    created = procurement.post(path)
    assert created.status_code == 201, created.json
    contract = created.json
    assert created.headers["ETag"] == f'"contract-{contract["id"]}-1"'
    assert created.headers["Location"].endswith(f"/api/v1/cases/{case_id}/contract")
    assert (contract["number"], contract["status"], contract["drafted_by"]["id"]) == (1, "draft", staff.procurement.id)
    assert contract["lines"] == [{"description": "Døgntakst", "unit": "døgn", "unit_price": "2450.50",
                                  "quantity": "1.00", "supplement": False}]
    assert (contract["annual_cost"], contract["list_price_annual"], contract["total_value"]) == (
        "894432.50", "912500.00", "1788865.00")
    assert (contract["tier"], contract["eu_threshold_passed"], contract["complete"]) == ("Afdelingsleder", False, True)
    assert contract["editable"] is True
    assert contract["case_etag"] == f'"case-{case_id}-{terms_case.version}"'
    assert contract["start_date"] == "2027-04-01" and contract["supplier_name"] == "Solhøj Botilbud ApS"
    assert [s["event"] for s in contract["steps"]] == ["submit_terms"] and contract["steps"][0]["allowed"]
    # A second draft is refused: there are terms already.
    again = api("procurement", "en").post(path)
    assert (again.status_code, again.json["detail"]) == (403, "The terms are drafted already.")

    # Economy saves the terms: another price line and shorter payment, with the ETag just read.
    read = economy.get(path)
    assert read.status_code == 200 and read.headers["ETag"] == created.headers["ETag"]
    lines = [*terms_of(read.json)["lines"], {"description": "Ledsagelse", "unit": "time", "unit_price": "450.25",
                                             "quantity": "7.50", "supplement": True}]
    saved = economy.put(f"{path}/terms", json=terms_of(read.json, payment_days=14, lines=lines),
                        headers={"If-Match": read.headers["ETag"]})
    assert saved.status_code == 200, saved.json
    assert saved.json["payment_days"] == 14
    assert saved.json["annual_cost"] == "1070030.00"          # 894.432,50 + 450,25 × 7,5 × 52
    assert saved.json["lines"][1] == lines[1]
    assert saved.headers["ETag"] != read.headers["ETag"] == created.headers["ETag"]
    assert fresh_contract(contract["id"]).payment_days == 14

    # Submit (procurement), review (economy), approve (a manager within the limit), each with the case's ETag.
    submitted = step(procurement, case_id, "submit", saved.json["case_etag"])
    assert submitted.status_code == 200, submitted.json
    assert (submitted.json["status"], submitted.json["editable"]) == ("submitted", False)
    assert case_stage(case_id) == Stage.APPROVAL
    reviewed = step(economy, case_id, "review", submitted.json["case_etag"])
    assert reviewed.status_code == 200, reviewed.json
    assert reviewed.json["status"] == "reviewed" and reviewed.json["reviewed_by"]["id"] == staff.economy.id
    shown = manager.get(path).json
    assert {s["event"]: s["allowed"] for s in shown["steps"]} == {"approve": True, "reject": True}
    approved = step(manager, case_id, "approve", shown["case_etag"])
    assert approved.status_code == 200, approved.json
    body = approved.json
    assert (body["status"], body["approved_by"]["id"], body["tier"]) == ("approved", staff.manager.id,
                                                                        "Afdelingsleder")
    assert body["approved_at"] and body["document_id"].startswith(f"SK-KON-{case_id:06d}-01-")
    assert [(e["action"], e["actor"]["id"], e["contract_number"]) for e in body["history"]] == [
        ("submitted", staff.procurement.id, 1), ("reviewed", staff.economy.id, 1), ("approved", staff.manager.id, 1)]
    assert body["history"][-1]["annual_cost"] == "1070030.00"
    assert case_stage(case_id) == Stage.DELIVERY

    versions = api("caseworker").get(f"{path}/versions")
    assert versions.status_code == 200
    assert [(v["number"], v["status"], v["annual_cost"]) for v in versions.json] == [(1, "approved", "1070030.00")]
    assert versions.json[0]["approved_at"] == body["approved_at"]

    # The PDF is the archived summary, byte for byte, also when a draft is asked for (there is none).
    pdf = api("caseworker").get(f"{path}.pdf")
    assert pdf.status_code == 200
    assert pdf.mimetype == "application/pdf"
    assert pdf.get_data().startswith(b"%PDF")
    assert hashlib.sha256(pdf.get_data()).hexdigest() == body["pdf_sha256"] == fresh_contract(body["id"]).pdf_sha256
    assert f'filename="{terms_case.number}-kontrakt-v1.pdf"' in pdf.headers["Content-Disposition"]
    assert api("caseworker").get(f"{path}.pdf?draft=1").get_data() == pdf.get_data()

    logged = db.session.execute(select(AccessLog.user_id, AccessLog.action, AccessLog.purpose)
                                .where(AccessLog.case_id == case_id)).all()
    assert (staff.caseworker.id, "contract.pdf", "API: kontraktresumé (PDF)") in logged
    assert (staff.economy.id, "contract.view", "API: kontrakt og vilkår") in logged
    assert (staff.caseworker.id, "contract.view", "API: kontraktversioner") in logged


def test_the_four_eyes_rule_and_the_approval_limit_are_the_services(api, staff, db, app, terms_case):
    """A manager who drafted the terms never approves them, nor one above their limit: 422 with the reason."""
    contract = contracts.draft_from_choice(terms_case, staff.manager, TODAY)   # as test_contracts does
    db.session.commit()
    case_id, path = terms_case.id, f"/cases/{terms_case.id}/contract"
    etag = api("procurement").get(path).json["case_etag"]
    assert step(api("procurement"), case_id, "submit", etag).status_code == 200
    etag = api("economy").get(path).json["case_etag"]
    assert step(api("economy"), case_id, "review", etag).status_code == 200
    etag = api("manager").get(path).json["case_etag"]

    for language in ("en", "da"):
        refused = step(api("manager", language), case_id, "approve", etag)
        assert refused.status_code == 422
        assert refused.headers["Content-Type"] == "application/problem+json"
        assert refused.json["detail"] == FOUR_EYES[language]
    # The submitter is no approver at all.
    by_submitter = step(api("procurement", "en"), case_id, "approve", etag)
    assert by_submitter.status_code == 422
    assert by_submitter.json["detail"].startswith("Only these roles can take this step")
    # A manager with a limit below the annual cost (894.432,50).
    staff["teamleder"] = make_manager(staff, "teamleder", "500000")
    below = step(api("teamleder", "en"), case_id, "approve", etag)
    assert (below.status_code, below.json["detail"]) == (422, "The annual cost is above your approval limit.")

    stored = fresh_contract(contract.id)
    assert (stored.status, stored.approved_by_id, stored.pdf) == ("reviewed", None, None)
    assert case_stage(case_id) == Stage.APPROVAL
    assert api("manager").get(path).json["case_etag"] == etag       # nothing changed, not even the case


def test_approval_steps_need_the_cases_current_etag(api, staff, db, drafted):
    case_id, contract = drafted
    procurement = api("procurement")
    path = f"/cases/{case_id}/contract"

    missing = procurement.post(f"{path}/submit")
    assert missing.status_code == 428
    assert missing.headers["Content-Type"] == "application/problem+json"
    assert step(procurement, case_id, "submit", f'"contract-{contract["id"]}-1"').status_code == 412  # not the case's
    old = contract["case_etag"]
    assert step(procurement, case_id, "submit", old).status_code == 200
    stale = step(api("economy"), case_id, "review", old)                 # the submit changed the case
    assert stale.status_code == 412
    assert fresh_contract(contract["id"]).status == "submitted"
    assert case_stage(case_id) == Stage.APPROVAL


def test_another_units_staff_see_no_contract(api, staff, db, drafted):
    case_id, contract = drafted
    path = f"/cases/{case_id}/contract"
    for login in ("economy_other", "procurement_other", "manager_other", "admin"):
        client = api(login)
        assert client.get(path).status_code == 404, login
        assert client.get(f"{path}/versions").status_code == 404, login
        assert client.get(f"{path}.pdf").status_code == 404, login
        assert step(client, case_id, "submit", contract["case_etag"]).status_code == 404, login
        assert client.put(f"{path}/terms", json=terms_of(contract), headers={"If-Match": "*"}).status_code == 404
    assert fresh_contract(contract["id"]).status == "draft"
    assert api("economy_other").get("/cases/2147483647/contract").status_code == 404


def test_terms_are_checked_by_the_schema_and_the_service(api, staff, db, drafted):
    case_id, contract = drafted
    procurement = api("procurement", "en")
    url = f"/cases/{case_id}/contract/terms"
    etag = f'"contract-{contract["id"]}-{contract["version"]}"'
    before = fresh_contract(contract["id"]).annual_cost

    negative = procurement.put(url, json=terms_of(contract, lines=[
        {"description": "Døgntakst", "unit": "døgn", "unit_price": "-2450.50", "quantity": "1"}]),
        headers={"If-Match": etag})
    assert negative.status_code == 422
    assert negative.json["errors"] == {
        "lines": ["Every price line needs a unit, a unit price and a quantity above zero."]}
    assert fresh_contract(contract["id"]).annual_cost == before

    bad = procurement.put(url, json=terms_of(contract, payment_days=31, payment_terms="whenever", status="approved",
                                             lines=[{"unit": "uge", "unit_price": 2450.5}]),
                          headers={"If-Match": etag})
    assert bad.status_code == 422
    errors = bad.json["errors"]["json"]
    assert set(errors) == {"payment_days", "payment_terms", "status", "lines"}
    assert set(errors["lines"]["0"]) == {"unit", "unit_price"}          # a float is no amount
    assert errors["status"] == ["This field is not known here, or you may not set it."]

    short_ean = procurement.put(url, json=terms_of(contract, acting_ean="12345"), headers={"If-Match": etag})
    assert (short_ean.status_code, short_ean.json["errors"]) == (422, {"acting_ean": ["An EAN number has 13 digits."]})

    assert procurement.put(url, json=terms_of(contract, payment_days=20)).status_code == 428
    assert procurement.put(url, json=terms_of(contract, payment_days=20),
                           headers={"If-Match": '"contract-1-999"'}).status_code == 412
    # Only procurement and economy on the case edit; the caseworker and the manager read.
    assert api("caseworker").put(url, json=terms_of(contract), headers={"If-Match": etag}).status_code == 403
    assert api("manager").put(url, json=terms_of(contract), headers={"If-Match": etag}).status_code == 403
    assert fresh_contract(contract["id"]).payment_days == 30


def test_a_change_of_the_price_lines_alone_makes_an_earlier_etag_stale(api, staff, db, drafted):
    case_id, contract = drafted
    url = f"/cases/{case_id}/contract/terms"
    etag = f'"contract-{contract["id"]}-{contract["version"]}"'
    cheaper = [{**contract["lines"][0], "unit_price": "2400.00"}]
    saved = api("economy").put(url, json=terms_of(contract, lines=cheaper), headers={"If-Match": etag})
    assert saved.status_code == 200 and saved.json["annual_cost"] == "876000.00"
    assert saved.headers["ETag"] != etag
    lost = api("procurement").put(url, json=terms_of(contract, payment_days=10), headers={"If-Match": etag})
    assert lost.status_code == 412
    stored = fresh_contract(contract["id"])
    assert (stored.payment_days, stored.lines[0].unit_price) == (30, 2400)


def test_rejection_needs_a_reason_and_sends_the_terms_back(api, staff, db, drafted):
    case_id, contract = drafted
    path = f"/cases/{case_id}/contract"
    assert step(api("procurement"), case_id, "submit", contract["case_etag"]).status_code == 200
    etag = api("manager").get(path).json["case_etag"]
    blank = step(api("manager", "en"), case_id, "reject", etag, json={"reason": "   "})
    assert (blank.status_code, blank.json["detail"]) == (422, "Give a reason.")
    assert step(api("manager"), case_id, "reject", etag, json={}).status_code == 422
    rejected = step(api("manager"), case_id, "reject", etag, json={"reason": "Prisen er for høj"})
    assert rejected.status_code == 200, rejected.json
    assert (rejected.json["status"], rejected.json["editable"]) == ("draft", False)   # the manager edits nothing
    assert [(e["action"], e["reason"]) for e in rejected.json["history"]] == [
        ("submitted", None), ("rejected", "Prisen er for høj")]
    assert case_stage(case_id) == Stage.TERMS
    assert api("procurement").get(path).json["editable"] is True


def test_the_draft_pdf_is_the_working_version_rendered_as_a_draft(api, staff, db, drafted, monkeypatch):
    rendered = []

    def render(case, contract, draft):
        rendered.append((case.id, contract.number, draft))
        return b"%PDF-1.7 draft not rendered in API tests"

    monkeypatch.setattr(contract_pdf, "render", render)
    case_id, _contract = drafted
    number = db.session.get(PurchaseCase, case_id).number
    for query in ("", "?draft=1", "?draft=true"):
        response = api("economy").get(f"/cases/{case_id}/contract.pdf{query}")
        assert response.status_code == 200, query
        assert response.mimetype == "application/pdf"
        assert response.get_data() == b"%PDF-1.7 draft not rendered in API tests"
        assert f'filename="{number}-kontrakt-udkast.pdf"' in response.headers["Content-Disposition"]
    assert rendered == [(case_id, 1, True)] * 3
    assert api("economy").get(f"/cases/{case_id}/contract.pdf?draft=maybe").status_code == 422


def test_no_pdf_without_terms(api, staff, db, terms_case):
    assert api("procurement").get(f"/cases/{terms_case.id}/contract.pdf").status_code == 404
    assert api("procurement").get(f"/cases/{terms_case.id}/contract/versions").json == []


def test_the_spec_documents_the_pdf_and_the_if_match_headers(api, db):
    spec = api("caseworker").get("/openapi.json").json
    paths = spec["paths"]
    pdf = paths["/api/v1/cases/{case_id}/contract.pdf"]["get"]["responses"]["200"]
    assert list(pdf["content"]) == ["application/pdf"]
    assert pdf["content"]["application/pdf"]["schema"] == {"type": "string", "format": "binary"}
    for action in ("submit", "review", "approve", "reject"):
        operation = paths[f"/api/v1/cases/{{case_id}}/contract/{action}"]["post"]
        assert any(p["name"] == "If-Match" and p["required"] for p in operation["parameters"]), action
    terms = paths["/api/v1/cases/{case_id}/contract/terms"]["put"]
    assert any(p["name"] == "If-Match" for p in terms["parameters"])
    assert "application/json" in paths["/api/v1/cases/{case_id}/contract"]["get"]["responses"]["200"]["content"]
