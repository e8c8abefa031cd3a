"""The market scan page's words and amounts, each translated or formatted once per page.

A page shows a hundred offers with five score parts, reasons, warnings, price units and amounts each,
but only a few dozen distinct messages: looking each one up in the catalogue again (and formatting
the same median again) took more time than the rest of the page.
"""
from __future__ import annotations

from decimal import Decimal

from workflow.i18n import money, price_unit_label
from workflow.services.market_scan import MESSAGES, PART_LABELS, ScorePart, Text


class ScanTexts:
    """For one page, in the reader's language: ask it instead of str() on the scan's texts."""

    def __init__(self) -> None:
        self._messages: dict[str, str] = {}
        self._labels: dict[str, str] = {}
        self._units: dict[str, str] = {}
        self._amounts: dict[Decimal | None, str] = {}

    def __call__(self, text: Text) -> str:
        message = self._messages.get(text.key)
        if message is None:
            message = self._messages[text.key] = str(MESSAGES[text.key])
        return text.filled(message)

    def reason(self, part: ScorePart) -> str:
        return "; ".join(self(text) for text in part.reasons)

    def label(self, part: ScorePart) -> str:
        if part.key not in self._labels:
            self._labels[part.key] = str(PART_LABELS[part.key])
        return self._labels[part.key]

    def price_unit(self, unit: str) -> str:
        if unit not in self._units:
            self._units[unit] = price_unit_label(unit)
        return self._units[unit]

    def money(self, amount: Decimal | None) -> str:
        if amount not in self._amounts:
            self._amounts[amount] = money(amount)
        return self._amounts[amount]
