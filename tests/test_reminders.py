"""Follow-up reminders by e-mail: who, what, when (frozen time), no duplicates, failures, the command."""
from __future__ import annotations

import logging
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask_babel import force_locale
from sqlalchemy import select

from tests.support.contracts import CITIZEN, CPR
from tests.support.running import running_case
from tests.support.smtp import smtp_server, use_server
from workflow import clock
from workflow.extensions import db
from workflow.models import FollowUp, PurchaseCase, ReminderSent, Setting
from workflow.process import Stage
from workflow.services import followup, reminders

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
DUE = date(2027, 3, 15)
FAR = date(2030, 1, 1)
BASE_URL = "https://socialkob.kommune.example"


@pytest.fixture(autouse=True)
def outbox(app, monkeypatch, tmp_path):
    """Building a case mails inquiries: they go to this test's own outbox, not to the SMTP server."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))
    monkeypatch.setitem(app.config, "TRUSTED_HOSTS", [*app.config["TRUSTED_HOSTS"], "socialkob.kommune.example"])


@pytest.fixture
def server(app, monkeypatch):
    """A real SMTP server on loopback; call use() once the test's cases are built."""
    with smtp_server() as (controller, handler):
        handler.use = lambda: use_server(app, monkeypatch, controller)
        yield handler


def placement(app, staff, individual_due: date = DUE,
              review_due: date = FAR) -> tuple[PurchaseCase, FollowUp, FollowUp]:
    """A running case (owner: caseworker; procurement and economy on it) with its follow-ups due as given."""
    case = running_case(app, staff, clock.today())
    individual = db.session.scalar(select(FollowUp).where(FollowUp.case_id == case.id, FollowUp.kind == "individual"))
    review = db.session.scalar(select(FollowUp).where(FollowUp.case_id == case.id,
                                                      FollowUp.kind == "supplier_review"))
    individual.due_date, review.due_date = individual_due, review_due
    db.session.commit()
    return case, individual, review


def send(app, today: date, **options) -> reminders.ReminderReport:
    with app.test_request_context():
        return reminders.send_reminders(today, **options)


def run_command(app, when: date | datetime, *args: str):
    """`flask send-reminders` with the clock frozen (a day means 07:00 in Copenhagen, as from cron)."""
    moment = when if isinstance(when, datetime) else datetime.combine(when, time(7, 0), tzinfo=COPENHAGEN)
    db.session.commit()  # the command has its own session
    with time_machine.travel(moment, tick=False):
        return app.test_cli_runner().invoke(args=["send-reminders", "--base-url", BASE_URL, *args])


def inbox(server) -> dict[str, list[str]]:
    """The bodies received, by recipient."""
    found: dict[str, list[str]] = {}
    for message in server.messages():
        (to,) = message["To"].addresses
        found.setdefault(to.addr_spec, []).append(message.get_content().replace("\r\n", "\n"))
    return found


def recorded() -> list[tuple[int, int, str, date]]:
    """The ReminderSent rows as (follow-up id, user id, state, sent on), read afresh."""
    db.session.commit()
    return [(row.follow_up_id, row.user_id, row.state, row.sent_on)
            for row in db.session.scalars(select(ReminderSent).order_by(ReminderSent.id))]


def danish_state(follow_up: FollowUp, today: date) -> str:
    with force_locale("da"):
        return reminders.state_text(follow_up, today)


# --- The due states ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("days_left", "state"), [
    (15, followup.SCHEDULED), (14, followup.SOON), (13, followup.SOON), (1, followup.SOON),
    (0, followup.DUE), (-1, followup.OVERDUE), (-400, followup.OVERDUE),
])
def test_state_of_at_the_boundaries(db, days_left, state):
    today = date(2027, 3, 1)
    assert followup.state_of(FollowUp(due_date=today + timedelta(days=days_left)), today) == state
    assert followup.state_of(FollowUp(due_date=today + timedelta(days=days_left), held_on=today), today) == "done"
    assert followup.state_of(FollowUp(due_date=today + timedelta(days=days_left), cancelled_on=today),
                             today) == "cancelled"


def test_state_texts_in_the_source_language(app):
    today = date(2027, 3, 1)
    with app.test_request_context(), force_locale("en"):
        assert [reminders.state_text(FollowUp(due_date=today + timedelta(days=days)), today)
                for days in (14, 1, 0, -1, -8)] == [
            "due in 14 days", "due in 1 day", "due today", "overdue by 1 day", "overdue by 8 days"]


@pytest.mark.parametrize(("state", "sent", "expected"), [
    ("scheduled", [], None),
    ("soon", [], "soon"),
    ("due", [], "soon"),                                     # the soon window was missed: remind now
    ("due", [("soon", -1)], None),                           # no second "soon" on the due day
    ("overdue", [("soon", -2)], "overdue"),
    ("overdue", [("overdue", -6)], None),
    ("overdue", [("overdue", -7)], "overdue"),               # every 7 days while overdue
    ("overdue", [("overdue", -14), ("overdue", -3)], None),  # counted from the latest
    ("overdue", [("overdue", 0)], None),                     # twice the same day: nothing new
])
def test_when_a_person_is_reminded(state, sent, expected):
    today = date(2027, 3, 20)
    rows = [ReminderSent(state=kind, sent_on=today + timedelta(days=offset)) for kind, offset in sent]
    assert reminders.reminder_due(state, rows, today) == expected


# --- Who gets what ----------------------------------------------------------------------------------------------

def test_owner_gets_the_individual_and_procurement_and_economy_the_supplier_review(app, staff, server):
    today = date(2027, 3, 1)
    case, individual, review = placement(app, staff, individual_due=today + timedelta(days=14),
                                         review_due=today - timedelta(days=3))
    server.use()
    report = send(app, today)

    assert (report.people, report.follow_ups, report.skipped, report.ok) == (3, 2, 0, True)
    mails = inbox(server)
    assert sorted(mails) == ["caseworker@example.org", "economy@example.org", "procurement@example.org"]
    assert all(len(bodies) == 1 for bodies in mails.values())
    link = f"http://localhost/cases/{case.id}/followup"   # the case's follow-up page

    (owner_mail,) = mails["caseworker@example.org"]
    assert case.number in owner_mail and "14-03-2027" not in owner_mail
    assert "15-03-2027" in owner_mail and danish_state(individual, today) in owner_mail
    assert link in owner_mail
    assert "26-02-2027" not in owner_mail  # the supplier review is not the owner's

    for address in ("procurement@example.org", "economy@example.org"):
        (body,) = mails[address]
        assert case.number in body and link in body
        assert "26-02-2027" in body and danish_state(review, today) in body
        assert "15-03-2027" not in body

    for message in server.messages():
        text = message.as_string()
        assert CITIZEN not in text and "Kontraktsen" not in text
        assert CPR not in text and CPR[:6] not in text
        assert message["Subject"]

    assert sorted((row[0], row[1], row[2]) for row in recorded()) == sorted([
        (individual.id, staff.caseworker.id, "soon"),
        (review.id, staff.procurement.id, "overdue"), (review.id, staff.economy.id, "overdue")])
    assert {row[3] for row in recorded()} == {today}


def test_one_mail_per_person_lists_all_their_follow_ups(app, staff, server):
    today = date(2027, 3, 1)
    first, first_individual, _ = placement(app, staff, individual_due=today + timedelta(days=2))
    second, second_individual, _ = placement(app, staff, individual_due=today - timedelta(days=10))
    server.use()
    report = send(app, today)

    assert (report.people, report.follow_ups) == (1, 2)
    (body,) = inbox(server)["caseworker@example.org"]
    assert first.number in body and second.number in body
    assert danish_state(first_individual, today) in body and danish_state(second_individual, today) in body
    assert f"/cases/{first.id}" in body and f"/cases/{second.id}" in body
    # Ordered by due date: the overdue one first.
    assert body.index(second.number) < body.index(first.number)


def test_supplier_review_falls_back_to_the_owner(app, staff, server):
    today = date(2027, 3, 1)
    case, _individual, review = placement(app, staff, review_due=today + timedelta(days=5))
    case.procurement_id = case.economy_id = None
    db.session.commit()
    server.use()
    send(app, today)
    assert sorted(inbox(server)) == ["caseworker@example.org"]
    assert recorded()[0][:3] == (review.id, staff.caseworker.id, "soon")


def test_inactive_users_and_users_without_email_are_skipped(app, staff, server):
    today = date(2027, 3, 1)
    _case, _individual, review = placement(app, staff, individual_due=today + timedelta(days=1),
                                           review_due=today + timedelta(days=1))
    staff.procurement.active = False
    staff.economy.email = ""
    db.session.commit()
    server.use()
    report = send(app, today)
    assert (report.people, report.follow_ups, report.skipped) == (1, 1, 2)
    assert sorted(inbox(server)) == ["caseworker@example.org"]
    assert review.id not in {row[0] for row in recorded()}


@pytest.mark.parametrize("change", ["held", "cancelled", "case_closed", "case_cancelled"])
def test_held_or_cancelled_follow_ups_and_closed_cases_get_nothing(app, staff, server, change):
    today = date(2027, 3, 1)
    case, individual, review = placement(app, staff, individual_due=today - timedelta(days=1),
                                         review_due=today - timedelta(days=1))
    if change == "held":
        individual.held_on = review.held_on = today - timedelta(days=1)
    elif change == "cancelled":
        individual.cancelled_on = review.cancelled_on = today - timedelta(days=1)
    else:
        case.stage = Stage.CLOSED if change == "case_closed" else Stage.CANCELLED
    db.session.commit()
    server.use()
    report = send(app, today)
    assert (report.people, report.follow_ups, report.skipped) == (0, 0, 0)
    assert server.envelopes == [] and recorded() == []


def test_the_soon_days_setting_is_followed(app, staff, server):
    placement(app, staff)
    db.session.add(Setting(key="followup_soon_days", value=7))
    db.session.commit()
    server.use()
    assert send(app, DUE - timedelta(days=8)).people == 0
    assert send(app, DUE - timedelta(days=7)).people == 1


# --- When: frozen time through the command ---------------------------------------------------------------------

def test_reminded_when_soon_due_when_overdue_and_weekly_after(app, staff, server):
    _case, individual, _review = placement(app, staff)
    server.use()

    def mailed_on(day: date) -> list[str]:
        server.clear()
        result = run_command(app, day)
        assert result.exit_code == 0, result.output
        return inbox(server).get("caseworker@example.org", [])

    assert mailed_on(DUE - timedelta(days=15)) == []
    (soon,) = mailed_on(DUE - timedelta(days=14))
    assert danish_state(individual, DUE - timedelta(days=14)) in soon and "15-03-2027" in soon
    assert f"{BASE_URL}/cases/{individual.case_id}" in soon
    assert mailed_on(DUE - timedelta(days=14)) == []   # twice the same day: nothing new
    assert mailed_on(DUE - timedelta(days=13)) == []
    assert mailed_on(DUE) == []                        # due today, "soon" was sent already
    (overdue,) = mailed_on(DUE + timedelta(days=1))
    assert danish_state(individual, DUE + timedelta(days=1)) in overdue
    assert mailed_on(DUE + timedelta(days=1)) == []
    assert mailed_on(DUE + timedelta(days=7)) == []    # 6 days after the first overdue reminder
    (again,) = mailed_on(DUE + timedelta(days=8))      # 7 days after it
    assert danish_state(individual, DUE + timedelta(days=8)) in again
    assert mailed_on(DUE + timedelta(days=14)) == []
    assert len(mailed_on(DUE + timedelta(days=15))) == 1

    assert [(state, sent_on) for _fu, _user, state, sent_on in recorded()] == [
        ("soon", DUE - timedelta(days=14)), ("overdue", DUE + timedelta(days=1)),
        ("overdue", DUE + timedelta(days=8)), ("overdue", DUE + timedelta(days=15))]


def test_a_missed_soon_window_is_reminded_on_the_due_day(app, staff, server):
    _case, individual, _review = placement(app, staff)
    server.use()
    assert run_command(app, DUE).exit_code == 0
    (body,) = inbox(server)["caseworker@example.org"]
    assert danish_state(individual, DUE) in body
    assert [state for _fu, _user, state, _day in recorded()] == ["soon"]


def test_today_is_the_day_in_copenhagen(app, staff, server):
    placement(app, staff)
    server.use()
    # Late evening on the 15th day before: nothing yet.
    evening = datetime.combine(DUE - timedelta(days=15), time(23, 30), tzinfo=COPENHAGEN)
    assert run_command(app, evening).exit_code == 0
    assert server.envelopes == []
    # 00:30 in Copenhagen on the 14th day before, while in UTC it is still the 15th day before.
    night = datetime.combine(DUE - timedelta(days=14), time(0, 30), tzinfo=COPENHAGEN)
    assert night.astimezone(ZoneInfo("UTC")).date() == DUE - timedelta(days=15)
    assert run_command(app, night).exit_code == 0
    assert len(server.envelopes) == 1


# --- Delivery failures and the command ---------------------------------------------------------------------------

def test_a_refused_recipient_does_not_stop_the_others_and_is_retried(app, staff, server, caplog):
    placement(app, staff, individual_due=DUE, review_due=DUE)
    server.use()
    server.refused.add("procurement@example.org")

    with caplog.at_level(logging.INFO):
        result = run_command(app, DUE - timedelta(days=3))
    assert result.exit_code != 0
    assert f"Sending failed to 1 person (user id {staff.procurement.id})" in result.stderr
    assert "2 people mailed about 2 follow-ups" in result.stdout
    assert sorted(inbox(server)) == ["caseworker@example.org", "economy@example.org"]
    assert staff.procurement.id not in {row[1] for row in recorded()}
    ours = [record for record in caplog.records if record.name.startswith("workflow.")]
    assert [record.getMessage() for record in ours if record.levelno == logging.WARNING] == [
        f"reminder mail to user {staff.procurement.id} failed: SMTPRecipientsRefused"]
    logged = "\n".join(record.getMessage() for record in ours)
    assert "@example.org" not in logged and CITIZEN not in logged and CPR not in logged

    server.refused.clear()
    server.clear()
    retry = run_command(app, DUE - timedelta(days=3))
    assert retry.exit_code == 0, retry.output
    assert sorted(inbox(server)) == ["procurement@example.org"]
    assert "1 person mailed about 1 follow-up;" in retry.stdout
    assert staff.procurement.id in {row[1] for row in recorded()}


def test_server_down_fails_everyone_and_records_nothing(app, staff, server, monkeypatch):
    from tests.support.smtp import free_port

    placement(app, staff, individual_due=DUE, review_due=DUE)
    server.use()
    monkeypatch.setitem(app.config, "MAIL_PORT", free_port())  # nothing listens there
    result = run_command(app, DUE)
    assert result.exit_code != 0 and "Sending failed to 3 people" in result.stderr
    assert recorded() == []


def test_dry_run_prints_and_neither_sends_nor_records(app, staff, server):
    case, _individual, _review = placement(app, staff, individual_due=DUE, review_due=DUE + timedelta(days=30))
    server.use()
    result = run_command(app, DUE - timedelta(days=2), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "To: caseworker@example.org" in result.output
    assert case.number in result.output and "15-03-2027" in result.output
    assert f"{BASE_URL}/cases/{case.id}" in result.output
    assert "(dry run): 1 person would be mailed about 1 follow-up; 0 reminders skipped" in result.output
    assert CITIZEN not in result.output and CPR not in result.output
    assert server.envelopes == [] and recorded() == []

    real = run_command(app, DUE - timedelta(days=2))
    assert real.exit_code == 0 and "1 person mailed about 1 follow-up;" in real.output
    assert len(server.envelopes) == 1


def test_the_base_url_must_be_a_trusted_host(app, staff, server):
    placement(app, staff)
    server.use()
    db.session.commit()
    with time_machine.travel(datetime.combine(DUE, time(7), tzinfo=COPENHAGEN), tick=False):
        untrusted = app.test_cli_runner().invoke(args=["send-reminders", "--base-url", "https://evil.example"])
        not_a_url = app.test_cli_runner().invoke(args=["send-reminders", "--base-url", "socialkob.kommune.example"])
        default = app.test_cli_runner().invoke(args=["send-reminders", "--dry-run"])
        from_env = app.test_cli_runner().invoke(args=["send-reminders"], env={"BASE_URL": BASE_URL})
    assert untrusted.exit_code != 0 and "TRUSTED_HOSTS" in untrusted.output
    assert not_a_url.exit_code != 0 and "Not a base URL" in not_a_url.output
    assert default.exit_code == 0 and "https://localhost/cases/" in default.output  # the first trusted host
    assert from_env.exit_code == 0, from_env.output
    (message,) = server.messages()
    assert f"{BASE_URL}/cases/" in message.get_content()
