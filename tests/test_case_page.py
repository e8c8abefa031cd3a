"""The case page of a running placement: the same queries however long its history, and the history in words.

A placement runs for years: comments, follow-ups and audit events pile up. The page reads each of them with
one query (no query per row), and the history still names the people, the stages and the values as before.
"""
from __future__ import annotations

import html
import re
from datetime import timedelta

import pytest

from tests.support.queries import statements_of_get
from tests.support.running import running_case
from workflow import clock
from workflow.extensions import db
from workflow.models import FollowUp
from workflow.services import audit, cases


@pytest.fixture(autouse=True)
def outbox(app, monkeypatch, tmp_path):
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))


def add_history(case, staff, count: int, start: int = 0) -> None:
    """`count` more of everything a long placement gathers: comments, held and open follow-ups, team changes
    (which name people), changed details (yes/no), steps and the supplier's replies (events with no user)."""
    today = clock.today()
    for number in range(start, start + count):
        cases.add_comment(case, staff.caseworker, f"Kommentar nummer {number}")
        db.session.add(FollowUp(case_id=case.id, kind="individual", due_date=today - timedelta(days=900 - number),
                                held_on=today - timedelta(days=900 - number), recorded_by_id=staff.caseworker.id))
        db.session.add(FollowUp(case_id=case.id, kind="supplier_review", due_date=today + timedelta(days=number)))
        audit.record("case.team_changed", case, {"changes": {"economy_id": [None, staff.economy.id]}},
                     actor=staff.manager)
        audit.record("case.changed", case, {"changes": {"acute": [number % 2 == 0, number % 2 == 1]}},
                     actor=staff.caseworker)
        audit.record("case.step", case, {"event": "start_delivery", "from": "delivery", "to": "follow_up"},
                     actor=staff.caseworker)
        audit.record("reply.received", case, {"offer": "Solhøj", "version": 1})
    db.session.commit()


def history(page: str) -> list[tuple[str, str, list[str]]]:
    """The case page's history as (who, what, changes), newest first."""
    section = page.split('aria-labelledby="historik"', 1)[1]
    rows = []
    for item in re.findall(r"<li>\s*<p><span class=\"timeline-time\">(.*?)</li>\s*(?=<li>|</ol>)", section, re.S):
        who, what = re.search(r"</span> <strong>([^<]*)</strong> ([^<]*)</p>", item).groups()
        changes = [html.unescape(change) for change in re.findall(r"<li>([^<]*)</li>", item)]
        rows.append((html.unescape(who), html.unescape(what).strip(), changes))
    return rows


def test_the_queries_do_not_grow_with_the_history(app, staff, make_client):
    today = clock.today()
    case = running_case(app, staff, today - timedelta(days=300), today=today)
    add_history(case, staff, 2)
    client = make_client("caseworker")
    url = f"/cases/{case.id}"
    short = statements_of_get(client, url)
    add_history(case, staff, 38, start=2)
    long = statements_of_get(client, url)
    assert long == short, f"{short} queries with 2 of each, {long} with 40"
    page = client.get(url).get_data(as_text=True)
    assert all(f"Kommentar nummer {number}<" in page for number in range(40))   # every comment, as before


def test_the_history_in_words(app, staff, make_client):
    today = clock.today()
    case = running_case(app, staff, today - timedelta(days=300), today=today)
    add_history(case, staff, 2)
    page = make_client("caseworker").get(f"/cases/{case.id}").get_data(as_text=True)
    rows = history(page)
    assert rows[:4] == [
        ("leverandøren", "registrerede et svar: Solhøj", []),
        (staff.caseworker.full_name, "flyttede sagen fra Levering til Opfølgning", []),
        (staff.caseworker.full_name, "ændrede sagsoplysningerne", ["Akut sag: nej → ja"]),
        (staff.manager.full_name, "ændrede teamet", [f"Kollega fra økonomi: – → {staff.economy.full_name}"]),
    ]
    assert rows[7][2] == ["Akut sag: ja → nej"]   # the first round (after its comment): from yes to no
    assert rows[-1][1] == "oprettede sagen"
