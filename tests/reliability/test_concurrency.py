"""Concurrent use through real gunicorn servers: one save wins, the other is refused with 409, nothing is lost.

On PostgreSQL two servers share the database and the same person saves the same case (or contract) from
both at once: the version columns let exactly one through. On SQLite, with one writer at a time, twenty
writers through one server all get their turn (write requests begin IMMEDIATE and wait under
busy_timeout) and no one sees "database is locked".
"""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from tests.factories import make_case, to_market_scan
from tests.support.contracts import build_terms_case, registry_offer
from tests.support.gunicorn import Browser, Servers, at_once
from workflow.extensions import db
from workflow.models import AccessLog, AuditEvent, CaseComment, ContractVersion, PurchaseCase, ShortlistEntry
from workflow.services import contracts

pytestmark = pytest.mark.slow

ROUNDS = 10
SAVED, CONFLICT = 302, 409


@pytest.fixture
def servers(app, database_url, tmp_path):
    """Depends on app, so it is torn down (servers stopped) before _clean_database empties the tables."""
    with Servers(database_url, tmp_path) as started:
        yield started


def on_postgresql() -> bool:
    return db.engine.dialect.name == "postgresql"


def fresh(model, row_id):
    db.session.expire_all()
    return db.session.get(model, row_id)


def assert_no_server_error(*servers) -> None:
    for server in servers:
        failed = [line for line in server.requests_logged() if '" 500 ' in line]
        assert not failed, failed
        assert "database is locked" not in server.errors()
        assert "Traceback" not in server.errors()


# --- Two servers, one PostgreSQL: the same form saved from both at the same moment ---

def two_servers(servers: Servers):
    """Two servers on the one database, importing the app while the test builds its data; skipped on SQLite."""
    if not on_postgresql():
        pytest.skip("two servers saving at the same moment need PostgreSQL; SQLite has one writer at a time "
                    "(its twenty writers are tested below)")
    return servers.launch("a"), servers.launch("b")


def race(first: Browser, second: Browser, page: str, field: str, values: tuple[str, str]):
    """Both open the form (same version), change `field` to their own value and save at the same moment.

    Returns the version they read and the two responses.
    """
    forms = at_once(lambda: first.form(page, field), lambda: second.form(page, field))
    assert forms[0]["version"] == forms[1]["version"]
    for form, value in zip(forms, values, strict=True):
        form[field] = value
    responses = at_once(lambda: first.post(page, forms[0]), lambda: second.post(page, forms[1]))
    return int(forms[0]["version"]), responses


def winner(responses, values) -> str:
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [SAVED, CONFLICT], [(r.status_code, r.text[:300]) for r in responses]
    return next(value for response, value in zip(responses, values, strict=True) if response.status_code == SAVED)


def races(pair, login: str, page: str, field: str, values_in) -> Iterator[tuple[int, str, int]]:
    """ROUNDS races of `login`, signed in on both servers of the pair, over `field` of the form on `page`;
    values_in(round) gives the two values. Yields the round, the value that was saved (the other was refused)
    and the version both read."""
    first, second = (Browser(server.ready()).sign_in(login) for server in pair)
    for round_ in range(ROUNDS):
        values = values_in(round_)
        version, responses = race(first, second, page, field, values)
        yield round_, winner(responses, values), version


def test_the_same_case_saved_on_two_servers_at_once_keeps_one_and_refuses_the_other(app, staff, servers):
    a, b = two_servers(servers)
    case = make_case(staff.caseworker)
    for round_, saved, version in races((a, b), "caseworker", f"/cases/{case.id}/details", "budget_frame",
                                        lambda n: (f"{500_000 + n * 10 + 1}", f"{500_000 + n * 10 + 2}")):
        stored = fresh(PurchaseCase, case.id)
        assert stored.budget_frame == Decimal(saved), round_
        assert stored.version == version + 1, round_
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "case.changed")) == ROUNDS
    assert_no_server_error(a, b)


def test_the_same_contract_terms_saved_on_two_servers_at_once_keep_one_price(app, staff, servers):
    a, b = two_servers(servers)
    case = build_terms_case(app, staff)
    contract = contracts.draft_from_choice(case, staff.procurement, case.desired_start)
    db.session.commit()
    for round_, saved, version in races((a, b), "procurement", f"/cases/{case.id}/contract", "lines-0-unit_price",
                                        lambda n: (f"{2_000 + n},25", f"{2_000 + n},75")):
        stored = fresh(ContractVersion, contract.id)
        assert [line.unit_price for line in stored.lines] == [Decimal(saved.replace(",", "."))], round_
        assert stored.version == version + 1, round_
    assert_no_server_error(a, b)


# --- A save overtaken between the service's check and its commit: deterministic, by holding the row ---

def wait_for_a_blocked_request() -> None:
    """On PostgreSQL: until a server's statement waits for the lock the test holds."""
    if not on_postgresql():
        time.sleep(0.5)   # SQLite: the request waits at BEGIN IMMEDIATE, or comes after; either way it is refused
        return
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        waiting = db.session.scalar(text("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
                                         "AND datname = current_database()"))
        db.session.commit()
        if waiting:
            return
        time.sleep(0.05)
    raise AssertionError("the request never waited for the lock")


def overtaken(post, meanwhile):
    """post() from a server while meanwhile(session)'s change of the same row is held, committed once it waits."""
    outcome = {}
    with Session(db.engine) as other:   # someone else's save, not committed yet: it holds the row
        meanwhile(other)
        other.flush()
        thread = threading.Thread(target=lambda: outcome.setdefault("response", post()))
        thread.start()
        wait_for_a_blocked_request()
        other.commit()
    thread.join(30)
    return outcome["response"]


def shortlist_case(staff):
    case = make_case(staff.caseworker, procurement=staff.procurement)
    to_market_scan(case, staff.caseworker)
    offer = registry_offer("Solhøj", "Solhøj ApS", Decimal("2450.00"))
    db.session.commit()
    return case, offer


def entries_of(case) -> int:
    db.session.expire_all()
    return db.session.scalar(select(func.count(ShortlistEntry.id)).where(ShortlistEntry.case_id == case.id))


def test_saves_overtaken_between_their_check_and_their_commit_are_refused_with_409(app, staff, servers):
    """On PostgreSQL the request passes the service's check and the database refuses it at commit (a stale
    version, a unique key taken); on SQLite it waits for the other's commit (BEGIN IMMEDIATE) and the
    service refuses it. Either way a 409 (or the page's own refusal), and nothing overwritten."""
    server = servers.launch("a")
    case = make_case(staff.caseworker)
    listed, offer = shortlist_case(staff)
    browser = Browser(server.ready()).sign_in("caseworker")

    page = f"/cases/{case.id}/details"
    form = browser.form(page, "budget_frame")
    form["budget_frame"] = "111111"
    response = overtaken(lambda: browser.post(page, form),
                         lambda other: setattr(other.get(PurchaseCase, case.id), "budget_frame", Decimal("222222")))
    assert response.status_code == CONFLICT, response.text[:500]
    stored = fresh(PurchaseCase, case.id)
    assert stored.budget_frame == Decimal("222222") and stored.version == int(form["version"]) + 1

    token, offer_id = browser.token(f"/cases/{listed.id}/market-scan"), str(offer.id)
    response = overtaken(
        lambda: browser.post(f"/cases/{listed.id}/shortlist", {"csrf_token": token, "offer_id": offer_id}),
        lambda other: other.add(ShortlistEntry(case_id=listed.id, offer_id=offer.id, note="Først",
                                               added_by_id=staff.procurement.id)))
    # SQLite: the request waited for the other's commit, saw its entry and was told so on the page.
    assert response.status_code == (CONFLICT if on_postgresql() else 302), response.text[:500]
    assert entries_of(listed) == 1

    if on_postgresql():   # refused by the database, after the service's own checks had passed
        refusals = [line for line in server.errors().splitlines() if "save refused on POST" in line]
        assert [line.rsplit(" ", 1)[-1] for line in refusals] == ["StaleDataError", "IntegrityError"], refusals
    assert_no_server_error(server)


def test_the_same_offer_shortlisted_by_two_people_at_once_is_there_once(app, staff, servers):
    server = servers.launch("a", workers=2)
    case, offer = shortlist_case(staff)
    server.ready()
    people = [Browser(server).sign_in("caseworker"), Browser(server).sign_in("procurement")]
    page, url = f"/cases/{case.id}/market-scan", f"/cases/{case.id}/shortlist"
    tokens, offer_id = [person.token(page) for person in people], str(offer.id)
    responses = at_once(*[lambda person=person, token=token: person.post(url, {
        "csrf_token": token, "offer_id": offer_id, "note": "Relevant tilbud"})
        for person, token in zip(people, tokens, strict=True)])
    statuses = sorted(response.status_code for response in responses)
    # SQLite serialises the two: the second sees the first's entry and is told so on the page (302 with a
    # message). On PostgreSQL both may pass the service's check and the unique key refuses one: 409.
    assert statuses in ([302, 302], [302, CONFLICT]), [(r.status_code, r.text[:300]) for r in responses]
    assert entries_of(case) == 1
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "shortlist.added")) == 1
    assert_no_server_error(server)


# --- SQLite: twenty writers through one server ---

WRITERS, COMMENTS_EACH = 20, 5


def test_twenty_writers_on_sqlite_all_get_their_turn_with_exact_totals(app, staff, servers):
    if on_postgresql():
        pytest.skip("SQLite's single writer lock is what this is about; PostgreSQL locks rows")
    server = servers.launch("writers", workers=4)   # sync workers, as deployed: four requests at a time
    case = make_case(staff.caseworker)
    signed_in = Browser(server.ready()).sign_in("caseworker")
    page, url = f"/cases/{case.id}/details", f"/cases/{case.id}/comments"   # a light page that logs access
    barrier = threading.Barrier(WRITERS)
    outcomes: list[tuple[str, int, str]] = []
    failures: list[BaseException] = []

    def writer(number: int) -> None:
        try:
            browser = signed_in.another_tab()
            token = browser.token(page)   # reads the case: an access-log row
            barrier.wait(60)
            for index in range(COMMENTS_EACH):
                posted = browser.post(url, {"csrf_token": token, "body": f"Skriver {number}, kommentar {index}"})
                outcomes.append(("post", posted.status_code, posted.text))
                read = browser.get(page)   # a reader among the writers, who also writes its access-log row
                outcomes.append(("get", read.status_code, read.text))
        except BaseException as error:  # noqa: BLE001 - reported below
            failures.append(error)

    threads = [threading.Thread(target=writer, args=(number,)) for number in range(WRITERS)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    elapsed = time.monotonic() - started
    assert not failures, failures
    assert len(outcomes) == 2 * WRITERS * COMMENTS_EACH
    assert not [outcome for outcome in outcomes if "database is locked" in outcome[2]]
    assert {(kind, status) for kind, status, _ in outcomes} == {("post", 302), ("get", 200)}
    assert_no_server_error(server)

    db.session.expire_all()
    bodies = db.session.scalars(select(CaseComment.body).where(CaseComment.case_id == case.id)).all()
    assert sorted(bodies) == sorted(f"Skriver {n}, kommentar {i}" for n in range(WRITERS) for i in range(COMMENTS_EACH))
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(AuditEvent.action == "case.commented")) \
        == WRITERS * COMMENTS_EACH
    views = db.session.scalar(select(func.count(AccessLog.id)).where(AccessLog.case_id == case.id,
                                                                     AccessLog.action == "case.edit"))
    assert views == WRITERS * (COMMENTS_EACH + 1)
    print(f"{WRITERS} writers, {len(outcomes) + WRITERS} requests in {elapsed:.1f} s")
