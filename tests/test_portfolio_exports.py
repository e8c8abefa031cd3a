"""The portfolio's downloads: the PDF report, the CSV and XLSX exports, their access and audit trail.

One case is walked through the real services to a running placement (tests/support/running.py), so
that a row can be checked value by value; many more are written with the benchmark's fast inserts
(bench/portfolio_pdf.py) where the number of rows matters. Neutralisation of formula-like text is
checked on contracts whose supplier and offer names were set to such text directly in the database.
"""
from __future__ import annotations

import csv
import io
import json
import math
import re
import shutil
import subprocess
import zipfile
from datetime import date, timedelta

import pytest
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import select, update

from bench.portfolio_pdf import seed_contracts
from tests.support.running import running_case
from workflow import clock
from workflow.extensions import db
from workflow.models import AuditEvent, Citizen, ContractVersion, Unit
from workflow.services import portfolio, portfolio_export, portfolio_pdf
from workflow.services.portfolio_export import COLUMNS, neutralise

TODAY = clock.today()
STARTED = TODAY - timedelta(days=200)        # the first follow-up (3 months on) is overdue today
CITIZEN = "Karl Kontraktsen"                 # tests/test_contracts.py's case
CPR = "0101901234"
CPR_FORMS = ("0101901234", "010190-1234", "010190 1234", "010190-xxxx")
SUPPLIER = "Solhøj Botilbud ApS"
URLS = ("/reports/followup.pdf", "/reports/portfolio.csv", "/reports/portfolio.xlsx")
FORMULA_NAMES = ("=SUM(A1)", "+1", "-2", "@x", "\tTab", "\rCR")


@pytest.fixture(autouse=True)
def outbox(app, monkeypatch, tmp_path):
    """Mail from the services goes to this test's own folder."""
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(tmp_path / "outbox"))


@pytest.fixture
def placement(app, staff):
    """A § 108 placement in Voksenhandicap, running for 200 days: 2.450,50 a day against a list price of 2.500."""
    return running_case(app, staff, STARTED, today=TODAY)


def seeded(staff, count: int, today: date = TODAY) -> None:
    seed_contracts(count, staff.manager.unit_id, staff.caseworker.id, staff.procurement.id, staff.manager.id, today)
    db.session.commit()


def period_args() -> dict:
    return {"from": (TODAY - timedelta(days=365)).strftime("%d-%m-%Y"), "to": TODAY.strftime("%d-%m-%Y")}


def csv_rows(body: bytes) -> list[list[str]]:
    return list(csv.reader(io.StringIO(body.decode("utf-8-sig"), newline=""), delimiter=";"))


def pdf_pages(body: bytes) -> list[str]:
    return [page.extract_text() or "" for page in PdfReader(io.BytesIO(body)).pages]


def flat(text: str) -> str:
    return re.sub(r"\s+", "", text)


def danish(text) -> str:
    with force_locale("da"):
        return str(text)


def headers() -> list[str]:
    return [danish(column.title) for column in COLUMNS]


def citizen_data() -> list[str]:
    """Every citizen's name and CPR number in the database, in the forms they could be printed in."""
    found = []
    for name, number in db.session.execute(select(Citizen.name, Citizen.cpr)):
        found += [name, number, f"{number[:6]}-{number[6:]}", f"{number[:6]}-xxxx"]
    return found


def xlsx_texts(body: bytes) -> str:
    book = load_workbook(io.BytesIO(body))
    return "\n".join(str(cell.value) for sheet in book for row in sheet.iter_rows() for cell in row
                     if cell.value is not None)


def expected_row(case) -> list[str]:
    contract = db.session.scalar(select(ContractVersion).where(ContractVersion.case_id == case.id))
    review = portfolio.review_date_of(contract, STARTED)
    notice = clock.add_months(review, -contract.notice_months)
    first_due = clock.add_months(STARTED, 3)
    return [case.number, "Voksenhandicap", danish(case.legal_basis_info.label), SUPPLIER, contract.supplier_cvr,
            contract.offer_name, "1", STARTED.strftime("%d-%m-%Y"), "894432,50", "912500,00", "-18067,50",
            review.strftime("%d-%m-%Y"), notice.strftime("%d-%m-%Y"), first_due.strftime("%d-%m-%Y"),
            danish(_l("Overdue"))]


# --- The neutralising rule ------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "expected"), [
    ("=SUM(A1)", "'=SUM(A1)"), ("+1", "'+1"), ("-2", "'-2"), ("@x", "'@x"), ("\tTab", "'\tTab"), ("\rCR", "'\rCR"),
    ("＝1+1", "'＝1+1"), ("Solhøj Botilbud ApS", "Solhøj Botilbud ApS"), ("1+1", "1+1"), ("a=b", "a=b"), ("", ""),
    ("x\x00y\x1f", "xy"),
])
def test_neutralise_puts_an_apostrophe_before_formula_starts_only(text, expected):
    assert neutralise(text) == expected


# --- CSV ------------------------------------------------------------------------------------------------------------

def test_csv_is_danish_excel_with_one_exact_row_per_active_contract(app, staff, placement, make_client):
    response = make_client("manager").get("/reports/portfolio.csv", query_string=period_args())

    assert response.status_code == 200
    assert response.mimetype == "text/csv"
    from_, to = TODAY - timedelta(days=365), TODAY
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="portefolje-{from_.isoformat()}-{to.isoformat()}.csv"')
    body = response.get_data()
    assert body.startswith(b"\xef\xbb\xbf")                      # UTF-8 byte order mark for Excel
    assert b"\r\n" in body and b";" in body.splitlines()[0]
    rows = csv_rows(body)
    assert rows[0] == headers()
    assert rows[1:] == [expected_row(placement)]
    assert "894432,50" in body.decode("utf-8-sig")               # decimal comma, no thousands separator


def test_csv_and_xlsx_of_an_empty_portfolio_have_the_header_only(app, staff, make_client):
    client = make_client("manager")
    assert csv_rows(client.get("/reports/portfolio.csv").get_data()) == [headers()]
    sheet = load_workbook(io.BytesIO(client.get("/reports/portfolio.xlsx").get_data())).worksheets[0]
    assert [cell.value for cell in sheet[1]] == headers() and sheet.max_row == 1


# --- XLSX -----------------------------------------------------------------------------------------------------------

def test_xlsx_has_numbers_dates_and_text_cells(app, staff, placement, make_client):
    response = make_client("economy").get("/reports/portfolio.xlsx", query_string=period_args())

    assert response.status_code == 200
    assert response.mimetype == "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    assert re.search(r'attachment; filename="portefolje-\d{4}-\d\d-\d\d-\d{4}-\d\d-\d\d\.xlsx"',
                     response.headers["Content-Disposition"])
    book = load_workbook(io.BytesIO(response.get_data()))
    contracts, figures = book.worksheets
    assert [cell.value for cell in contracts[1]] == headers()
    row = dict(zip(headers(), contracts[2], strict=True))
    money = [row[danish(c.title)] for c in COLUMNS if c.kind == portfolio_export.MONEY]
    assert [cell.value for cell in money] == [894432.5, 912500, -18067.5]
    assert all(cell.data_type == "n" and cell.number_format == "#,##0.00" for cell in money)
    days = [row[danish(c.title)] for c in COLUMNS if c.kind == portfolio_export.DAY]
    assert all(cell.is_date and cell.number_format == "dd-mm-yyyy" for cell in days)
    assert days[0].value.date() == STARTED
    texts = [row[danish(c.title)] for c in COLUMNS if c.kind == portfolio_export.TEXT]
    assert all(cell.data_type == "s" for cell in texts)
    assert row[headers()[0]].value == placement.number and row[danish(COLUMNS[3].title)].value == SUPPLIER
    assert contracts.max_row == 2

    # The second sheet: municipality, unit, period and the headline figures, amounts as numbers.
    values = {sheet_row[0].value: sheet_row[1] for sheet_row in figures.iter_rows() if sheet_row[0].value}
    assert values[danish(_l("Municipality"))].value == "Eksempel Kommune"
    annual = values[danish(_l("Annual cost of the active contracts (DKK)"))]
    assert annual.value == 894432.5 and annual.number_format == "#,##0.00"


def test_formula_like_text_is_neutralised_in_csv_and_xlsx_and_numbers_are_not(app, staff, make_client):
    seeded(staff, len(FORMULA_NAMES))
    ids = db.session.scalars(select(ContractVersion.id).order_by(ContractVersion.id)).all()
    for contract_id, name in zip(ids, FORMULA_NAMES, strict=True):
        # Set directly: the ORM refuses any change to an approved version.
        db.session.execute(update(ContractVersion.__table__).where(ContractVersion.__table__.c.id == contract_id)
                           .values(supplier_name=name, offer_name=f"{name} tilbud"))
    unit = db.session.get(Unit, staff.manager.unit_id)
    db.session.execute(update(Unit.__table__).where(Unit.__table__.c.id == unit.id).values(name="=HYPERLINK(1)"))
    db.session.commit()
    client = make_client("manager")

    rows = csv_rows(client.get("/reports/portfolio.csv").get_data())[1:]
    suppliers = sorted(row[3] for row in rows)
    assert suppliers == sorted(f"'{name}" for name in FORMULA_NAMES)
    assert all(row[5].startswith("'") and row[1] == "'=HYPERLINK(1)" for row in rows)
    amounts = [value for row in rows for value in row[8:11] if value]
    assert amounts and all(re.fullmatch(r"-?\d+,\d\d", value) for value in amounts)   # never prefixed

    body = client.get("/reports/portfolio.xlsx").get_data()
    book = load_workbook(io.BytesIO(body))
    sheet = book.worksheets[0]
    cells = [cell for row in sheet.iter_rows(min_row=2) for cell in row]
    suppliers = sorted(row[3].value for row in sheet.iter_rows(min_row=2))
    # XML reads a carriage return back as a line feed; the apostrophe is what counts.
    assert suppliers == sorted(f"'{name}".replace("\r", "\n") for name in FORMULA_NAMES)
    assert all(row[3].data_type == "s" and row[5].data_type == "s" and row[1].value == "'=HYPERLINK(1)"
               for row in sheet.iter_rows(min_row=2))
    assert all(cell.data_type != "f" for workbook_sheet in book for row in workbook_sheet.iter_rows() for cell in row)
    with zipfile.ZipFile(io.BytesIO(body)) as archive:         # no formula anywhere in the file itself
        assert not any("<f>" in archive.read(name).decode() or "<f " in archive.read(name).decode()
                       for name in archive.namelist() if name.endswith(".xml"))
    amounts = [cell.value for cell in cells if cell.number_format == "#,##0.00"]
    assert amounts and all(isinstance(value, int | float) for value in amounts)


# --- The PDF report -------------------------------------------------------------------------------------------------

def test_pdf_report_of_one_contract(app, staff, placement, make_client):
    response = make_client("manager").get("/reports/followup.pdf", query_string=period_args())

    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith('inline; filename="portefolje-')
    pages = pdf_pages(response.get_data())
    text = "\n".join(pages)
    joined = flat(text)
    for expected in ("Eksempel Kommune", "Voksenhandicap", danish(_l("Portfolio report")),
                     f"{(TODAY - timedelta(days=365)).strftime('%d-%m-%Y')} – {TODAY.strftime('%d-%m-%Y')}",
                     "894.432,50", "912.500,00", "-18.067,50", SUPPLIER, placement.number, "SEL § 108"):
        assert flat(expected) in joined, expected
    # The overdue follow-up, with its due date, in the overdue list.
    overdue_page = next(page for page in pages if danish(_l("Overdue")) in page
                        and clock.add_months(STARTED, 3).strftime("%d-%m-%Y") in page)
    assert placement.number in overdue_page
    # The contract's row: one line of text with its columns in order.
    line = next(line for line in pages[-1].splitlines() if line.startswith(placement.number))
    assert re.search(rf"{placement.number}\s+SEL § 108\s+Solhøj Botilbud ApS\s+Solhøj\s+1\s+"
                     rf"{STARTED.strftime('%d-%m-%Y')}", line), line
    count = len(pages)
    assert flat(f"Side 1 af {count}") in flat(pages[0]) and flat(f"Side {count} af {count}") in flat(pages[-1])
    # Title page and charts (2 pages), the overdue follow-ups and the empty list of near dates, the contracts.
    assert count == 4, [page[:80] for page in pages]


def test_many_contracts_run_on_landscape_pages_with_the_header_on_each(app, staff, placement, make_client):
    seeded(staff, 120)
    body = make_client("manager").get("/reports/followup.pdf").get_data()
    reader = PdfReader(io.BytesIO(body))
    pages = [page.extract_text() or "" for page in reader.pages]
    heading = danish(_l("Active contracts (%(n)s)")) % {"n": 121}
    first = next(index for index, page in enumerate(pages) if flat(heading) in flat(page))
    contract_pages = pages[first:]
    first_rows, page_rows = portfolio_pdf.LANDSCAPE_ROWS
    assert len(contract_pages) == 1 + math.ceil((121 - first_rows) / page_rows)     # 36, then 42 a page: 3 pages
    titles = [danish(title) for title in (_l("Case"), _l("Supplier"),
                                          _l("Annual cost"))]
    for number, page in enumerate(contract_pages, start=first + 1):
        assert all(flat(title) in flat(page) for title in titles), number       # the header on every page
        assert flat(f"Side {number} af {len(pages)}") in flat(page)
        box = reader.pages[number - 1].mediabox
        assert box.width > box.height                                             # landscape
    case_numbers = re.findall(r"SK-\d{4}-\d{5}", "\n".join(contract_pages))
    assert len(case_numbers) == len(set(case_numbers)) == 121                    # every contract once
    assert reader.pages[0].mediabox.width < reader.pages[0].mediabox.height      # the rest is portrait


def test_no_citizen_name_or_cpr_in_any_download(app, staff, placement, make_client):
    seeded(staff, 30)
    client = make_client("manager")
    outputs = {
        "pdf": "\n".join(pdf_pages(client.get("/reports/followup.pdf").get_data())),
        "csv": client.get("/reports/portfolio.csv").get_data().decode("utf-8-sig"),
        "xlsx": xlsx_texts(client.get("/reports/portfolio.xlsx").get_data()),
    }
    secrets = citizen_data()
    assert CITIZEN in secrets and CPR in secrets
    for kind, text in outputs.items():
        assert placement.number in text, kind
        digits = re.sub(r"[\s\-.]", "", text)
        for secret in secrets:
            assert secret not in text, (kind, secret)
        assert CPR not in digits, kind
        assert not any(form in text for form in CPR_FORMS), kind


# --- Access, filters, audit -----------------------------------------------------------------------------------------

@pytest.mark.parametrize("login", ["caseworker", "procurement", "admin", "caseworker_other"])
@pytest.mark.parametrize("url", URLS)
def test_only_managers_and_economy_may_download(app, staff, make_client, login, url):
    assert make_client(login).get(url).status_code == 403


def test_signed_out_visitors_are_sent_to_sign_in(app, staff, client):
    for url in URLS:
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_managers_download_their_own_unit_only(app, staff, placement, make_client):
    other = make_client("manager_other")
    home = staff.manager.unit_id
    for url in URLS:
        response = other.get(url, query_string={"unit": str(home)})
        assert response.status_code == 422, url
        assert "own unit" in response.get_data(as_text=True) or "egen enhed" in response.get_data(as_text=True)
    # Their own unit has no contracts; the home unit's case is not in it.
    assert csv_rows(other.get("/reports/portfolio.csv").get_data()) == [headers()]
    assert placement.number not in "\n".join(pdf_pages(other.get("/reports/followup.pdf").get_data()))
    # Economy sees the cases they are on, and only those.
    assert len(csv_rows(make_client("economy").get("/reports/portfolio.csv").get_data())) == 2
    assert len(csv_rows(make_client("economy_other").get("/reports/portfolio.csv").get_data())) == 1


@pytest.mark.parametrize("args", [
    {"from": "31-02-2026"}, {"to": "i går"}, {"from": "01-06-2026", "to": "01-01-2026"}, {"unit": "abc"},
    {"unit": "999999"}, {"from": "01-01-1990", "to": "01-01-2026"},
])
@pytest.mark.parametrize("url", URLS)
def test_bad_filters_answer_422_with_a_message_and_write_nothing(app, staff, make_client, url, args):
    response = make_client("economy").get(url, query_string=args)

    assert response.status_code == 422
    assert response.mimetype == "text/html"
    assert "Content-Disposition" not in response.headers
    page = response.get_data(as_text=True)
    assert re.search(r"<p>[^<]{10,}</p>", page)                        # the reason, in words
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "portfolio.exported")) is None


def test_each_download_writes_an_audit_event_without_personal_data(app, staff, placement, make_client):
    client = make_client("manager")
    for url in URLS:
        assert client.get(url, query_string=period_args()).status_code == 200
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "portfolio.exported")
                                .order_by(AuditEvent.id)).all()
    assert [event.details["format"] for event in events] == ["pdf", "csv", "xlsx"]
    for event in events:
        assert event.actor_id == staff.manager.id and event.case_id is None
        assert (event.object_type, event.object_id) == ("units", staff.manager.unit_id)
        assert event.details == {"format": event.details["format"], "unit_id": staff.manager.unit_id,
                                 "period_from": (TODAY - timedelta(days=365)).isoformat(),
                                 "period_to": TODAY.isoformat(), "contracts": 1}
        stored = json.dumps(event.details, ensure_ascii=False)
        assert CITIZEN not in stored and CPR not in stored and placement.number not in stored


# --- The dashboard's download links ---------------------------------------------------------------------------------

def test_dashboard_links_the_downloads_and_the_progress_script(app, staff, placement, make_client):
    page = make_client("manager").get("/reports", query_string=period_args()).get_data(as_text=True)

    link = re.search(r'<a href="(/reports/followup\.pdf\?[^"]+)"([^>]*)>', page)
    assert link, page
    assert 'data-report-progress="report-progress"' in link.group(2)
    for attribute in ("data-progress-text", "data-seconds-text", "data-done-text", "data-error-text"):
        assert re.search(rf'{attribute}="[^"]+"', link.group(2)), attribute
    assert '{s}' in re.search(r'data-seconds-text="([^"]+)"', link.group(2)).group(1)
    assert re.search(r'<p id="report-progress" aria-live="polite">', page)
    assert re.search(r'<script src="/static/js/report-progress\.js[^"]*" defer></script>', page)
    assert "/reports/portfolio.csv?" in page and "/reports/portfolio.xlsx?" in page
    # The link carries the dashboard's filters, so the PDF shows what the page shows.
    query = link.group(1).replace("&amp;", "&")
    assert f"from={period_args()['from']}" in query and f"to={period_args()['to']}" in query


@pytest.mark.skipif(not shutil.which("pdftotext"), reason="pdftotext (poppler-utils) not installed")
def test_the_tab_aligned_columns_line_up_with_their_headings(app, staff, make_client):
    """Each row is one line of text lined up by tab stops: its values must sit under their headings."""
    seeded(staff, 50)
    body = make_client("manager").get("/reports/followup.pdf").get_data()
    last = len(PdfReader(io.BytesIO(body)).pages)
    xml = subprocess.run(["pdftotext", "-bbox", "-f", str(last), "-l", str(last), "-", "-"], input=body,
                         capture_output=True, check=True).stdout.decode()
    words = [(float(x0), float(x1), float(y0), text) for x0, y0, x1, text in re.findall(
        r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="[\d.]+">([^<]*)</word>', xml)]
    columns = portfolio_pdf._contract_columns(show_unit=False)
    heading_y = min(y for x0, x1, y, text in words if text == danish(columns[0].title))
    headings = [(x0, x1, text) for x0, x1, y, text in words if abs(y - heading_y) < 12]
    left = {danish(column.title).split()[0]: column for column in columns if not column.amount}
    starts = {text: x0 for x0, x1, text in headings if text in left}
    ends = [x1 for x0, x1, text in headings if text == danish(columns[-1].title).split()[-1]]
    rows = sorted({y for x0, x1, y, text in words if re.fullmatch(r"SK-\d{4}-\d{5}", text)})
    assert len(rows) >= 10 and ends
    for y in rows:
        line = sorted((x0, x1, text) for x0, x1, wy, text in words if abs(wy - y) < 1)
        dates = [x0 for x0, x1, text in line if re.fullmatch(r"\d\d-\d\d-\d{4}", text)]
        amounts = [x1 for x0, x1, text in line if re.fullmatch(r"-?\d{1,3}(\.\d{3})*,\d\d|–", text)]
        assert abs(line[0][0] - starts[danish(columns[0].title)]) < 0.75                  # the case number
        assert abs(dates[0] - starts[danish(_l("Started"))]) < 0.75, line                  # the first date
        assert abs(amounts[-1] - ends[0]) < 0.75, line                                      # the last amount
