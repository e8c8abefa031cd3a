"""The portfolio's charts, drawn on the server as SVG with pygal: the same chart on the page and in the PDF.

Each chart comes with its title, an alt text that states the figures, and the rows of the data
table shown beside it (the accessible alternative). The SVG is deterministic: its id is the
chart's name and pygal's dated comments and its (unused) script are removed, so the same data gives
the same bytes.
The page shows a chart as an <img> with a data: URI (the CSP forbids the SVG's inline <style>
in the page itself); the PDF puts the SVG inline.
"""
from __future__ import annotations

import base64
import re
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from html import escape

import pygal
from babel.numbers import format_compact_decimal, format_decimal
from flask_babel import get_locale, ngettext
from flask_babel import gettext as _
from pygal.style import Style

from workflow.i18n import money

WIDTH = 800
TOP_SUPPLIERS = 10
FONT = '"IBM Plex Sans", Plex, Arial, Helvetica, sans-serif'
BLUE, GREEN, AMBER, RED, INK = "#004993", "#00703c", "#8a4b00", "#b51d09", "#1a1a1a"   # 4.5:1 or more on white

HOUSE_STYLE = Style(
    background="#ffffff", plot_background="#ffffff", foreground=INK, foreground_strong=INK,
    foreground_subtle="#bfbfbf", opacity="1", opacity_hover="1", transition="0ms",
    colors=(BLUE, GREEN, AMBER, RED), font_family=FONT, label_font_family=FONT, major_label_font_family=FONT,
    value_font_family=FONT, value_label_font_family=FONT, title_font_family=FONT, legend_font_family=FONT,
    tooltip_font_family=FONT, no_data_font_family=FONT, label_font_size=14, major_label_font_size=14,
    value_font_size=13, value_label_font_size=13, title_font_size=16, legend_font_size=13, tooltip_font_size=13)

_COMMENT = re.compile(r"<!--.*?-->", re.DOTALL)
_SCRIPT = re.compile(r"<script\b.*?</script>", re.DOTALL)   # pygal's config for its tooltips, even with js=[]
_TITLE = re.compile(r"<title>.*?</title>", re.DOTALL)


@dataclass(frozen=True)
class Chart:
    name: str
    title: str
    svg: str                                   # "" when there is no data for the period
    alt: str                                   # the figures in words, for the img's alt and the PDF
    headings: tuple[str, ...] = ()             # the data table: column headings ...
    rows: tuple[tuple[str, ...], ...] = field(default=())   # ... and rows of formatted cells

    @property
    def data_uri(self) -> str:
        """The SVG as a data: URI for an <img> on the page (img-src allows data:)."""
        if not self.svg:
            return ""
        return "data:image/svg+xml;base64," + base64.b64encode(self.svg.encode()).decode("ascii")


def _locale() -> str:
    return "da_DK" if str(get_locale() or "da") == "da" else "en_DK"


def kroner(value: float | Decimal) -> str:
    """A short amount for an axis tick, e.g. "1,5 mio. kr." (pygal hands the axis floats; only labels are shown)."""
    whole = Decimal(str(value)).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    return f"{format_compact_decimal(whole, locale=_locale(), fraction_digits=1)} kr."


def contracts_text(count: int) -> str:
    return ngettext("%(num)s contract", "%(num)s contracts", count)


def one_decimal(value: Decimal) -> str:
    """An average number of days as the tables show it: 3,8 and 10,0."""
    return format_decimal(value, format="#,##0.0", locale=_locale())


def days_text(value: Decimal) -> str:
    return _("%(days)s days", days=one_decimal(value))


def _config(height: int, **options) -> dict:
    return {"width": WIDTH, "height": height, "explicit_size": True, "js": [], "disable_xml_declaration": True,
            "style": HOUSE_STYLE, "show_legend": False, "print_values": False, "pretty_print": False,
            "truncate_label": -1, "margin": 12, "spacing": 8, **options}


def _render(chart, name: str, title: str) -> str:
    """The SVG with a fixed id and our <title>, without pygal's dated comments."""
    chart.uuid = f"portfolio-{name}"
    svg = chart.render(is_unicode=True)
    svg = _SCRIPT.sub("", _COMMENT.sub("", svg))
    return _TITLE.sub(lambda _match: f"<title>{escape(title)}</title>", svg, count=1)


def _cost_chart(name: str, title: str, group: str, items: list[tuple[str, int, Decimal]],
                table_only: tuple[tuple[str, int, Decimal], ...] = ()) -> Chart:
    """Annual cost per group as horizontal bars, largest on top; the table adds the number of contracts
    and the rows in table_only (a sum of many would dwarf the bars)."""
    headings = (group, _("Contracts"), _("Annual cost"))
    if not items:
        return Chart(name, title, "", _("No data for the period."), headings)
    chart = pygal.HorizontalBar(**_config(90 + 36 * len(items), value_formatter=kroner, max_scale=5))
    chart.x_labels = [label for label, _count, _cost in reversed(items)]
    chart.add(title, [{"value": cost, "formatter": lambda _v, text=money(cost): text}
                      for _label, _count, cost in reversed(items)])
    rows = (*items, *table_only)
    parts = [f"{label}: {contracts_text(count)}, {money(cost)}" for label, count, cost in rows]
    return Chart(name, title, _render(chart, name, title), f"{title}. " + "; ".join(parts) + ".", headings,
                 tuple((label, str(count), money(cost)) for label, count, cost in rows))


def legal_basis_chart(portfolio) -> Chart:
    return _cost_chart("by_legal_basis", _("Annual cost by legal basis"), _("Legal basis"), portfolio.by_legal_basis)


def supplier_chart(portfolio) -> Chart:
    items = list(portfolio.by_supplier[:TOP_SUPPLIERS])
    rest = portfolio.by_supplier[TOP_SUPPLIERS:]
    others = ((_("Others (%(n)s suppliers)", n=len(rest)), sum(count for _l, count, _c in rest),
               sum((cost for _l, _n, cost in rest), Decimal("0.00"))),) if rest else ()
    title = _("Annual cost by supplier (the %(n)s largest)", n=TOP_SUPPLIERS) if rest else _("Annual cost by supplier")
    return _cost_chart("by_supplier", title, _("Supplier"), items, table_only=others)


def followup_chart(portfolio) -> Chart:
    title = _("Follow-ups: held on time, held late, and overdue now")
    items = [(_("Held on time"), portfolio.followups_on_time, GREEN), (_("Held late"), portfolio.followups_late, AMBER),
             (_("Overdue now"), portfolio.followups_overdue, RED)]
    headings = (_("Follow-ups"), _("Number"))
    if not any(count for _label, count, _colour in items):
        return Chart("followups", title, "", _("No data for the period."), headings)
    # One series a bar, stacked, so that each bar takes its colour from the style (no inline style attributes).
    colours = Style(**{**HOUSE_STYLE.to_dict(), "colors": tuple(colour for _l, _n, colour in items)})
    chart = pygal.StackedBar(**_config(320, style=colours, min_scale=1, max_scale=6,
                                       value_formatter=lambda v: format_decimal(v, locale=_locale())))
    chart.x_labels = [label for label, _count, _colour in items]
    for index, (label, count, _colour) in enumerate(items):
        chart.add(label, [count if position == index else None for position in range(len(items))])
    parts = [f"{label}: {count}" for label, count, _colour in items]
    return Chart("followups", title, _render(chart, "followups", title), f"{title}. " + "; ".join(parts) + ".",
                 headings, tuple((label, str(count)) for label, count, _colour in items))


def stage_days_chart(portfolio) -> Chart:
    title = _("Average days in each stage (stays that ended in the period)")
    items = [(label, average) for _code, label, _open, average in portfolio.stages if average is not None]
    headings = (_("Stage"), _("Average days"))
    if not items:
        return Chart("stage_days", title, "", _("No data for the period."), headings)
    chart = pygal.HorizontalBar(**_config(90 + 36 * len(items), max_scale=8,
                                          value_formatter=lambda v: format_decimal(v, locale=_locale())))
    chart.x_labels = [label for label, _average in reversed(items)]
    chart.add(title, [{"value": average, "formatter": lambda _v, text=days_text(average): text}
                      for _label, average in reversed(items)])
    parts = [f"{label}: {days_text(average)}" for label, average in items]
    return Chart("stage_days", title, _render(chart, "stage_days", title), f"{title}. " + "; ".join(parts) + ".",
                 headings, tuple((label, one_decimal(average)) for label, average in items))


def portfolio_charts(portfolio) -> dict[str, Chart]:
    """The dashboard's four charts by name: by_legal_basis, by_supplier, followups, stage_days."""
    return {"by_legal_basis": legal_basis_chart(portfolio), "by_supplier": supplier_chart(portfolio),
            "followups": followup_chart(portfolio), "stage_days": stage_days_chart(portfolio)}
