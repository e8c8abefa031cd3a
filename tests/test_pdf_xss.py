"""XSS payloads in the PDFs and the spreadsheet exports: printed as text, nothing fetched, no formula.

The world of tests/support/xss.py (a payload in every free-text field) is rendered by the real services:
the contract summary (a draft and the final one), the follow-up report of a running and of an ended case,
and the portfolio report. Each payload must be in the extracted text as typed, markup characters and all
(escaped, not dropped), and WeasyPrint must have asked the fetcher for nothing but the app's own static
files: a payload written unescaped would show as a request for `x`, 127.0.0.1:9, file:///etc/passwd or a
data: URL (workflow/pdf.py refuses those anyway; tests/test_contracts.py tests the fetcher itself). The
`fetched` fixture (tests/support/pdf.py) lists what was asked for.
The CSV and XLSX exports must neutralise every text cell a spreadsheet would read as a formula.
"""
from __future__ import annotations

import csv
import io
import zipfile
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from tests.support.pdf import pdf_text
from tests.support.xss import FORMULAS, PAYLOADS, World, seed_world
from workflow import clock
from workflow.extensions import db
from workflow.models import PurchaseCase
from workflow.pdf import STATIC_BASE, html_to_pdf
from workflow.services import contract_pdf, contracts, followup_pdf
from workflow.services.portfolio_export import FORMULA_STARTS, neutralise

pytestmark = [pytest.mark.slow, pytest.mark.usefixtures("outbox")]


@pytest.fixture
def world(app, staff):
    """The hostile world, with the request context the PDF services render in."""
    with app.test_request_context():
        yield seed_world(staff)


@pytest.fixture
def world_archived(app, staff):
    """The same, with the contract summaries rendered and archived at approval, as the app does."""
    with app.test_request_context():
        yield seed_world(staff, render=lambda case, contract: contract_pdf.render(case, contract, draft=False))


def printed(text: str) -> str:
    """The visible ASCII of a text: what pypdf reliably extracts from WeasyPrint's PDFs.

    Whitespace goes (words broken over lines still match), and so does everything outside ASCII: pypdf
    misreads some runs of text (NULs between the letters, other letters for ø or a full-width ＜, which
    the fonts cannot draw either), and zero-width characters are invisible anyway. Every payload's
    markup characters (< > " ' = / &) are ASCII, so they are all compared.
    """
    return "".join(char for char in text if "!" <= char <= "~")


def missing(body: bytes, world: World, names: list[str]) -> list[str]:
    text = printed(pdf_text(body))
    return [f"{name}: {world[name][:60]!r}" for name in names if printed(world[name]) not in text]


def only_static(fetched: list[tuple[str, bool]]) -> None:
    """Nothing but our own static files was asked for, and everything asked for was served."""
    assert fetched, "the fetcher was never asked (did the spy miss it?)"
    assert [url for url, _ok in fetched if not url.startswith(STATIC_BASE)] == []
    assert [url for url, ok in fetched if not ok] == []


def terms(prefix: str) -> list[str]:
    return [f"{prefix}.terms.{name}" for name in (
        "acting_municipality", "acting_contact", "paying_municipality", "supplier_contact", "primary_service",
        "further_services", "goals", "price_regulation", "absence_rules", "documentation_duties", "data_processing",
        "framework_reference", "line1", "line2")]


def test_contract_summaries_print_every_payload_as_text_and_fetch_nothing(app, db, world_archived, fetched):
    world = world_archived
    for prefix, case_id, draft in (("awaiting", world.awaiting, True), ("running", world.running, False)):
        case = db.session.get(PurchaseCase, case_id)
        body = contract_pdf.render(case, contracts.current(case), draft=draft)
        assert not PdfReader(io.BytesIO(body)).attachments
        assert missing(body, world, [
            *terms(prefix), f"{prefix}.citizen_name", f"{prefix}.justification", f"{prefix}.rejection_reason",
            f"{prefix}.shortlist_note1", f"{prefix}.shortlist_note2", "offer1.name", "offer2.name", "supplier1.name",
            "supplier2.name", "user.procurement", "user.economy", "user.manager", "tier.2"]) == [], prefix
        assert "root:x:0" not in printed(pdf_text(body))
    # The archived summary of the running case was rendered at its approval, with the same payloads.
    archived = contracts.current(db.session.get(PurchaseCase, world.running)).pdf
    assert missing(archived, world, [*terms("running"), "running.rejection_reason"]) == []
    only_static(fetched)


def test_followup_reports_print_every_payload_as_text_and_fetch_nothing(app, db, world, fetched):
    running = db.session.get(PurchaseCase, world.running)
    body = followup_pdf.render(running, world.today)
    assert missing(body, world, [
        "running.citizen_name", "unit.name", "user.caseworker", "supplier1.name", "offer1.name",
        "running.participants", "running.citizen_view", "running.followup_notes", "running.goal1",
        "running.goal2", "running.goal_note1", "running.goal_note2", "running.deviations",
        "running.incidents"]) == []
    ended = db.session.get(PurchaseCase, world.ended)
    body = followup_pdf.render(ended, world.today)
    assert missing(body, world, ["ended.citizen_name", "ended.participants", "ended.end_reason",
                                 "ended.goal_note1", "ended.goal_note2"]) == []
    only_static(fetched)


def period() -> dict:
    today = clock.today()
    return {"from": (today - timedelta(days=365)).strftime("%d-%m-%Y"), "to": today.strftime("%d-%m-%Y")}


def test_raw_corpus_html_gets_nothing_from_the_fetcher(app_ctx, fetched):
    """Were a payload ever written unescaped, the fetcher would still serve nothing it points to."""
    for payload in PAYLOADS:                    # one at a time: a comment or <style> left open hides the rest
        html = (f"<html><head><link rel=stylesheet href='{STATIC_BASE}css/pdf.css'></head>"
                f"<body><p>Start</p>{payload.text}</body></html>")
        with app_ctx.test_request_context():
            body = html_to_pdf(html, pdf_variant=None)
        text = printed(pdf_text(body))
        assert "Start" in text and "root:x:0" not in text, payload.id
        assert not PdfReader(io.BytesIO(body)).attachments, payload.id
    asked = [url for url, _ok in fetched]
    assert any(url.startswith("file:///etc/passwd") for url in asked)      # WeasyPrint did ask ...
    assert any(url.startswith("http://127.0.0.1:9/xss-probe") for url in asked)
    assert any(url == f"{STATIC_BASE}x" for url in asked)                   # <img src=x>, against the base URL
    served = {url for url, ok in fetched if ok}
    assert f"{STATIC_BASE}css/pdf.css" in served                            # ... and got only our own files
    assert [url for url in served if not url.startswith(STATIC_BASE) or url == f"{STATIC_BASE}x"] == []


# --- Spreadsheets ---------------------------------------------------------------------------------------------

def is_formula(value: str) -> bool:
    return value.startswith(FORMULA_STARTS)


def test_formulas_in_the_corpus_are_neutralised():
    for text in (*FORMULAS, *(payload.text for payload in PAYLOADS)):
        safe = neutralise(text)
        assert not is_formula(safe), repr(text)
        assert safe in (text, f"'{text}")


def test_portfolio_downloads_print_the_names_as_text_and_hold_no_formula(app, world, make_client, fetched):
    db.session.remove()
    client = make_client("manager")
    response = client.get("/reports/followup.pdf", query_string=period())
    assert response.status_code == 200
    text = printed(pdf_text(response.get_data()))
    # Table cells are cut to their column's width ("…"): the beginning of each name, markup and all, is there;
    # the charts print the supplier names in full.
    for name in ("supplier1.name", "offer1.name"):
        assert printed(world[name])[:12] in text, name
    assert printed(world["supplier1.name"]) in text
    only_static(fetched)

    body = client.get("/reports/portfolio.csv", query_string=period()).get_data()
    rows = list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))
    cells = [cell for row in rows[1:] for cell in row]
    assert len(rows) == 3                                        # the running and the ended placement
    assert f"'{world['supplier1.name']}" in cells                # the formula-shaped supplier name, neutralised
    assert [cell for cell in cells if is_formula(cell) and not _amount(cell)] == []

    body = client.get("/reports/portfolio.xlsx", query_string=period()).get_data()
    book = load_workbook(io.BytesIO(body))
    texts = [cell.value for sheet in book for row in sheet.iter_rows() for cell in row if cell.data_type == "s"]
    assert f"'{world['supplier1.name']}" in texts
    assert [text for text in texts if is_formula(text)] == []
    assert all(cell.data_type != "f" for sheet in book for row in sheet.iter_rows() for cell in row)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:
        assert not any("<f>" in archive.read(name).decode() or "<f " in archive.read(name).decode()
                       for name in archive.namelist() if name.endswith(".xml"))


def _amount(cell: str) -> bool:
    """A negative amount (the difference from the list price) is a number, written as one: not text."""
    return cell.lstrip("-").replace(",", "").isdigit()
