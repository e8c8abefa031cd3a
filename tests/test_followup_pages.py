"""The pages of stages 6 to 8: start of delivery, recording follow-ups and the supplier side, the ending.

The services behind them are tested in test_followup.py; here: who sees what, the forms' round trip,
bad input answered with a message and no change, and the access log.
"""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from tests.support.contracts import approved, build_terms_case
from tests.support.running import running_case
from workflow import clock
from workflow.extensions import db
from workflow.models import AccessLog, CaseEnding, ContractVersion, FollowUp, PurchaseCase
from workflow.process import Stage
from workflow.services import followup


@pytest.fixture(autouse=True)
def outbox(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))


def day(value) -> str:
    return value.strftime("%d-%m-%Y")


def signed_in(make_client, login):
    client = make_client()
    client.sign_in(login)
    return client


def fresh(case_id: int) -> PurchaseCase:
    db.session.expire_all()
    return db.session.get(PurchaseCase, case_id)


def record_form(case: PurchaseCase, held_on, outcome: str, **extra) -> dict:
    from workflow.services.cases import current_assessment

    data = {"held_on": day(held_on), "participants": "Borgeren og kontaktpersonen", "outcome": outcome,
            "citizen_view": "Jeg har det godt her."}
    for index, goal in enumerate(current_assessment(case).goals):
        data[f"scores-{index}-goal_id"] = str(goal.id)
        data[f"scores-{index}-score"] = "partly"
    data.update(extra)
    return data


def test_start_of_delivery_on_its_page_schedules_the_follow_ups(app, staff, make_client):
    case = build_terms_case(app, staff)
    with app.test_request_context():
        approved(case, staff)
    today = clock.today()
    client = signed_in(make_client, "caseworker")
    page = client.get(f"/cases/{case.id}/delivery")
    assert page.status_code == 200
    bad = client.submit(f"/cases/{case.id}/delivery", {"started_on": day(today + timedelta(days=3)),
                                                       "version": case.version})
    assert bad.status_code == 422
    assert "fremtiden" in bad.get_data(as_text=True)
    assert fresh(case.id).stage == Stage.DELIVERY
    done = client.submit(f"/cases/{case.id}/delivery", {"started_on": day(today - timedelta(days=10)),
                                                        "version": case.version})
    assert done.status_code == 302
    case = fresh(case.id)
    assert case.stage == Stage.FOLLOW_UP and case.delivery_started_on == today - timedelta(days=10)
    overview = client.get(f"/cases/{case.id}/followup").get_data(as_text=True)
    assert "Planlagt" in overview or "Forfalder snart" in overview


def test_a_caseworker_records_a_follow_up_and_the_next_is_scheduled(app, staff, make_client):
    today = clock.today()
    case = running_case(app, staff, today - timedelta(days=120), today=today)
    client = signed_in(make_client, "caseworker")
    form_page = client.get(f"/cases/{case.id}/followup/record")
    assert form_page.status_code == 200
    response = client.submit(f"/cases/{case.id}/followup/record", record_form(case, today, "continue"),
                             form_page=f"/cases/{case.id}/followup/record")
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    open_ones = [f for f in followup.follow_ups(fresh(case.id)) if f.is_open and f.kind == "individual"]
    assert len(open_ones) == 1 and open_ones[0].due_date == clock.add_months(today, 12)
    assert db.session.scalar(select(func.count()).select_from(AccessLog).where(
        AccessLog.case_id == case.id, AccessLog.action == "followup.edit")) == 2   # the two GETs of the form


def test_change_within_frame_from_the_page_drafts_a_new_contract_version(app, staff, make_client):
    today = clock.today()
    case = running_case(app, staff, today - timedelta(days=120), today=today)
    client = signed_in(make_client, "caseworker")
    response = client.submit(f"/cases/{case.id}/followup/record",
                             record_form(case, today, "change_within_frame"))
    assert response.status_code == 302
    assert fresh(case.id).stage == Stage.TERMS
    numbers = db.session.scalars(select(ContractVersion.number).where(ContractVersion.case_id == case.id)).all()
    assert sorted(numbers) == [1, 2]


def test_a_follow_up_without_scores_is_refused_and_changes_nothing(app, staff, make_client):
    today = clock.today()
    case = running_case(app, staff, today - timedelta(days=120), today=today)
    client = signed_in(make_client, "caseworker")
    data = record_form(case, today, "continue")
    data = {key: value for key, value in data.items() if not key.endswith("-score")}
    response = client.submit(f"/cases/{case.id}/followup/record", data)
    assert response.status_code == 422
    assert db.session.scalar(select(func.count()).select_from(FollowUp).where(
        FollowUp.case_id == case.id, FollowUp.held_on.is_not(None))) == 0


def test_ending_from_a_follow_up_then_close(app, staff, make_client):
    today = clock.today()
    case = running_case(app, staff, today - timedelta(days=120), today=today)
    client = signed_in(make_client, "caseworker")
    response = client.submit(f"/cases/{case.id}/followup/record", record_form(
        case, today, "end", end_date=day(today + timedelta(days=60)), end_reason="Borgeren flytter"))
    assert response.status_code == 302 and response.headers["Location"].endswith(f"/cases/{case.id}/ending")
    page = client.get(f"/cases/{case.id}/ending")
    assert page.status_code == 200
    ending = db.session.scalar(select(CaseEnding).where(CaseEnding.case_id == case.id))
    saved = client.submit(f"/cases/{case.id}/ending", {
        "version": ending.version, "end_date": day(today + timedelta(days=60)), "reason": "Borgeren flytter",
        "final_cost": "123.456,78"})
    assert saved.status_code == 302, saved.get_data(as_text=True)[:3000]
    closed = client.submit(f"/cases/{case.id}/steps/close", {"version": fresh(case.id).version},
                           form_page=f"/cases/{case.id}/ending")
    assert closed.status_code == 302
    assert fresh(case.id).stage == Stage.CLOSED


def test_procurement_records_the_supplier_side(app, staff, make_client):
    today = clock.today()
    case = running_case(app, staff, today - timedelta(days=120), today=today)
    review = followup.next_open(case, "supplier_review")
    client = signed_in(make_client, "procurement")
    url = f"/cases/{case.id}/followup/{review.id}/supplier"
    assert client.get(url).status_code == 200
    response = client.submit(url, {"version": review.version, "held_on": day(today), "reports_received": "yes",
                                   "quality": "good", "period_from": day(today - timedelta(days=30)),
                                   "period_to": day(today - timedelta(days=1)), "invoiced": "73.500,00"})
    assert response.status_code == 302, response.get_data(as_text=True)[:3000]
    db.session.expire_all()
    review = db.session.get(FollowUp, review.id)
    assert review.held_on == today and review.invoiced is not None
    caseworker = signed_in(make_client, "caseworker")
    assert caseworker.get(url).status_code == 403


def test_a_date_far_out_of_range_is_refused_on_the_form(app, staff, make_client):
    """31-12-9999 is a typing slip, not a contract date: the form refuses it before any service sees it."""
    case = build_terms_case(app, staff)
    with app.test_request_context():
        approved(case, staff)
    client = signed_in(make_client, "caseworker")
    response = client.submit(f"/cases/{case.id}/delivery", {"started_on": "31-12-9999", "version": case.version})
    assert response.status_code == 422
    assert "01-01-1900" in response.get_data(as_text=True)
    assert fresh(case.id).stage == Stage.DELIVERY
