"""The portfolio report PDF: the dashboard's figures and charts, overdue follow-ups and the active contracts.

The portfolio (workflow/services/portfolio.py) is turned into plain strings first, then rendered by
WeasyPrint with the charts' SVG inline. Cases appear by case number only: no citizen's name or CPR
number is in the portfolio, so none can reach the report.

Speed: WeasyPrint spends about half a millisecond on every table cell (its box, its style, its line
of text), so a 1,000-row table of 13 cells takes several seconds on its own. The long tables
(overdue follow-ups, contracts near their dates, the active contracts) are therefore built from few
boxes:

* a row is one line of plain text whose values are lined up by tabs (see `tabbed`): the widths are
  measured here from the font's own advance widths (IBM Plex Sans, which the PDF embeds; kerning
  and ligatures are off in those lines, so the measure is exact), a text too long for its column is
  shortened with "…", texts start at their column's left edge and amounts end at its right edge;
* a page of rows is one table cell holding the page's lines at a fixed line height, striped a line
  at a time. A fixed number of rows fills a page, so each of these tables starts on a page of its
  own; its header row, one cell per column of the same widths, repeats on every page.

The CSV and XLSX exports carry the same contracts as real cells, for anyone who works with the figures.
"""
from __future__ import annotations

import functools
import math
import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from babel.numbers import format_decimal
from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l
from fontTools.ttLib import TTFont
from markupsafe import Markup

from workflow.charts import Chart
from workflow.i18n import day, followup_kind_label, followup_state_label
from workflow.legal_basis import BY_CODE as LEGAL_BASES
from workflow.pdf import render_pdf
from workflow.services import followup
from workflow.services.portfolio import ContractRow, Portfolio
from workflow.services.portfolio_export import DAY, MONEY, headline_figures, unit_text

CHART_ORDER = ("by_legal_basis", "by_supplier", "followups", "stage_days")

# The long tables, in CSS px (1/96 inch): 1,016 px fit a landscape A4 page inside its margins, 656 a portrait one.
FONT_FILE = "vendor/dkfds/fonts/IBMPlexSans/complete/woff/IBMPlexSans-Regular.woff"   # pdf.css's "Plex" 400
FONT_PX = 10               # 7.5 pt
TAB_PX = 1                 # a tab stop on every pixel: a tab snaps the pen onto the next whole pixel
GAP_PX = 8                 # the least free space after a text, before the next column
AMOUNT_PAD_PX = 6          # the space right of an amount (the amount headings' right padding)
SNAP_PX = 0.1              # the pen is kept this far from a whole pixel before a tab (a margin for rounding)
TAB_DRAW_SCALE = 1.024     # WeasyPrint 70 draws a tab this much wider than it lays it out (see `tabbed`)
LINE_PX = 14               # the line height of the long tables (the stripes follow it)
# Rows on a table's first page (under its heading) and on each further page, portrait and landscape.
PORTRAIT_ROWS = (56, 62)
LANDSCAPE_ROWS = (36, 42)
UNKNOWN_GLYPH_EM = 1.0     # a character the font lacks is drawn by a fallback font; assume it is wide
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True)
class Column:
    key: str
    title: object          # lazily translated heading
    width: int             # px
    amount: bool = False   # amounts are right-aligned in their column


def _contract_columns(show_unit: bool) -> list[Column]:
    narrow = show_unit      # the unit's column is paid for by the supplier's and the offer's
    return [column for column in (
        Column("case_number", _l("Case"), 96),
        Column("unit", _l("Unit"), 80) if show_unit else None,
        Column("basis", _l("Legal basis"), 64),
        Column("supplier", _l("Supplier"), 96 if narrow else 144),
        Column("offer", _l("Offer"), 88 if narrow else 112),
        Column("version", _l("Ver."), 24),
        Column("started", _l("Started"), 64),
        Column("review", _l("Review date"), 64),
        Column("notice", _l("Notice date"), 64),
        Column("next", _l("Next follow-up"), 136 if narrow else 144),
        Column("annual", _l("Annual cost"), 80, amount=True),
        Column("listed", _l("List price"), 80, amount=True),
        Column("difference", _l("Difference"), 80, amount=True),
    ) if column is not None]


FOLLOWUP_COLUMNS = (Column("case_number", _l("Case"), 96), Column("unit", _l("Unit"), 120),
                    Column("kind", _l("Kind"), 104), Column("due", _l("Due date"), 72),
                    Column("state", _l("State"), 88), Column("responsible", _l("Responsible"), 176))
NEAR_COLUMNS = (Column("case_number", _l("Case"), 96), Column("supplier", _l("Supplier"), 168),
                Column("offer", _l("Offer"), 160), Column("notice", _l("Notice date"), 72),
                Column("review", _l("Review date"), 72), Column("annual", _l("Annual cost"), 88, amount=True))


class TextMeasure:
    """Widths of text in IBM Plex Sans Regular at FONT_PX, from the font's advance widths."""

    def __init__(self, font_path: Path):
        font = TTFont(str(font_path), lazy=True)
        scale = FONT_PX / font["head"].unitsPerEm
        advances = font["hmtx"].metrics
        self.widths = {code: advances[glyph][0] * scale for code, glyph in font.getBestCmap().items()}
        self.unknown = UNKNOWN_GLYPH_EM * FONT_PX
        self.ellipsis = self.width("…")
        self.space = self.width(" ")

    def width(self, text: str) -> float:
        return sum(self.widths.get(ord(char), self.unknown) for char in text)

    def fit(self, text: str, room: float) -> str:
        """The text, or as much of it as fits with "…" after it."""
        if self.width(text) <= room:
            return text
        used, room = 0.0, room - self.ellipsis
        for index, char in enumerate(text):
            used += self.widths.get(ord(char), self.unknown)
            if used > room:
                return text[:index].rstrip() + "…"
        return text


@functools.cache
def _measure(static_folder: str) -> TextMeasure:
    return TextMeasure(Path(static_folder) / FONT_FILE)


def tabbed(values: list[str], columns: list[Column], measure: TextMeasure) -> str:
    """One line of text with each value in its column: texts at the column's start, amounts at its end.

    Spaces bring the pen to within a few pixels of where the value starts, then tabs (a stop on every
    pixel) snap it onto that pixel; amounts (tabular figures) start on the pixel nearest their exact
    place, within half a pixel. WeasyPrint 70 draws a tab 2.4 % wider than it lays it out (it scales
    the empty glyph's width by 1024/1000): the few pixels of tabs keep that small, and the drift it
    adds up to is taken off the next column's start, so that no row wanders from its headings.
    """
    parts, pen, drift, start = [], 0.0, 0.0, 0
    for value, column in zip(values, columns, strict=True):
        if column.amount:
            text = value       # never shortened: a wide amount may reach into the free space before it
            target = round(start + column.width - AMOUNT_PAD_PX - measure.width(text) - drift)
        else:
            text = measure.fit(_WHITESPACE.sub(" ", value).strip(), column.width - GAP_PX)
            target = round(start - drift)
        if target > pen:
            spaces = max(0, math.floor((target - SNAP_PX - pen) / measure.space))
            fraction = (pen + spaces * measure.space) % 1
            if spaces and not SNAP_PX < fraction < 1 - SNAP_PX:
                spaces -= 1          # too near a stop to be sure which side of it the pen is
            pen += spaces * measure.space
            tabs = target - math.floor(pen)
            drift += (target - pen) * (TAB_DRAW_SCALE - 1)
            parts.append(" " * spaces + "\t" * tabs)
            pen = target
        parts.append(text)
        pen += measure.width(text)
        start += column.width
    return "".join(parts)


def tabbed_table(columns: list[Column] | tuple[Column, ...], rows: list[dict[str, str]],
                 measure: TextMeasure, page_rows: tuple[int, int]) -> dict:
    """A long table: its columns, and its rows as lines of tab-aligned text, in blocks of a page."""
    lines = [tabbed([row[column.key] for column in columns], list(columns), measure) for row in rows]
    first_amount = next((index for index, column in enumerate(columns) if column.amount), len(columns))
    return {"columns": [{"title": str(column.title), "width": column.width, "amount": column.amount}
                        for column in columns],
            "first_amount": first_amount, "width": sum(column.width for column in columns),
            "font_px": FONT_PX, "tab_px": TAB_PX, "line_px": LINE_PX, "amount_pad_px": AMOUNT_PAD_PX,
            "count": len(rows),
            "blocks": page_blocks(lines, page_rows)}


def page_blocks(lines: list[str], page_rows: tuple[int, int]) -> list[str]:
    """The lines in blocks of a page: the first page's block is shorter, under the table's heading."""
    blocks, start = [], 0
    while start < len(lines):
        chunk = lines[start:start + page_rows[bool(blocks)]]
        blocks.append("\n".join(chunk))
        start += len(chunk)
    return blocks


def _amount(value: Decimal | None) -> str:
    """An amount in a table whose heading says DKK: 894.432,50 (no "kr." on every row)."""
    return "–" if value is None else format_decimal(value, "#,##0.00", locale="da_DK")


def _basis(code: str) -> str:
    basis = LEGAL_BASES.get(code)
    return f"{basis.law} {basis.paragraph}" if basis else code


def _contract_values(row: ContractRow) -> dict[str, str]:
    # Only a follow-up that needs attention says so; "scheduled" is the rule (the CSV and XLSX say it too).
    state = (f" ({followup_state_label(row.next_followup_state)})"
             if row.next_followup_state not in (None, followup.SCHEDULED) else "")
    return {"case_number": row.case_number, "unit": row.unit_name, "basis": _basis(row.legal_basis),
            "supplier": row.supplier_name, "offer": row.offer_name, "version": str(row.contract_number),
            "started": day(row.delivery_started_on), "annual": _amount(row.annual_cost),
            "listed": _amount(row.list_price_annual), "difference": _amount(row.difference),
            "review": day(row.review_date), "notice": day(row.notice_date),
            "next": day(row.next_followup) + state if row.next_followup else "–"}


def _figure(value, kind: str) -> str:
    if kind == MONEY:
        return _amount(value)          # the label says DKK
    if kind == DAY:
        return day(value)
    return format_decimal(value, locale="da_DK")


def report_data(portfolio: Portfolio, charts: dict[str, Chart]) -> dict:
    """Everything the report shows, as strings and lists; the charts' SVG marked safe for inline use."""
    filters = portfolio.filters
    measure = _measure(current_app.static_folder)
    return {
        "municipality": current_app.config["MUNICIPALITY_NAME"],
        "unit": unit_text(portfolio),
        "period": f"{day(filters.period_from)} – {day(filters.period_to)}",
        "made_on": day(portfolio.today),
        "near_until": day(portfolio.near_until),
        "figures": [(label, _figure(value, kind)) for label, value, kind in headline_figures(portfolio)],
        "charts": [{"title": chart.title, "headings": chart.headings, "rows": chart.rows,
                    # Drawn by pygal from our figures, every label escaped by it: safe to put in as markup.
                    "svg": Markup(chart.svg)}  # noqa: S704 - see above
                   for chart in (charts[name] for name in CHART_ORDER if name in charts)],
        "overdue": tabbed_table(FOLLOWUP_COLUMNS, [
            {"case_number": row.case_number, "unit": row.unit_name, "kind": followup_kind_label(row.kind),
             "due": day(row.due_date), "state": followup_state_label(row.state), "responsible": row.responsible}
            for row in portfolio.overdue], measure, PORTRAIT_ROWS),
        "near": tabbed_table(NEAR_COLUMNS, [
            {"case_number": row.case_number, "supplier": row.supplier_name, "offer": row.offer_name,
             "notice": day(row.notice_date), "review": day(row.review_date), "annual": _amount(row.annual_cost)}
            for row in portfolio.near_dates], measure, PORTRAIT_ROWS),
        "contracts": tabbed_table(_contract_columns(show_unit=portfolio.unit_name is None),
                                  [_contract_values(row) for row in portfolio.contracts], measure, LANDSCAPE_ROWS),
        "annual_total": _amount(portfolio.annual_total),
    }


def render(portfolio: Portfolio, charts: dict[str, Chart]) -> bytes:
    """The Danish A4 portfolio report (PDF/A-3b); the contracts table on landscape pages."""
    with force_locale("da"):
        return render_pdf("pdf/portfolio.html", d=report_data(portfolio, charts))
