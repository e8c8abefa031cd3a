"""Retention: `flask apply-retention` anonymises the citizens whose cases were all closed longer ago than the
retention period, keeps the figures and the audit trail, logs what it did, and leaves everyone else alone.

The cases are built through the same services the pages use and closed for real; "longer ago" is made by moving
the moment of closure back in the database (or, for the boundary, by travelling in time with time-machine).
Every test compares whole tables before and after, read straight from the database.
"""
from __future__ import annotations

import hashlib
import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select, update

from tests.factories import assess, make_case, next_cpr
from tests.support.api import ApiClient
from tests.support.contracts import CPR, approved, build_terms_case
from tests.support.pdf import flat, pdf_text
from tests.support.running import follow_up_input
from workflow import cpr as cpr_rules
from workflow.extensions import db
from workflow.models import AuditEvent, Citizen, ContractVersion, PurchaseCase
from workflow.pdf import RenderTimeout
from workflow.process import Event, Stage
from workflow.services import cases, contracts, dialogue, followup, retention, settings, transitions

pytestmark = pytest.mark.usefixtures("outbox")

STARTED = date(2026, 2, 2)
HELD = date(2026, 5, 4)
ENDED = date(2026, 7, 31)
LONG_AGO = datetime(2019, 6, 1, 10, 0, tzinfo=UTC)           # more than the default 5 years before any test day
SECRET_WORDS = ("Karl", "Kontraktsen", "Sofie", "Ebbe", "Ældresen")   # the names in the texts written below
APPEND_ONLY = ("audit_events", "access_log", "approval_events")


# --- Building and closing cases --------------------------------------------------------------------------------

def closed_placement(app, staff) -> PurchaseCase:
    """Karl's placement: needs, dialogue, an approved contract with its archived PDF, a follow-up, the end."""
    case = build_terms_case(app, staff)
    cases.add_comment(case, staff.caseworker, "Karl Kontraktsen ringede; søsteren Sofie vil med til besøg.")
    inquiry = dialogue.inquiries(case)[0]
    dialogue.add_note(case, inquiry, staff.caseworker, "Aftalt at Karl kan flytte ind før tid.")
    with app.test_request_context():
        approved(case, staff)   # renders and archives the real summary, which names Karl
    followup.start_delivery(case, staff.caseworker, STARTED, STARTED)
    db.session.commit()
    followup.record(case, staff.caseworker, follow_up_input(
        case, HELD, "end", end_date=ENDED, end_reason="Karl flytter til egen bolig",
        participants="Karl, søsteren Sofie, kontaktperson", citizen_view="Karl glæder sig",
        notes="Karl har haft en god periode"), HELD)
    db.session.commit()
    # A changed reason: its before and after are in the (append-only) audit trail, which the case page shows.
    followup.save_ending(case, staff.caseworker, followup.EndingInput(ENDED, "Karl flytter til Sofie i Aarhus",
                                                                      Decimal("441090.00")))
    db.session.commit()
    followup.close(case, staff.caseworker, version=case.version)
    db.session.commit()
    assert case.stage == Stage.CLOSED and case.closed_at is not None
    return case


def cancelled_case(staff, name: str, cpr: str | None = None) -> PurchaseCase:
    """A case assessed (wishes, a theme narrative, a goal), commented on and cancelled: closed now."""
    case = make_case(staff.caseworker, name=name, cpr=cpr)
    assess(case, staff.caseworker)
    cases.add_comment(case, staff.caseworker, f"Talt med {name}")
    transitions.take_step(case, Event.CANCEL, staff.caseworker, reason=f"{name} er flyttet til Norge")
    db.session.commit()
    return case


def close_back_then(case: PurchaseCase, when: datetime = LONG_AGO) -> None:
    """Move the moment of closure back, touching nothing else of the case."""
    db.session.execute(update(PurchaseCase.__table__).where(PurchaseCase.id == case.id).values(closed_at=when))
    db.session.commit()


def run(app, *args: str):
    result = app.test_cli_runner().invoke(args=["apply-retention", *args])
    db.session.expire_all()
    return result


# --- Reading the whole database ----------------------------------------------------------------------------------

def snapshot() -> dict[str, dict[tuple, dict]]:
    """Every row of every table, by primary key, as the database has it now."""
    db.session.expire_all()
    tables = {}
    for table in db.metadata.sorted_tables:
        keys = [column.name for column in table.primary_key.columns]
        tables[table.name] = {tuple(row[k] for k in keys): dict(row)
                              for row in db.session.execute(select(table)).mappings()}
    return tables


def changed_columns(before: dict, after: dict) -> dict[str, set[str]]:
    """table -> the columns that changed in any row; a deleted row fails at once."""
    changed: dict[str, set[str]] = {}
    for name, rows in before.items():
        for key, row in rows.items():
            assert key in after[name], f"{name} {key} was deleted"
            changed.setdefault(name, set()).update(column for column, value in row.items()
                                                   if after[name][key][column] != value)
    return {name: columns for name, columns in changed.items() if columns}


def changed_rows(before: dict, after: dict, table: str) -> set[tuple]:
    return {key for key, row in before[table].items() if after[table][key] != row}


def added_rows(before: dict, after: dict) -> dict[str, int]:
    return {name: len(after[name]) - len(rows) for name, rows in before.items() if len(after[name]) != len(rows)}


# Only these columns may change: the citizen's identity, the free texts, the archived PDF, and the row versions
# and time stamps that move with any change. Everything else – every figure, date, code and reference – stays.
MAY_CHANGE = {
    "citizens": {"cpr", "name", "anonymised_at"},
    "purchase_cases": {"cancel_reason", "version"},
    "case_comments": {"body"},
    "needs_assessments": {"expected_duration", "wishes", "special_conditions", "version"},
    "theme_assessments": {"narrative"},
    "goals": {"text", "measure"},
    "shortlist_entries": {"note"},
    "requirements": {"functional_summary", "goals", "special_conditions", "version", "changed_at"},
    "negotiation_notes": {"text"},
    "choices": {"justification"},
    "follow_ups": {"participants", "citizen_view", "notes", "end_reason", "deviations", "incidents", "version"},
    "follow_up_goal_scores": {"goal_text", "note"},
    "case_endings": {"reason", "version"},
    "contract_versions": {"goals", "pdf", "pdf_sha256"},
}


def citizen_of(case: PurchaseCase) -> Citizen:
    db.session.expire_all()
    return db.session.get(Citizen, case.citizen_id)


def events(action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)))


def no_secrets(text: str, cpr_number: str) -> None:
    found = [word for word in SECRET_WORDS if word in text]
    assert not found, f"still there: {found}"
    assert cpr_number[:6] not in text.replace("-", "") and cpr_rules.formatted(cpr_number) not in text


# --- 1. What is anonymised, what is kept -----------------------------------------------------------------------

@pytest.mark.slow
def test_a_case_closed_longer_ago_is_anonymised_keeping_figures_and_audit_trail(app, staff):
    karl = closed_placement(app, staff)
    archived = contracts.in_force(karl)
    assert "Karl" in pdf_text(archived.pdf)          # the archived summary names him
    recent = cancelled_case(staff, "Rita Nylukket")
    still_open = make_case(staff.caseworker, name="Otto Åben")
    close_back_then(karl)
    before = snapshot()

    result = run(app)

    assert result.exit_code == 0, result.output
    after = snapshot()
    # Only the free texts, the identity and the archived PDF changed: every figure, date and code is as it was.
    for table, columns in changed_columns(before, after).items():
        assert columns <= MAY_CHANGE.get(table, set()), (table, columns - MAY_CHANGE.get(table, set()))
    assert changed_rows(before, after, "citizens") == {(karl.citizen_id,)}
    assert changed_rows(before, after, "purchase_cases") <= {(karl.id,)}
    # The audit trail and the logs are untouched; the only rows added are the retention's own audit events.
    for table in APPEND_ONLY:
        assert before[table] == {key: after[table][key] for key in before[table]}
    assert added_rows(before, after) == {"audit_events": 2}

    citizen = citizen_of(karl)
    assert citizen.anonymised_at is not None and citizen.name == retention.ANONYMISED_NAME
    assert not cpr_rules.is_valid(citizen.cpr) and CPR not in citizen.cpr
    assert citizen.birth_date is None and citizen.age_on(date.today()) is None
    assert citizen.home_municipality == "101"
    for table, rows in after.items():
        if table in APPEND_ONLY:
            continue   # append-only: what it held stays (and the case page no longer shows it)
        for row in rows.values():
            for column, value in row.items():
                assert not (isinstance(value, str) and ("Karl" in value or "Sofie" in value)), (table, column)
                assert not (isinstance(value, str) and value == CPR), (table, column)

    # The archived summary is made again without him, with the same figures and document id; its hash matches.
    contract = db.session.get(ContractVersion, archived.id)
    text = flat(pdf_text(contract.pdf))
    assert "Karl" not in text and "010190" not in text
    assert flat("894.432,50") in text and contract.document_id in text
    assert contract.pdf_sha256 == hashlib.sha256(contract.pdf).hexdigest() != before["contract_versions"][
        (archived.id,)]["pdf_sha256"]

    # What it did is logged, with counts and hashes and no personal data.
    case_event, citizen_event = events("case.anonymised")[0], events("citizen.anonymised")[0]
    assert case_event.case_id == karl.id and case_event.actor_id is None
    assert case_event.details["redacted"]["case_comments.body"] == 1
    assert case_event.details["redacted"]["follow_ups.citizen_view"] == 1
    assert case_event.details["contract_pdfs"][0]["sha256_after"] == contract.pdf_sha256
    assert citizen_event.object_id == karl.citizen_id and citizen_event.details["cases"] == [karl.number]
    for event in (case_event, citizen_event):
        no_secrets(str(event.details), CPR)
    assert f"{karl.number} (closed 01-06-2019)" in result.output
    assert "1 citizen with 1 case anonymised" in result.output
    no_secrets(result.output, CPR)

    # The recent and the open case are as they were.
    assert citizen_of(recent).name == "Rita Nylukket" and citizen_of(still_open).name == "Otto Åben"

    # A second run finds nothing to do and changes nothing.
    again = run(app)
    assert again.exit_code == 0 and "0 citizens with 0 cases anonymised" in again.output
    assert snapshot() == after


def test_a_citizen_with_a_younger_or_open_case_is_left_alone(app, staff):
    ebbe_cpr, yrsa_cpr = next_cpr(1950), next_cpr(1960)
    old = cancelled_case(staff, "Ebbe Ældresen", ebbe_cpr)
    younger_sibling = cancelled_case(staff, "Ebbe Ældresen", ebbe_cpr)    # the same citizen, closed just now
    yrsa_old = cancelled_case(staff, "Yrsa Ældresen", yrsa_cpr)
    yrsa_open = make_case(staff.caseworker, name="Yrsa Ældresen", cpr=yrsa_cpr)
    alone = cancelled_case(staff, "Ebbe Alene")
    for case in (old, yrsa_old, alone):
        close_back_then(case)
    assert old.citizen_id == younger_sibling.citizen_id and yrsa_old.citizen_id == yrsa_open.citizen_id
    before = snapshot()

    result = run(app)

    assert result.exit_code == 0, result.output
    after = snapshot()
    assert changed_rows(before, after, "citizens") == {(alone.citizen_id,)}
    assert changed_rows(before, after, "purchase_cases") == {(alone.id,)}
    assert changed_rows(before, after, "case_comments") == {(c.id,) for c in alone.comments}
    assert [event.case_id for event in events("case.anonymised")] == [alone.id]
    assert citizen_of(old).cpr == ebbe_cpr and citizen_of(yrsa_open).name == "Yrsa Ældresen"


def test_dry_run_reports_what_it_would_do_and_changes_nothing(app, staff):
    old = cancelled_case(staff, "Ebbe Ældresen")
    close_back_then(old)
    before = snapshot()

    result = run(app, "--dry-run")

    assert result.exit_code == 0, result.output
    assert snapshot() == before
    assert "dry run" in result.output and f"{old.number} (closed 01-06-2019)" in result.output
    # assess(): 3 texts of the assessment (duration, wishes, a theme), a goal and its measure; a comment; the reason.
    assert "7 texts would be redacted" in result.output
    assert "1 citizen with 1 case would be anonymised" in result.output
    no_secrets(result.output, citizen_of(old).cpr)
    assert run(app).exit_code == 0 and citizen_of(old).anonymised   # and the real run does it


def test_retention_counts_from_the_closure_and_follows_the_setting(app, staff):
    case = cancelled_case(staff, "Ebbe Ældresen")
    closed = case.closed_at
    with time_machine.travel(closed + timedelta(days=5 * 365), tick=False):   # a day or two short of 5 years
        assert run(app).exit_code == 0
    assert not citizen_of(case).anonymised
    settings.change("retention_years", 10)
    db.session.commit()
    with time_machine.travel(closed + timedelta(days=6 * 365), tick=False):
        assert run(app).exit_code == 0
    assert not citizen_of(case).anonymised
    with time_machine.travel(closed + timedelta(days=10 * 365 + 4), tick=False):
        assert run(app).exit_code == 0
    assert citizen_of(case).anonymised


def test_a_failure_leaves_that_citizen_untouched_and_the_others_done(app, staff, monkeypatch):
    first, second = cancelled_case(staff, "Ebbe Ældresen"), cancelled_case(staff, "Ebbe Alene")
    for case in (first, second):
        close_back_then(case)
    remake = retention._remake_summaries

    def fails_for_the_first(found, results):
        if any(case.id == first.id for case in found):
            raise RenderTimeout("PDF rendering took more than 30 s")
        return remake(found, results)
    monkeypatch.setattr(retention, "_remake_summaries", fails_for_the_first)
    before = snapshot()

    result = run(app)

    assert result.exit_code == 1
    assert f"Citizen id {first.citizen_id} not anonymised (RenderTimeout)" in result.output
    after = snapshot()
    assert changed_rows(before, after, "citizens") == {(second.citizen_id,)}
    assert changed_rows(before, after, "purchase_cases") == {(second.id,)}
    assert [event.case_id for event in events("case.anonymised")] == [second.id]
    monkeypatch.setattr(retention, "_remake_summaries", remake)
    assert run(app).exit_code == 0 and citizen_of(first).anonymised   # the next run does it


# --- 2. The anonymised case on the pages, in the PDFs and in the API ------------------------------------------

def _case_urls(app, prefix: str, case_id: int) -> list[str]:
    """Every GET address of the app map about one case (those that need no other id)."""
    urls = []
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and rule.rule.startswith(prefix) and set(rule.arguments) == {"case_id"}:
            urls.append(rule.build({"case_id": case_id})[1])
    return sorted(urls)


def _readable(response) -> str:
    if response.mimetype == "application/pdf":
        return pdf_text(response.data)
    return response.get_data(as_text=True)


@pytest.mark.slow
def test_the_pages_pdfs_and_api_of_an_anonymised_case_show_no_name_or_cpr(app, staff, make_client):
    karl = closed_placement(app, staff)
    close_back_then(karl)
    assert run(app).exit_code == 0
    web = make_client("caseworker")
    web.submit("/language", {"language": "en", "next": "/"}, form_page="/")

    page = web.get(f"/cases/{karl.id}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200
    assert re.search(r'class="case-citizen">Anonymised<', body)
    assert "Show CPR number" not in body and "None years" not in body
    assert "anonymised the citizen" in body and "The system" in body
    urls = _case_urls(app, "/cases/", karl.id)
    assert f"/cases/{karl.id}/contract.pdf" in urls and f"/cases/{karl.id}/followup.pdf" in urls
    for url in urls + [f"/cases/{karl.id}/contract.pdf?draft=1", "/cases?scope=unit&status=closed"]:
        response = web.get(url)
        assert response.status_code < 500, url
        no_secrets(_readable(response), CPR)
    assert "Anonymised" in web.get("/cases?scope=unit&status=closed").get_data(as_text=True)
    # The old number finds nothing any more, and the full number cannot be shown.
    found = web.submit("/cases/search", {"cpr": cpr_rules.formatted(CPR)}, form_page="/cases")
    assert found.status_code == 200 and karl.number not in found.get_data(as_text=True)
    shown = web.submit(f"/cases/{karl.id}/cpr", {}, form_page=f"/cases/{karl.id}")
    no_secrets(shown.get_data(as_text=True), CPR)

    api = ApiClient(app, staff.caseworker, language="en")
    read = api.get(f"/cases/{karl.id}")
    assert read.status_code == 200, read.get_json()
    assert read.get_json()["citizen"]["name"] == "Anonymised" == read.get_json()["citizen"]["cpr_masked"]
    assert read.get_json()["citizen_name"] == "Anonymised"
    for url in _case_urls(app, "/api/v1/cases/", karl.id) + ["/api/v1/cases?scope=unit&status=closed"]:
        response = api.get(url)
        assert response.status_code < 500, url
        no_secrets(_readable(response), CPR)
