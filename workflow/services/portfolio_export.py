"""The portfolio's active contracts as CSV (Danish Excel) and XLSX, for economy.

One row per active contract, the same columns in both formats. A text value a spreadsheet would
read as a formula is neutralised by one rule (`neutralise`, after OWASP's CSV injection advice);
amounts and dates are written as numbers and dates, never as text, so nothing numeric is mangled.

CSV: UTF-8 with a byte order mark, `;` between cells, dates dd-mm-yyyy and amounts with a decimal
comma and no thousands separator (894432,50) – what Danish Excel opens without an import dialog.
XLSX: number cells with a "#,##0.00" format, real date cells, text cells typed as strings, plus a
sheet with the headline figures.
"""
from __future__ import annotations

import csv
import io
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from flask import current_app
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from openpyxl import Workbook
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from workflow.i18n import followup_state_label
from workflow.models import User
from workflow.services import audit
from workflow.services.portfolio import NEAR_DAYS, ContractRow, Portfolio

# What makes a spreadsheet treat a cell as a formula (OWASP: = + - @, tab and carriage return);
# the full-width forms are read as formulas by some spreadsheets too.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Control characters XML (and so XLSX) cannot hold; they never belong in a name or a number.
_UNWRITABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")

TEXT, NUMBER, MONEY, DAY = "text", "number", "money", "day"
MONEY_FORMAT = "#,##0.00"
DAY_FORMAT = "dd-mm-yyyy"


def neutralise(text: str) -> str:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe; other text is unchanged."""
    text = _UNWRITABLE.sub("", text)
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


@dataclass(frozen=True)
class Column:
    title: object                            # lazily translated header
    kind: str                                # TEXT, NUMBER, MONEY or DAY
    value: Callable[[ContractRow], object]
    width: int = 14                          # XLSX column width, in characters


def _state(row: ContractRow) -> str:
    return followup_state_label(row.next_followup_state) if row.next_followup_state else ""


COLUMNS: tuple[Column, ...] = (
    Column(_l("Case number"), TEXT, lambda row: row.case_number, 15),
    Column(_l("Unit"), TEXT, lambda row: row.unit_name, 20),
    Column(_l("Legal basis"), TEXT, lambda row: row.legal_basis_label, 42),
    Column(_l("Supplier"), TEXT, lambda row: row.supplier_name, 34),
    Column(_l("CVR"), TEXT, lambda row: row.supplier_cvr, 10),
    Column(_l("Offer"), TEXT, lambda row: row.offer_name, 34),
    Column(_l("Contract version"), NUMBER, lambda row: row.contract_number, 9),
    Column(_l("Delivery started"), DAY, lambda row: row.delivery_started_on, 12),
    Column(_l("Annual cost (DKK)"), MONEY, lambda row: row.annual_cost, 16),
    Column(_l("List price per year (DKK)"), MONEY, lambda row: row.list_price_annual, 16),
    Column(_l("Difference from the list price (DKK)"), MONEY, lambda row: row.difference, 16),
    Column(_l("Review date"), DAY, lambda row: row.review_date, 12),
    Column(_l("Notice date"), DAY, lambda row: row.notice_date, 12),
    Column(_l("Next follow-up"), DAY, lambda row: row.next_followup, 12),
    Column(_l("Follow-up state"), TEXT, _state, 14),
)


def unit_text(portfolio: Portfolio) -> str:
    return portfolio.unit_name or _("All my cases")


def headline_figures(portfolio: Portfolio) -> list[tuple[str, object, str]]:
    """(label, value, kind) of the report's headline figures: the XLSX's second sheet and the PDF's summary."""
    return [
        (_("Active contracts"), portfolio.active_contracts, NUMBER),
        (_("Annual cost of the active contracts (DKK)"), portfolio.annual_total, MONEY),
        (_("List price per year of the contracts with a known list price (DKK)"), portfolio.list_total, MONEY),
        (_("Saved against the list price per year (DKK)"), portfolio.savings, MONEY),
        (_("Follow-ups held on time in the period"), portfolio.followups_on_time, NUMBER),
        (_("Follow-ups held late in the period"), portfolio.followups_late, NUMBER),
        (_("Follow-ups overdue now"), portfolio.followups_overdue, NUMBER),
        (_("Follow-ups due within %(n)s days", n=portfolio.soon_days), portfolio.followups_soon, NUMBER),
        (_("Contracts near review or notice (%(n)s days)", n=NEAR_DAYS), portfolio.near_count, NUMBER),
    ]


def filename(portfolio: Portfolio, extension: str) -> str:
    """portefolje-<from>-<to>.<extension>, the dates as yyyy-mm-dd so that the files sort by period."""
    filters = portfolio.filters
    return f"portefolje-{filters.period_from.isoformat()}-{filters.period_to.isoformat()}.{extension}"


def record_export(portfolio: Portfolio, kind: str, user: User) -> None:
    """The audit event of a download: who, which format, unit and period, how many contracts – no case data."""
    filters = portfolio.filters
    audit.record("portfolio.exported", actor=user, object_type="units" if filters.unit_id else None,
                 object_id=filters.unit_id,
                 details={"format": kind, "unit_id": filters.unit_id, "period_from": filters.period_from.isoformat(),
                          "period_to": filters.period_to.isoformat(), "contracts": portfolio.active_contracts})


# --- CSV ---

def _csv_cell(value, kind: str) -> str:
    if value is None:
        return ""
    if kind == MONEY:
        return f"{Decimal(value):.2f}".replace(".", ",")
    if kind == DAY:
        return value.strftime("%d-%m-%Y")
    if kind == NUMBER:
        return str(value)
    return neutralise(str(value))


def csv_bytes(portfolio: Portfolio) -> bytes:
    """The active contracts as a CSV file for Danish Excel (UTF-8 with BOM, `;`, decimal comma)."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
    writer.writerow([neutralise(str(column.title)) for column in COLUMNS])
    for row in portfolio.contracts:
        writer.writerow([_csv_cell(column.value(row), column.kind) for column in COLUMNS])
    return buffer.getvalue().encode("utf-8-sig")


# --- XLSX ---

def _put(sheet, row: int, column: int, value, kind: str):
    """One cell: numbers as numbers, dates as dates, text always a string (never a formula)."""
    cell = sheet.cell(row=row, column=column)
    if value is None:
        return cell
    if kind == MONEY:
        cell.value = Decimal(value)
        cell.number_format = MONEY_FORMAT
    elif kind == DAY:
        cell.value = value if isinstance(value, date) else None
        cell.number_format = DAY_FORMAT
    elif kind == NUMBER:
        cell.value = value
    else:
        cell.value = neutralise(str(value))
        cell.data_type = "s"
    return cell


def xlsx_bytes(portfolio: Portfolio) -> bytes:
    """The active contracts as an XLSX workbook, with a second sheet of headline figures."""
    book = Workbook()
    contracts = book.active
    contracts.title = _("Contracts")[:31]
    bold = Font(bold=True)
    for index, column in enumerate(COLUMNS, start=1):
        _put(contracts, 1, index, str(column.title), TEXT).font = bold
        contracts.column_dimensions[get_column_letter(index)].width = column.width
    for number, row in enumerate(portfolio.contracts, start=2):
        for index, column in enumerate(COLUMNS, start=1):
            _put(contracts, number, index, column.value(row), column.kind)
    contracts.freeze_panes = "B2"
    contracts.auto_filter.ref = f"A1:{get_column_letter(len(COLUMNS))}{len(portfolio.contracts) + 1}"

    figures = book.create_sheet(_("Key figures")[:31])
    figures.column_dimensions["A"].width = 62
    figures.column_dimensions["B"].width = 24
    filters = portfolio.filters
    about = [(_("Municipality"), current_app.config["MUNICIPALITY_NAME"], TEXT),
             (_("Unit"), unit_text(portfolio), TEXT),
             (_("Period from"), filters.period_from, DAY),
             (_("Period to"), filters.period_to, DAY),
             (_("Made on"), portfolio.today, DAY)]
    line = 0
    for block in (about, headline_figures(portfolio)):
        for label, value, kind in block:
            line += 1
            _put(figures, line, 1, label, TEXT).font = bold
            _put(figures, line, 2, value, kind)
        line += 1                                     # a blank row after each block
    line += 1
    for index, title in enumerate((_("Legal basis"), _("Active contracts"), _("Annual cost (DKK)")), start=1):
        _put(figures, line, index, title, TEXT).font = bold
    for label, count, annual in portfolio.by_legal_basis:
        line += 1
        _put(figures, line, 1, label, TEXT)
        _put(figures, line, 2, count, NUMBER)
        _put(figures, line, 3, annual, MONEY)
    figures.column_dimensions["C"].width = 18

    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
