"""The follow-up and portfolio resources: start of delivery, a case's follow-ups, recording the next one with
its outcome, the user's due follow-ups, and the portfolio dashboard's figures.

Cases run through the same services as the pages (tests/support/running.py). The placement starts on STARTED;
the first follow-up is due three months later (2026-05-02) and the supplier review after a year (2027-02-02).
The clock is moved with time_machine where a due state depends on today.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from tests.support.contracts import CPR, build_terms_case
from tests.support.running import running_case
from workflow import clock
from workflow.extensions import db
from workflow.models import AccessLog, FollowUp, PurchaseCase
from workflow.process import Stage
from workflow.services import cases, contracts, followup, portfolio

STARTED = date(2026, 2, 2)
FIRST_DUE = date(2026, 5, 2)
REVIEW_DUE = date(2027, 2, 2)
ANNUAL = "894432.50"            # the chosen reply: 2.450,50 a day
MASKED_CPR = f"{CPR[:6]}-xxxx"


@pytest.fixture(autouse=True)
def outbox(app, monkeypatch, tmp_path):
    """Mail is written to this test's own outbox folder."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))


def on(day: date):
    """The clock standing still at 10:00 UTC on day (the same day in Copenhagen)."""
    return time_machine.travel(datetime(day.year, day.month, day.day, 10, 0, tzinfo=UTC), tick=False)


def waiting_for_delivery(app, staff) -> PurchaseCase:
    """A case whose contract is approved: in stage 6, waiting for the start of delivery."""
    case = build_terms_case(app, staff)
    contract = contracts.draft_from_choice(case, staff.procurement, STARTED)
    contracts.submit(case, contract, staff.procurement)
    contracts.review(case, contract, staff.economy)
    contracts.approve(case, contract, staff.manager, render=lambda case, contract: b"%PDF-1.7 not rendered")
    db.session.commit()
    assert case.stage == Stage.DELIVERY
    return case


def fresh(case: PurchaseCase) -> PurchaseCase:
    db.session.expire_all()
    return db.session.get(PurchaseCase, case.id)


def access_actions(case: PurchaseCase) -> list[str]:
    return list(db.session.scalars(select(AccessLog.action).where(AccessLog.case_id == case.id)
                                   .order_by(AccessLog.id)))


def record_body(case: PurchaseCase, client, held_on: date, outcome: str = "continue", **changes) -> dict:
    goals = client.get(f"/cases/{case.id}/follow-ups/next").json["goals"]
    body = {"held_on": held_on.isoformat(), "participants": "Borgeren, kontaktperson, sagsbehandler",
            "citizen_view": "Er glad for stedet.", "outcome": outcome,
            "scores": [{"goal_id": goal["id"], "score": "partly"} for goal in goals]}
    body.update(changes)
    return body


# --- Start of delivery -------------------------------------------------------------------------------------------

def test_the_caseworker_records_the_start_of_delivery(app, staff, api):
    case = waiting_for_delivery(app, staff)
    caseworker = api("caseworker")
    path = f"/cases/{case.id}/delivery"
    started = clock.today() - timedelta(days=3)
    etag = caseworker.get(f"/cases/{case.id}").headers["ETag"]

    assert caseworker.post(path, json={"started_on": started.isoformat()}).status_code == 428
    done = caseworker.post(path, json={"started_on": started.isoformat()}, headers={"If-Match": etag})
    assert done.status_code == 200, done.json
    assert (done.json["stage"], done.json["delivery_started_on"]) == ("follow_up", started.isoformat())
    assert done.headers["ETag"] == f'"case-{case.id}-{done.json["version"]}"' != etag
    case = fresh(case)
    assert (case.stage, case.delivery_started_on) == (Stage.FOLLOW_UP, started)
    assert [(row.kind, row.due_date) for row in followup.follow_ups(case)] == [
        ("individual", clock.add_months(started, 3)), ("supplier_review", clock.add_months(started, 12))]
    # Once started, the step is no longer there to take.
    again = caseworker.post(path, json={"started_on": started.isoformat()}, headers={"If-Match": done.headers["ETag"]})
    assert again.status_code == 409


def test_the_start_of_delivery_is_refused_as_on_the_page(app, staff, api):
    case = waiting_for_delivery(app, staff)
    path = f"/cases/{case.id}/delivery"
    etag = api("caseworker").get(f"/cases/{case.id}").headers["ETag"]
    today = clock.today()

    def start(login: str, started_on: date, tag: str = etag, language: str = "da"):
        return api(login, language).post(path, json={"started_on": started_on.isoformat()}, headers={"If-Match": tag})

    assert start("caseworker_other", today).status_code == 404
    assert start("economy", today).status_code == 403        # on the case, but the step is not economy's
    assert start("manager", today).status_code == 403
    future = start("caseworker", today + timedelta(days=1))
    assert future.status_code == 422
    assert future.json["errors"] == {"started_on": ["Leveringens start kan ikke ligge i fremtiden."]}
    too_old = start("caseworker", today - timedelta(days=400), language="en")
    assert too_old.json["detail"] == "The start of delivery can be recorded at most a year back."
    assert start("caseworker", today, tag=f'"case-{case.id}-{fresh(case).version - 1}"').status_code == 412
    assert api("caseworker").post(path, json={"started_on": "2026-13-01"},
                                  headers={"If-Match": etag}).status_code == 422
    assert api("caseworker").post(path, json={"started_on": today.isoformat(), "stage": "follow_up"},
                                  headers={"If-Match": etag}).status_code == 422
    case = fresh(case)
    assert (case.stage, case.delivery_started_on) == (Stage.DELIVERY, None)
    # Procurement on the case may start it too (as on the page).
    assert start("procurement", today).status_code == 200


# --- A case's follow-ups -----------------------------------------------------------------------------------------

def test_a_case_s_follow_ups_with_their_states_are_read_and_logged(app, staff, api):
    case = running_case(app, staff, STARTED)
    with on(date(2026, 5, 4)):
        read = api("caseworker").get(f"/cases/{case.id}/follow-ups")
    assert read.status_code == 200, read.json
    body = read.json
    assert (body["case_number"], body["stage"], body["delivery_started_on"]) == (case.number, "follow_up", "2026-02-02")
    assert (body["can_record"], body["can_record_supplier_side"], body["can_start_delivery"]) == (True, False, False)
    assert body["contract"]["annual_cost"] == ANNUAL
    # 2 February to 4 May, both included: 92 days at 2.450,50.
    assert body["cost_so_far"] == "225446.00"
    assert [(row["kind"], row["due_date"], row["state"]) for row in body["items"]] == [
        ("individual", "2026-05-02", "overdue"), ("supplier_review", "2027-02-02", "scheduled")]
    first = db.session.scalars(select(FollowUp).where(FollowUp.case_id == case.id).order_by(FollowUp.due_date)).first()
    assert body["items"][0]["etag"] == f'"followup-{first.id}-{first.version}"'
    assert body["ending"] is None
    text = read.get_data(as_text=True)
    assert CPR not in text and CPR[6:] not in text
    assert access_actions(case) == ["followup.view"]
    assert api("caseworker_other").get(f"/cases/{case.id}/follow-ups").status_code == 404
    assert api("procurement").get(f"/cases/{case.id}/follow-ups").json["can_record_supplier_side"] is True
    assert api("admin").get(f"/cases/{case.id}/follow-ups").status_code == 403


def test_the_next_follow_up_sends_its_etag_and_the_goals_to_score(app, staff, api):
    case = running_case(app, staff, STARTED)
    with on(date(2026, 4, 25)):
        read = api("caseworker").get(f"/cases/{case.id}/follow-ups/next")
    assert read.status_code == 200, read.json
    due = followup.next_open(case)
    assert read.headers["ETag"] == read.json["etag"] == f'"followup-{due.id}-{due.version}"'
    assert (read.json["due_date"], read.json["state"], read.json["held_on"]) == ("2026-05-02", "soon", None)
    goals = cases.current_assessment(case).goals
    assert [(goal["id"], goal["text"]) for goal in read.json["goals"]] == [(goal.id, goal.text) for goal in goals]
    assert read.json["functional_levels_now"]["practical_tasks"] == 3
    assert access_actions(case) == ["followup.view"]
    assert api("caseworker_other").get(f"/cases/{case.id}/follow-ups/next").status_code == 404


# --- The user's due follow-ups -----------------------------------------------------------------------------------

def test_the_caseworker_sees_their_due_and_overdue_follow_ups(app, staff, api):
    case = running_case(app, staff, STARTED)
    # Tokens made now are valid for 90 days: usable on every earlier day the clock is moved to below.
    caseworker, caseworker_other, procurement = api("caseworker"), api("caseworker_other"), api("procurement")

    def listed(state: str, client=caseworker) -> list[tuple]:
        answer = client.get(f"/follow-ups?state={state}")
        assert answer.status_code == 200, answer.json
        return [(row["case"]["id"], row["case"]["number"], row["kind"], row["due_date"], row["state"])
                for row in answer.json["items"]]

    with on(date(2026, 4, 10)):              # 22 days ahead: not yet due soon
        assert listed("all-open") == []
    with on(date(2026, 4, 25)):              # within the 14 soon-due days
        assert listed("due") == listed("all-open") == [(case.id, case.number, "individual", "2026-05-02", "soon")]
        assert listed("overdue") == []
    with on(FIRST_DUE):
        assert listed("due") == [(case.id, case.number, "individual", "2026-05-02", "due")]
    with on(date(2026, 5, 4)):
        answer = caseworker.get("/follow-ups?state=overdue")
        assert listed("overdue") == listed("all-open") == [(case.id, case.number, "individual", "2026-05-02",
                                                            "overdue")]
        assert listed("due") == []
        # The same rule as the start page and the reminders.
        assert [(row.id, state) for row, state in followup.due_for(staff.caseworker, clock.today())] == [
            (row["id"], row["state"]) for row in answer.json["items"]]
        # Someone else's follow-ups are not theirs, in this unit or another.
        assert listed("all-open", caseworker_other) == []
        assert listed("all-open", procurement) == []
    assert answer.json["soon_days"] == 14
    text = answer.get_data(as_text=True)
    assert CPR not in text and MASKED_CPR not in text and "Kontraktsen" not in text
    assert access_actions(case) == []
    # The yearly supplier review is procurement's (and economy's) to answer for.
    with on(date(2027, 1, 25)):
        assert listed("due", procurement) == [(case.id, case.number, "supplier_review", "2027-02-02", "soon")]
        assert listed("due") == []


def test_the_due_list_refuses_an_unknown_state(api, staff):
    assert api("caseworker").get("/follow-ups?state=soon").status_code == 422
    assert api("caseworker").get("/follow-ups").status_code == 200
    assert api("admin").get("/follow-ups").status_code == 403


# --- Recording a follow-up ---------------------------------------------------------------------------------------

def test_the_caseworker_records_a_continue_follow_up_and_the_next_is_scheduled(app, staff, api):
    case = running_case(app, staff, STARTED)
    caseworker = api("caseworker")
    path = f"/cases/{case.id}/follow-ups/record"
    with on(date(2026, 5, 4)):
        body = record_body(case, caseworker, date(2026, 5, 4), functional_levels={"self_care": 3},
                           notes="Går godt.")
        body["scores"][0]["score"] = "achieved"
        etag = caseworker.get(f"/cases/{case.id}/follow-ups/next").headers["ETag"]
        done = caseworker.write("POST", path, json=body, etag=etag)
        assert done.status_code == 200, done.json
        next_one = caseworker.get(f"/cases/{case.id}/follow-ups/next")
    recorded = done.json
    assert (recorded["due_date"], recorded["held_on"], recorded["state"], recorded["outcome"]) == (
        "2026-05-02", "2026-05-04", "done", "continue")
    assert recorded["functional_levels"] == {"self_care": 3}
    assert [(score["goal_id"], score["score"]) for score in recorded["goal_scores"]] == [
        (goal["id"], score) for goal, score in zip(next_one.json["goals"], ("achieved", "partly"), strict=True)]
    assert recorded["recorded_by"]["id"] == staff.caseworker.id
    assert done.headers["ETag"] == recorded["etag"]
    # Continue: the next follow-up is due twelve months after this one was held.
    assert (next_one.json["due_date"], next_one.json["state"]) == ("2027-05-04", "scheduled")
    assert next_one.json["functional_levels_now"]["self_care"] == 3
    assert fresh(case).stage == Stage.FOLLOW_UP
    assert "followup.edit" in access_actions(case)


def test_the_end_outcome_records_the_ending(app, staff, api):
    case = running_case(app, staff, STARTED)
    caseworker = api("caseworker", "en")
    path = f"/cases/{case.id}/follow-ups/record"
    with on(date(2026, 5, 4)):
        etag = caseworker.get(f"/cases/{case.id}/follow-ups/next").headers["ETag"]
        without_end = caseworker.post(path, json=record_body(case, caseworker, date(2026, 5, 4), "end"),
                                      headers={"If-Match": etag})
        assert without_end.status_code == 422
        assert without_end.json["errors"] == {"end_date": ["Give the end date."]}
        done = caseworker.post(path, json=record_body(case, caseworker, date(2026, 5, 4), "end",
                                                      end_date="2026-07-31", end_reason="Flytter i egen bolig"),
                               headers={"If-Match": etag})
        assert done.status_code == 200, done.json
        overview = caseworker.get(f"/cases/{case.id}/follow-ups").json
    assert (done.json["outcome"], done.json["end_date"], done.json["end_reason"]) == (
        "end", "2026-07-31", "Flytter i egen bolig")
    assert overview["stage"] == "ending"
    assert overview["ending"]["end_date"] == "2026-07-31"
    assert overview["ending"]["computed_cost"] == "441090.00"     # 2 February to 31 July: 180 days at 2.450,50
    assert [row["state"] for row in overview["items"]] == ["done", "cancelled"]


def test_recording_is_refused_as_on_the_page(app, staff, api):
    case = running_case(app, staff, STARTED)
    path = f"/cases/{case.id}/follow-ups/record"
    with on(date(2026, 5, 4)):
        caseworker = api("caseworker")
        etag = caseworker.get(f"/cases/{case.id}/follow-ups/next").headers["ETag"]
        body = record_body(case, caseworker, date(2026, 5, 4))

        def send(json=body, tag=etag, login="caseworker", language="da"):
            headers = {"If-Match": tag} if tag else {}
            return api(login, language).post(path, json=json, headers=headers)

        assert send(tag=None).status_code == 428
        assert send(login="caseworker_other").status_code == 404
        for login in ("procurement", "economy", "manager"):
            assert send(login=login).status_code == 403, login
        one_score = send(json={**body, "scores": body["scores"][:1]})
        assert one_score.status_code == 422
        assert one_score.json["errors"] == {"scores": ["Vurdér hvert mål: opnået, delvist opnået eller ikke opnået."]}
        future = send(json={**body, "held_on": "2026-05-05"}, language="en")
        assert future.json["errors"] == {"held_on": [
            "A follow-up is recorded when it has been held: the date cannot be in the future."]}
        for bad in ({"outcome": "pause"}, {"functional_levels": {"self_care": 7}},
                    {"functional_levels": {"flying": 2}}, {"participants": ""}, {"participants": "a\x00b"},
                    {"held_on": "0001-01-01"}, {"outcome_applied": True}):
            assert send(json={**body, **bad}).status_code == 422, bad
        assert followup.next_open(case).held_on is None
        # Procurement records the supplier side of the same follow-up meanwhile: the caseworker's ETag is stale.
        due = followup.next_open(case)
        followup.record_supplier_side(case, due, staff.procurement, followup.SupplierSideInput(
            reports_received=True, quality="good"), clock.today(), version=due.version)
        db.session.commit()
        stale = send()
        assert stale.status_code == 412
        assert stale.headers["Content-Type"] == "application/problem+json"
        assert followup.next_open(case).held_on is None
        assert send(tag=caseworker.get(f"/cases/{case.id}/follow-ups/next").headers["ETag"]).status_code == 200
        # The ETag of the follow-up just recorded does not record the next one.
        assert send().status_code == 412
    assert len([row for row in followup.follow_ups(fresh(case)) if row.held_on]) == 1


def test_a_follow_up_cannot_be_recorded_before_delivery(app, staff, api):
    case = waiting_for_delivery(app, staff)
    caseworker = api("caseworker")
    assert caseworker.get(f"/cases/{case.id}/follow-ups/next").status_code == 404
    body = {"held_on": clock.today().isoformat(), "participants": "Borgeren", "outcome": "continue"}
    etag = caseworker.get(f"/cases/{case.id}").headers["ETag"]
    assert caseworker.post(f"/cases/{case.id}/follow-ups/record", json=body,
                           headers={"If-Match": etag}).status_code == 403
    overview = caseworker.get(f"/cases/{case.id}/follow-ups").json
    assert (overview["items"], overview["can_start_delivery"], overview["can_record"]) == ([], True, False)


# --- The portfolio -----------------------------------------------------------------------------------------------

def _money(amount: Decimal) -> str:
    return str(amount.quantize(Decimal("0.01")))


def expected_figures(result: portfolio.Portfolio) -> dict:
    """What the dashboard shows, as the API should send it."""
    return {
        "active_contracts": len(result.contracts), "annual_total": _money(result.annual_total),
        "list_total": _money(result.list_total), "savings": _money(result.savings),
        "with_list_price": result.with_list_price,
        "by_legal_basis": [[name, count, _money(cost)] for name, count, cost in result.by_legal_basis],
        "by_supplier": [[name, count, _money(cost)] for name, count, cost in result.by_supplier],
        "by_unit": [[name, count, _money(cost)] for name, count, cost in result.by_unit],
        "follow_ups": [result.followups_on_time, result.followups_late, result.followups_overdue,
                       result.followups_soon, result.soon_days],
        "stages": [[stage, count, None if average is None else str(average)]
                   for stage, _label, count, average in result.stages],
        "open_follow_ups": [[row.case_id, row.due_date.isoformat(), row.state] for row in result.overdue],
        "near_dates": [[row.case_id, _money(row.annual_cost)] for row in result.near_dates],
    }


def sent_figures(body: dict) -> dict:
    groups = {name: [[row["name"], row["contracts"], row["annual_cost"]] for row in body[name]]
              for name in ("by_legal_basis", "by_supplier", "by_unit")}
    figures = body["follow_ups"]
    return {
        **{name: body[name] for name in ("active_contracts", "annual_total", "list_total", "savings",
                                         "with_list_price")},
        **groups,
        "follow_ups": [figures["held_on_time"], figures["held_late"], figures["overdue"], figures["due_soon"],
                       figures["soon_days"]],
        "stages": [[row["stage"], row["open_cases"], row["average_days"]] for row in body["stages"]],
        "open_follow_ups": [[row["case_id"], row["due_date"], row["state"]] for row in body["open_follow_ups"]],
        "near_dates": [[row["case_id"], row["annual_cost"]] for row in body["near_dates"]],
    }


@pytest.mark.parametrize("login", ["manager", "economy"])
def test_the_portfolio_figures_are_the_dashboard_s(app, staff, api, login):
    today = clock.today()
    case = running_case(app, staff, today - timedelta(days=100), today=today)
    with on(today):
        read = api(login).get("/portfolio")
        assert read.status_code == 200, read.json
        user = staff[login]
        result = portfolio.build(user, portfolio.parse_filters({}, user, today), today)
    body = read.json
    assert sent_figures(body) == expected_figures(result)
    assert (body["active_contracts"], body["annual_total"], body["list_total"], body["savings"]) == (
        1, ANNUAL, "912500.00", "18067.50")
    assert body["by_supplier"][0]["annual_cost"] == ANNUAL
    # The first follow-up was due three months after the start, about ten days ago: overdue now.
    assert (body["follow_ups"]["overdue"], body["follow_ups"]["due_soon"]) == (1, 0)
    assert body["open_follow_ups"][0]["case_number"] == case.number
    assert {row["stage"]: row["open_cases"] for row in body["stages"]}["follow_up"] == 1
    assert (body["period_from"], body["period_to"]) == (clock.add_months(today, -12).isoformat(), today.isoformat())
    assert body["unit_id"] == (staff.manager.unit_id if login == "manager" else None)
    text = read.get_data(as_text=True)
    assert CPR not in text and MASKED_CPR not in text and "Kontraktsen" not in text


def test_the_portfolio_filters_are_the_dashboard_s(app, staff, api):
    today = clock.today()
    running_case(app, staff, today - timedelta(days=100), today=today)
    home, other = staff.manager.unit_id, staff.manager_other.unit_id
    manager, economy = api("manager"), api("economy", "en")

    refused = manager.get(f"/portfolio?unit={other}")
    assert refused.status_code == 422
    assert refused.json["errors"] == {"unit": ["Ledere kan kun se tallene for deres egen enhed."]}
    assert manager.get(f"/portfolio?unit={home}").json["active_contracts"] == 1
    # Economy narrows to a unit: the other unit holds none of their cases.
    narrowed = economy.get(f"/portfolio?unit={other}")
    assert (narrowed.status_code, narrowed.json["active_contracts"], narrowed.json["annual_total"]) == (
        200, 0, "0.00")
    assert economy.get(f"/portfolio?unit={home}").json["annual_total"] == ANNUAL
    # A period before the placement started holds no active contract.
    before = economy.get(f"/portfolio?from=2020-01-01&to={(today - timedelta(days=101)).isoformat()}")
    assert (before.status_code, before.json["active_contracts"]) == (200, 0)
    backwards = economy.get("/portfolio?from=2026-06-01&to=2026-05-01")
    assert backwards.status_code == 422
    assert backwards.json["errors"] == {"to": ["The period ends before it begins."]}
    assert economy.get("/portfolio?from=1999-12-31").json["errors"].keys() == {"from"}
    assert economy.get("/portfolio?from=2015-01-01&to=2026-01-01").json["errors"] == {
        "from": ["The period can be at most 10 years."]}
    for query in ("unit=99999", "unit=abc", "unit=%00", "from=31-12-2025", "from=0001-01-01"):
        assert economy.get(f"/portfolio?{query}").status_code == 422, query


@pytest.mark.parametrize("login", ["caseworker", "procurement", "admin"])
def test_other_roles_get_no_portfolio(api, staff, login):
    refused = api(login).get("/portfolio")
    assert refused.status_code == 403
    assert refused.headers["Content-Type"] == "application/problem+json"


def test_the_portfolio_needs_a_token(app, staff):
    from tests.support.api import ApiClient

    assert ApiClient(app).get("/portfolio").status_code == 401
