"""Atomicity: a failure injected in the middle of a multi-row operation leaves nothing half-written.

Each operation is run with a failure injected at a point where some of its rows are written already: a
Python function called midway raises, a mapper event raises on the Nth row the flush writes, or the
database's COMMIT itself fails after everything was flushed. Afterwards every table holds exactly what it
held before (compared row by row), and running the operation again without the failure works. The same
is done through the pages (an injected crash answers 500 with an error id), the CLI, and for the mails of
the supplier dialogue, which leave only after a successful commit.
"""
from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import event, func, select

from tests.conftest import csrf_token, version_on
from tests.support.contracts import build_terms_case, draft_contract, reviewed, terms_form, terms_of
from tests.support.contracts import line as price_line
from tests.support.dialogue import build_dialogue_case, reply, save_requirement, send
from tests.support.offer_csv import row, to_csv
from workflow import pdf as pdf_module
from workflow.extensions import db
from workflow.models import (
    ApprovalEvent,
    AuditEvent,
    ContractPriceLine,
    ContractVersion,
    Inquiry,
    Offer,
    OfferImport,
    OfferPrice,
    PurchaseCase,
    ReplyPriceLine,
)
from workflow.process import Stage
from workflow.services import contracts, dialogue, mail, offer_import, registry

pytestmark = pytest.mark.usefixtures("outbox")

TODAY = date.today()
IMPORT_DAY = date(2026, 11, 26)


class InjectedFailure(RuntimeError):
    """The failure a test injects; never raised by the app itself."""


# --- Injecting failures -------------------------------------------------------------------------------------------

@contextmanager
def failing_on(target, identifier: str, nth: int = 1, when=lambda *args: True) -> Iterator[list]:
    """Raise InjectedFailure from the `nth` matching mapper or session event while the block runs.

    With after_insert, the rows before it have been INSERTed in the transaction already.
    """
    calls: list = []

    def listener(*args):
        if when(*args):
            calls.append(args)
            if len(calls) == nth:
                raise InjectedFailure(f"{identifier} #{nth}")

    event.listen(target, identifier, listener)
    try:
        yield calls
    finally:
        event.remove(target, identifier, listener)


@contextmanager
def failing_commit() -> Iterator[list]:
    """The database's COMMIT fails once everything is flushed: the worst moment for a transaction."""
    engine = db.engine
    calls: list = []

    def listener(connection):
        calls.append(connection)
        raise InjectedFailure("COMMIT")

    event.listen(engine, "commit", listener)
    try:
        yield calls
    finally:
        event.remove(engine, "commit", listener)


def failing_nth_call(monkeypatch, owner, name: str, nth: int) -> list:
    """Make owner.name raise InjectedFailure on its `nth` call; the calls before it do their work."""
    real = getattr(owner, name)
    calls: list = []

    def wrapper(*args, **kwargs):
        calls.append(args)
        if len(calls) == nth:
            raise InjectedFailure(f"{name} #{nth}")
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, wrapper)
    return calls


def database_rows() -> dict[str, list[tuple]]:
    """Every row of every table, read on a connection of its own (so nothing uncommitted is seen)."""
    with db.engine.connect() as connection:
        return {table.name: [tuple(found) for found in connection.execute(
                    select(table).order_by(*table.primary_key.columns))]
                for table in db.metadata.sorted_tables}


def changed_tables(before: dict, after: dict) -> list[str]:
    return [name for name in before if before[name] != after[name]]


def count(model, *where) -> int:
    return db.session.scalar(select(func.count()).select_from(model).where(*where))


def files_under(folder: Path) -> set[Path]:
    return {path for path in folder.rglob("*") if path.is_file()}


@pytest.fixture
def crash_pages(app, monkeypatch):
    """Let an unexpected exception reach the app's 500 page, as in production (tests propagate it otherwise)."""
    monkeypatch.setitem(app.config, "PROPAGATE_EXCEPTIONS", False)


def assert_error_page(response) -> None:
    assert response.status_code == 500
    body = response.get_data(as_text=True)
    assert "Fejl-id" in body and "InjectedFailure" not in body


def fresh_session() -> None:
    """Forget what this test's session holds, so the next read sees the database."""
    db.session.rollback()
    db.session.expire_all()


# --- Contract terms with their price lines ------------------------------------------------------------------------

THREE_LINES = [price_line("døgn", "2450.50", description="Døgntakst"),
               price_line("time", "450.25", "7.5", description="Ledsagelse"),
               price_line("engangsbeløb", "15000.00", description="Indflytning")]


def _with_reply_lines(case: PurchaseCase) -> None:
    """Give the chosen reply three price lines, so the draft copies several."""
    reply = dialogue.choice(case).reply
    reply.lines += [ReplyPriceLine(description="Ledsagelse", unit="time", unit_price=Decimal("450.25"),
                                   quantity=Decimal("7.5")),
                    ReplyPriceLine(description="Indflytning", unit="engangsbeløb", unit_price=Decimal("15000.00"),
                                   quantity=Decimal("1"))]
    db.session.commit()


def test_drafting_that_fails_after_some_lines_leaves_no_contract(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    _with_reply_lines(case)
    before = database_rows()
    with failing_on(ContractPriceLine, "after_insert", nth=2) as inserted, pytest.raises(InjectedFailure):
        contracts.draft_from_choice(case, staff.procurement, TODAY)
    assert len(inserted) == 2, "the first lines were written before the failure"
    fresh_session()
    assert changed_tables(before, database_rows()) == []
    assert contracts.current(case) is None

    contract = draft_contract(case, staff)  # nothing stands in the way of drafting again
    assert len(contract.lines) == 3


def test_drafting_on_the_page_that_fails_midway_answers_500_and_writes_nothing(app, staff, request_ctx,
                                                                                make_client, crash_pages):
    case = build_terms_case(app, staff)
    _with_reply_lines(case)
    client = make_client("procurement")
    token = csrf_token(client.get(f"/cases/{case.id}/contract"))
    before = database_rows()
    with failing_on(ContractPriceLine, "after_insert", nth=3):
        response = client.post(f"/cases/{case.id}/contract/start", data={"csrf_token": token})
    assert_error_page(response)
    assert changed_tables(before, database_rows()) == []

    again = client.post(f"/cases/{case.id}/contract/start", data={"csrf_token": token})
    assert again.status_code == 302
    fresh_session()
    assert len(contracts.current(case).lines) == 3


SAVE_FAILURES = {
    # After the old lines are gone and two of the three new ones are INSERTed.
    "second new line": lambda: failing_on(ContractPriceLine, "after_insert", nth=2),
    # After the version row and every line are written, at the audit event that ends the save.
    "audit event": lambda: failing_on(AuditEvent, "before_insert", when=lambda _m, _c, target:
                                      target.action == "contract.saved"),
    # Everything flushed; the database refuses the COMMIT.
    "commit": failing_commit,
}


def test_saving_terms_that_fails_midway_changes_nothing(app, staff, request_ctx):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    contract_id, case_id, version, case_version = contract.id, case.id, contract.version, case.version
    before = database_rows()
    for name, failure in SAVE_FAILURES.items():
        case, contract = db.session.get(PurchaseCase, case_id), db.session.get(ContractVersion, contract_id)
        with failure() as calls, pytest.raises(InjectedFailure):
            contracts.save_terms(case, contract, staff.procurement, version,
                                 terms_of(contract, payment_days=10, lines=THREE_LINES))
            db.session.commit()
        assert calls, name
        fresh_session()
        assert changed_tables(before, database_rows()) == [], name
        contract = db.session.get(ContractVersion, contract_id)
        assert (contract.version, contract.payment_days, len(contract.lines)) == (version, 30, 1), name
        assert db.session.get(PurchaseCase, case_id).version == case_version, name

    # The same save goes through afterwards: the form's version is still the right one.
    contracts.save_terms(db.session.get(PurchaseCase, case_id), contract, staff.procurement, version,
                         terms_of(contract, payment_days=10, lines=THREE_LINES))
    db.session.commit()
    assert [x.description for x in db.session.get(ContractVersion, contract_id).lines] == [
        "Døgntakst", "Ledsagelse", "Indflytning"]


def test_saving_terms_on_the_page_that_fails_midway_answers_500_and_changes_nothing(app, staff, request_ctx,
                                                                                    make_client, crash_pages):
    case = build_terms_case(app, staff)
    contract = draft_contract(case, staff)
    url = f"/cases/{case.id}/contract"
    client = make_client("procurement")
    token = csrf_token(client.get(url))
    form = terms_form(contract, payment_days="10", **{
        "csrf_token": token,
        "lines-1-description": "Ledsagelse", "lines-1-unit": "time", "lines-1-unit_price": "450,25",
        "lines-1-quantity": "7,5", "lines-2-description": "Indflytning", "lines-2-unit": "engangsbeløb",
        "lines-2-unit_price": "15.000,00", "lines-2-quantity": "1"})
    before = database_rows()
    for name, failure in SAVE_FAILURES.items():
        with failure() as calls:
            response = client.post(url, data=form)
        assert calls, name
        assert_error_page(response)
        assert changed_tables(before, database_rows()) == [], name

    assert client.post(url, data=form).status_code == 302
    fresh_session()
    saved = db.session.get(ContractVersion, contract.id)
    assert saved.payment_days == 10 and len(saved.lines) == 3


# --- Approval with its archived PDF -------------------------------------------------------------------------------

def _approval_state(contract_id: int, case_id: int) -> tuple:
    fresh_session()
    contract = db.session.get(ContractVersion, contract_id)
    case = db.session.get(PurchaseCase, case_id)
    return (contract.status, contract.pdf, contract.pdf_sha256, contract.document_id, contract.approved_by_id,
            case.stage, count(ApprovalEvent, ApprovalEvent.contract_id == contract_id,
                              ApprovalEvent.action == "approved"))


UNAPPROVED = ("reviewed", None, None, None, None, Stage.APPROVAL, 0)


@contextmanager
def _render_fails(monkeypatch):
    """The PDF renderer fails halfway through (WeasyPrint itself raises)."""
    calls: list = []

    class BrokenHTML:
        def __init__(self, *args, **kwargs):
            pass

        def write_pdf(self, **kwargs):
            calls.append(kwargs)
            raise InjectedFailure("while rendering the PDF")

    monkeypatch.setattr(pdf_module, "HTML", BrokenHTML)
    yield calls


def _pdf_written_then_fails(monkeypatch):
    """The PDF is rendered and set on the version; writing the approved version then fails (at commit)."""
    return failing_on(ContractVersion, "before_update", when=lambda _m, _c, target: target.pdf is not None)


def _commit_fails(monkeypatch):
    return failing_commit()


APPROVAL_FAILURES = {"rendering": _render_fails, "writing the PDF": _pdf_written_then_fails,
                     "commit": _commit_fails}


def test_approval_that_fails_leaves_no_approval_and_no_archived_pdf(app, staff, request_ctx, monkeypatch):
    case = build_terms_case(app, staff)
    contract = reviewed(case, staff)
    contract_id, case_id = contract.id, case.id
    files = files_under(Path(app.instance_path))
    before = database_rows()
    for name, failure in APPROVAL_FAILURES.items():
        case, contract = db.session.get(PurchaseCase, case_id), db.session.get(ContractVersion, contract_id)
        with monkeypatch.context() as patch, failure(patch) as calls, pytest.raises(InjectedFailure):
            contracts.approve(case, contract, staff.manager)
            db.session.commit()
        assert calls, name
        fresh_session()
        assert changed_tables(before, database_rows()) == [], name
        assert _approval_state(contract_id, case_id) == UNAPPROVED, name
        assert files_under(Path(app.instance_path)) == files, "no PDF file is left behind"

    contract, case = db.session.get(ContractVersion, contract_id), db.session.get(PurchaseCase, case_id)
    contracts.approve(case, contract, staff.manager)
    db.session.commit()
    assert _approval_state(contract_id, case_id)[::5] == ("approved", Stage.DELIVERY)


def test_approval_on_the_page_that_fails_answers_500_and_changes_nothing(app, staff, request_ctx, make_client,
                                                                        crash_pages, monkeypatch):
    case = build_terms_case(app, staff)
    contract = reviewed(case, staff)
    client = make_client("manager")
    token = csrf_token(client.get(f"/cases/{case.id}/contract"))
    form = {"csrf_token": token, "version": str(case.version)}
    files = files_under(Path(app.instance_path))
    before = database_rows()
    for name, failure in APPROVAL_FAILURES.items():
        with monkeypatch.context() as patch, failure(patch) as calls:
            response = client.post(f"/cases/{case.id}/contract/approve", data=form)
        assert calls, name
        assert_error_page(response)
        assert changed_tables(before, database_rows()) == [], name
        assert _approval_state(contract.id, case.id) == UNAPPROVED, name
        assert files_under(Path(app.instance_path)) == files, name

    assert client.post(f"/cases/{case.id}/contract/approve", data=form).status_code == 302
    state = _approval_state(contract.id, case.id)
    assert (state[0], state[1][:5], state[5], state[6]) == ("approved", b"%PDF-", Stage.DELIVERY, 1)


# --- The CSV offer import -----------------------------------------------------------------------------------------

def _registry_file() -> str:
    """The three offers of `_existing_registry` at a new price, and three new offers of a new supplier."""
    rows = [row(key=f"TP-{n}", list_price="2.600,00") for n in (1, 2, 3)]
    rows += [row(key=f"NEW-{n}", supplier_cvr="22222222", supplier_name="Aalborg Kommune", supplier_ean="",
                 supplier_type="kommunal") for n in (1, 2, 3)]
    return to_csv(rows)


def _existing_registry(db) -> None:
    plan = offer_import.plan_import(to_csv([row(key=f"TP-{n}") for n in (1, 2, 3)]), today=IMPORT_DAY)
    offer_import.apply_import(plan, None)
    db.session.commit()


@contextmanager
def _at_row(monkeypatch, nth: int):
    yield failing_nth_call(monkeypatch, registry, "apply_offer", nth)


IMPORT_FAILURES = {
    # At the fourth row of six: three offers have their new price, the new supplier is added.
    "python, row 4": lambda patch: _at_row(patch, 4),
    # The flush has INSERTed two of the new offers when the third fails.
    "database, new offer 3": lambda patch: failing_on(Offer, "after_insert", nth=3),
    # Three new prices are in the price history when the fourth fails.
    "database, price history": lambda patch: failing_on(OfferPrice, "after_insert", nth=4),
    "commit": lambda patch: failing_commit(),
}


def _offers_as_before(name: str) -> None:
    fresh_session()
    assert count(Offer) == 3 and count(OfferPrice) == 3, name
    assert set(db.session.scalars(select(Offer.list_price))) == {Decimal("2450.00")}, name


def test_an_import_that_fails_halfway_creates_and_changes_no_offer(db, staff, monkeypatch):
    _existing_registry(db)
    plan = offer_import.plan_import(_registry_file(), today=IMPORT_DAY)
    assert plan.ok and (plan.new_offers, plan.updated_offers, plan.new_suppliers) == (3, 3, 1)
    before = database_rows()
    for name, failure in IMPORT_FAILURES.items():
        with monkeypatch.context() as patch, failure(patch) as calls, pytest.raises(InjectedFailure):
            offer_import.apply_import(plan, staff.procurement)
            db.session.commit()
        assert calls, name
        fresh_session()
        assert changed_tables(before, database_rows()) == [], name
        _offers_as_before(name)


def test_a_stored_upload_that_fails_halfway_stays_unapplied_and_can_be_applied_again(db, staff, monkeypatch):
    _existing_registry(db)
    batch_id = offer_import.store_for_preview("register.csv", _registry_file(), staff.procurement).id
    db.session.commit()
    before = database_rows()
    for name, failure in IMPORT_FAILURES.items():
        with monkeypatch.context() as patch, failure(patch), pytest.raises(InjectedFailure):
            offer_import.apply_stored(db.session.get(OfferImport, batch_id), staff.procurement)
            db.session.commit()
        fresh_session()
        assert changed_tables(before, database_rows()) == [], name
        _offers_as_before(name)
        batch = db.session.get(OfferImport, batch_id)
        assert (batch.status, batch.summary) == ("preview", {}), name

    summary = offer_import.apply_stored(db.session.get(OfferImport, batch_id), staff.procurement)
    db.session.commit()
    assert (summary["new_offers"], summary["updated_offers"]) == (3, 3)
    assert db.session.get(OfferImport, batch_id).status == "applied" and count(Offer) == 6


def test_confirming_an_upload_on_the_page_that_fails_halfway_answers_500_and_can_be_confirmed_again(
        db, staff, make_client, crash_pages, monkeypatch):
    _existing_registry(db)
    client = make_client("procurement")
    uploaded = client.post("/offers/import", data={
        "csrf_token": client.token("/offers/import"),
        "file": (io.BytesIO(_registry_file().encode()), "register.csv")}, content_type="multipart/form-data")
    assert uploaded.status_code == 302
    preview = uploaded.headers["Location"]
    token = client.token(preview)
    before = database_rows()
    for name, failure in IMPORT_FAILURES.items():
        with monkeypatch.context() as patch, failure(patch) as calls:
            response = client.post(preview, data={"csrf_token": token})
        assert calls, name
        assert_error_page(response)
        assert changed_tables(before, database_rows()) == [], name
        _offers_as_before(name)
        assert db.session.scalar(select(OfferImport.status)) == "preview", name

    again = client.post(preview, data={"csrf_token": token})
    assert again.status_code == 302 and again.headers["Location"] == "/offers"
    fresh_session()
    assert count(Offer) == 6 and db.session.scalar(select(OfferImport.status)) == "applied"


def test_the_import_command_that_fails_halfway_imports_nothing(app, db, staff, monkeypatch, tmp_path):
    _existing_registry(db)
    path = tmp_path / "register.csv"
    path.write_text(_registry_file(), encoding="utf-8")
    before = database_rows()
    for name, failure in IMPORT_FAILURES.items():
        with monkeypatch.context() as patch, failure(patch) as calls:
            result = app.test_cli_runner().invoke(args=["import-offers", str(path)])
        assert calls, name
        assert result.exit_code != 0 and isinstance(result.exception, InjectedFailure), name
        assert changed_tables(before, database_rows()) == [], name
        _offers_as_before(name)

    assert app.test_cli_runner().invoke(args=["import-offers", str(path)]).exit_code == 0
    fresh_session()
    assert count(Offer) == 6


# --- Mails of the supplier dialogue leave only after the commit ----------------------------------------------------

def _dialogue_case(app, staff):
    """A case in the dialogue with three offers shortlisted and the requirement saved."""
    built = build_dialogue_case(staff)
    save_requirement(built.case, staff.procurement)
    return built


def test_inquiries_whose_commit_fails_send_no_mail(app, staff, request_ctx):
    built = _dialogue_case(app, staff)
    before = database_rows()
    with failing_commit(), pytest.raises(InjectedFailure):
        dialogue.send_inquiries(built.case, staff.procurement, [o.id for o in built.offers.values()],
                                dialogue.default_deadline(TODAY), False, TODAY)
        db.session.commit()
    fresh_session()
    assert changed_tables(before, database_rows()) == []
    assert mail.outbox_messages() == []

    # The next commit does not send the mails of the failed one either.
    db.session.commit()
    assert mail.outbox_messages() == []


def test_inquiries_sent_on_the_page_whose_write_fails_send_no_mail(app, staff, make_client, crash_pages):
    built = _dialogue_case(app, staff)
    url = f"/cases/{built.case.id}/dialogue"
    client = make_client("procurement")
    form = {"csrf_token": csrf_token(client.get(url)), "offers": [str(o.id) for o in built.offers.values()],
            "deadline": dialogue.default_deadline(TODAY).strftime("%d-%m-%Y")}
    before = database_rows()
    failures = {"third inquiry": lambda: failing_on(AuditEvent, "before_insert", nth=3, when=lambda _m, _c, target:
                                                    target.action == "inquiry.sent"),
                "commit": failing_commit}
    for name, failure in failures.items():
        with failure() as calls:
            response = client.post(f"{url}/send", data=form)
        assert calls, name
        assert_error_page(response)
        assert changed_tables(before, database_rows()) == [], name
        assert mail.outbox_messages() == [], name

    assert client.post(f"{url}/send", data=form).status_code == 302
    assert len(mail.outbox_messages()) == 3
    fresh_session()
    assert count(Inquiry, Inquiry.mailed_at.is_not(None)) == 3


def test_a_choice_whose_commit_fails_tells_no_supplier(app, staff, request_ctx, make_client, crash_pages):
    built = _dialogue_case(app, staff)
    sent = send(app, built.case, staff.procurement)
    for inquiry, price in zip(sent, ("2400.00", "2300.00", "2500.00"), strict=True):
        reply(inquiry, price)
    mailed = len(mail.outbox_messages())
    case_id = built.case.id
    chosen_id = min(sent, key=lambda inquiry: inquiry.latest_reply.lines[0].unit_price).id
    before = database_rows()
    with failing_commit(), pytest.raises(InjectedFailure):
        dialogue.choose(db.session.get(PurchaseCase, case_id), db.session.get(Inquiry, chosen_id),
                        staff.procurement, "Billigst", TODAY)
        db.session.commit()
    fresh_session()
    assert changed_tables(before, database_rows()) == []
    assert len(mail.outbox_messages()) == mailed, "no supplier was told they were not chosen"

    buyer = make_client("procurement")
    url = f"/cases/{case_id}/dialogue/comparison"
    shown = buyer.get(url)
    form = {"csrf_token": csrf_token(shown), "version": version_on(shown.get_data(as_text=True)),
            "inquiry_id": str(chosen_id), "justification": "Billigst"}
    before = database_rows()
    with failing_commit():
        assert_error_page(buyer.post(url, data=form))
    assert changed_tables(before, database_rows()) == []
    assert len(mail.outbox_messages()) == mailed

    assert buyer.post(url, data=form).status_code == 302
    assert len(mail.outbox_messages()) == mailed + 2
