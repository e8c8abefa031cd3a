"""A server killed (SIGKILL) in the middle of a write load: after a restart the database is intact and holds
every write the clients were told had succeeded.

The writers open cases (a citizen, the case, its needs assessment, its stage visit and the audit event,
in one transaction) and add comments; a write counts as acknowledged when its redirect arrived. The kill
goes to gunicorn's master and workers at once, with requests under way.
"""
from __future__ import annotations

import itertools
import re
import sqlite3
import threading
import time

import pytest
import requests
from sqlalchemy import and_, exists, func, select
from sqlalchemy.engine import make_url

from tests.factories import make_case, next_cpr
from tests.support.gunicorn import Browser, Servers
from workflow.extensions import db
from workflow.models import AuditEvent, CaseComment, NeedsAssessment, PurchaseCase, StageVisit

pytestmark = pytest.mark.slow

WRITERS = 6                 # half open cases, half comment
ACKNOWLEDGED_BEFORE_KILL = 30
OPENED = re.compile(r"/cases/(\d+)/needs$")


@pytest.fixture
def servers(app, database_url, tmp_path):
    """Depends on app, so it is torn down (servers stopped) before _clean_database empties the tables."""
    with Servers(database_url, tmp_path) as started:
        yield started


class Load:
    """Writers posting until the server goes away; what it acknowledged, by the identity of the row."""

    def __init__(self, signed_in: Browser, case_id: int):
        self.signed_in, self.case_id = signed_in, case_id
        self.comments: list[str] = []
        self.cases: list[tuple[int, str]] = []
        self.unexpected: list[str] = []
        self.stop = threading.Event()
        self.threads = [threading.Thread(target=self._write, args=(number,)) for number in range(WRITERS)]

    def start(self) -> Load:
        for thread in self.threads:
            thread.start()
        return self

    @property
    def acknowledged(self) -> int:
        return len(self.comments) + len(self.cases)

    def finish(self) -> None:
        self.stop.set()
        for thread in self.threads:
            thread.join(60)

    def _write(self, number: int) -> None:
        browser = self.signed_in.another_tab()
        try:
            token = browser.token("/cases/new")
            for index in itertools.count():
                if self.stop.is_set():
                    return
                if number % 2 == 0:
                    self._open_case(browser, token, f"Borger {number}-{index}")
                else:
                    self._comment(browser, token, f"Nedbrud {number}-{index}")
        except requests.RequestException:
            return   # the server is gone; what it did not answer is not counted

    def _open_case(self, browser: Browser, token: str, name: str) -> None:
        response = browser.post("/cases/new", {
            "csrf_token": token, "cpr": next_cpr(), "citizen_name": name, "home_municipality": "101",
            "legal_basis": "SEL-108", "target_group": "intellectual_disability", "budget_frame": "750.000"})
        opened = OPENED.search(response.headers.get("Location", "")) if response.status_code == 302 else None
        if opened:
            self.cases.append((int(opened.group(1)), name))
        else:
            self.unexpected.append(f"open case: {response.status_code}")

    def _comment(self, browser: Browser, token: str, body: str) -> None:
        response = browser.post(f"/cases/{self.case_id}/comments", {"csrf_token": token, "body": body})
        if response.status_code == 302 and response.headers.get("Location", "").endswith("#kommentarer"):
            self.comments.append(body)
        else:
            self.unexpected.append(f"comment: {response.status_code}")


def kill_under_load(server, load: Load) -> None:
    deadline = time.monotonic() + 60
    while load.acknowledged < ACKNOWLEDGED_BEFORE_KILL and time.monotonic() < deadline:
        time.sleep(0.05)
    assert load.acknowledged >= ACKNOWLEDGED_BEFORE_KILL, f"only {load.acknowledged} writes before the kill"
    server.kill()
    load.finish()


def assert_intact(database_url: str) -> None:
    """SQLite's own check on a fresh connection; on both databases every table readable and every foreign key
    pointing at a row that exists."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        with sqlite3.connect(url.database) as connection:
            assert connection.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert connection.execute("PRAGMA foreign_key_check").fetchall() == []
    db.session.expire_all()
    broken = {}
    for table in db.metadata.sorted_tables:
        db.session.execute(select(func.count()).select_from(table)).scalar_one()
        for key in table.foreign_key_constraints:
            parent = key.referred_table
            pairs = [(element.parent, element.column) for element in key.elements]
            dangling = db.session.scalar(select(func.count()).select_from(table).where(
                and_(*[child.is_not(None) for child, _ in pairs]),
                ~exists().where(and_(*[referred == child for child, referred in pairs]))))
            if dangling:
                broken[key.name or f"{table.name}->{parent.name}"] = dangling
    db.session.commit()
    assert not broken, broken


def assert_all_there(load: Load) -> None:
    db.session.expire_all()
    stored = set(db.session.scalars(select(CaseComment.body).where(CaseComment.case_id == load.case_id)))
    assert not [body for body in load.comments if body not in stored]
    for case_id, name in load.cases:   # the whole case, not part of it
        case = db.session.get(PurchaseCase, case_id)
        assert case is not None and case.citizen.name == name, case_id
        assert db.session.scalar(select(func.count(NeedsAssessment.id)).where(NeedsAssessment.case_id == case_id)) == 1
        assert db.session.scalar(select(func.count(StageVisit.id)).where(StageVisit.case_id == case_id)) == 1
        assert db.session.scalar(select(func.count(AuditEvent.id)).where(
            AuditEvent.action == "case.opened", AuditEvent.object_id == case_id)) == 1
    db.session.commit()


def test_sigkill_during_a_write_load_keeps_every_acknowledged_write_in_an_intact_database(app, staff, servers):
    server = servers.launch("before", workers=2, threads=4)
    case = make_case(staff.caseworker)
    load = Load(Browser(server.ready()).sign_in("caseworker"), case.id).start()
    kill_under_load(server, load)
    assert not load.unexpected, load.unexpected[:10]
    assert load.comments and load.cases

    after = servers.start("after", workers=2)
    assert_intact(app.config["SQLALCHEMY_DATABASE_URI"])
    assert_all_there(load)

    browser = Browser(after).sign_in("caseworker")   # and the restarted server takes writes again
    response = browser.submit(f"/cases/{case.id}/comments", {"body": "Efter genstart"}, form_page="/cases/new")
    assert response.status_code == 302
    assert db.session.scalar(select(func.count(CaseComment.id)).where(CaseComment.body == "Efter genstart")) == 1
    assert "database is locked" not in after.errors() and "Traceback" not in after.errors()
    print(f"acknowledged before the kill: {len(load.cases)} cases, {len(load.comments)} comments")
