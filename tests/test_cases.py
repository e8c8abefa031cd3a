"""Purchase cases through the pages: open, assess, hand on, comment, cancel; stale saves; CPR."""
from __future__ import annotations

import re

import pytest

from tests.factories import assess, make_case, to_market_scan
from workflow.models import AccessLog, AuditEvent, PurchaseCase, StageVisit
from workflow.process import Stage


def _form_values(html: str) -> dict:
    """The values a browser would submit from the first form with a version field."""
    values = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name or 'type="checkbox"' in tag and "checked" not in tag:
            continue
        value = re.search(r'value="([^"]*)"', tag)
        values[name.group(1)] = value.group(1) if value else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        values[name] = body.strip()
    for name, options in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, re.S):
        selected = re.search(r'<option selected value="([^"]*)"|<option value="([^"]*)" selected', options)
        values[name] = (selected.group(1) or selected.group(2)) if selected else ""
    values.pop("language", None)
    values.pop("next", None)
    return values


def test_caseworker_opens_a_case(staff, make_client, db):
    client = make_client("caseworker")
    response = client.submit("/cases/new", {
        "cpr": "010190-1234", "citizen_name": "Jens Hansen", "home_municipality": "751",
        "legal_basis": "SEL-108", "target_group": "autism", "desired_start": "01-03-2027",
        "budget_frame": "1.100.000", "procurement_id": str(staff.procurement.id), "economy_id": "",
    })
    assert response.status_code == 302
    case = db.session.scalar(db.select(PurchaseCase))
    assert re.fullmatch(r"SK-\d{4}-\d{5}", case.number)
    assert case.stage == Stage.NEEDS and case.owner_id == staff.caseworker.id
    assert str(case.budget_frame) == "1100000.00"
    assert response.headers["Location"] == f"/cases/{case.id}/needs"
    assert db.session.scalar(db.select(StageVisit.stage)) == "needs"
    assert db.session.scalar(db.select(AuditEvent.action).where(AuditEvent.case_id == case.id)) == "case.opened"


@pytest.mark.parametrize("cpr, ok", [("010190-1234", True), ("0101901235", True), ("610190-1234", True),
                                     ("320190-1234", False), ("300290-1234", False), ("12345", False)])
def test_opening_checks_the_cpr_number(staff, make_client, db, cpr, ok):
    response = make_client("caseworker").submit("/cases/new", {
        "cpr": cpr, "citizen_name": "X", "home_municipality": "101", "legal_basis": "SEL-85",
        "target_group": "autism"})
    assert (response.status_code == 302) is ok
    if not ok:
        assert "CPR-nummeret er ikke gyldigt" in response.get_data(as_text=True)
        assert db.session.scalar(db.select(db.func.count(PurchaseCase.id))) == 0


@pytest.mark.parametrize("login", ["procurement", "economy", "manager"])
def test_only_caseworkers_open_cases(staff, make_client, login):
    assert make_client(login).get("/cases/new").status_code == 403


def test_needs_assessment_and_hand_over_to_market_scan(staff, make_client, db):
    case = make_case(staff.caseworker, procurement=staff.procurement)
    client = make_client("caseworker")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Skriv mindst ét mål" in page  # the guard tells what is missing
    form = _form_values(client.get(f"/cases/{case.id}/needs").get_data(as_text=True))
    form.update({"themes-0-level": "3", "themes-0-narrative": "Skal guides", "support_need": "high",
                 "goals-0-goal_type": "develop", "goals-0-text": "Handler selv ind", "goals-0-measure": "Status",
                 "decision_date": "02-11-2026", "decided_by_id": str(staff.caseworker.id),
                 "consent_to_contact_suppliers": "y", "consent_date": "01-11-2026"})
    saved = client.post(f"/cases/{case.id}/needs", data=form)
    assert saved.status_code == 302, saved.get_data(as_text=True)[-3000:]
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Handler selv ind" in page and "Skriv mindst ét mål" not in page
    version = re.search(r'name="version" value="(\d+)"', page).group(1)
    moved = client.submit(f"/cases/{case.id}/steps/complete_assessment", {"version": version},
                          form_page=f"/cases/{case.id}")
    assert moved.status_code == 302
    db.session.expire_all()
    assert db.session.get(PurchaseCase, case.id).stage == Stage.MARKET_SCAN
    # The procurement colleague on the case finds it in their task list.
    tasks = make_client("procurement").get("/cases?scope=tasks").get_data(as_text=True)
    assert case.number in tasks
    # The needs can no longer be edited.
    assert client.get(f"/cases/{case.id}/needs").status_code == 403
    timeline = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Behov og udredning" in timeline and "Markedsafdækning" in timeline


def test_add_goal_button_adds_a_row_without_saving(staff, make_client, db):
    case = make_case(staff.caseworker)
    client = make_client("caseworker")
    form = _form_values(client.get(f"/cases/{case.id}/needs").get_data(as_text=True))
    form["add_goal"] = "1"
    response = client.post(f"/cases/{case.id}/needs", data=form)
    assert response.status_code == 200
    assert 'name="goals-1-text"' in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(AuditEvent.id)).where(AuditEvent.action == "needs.saved")) == 0


def test_stale_needs_save_is_refused_with_409_and_keeps_the_input(staff, make_client, db):
    case = make_case(staff.caseworker)
    first, second = make_client("caseworker"), make_client("caseworker")
    form_a = _form_values(first.get(f"/cases/{case.id}/needs").get_data(as_text=True))
    form_b = _form_values(second.get(f"/cases/{case.id}/needs").get_data(as_text=True))
    form_a.update({"wishes": "Først gemt", "support_need": "high"})
    assert first.post(f"/cases/{case.id}/needs", data=form_a).status_code == 302
    form_b.update({"wishes": "Mit udkast", "support_need": "light"})
    response = second.post(f"/cases/{case.id}/needs", data=form_b)
    body = response.get_data(as_text=True)
    assert response.status_code == 409
    assert "Mit udkast" in body and "Først gemt" in body
    db.session.expire_all()
    from workflow.services.cases import current_assessment
    assert current_assessment(db.session.get(PurchaseCase, case.id)).wishes == "Først gemt"


def test_stale_step_is_refused(staff, make_client, db):
    case = make_case(staff.caseworker)
    assess(case, staff.caseworker)
    client = make_client("caseworker")
    stale_version = case.version
    client.submit(f"/cases/{case.id}/team", {"version": case.version, "owner_id": staff.caseworker.id,
                                               "procurement_id": staff.procurement.id, "economy_id": ""})
    response = client.submit(f"/cases/{case.id}/steps/complete_assessment", {"version": stale_version},
                             form_page=f"/cases/{case.id}")
    assert response.status_code == 409
    db.session.expire_all()
    assert db.session.get(PurchaseCase, case.id).stage == Stage.NEEDS


def test_cancel_needs_a_reason(staff, make_client, db):
    case = make_case(staff.caseworker)
    client = make_client("caseworker")
    empty = client.submit(f"/cases/{case.id}/steps/cancel", {"version": case.version, "reason": "  "})
    assert empty.status_code == 422
    done = client.submit(f"/cases/{case.id}/steps/cancel", {"version": case.version,
                                                            "reason": "Borgeren er flyttet"})
    assert done.status_code == 302
    db.session.expire_all()
    cancelled = db.session.get(PurchaseCase, case.id)
    assert cancelled.stage == Stage.CANCELLED and cancelled.cancel_reason == "Borgeren er flyttet"
    assert case.number not in client.get("/cases?scope=unit").get_data(as_text=True)  # closed leave active lists
    assert case.number in client.get("/cases?scope=unit&status=closed").get_data(as_text=True)


def test_procurement_cannot_cancel(staff, make_client, db):
    case = make_case(staff.caseworker, procurement=staff.procurement)
    response = make_client("procurement").submit(f"/cases/{case.id}/steps/cancel",
                                                 {"version": case.version, "reason": "x"},
                                                 form_page=f"/cases/{case.id}")
    assert response.status_code == 422
    db.session.expire_all()
    assert db.session.get(PurchaseCase, case.id).stage == Stage.NEEDS


def test_comments_and_team(staff, make_client, db):
    case = make_case(staff.caseworker)
    client = make_client("caseworker")
    client.submit(f"/cases/{case.id}/comments", {"body": "Ring til søsteren"}, form_page=f"/cases/{case.id}")
    response = client.submit(f"/cases/{case.id}/team", {
        "version": case.version, "owner_id": staff.caseworker.id, "procurement_id": staff.procurement.id,
        "economy_id": staff.economy.id})
    assert response.status_code == 302
    page = make_client("economy").get(f"/cases/{case.id}").get_data(as_text=True)
    assert "Ring til søsteren" in page
    # The owner must be a caseworker of the case's unit.
    refused = client.submit(f"/cases/{case.id}/team", {
        "version": case.version + 1, "owner_id": staff.caseworker_other.id, "procurement_id": "", "economy_id": ""})
    assert refused.status_code == 200


def test_show_cpr_is_logged_and_never_in_a_url(staff, make_client, db):
    case = make_case(staff.caseworker, cpr="0101901234")
    client = make_client("caseworker")
    page = client.get(f"/cases/{case.id}").get_data(as_text=True)
    assert "010190-xxxx" in page and "0101901234" not in page and "010190-1234" not in page
    shown = client.submit(f"/cases/{case.id}/cpr", {}, form_page=f"/cases/{case.id}")
    assert shown.status_code == 200 and "010190-1234" in shown.get_data(as_text=True)
    actions = db.session.scalars(db.select(AccessLog.action).where(AccessLog.case_id == case.id)).all()
    assert "cpr.show" in actions


def test_search_by_cpr_is_a_post_and_logged(staff, make_client, db):
    case = make_case(staff.caseworker, cpr="0101901234")
    other = make_case(staff.caseworker_other, cpr="0202801234")
    client = make_client("caseworker")
    assert client.get("/cases/search").status_code == 405
    found = client.submit("/cases/search", {"cpr": "010190-1234"}, form_page="/cases")
    body = found.get_data(as_text=True)
    assert case.number in body and "010190-1234" not in body
    nothing = client.submit("/cases/search", {"cpr": "020280-1234"}, form_page="/cases")
    assert other.number not in nothing.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(AccessLog.id)).where(AccessLog.action == "cpr.search")) == 1
    bad = client.submit("/cases/search", {"cpr": "999999-9999"}, form_page="/cases")
    assert "CPR-nummeret er ikke gyldigt" in bad.get_data(as_text=True)


def test_list_filters_and_search(staff, make_client, db):
    first = make_case(staff.caseworker, name="Karen Blixen", acute=True)
    second = make_case(staff.caseworker, name="Niels Bohr", legal_basis="SEL-85")
    client = make_client("caseworker")
    assert first.number in client.get("/cases?scope=unit&q=blixen").get_data(as_text=True)
    assert second.number not in client.get("/cases?scope=unit&q=blixen").get_data(as_text=True)
    assert second.number in client.get(f"/cases?scope=unit&q={second.number}").get_data(as_text=True)
    acute = client.get("/cases?scope=unit&acute=1").get_data(as_text=True)
    assert first.number in acute and second.number not in acute
    by_basis = client.get("/cases?scope=unit&legal_basis=SEL-85").get_data(as_text=True)
    assert second.number in by_basis and first.number not in by_basis
    for nonsense in ("?page=-5", "?page=abc", "?sort=drop", "?stage=nowhere", "?scope=everything", "?owner=x"):
        assert client.get("/cases" + nonsense).status_code == 200


def test_start_page_shows_my_tasks(staff, make_client, db):
    case = make_case(staff.caseworker, procurement=staff.procurement)
    to_market_scan(case, staff.caseworker)
    assert case.number in make_client("procurement").get("/").get_data(as_text=True)
    assert case.number in make_client("caseworker").get("/").get_data(as_text=True)
    assert case.number not in make_client("economy").get("/").get_data(as_text=True)
