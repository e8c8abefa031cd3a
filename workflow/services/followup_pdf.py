"""The case's follow-up report as PDF: the schedule, the held follow-ups, goals over time, the
supplier side and the money, for staff.

As with the contract summary, the data is built first as plain values (no ORM objects reach the
template) and rendered in Danish whatever the reader's language.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import force_locale

from workflow import clock
from workflow.i18n import (
    FOLLOWUP_KINDS,
    FOLLOWUP_OUTCOMES,
    FOLLOWUP_STATES,
    GOAL_SCORES,
    QUALITY_RATINGS,
    day,
    legal_basis_label,
    level_label,
    money,
)
from workflow.models import ContractVersion, FollowUp, PurchaseCase
from workflow.pdf import render_pdf
from workflow.services import contracts, followup, settings
from workflow.vum import THEME_LABELS

# Dates per goals-over-time table: more would squeeze the goal texts on an A4 page.
DATES_PER_GOAL_TABLE = 4


def _label(labels: dict, code: str | None) -> str:
    return "–" if code is None else str(labels.get(code, code))


def _text(value: str | None) -> str:
    return (value or "").strip()


def _contract(contract: ContractVersion | None, started_on: date | None) -> dict | None:
    if contract is None:
        return None
    review, expected_end = contract.review_date, None
    counted_from = started_on or contract.start_date
    if review is None and contract.duration_months and counted_from:
        # No review date in the terms: the expected duration counts from the actual start of delivery.
        expected_end = clock.add_months(counted_from, contract.duration_months)
    until = review or expected_end
    return {
        "version": contract.number,
        "approved_on": day(contract.approved_at),
        "start_date": day(contract.start_date),
        "annual_cost": money(contract.annual_cost),
        "list_price_annual": money(contract.list_price_annual),
        "difference_from_list": money(contract.difference_from_list),
        "review_date": day(review) if review else "",
        "expected_end": day(expected_end) if expected_end else "",
        "duration_months": contract.duration_months,
        "notice_months": contract.notice_months,
        "notice_date": day(followup.notice_date(until, contract.notice_months)) if until else "–",
    }


def _when(item: FollowUp) -> tuple[date, int]:
    """In the order things happened: a follow-up held early or late sits where it was held."""
    return (item.held_on or item.cancelled_on or item.due_date, item.id)


def _schedule(items: list[FollowUp], today: date) -> list[dict]:
    soon_days = settings.get("followup_soon_days")
    rows = []
    for item in sorted(items, key=_when):
        state = followup.state_of(item, today, soon_days)
        rows.append({"due": day(item.due_date), "kind": _label(FOLLOWUP_KINDS, item.kind), "state": state,
                     "state_label": _label(FOLLOWUP_STATES, state),
                     "held": day(item.held_on) if item.held_on else "",
                     "cancelled": day(item.cancelled_on) if item.cancelled_on else ""})
    return rows


def _history(held: list[FollowUp]) -> list[dict]:
    return [{
        "held": day(item.held_on),
        "due": day(item.due_date),
        "recorded_by": item.recorded_by.full_name if item.recorded_by else "–",
        "participants": _text(item.participants),
        "citizen_view": _text(item.citizen_view),
        "levels": [{"theme": _label(THEME_LABELS, theme), "level": level_label(level)}
                   for theme, level in sorted((item.functional_levels or {}).items(),
                                              key=lambda pair: list(THEME_LABELS).index(pair[0])
                                              if pair[0] in THEME_LABELS else len(THEME_LABELS))],
        "goal_notes": [{"goal": score.goal_text, "score": _label(GOAL_SCORES, score.score), "note": score.note}
                       for score in item.goal_scores if _text(score.note)],
        "notes": _text(item.notes),
        "outcome": _label(FOLLOWUP_OUTCOMES, item.outcome),
        "end_date": day(item.end_date) if item.end_date else "",
        "end_reason": _text(item.end_reason),
    } for item in held]


def _goals_over_time(held: list[FollowUp]) -> list[dict]:
    """One row per goal text, one column per held follow-up, in tables of a few dates each.

    Goals are matched by their text, as kept on each score, so a goal re-worded at a re-assessment
    starts a row of its own and the old row stays with the dates it was scored on.
    """
    goals: list[str] = []
    cells: dict[tuple[str, int], str] = {}
    for column, item in enumerate(held):
        for score in item.goal_scores:
            if score.goal_text not in goals:
                goals.append(score.goal_text)
            cells[(score.goal_text, column)] = score.score
    tables = []
    for first in range(0, len(held), DATES_PER_GOAL_TABLE):
        columns = range(first, min(first + DATES_PER_GOAL_TABLE, len(held)))
        tables.append({
            "dates": [day(held[column].held_on) for column in columns],
            "rows": [{"goal": goal, "cells": [{"score": cells.get((goal, column)),
                                               "label": _label(GOAL_SCORES, cells.get((goal, column)))}
                                              for column in columns]}
                     for goal in goals],
        })
    return tables if goals else []


def _supplier_side(items: list[FollowUp]) -> list[dict]:
    return [{
        "date": day(item.held_on or item.due_date),
        "kind": _label(FOLLOWUP_KINDS, item.kind),
        "reports_received": item.reports_received,
        "quality": _label(QUALITY_RATINGS, item.quality),
        "deviations": _text(item.deviations),
        "incidents": _text(item.incidents),
    } for item in sorted(items, key=_when) if item.supplier_side_recorded]


def _costs(case: PurchaseCase, items: list[FollowUp], today: date) -> dict:
    periods = sorted((item for item in items if item.period_from is not None and item.invoiced is not None),
                     key=lambda item: (item.period_from, item.period_to, item.id))
    invoiced = sum((item.invoiced for item in periods), Decimal("0.00"))
    amounts = sum((item.contract_amount for item in periods if item.contract_amount is not None), Decimal("0.00"))
    ended = followup.ending(case)
    started = case.delivery_started_on
    # Nothing is owed after the placement ended, so "so far" stops at the end date when that has passed.
    until = min(today, ended.end_date) if ended and ended.end_date else today
    return {
        "periods": [{"from": day(item.period_from), "to": day(item.period_to), "invoiced": money(item.invoiced),
                     "contract_amount": money(item.contract_amount), "difference": money(item.difference)}
                    for item in periods],
        "invoiced_total": money(invoiced),
        "contract_total": money(amounts),
        "difference_total": money(invoiced - amounts),
        "so_far": {"from": day(started), "to": day(until),
                   "amount": money(followup.cost_between(case, started, until)) if started else "–"},
        "ending": None if ended is None else {
            "end_date": day(ended.end_date),
            "reason": _text(ended.reason),
            "notice_months": ended.notice_months,
            "notice_date": day(ended.notice_date),
            "notice_given_on": day(ended.notice_given_on) if ended.notice_given_on else "–",
            "computed_cost": money(ended.computed_cost),
            "final_cost": money(ended.final_cost),
        },
    }


def report_data(case: PurchaseCase, today: date) -> dict:
    """Everything the follow-up report shows, as strings, numbers and lists."""
    contract = contracts.in_force(case)
    items = followup.follow_ups(case)
    held = sorted((item for item in items if item.kind == "individual" and item.held_on is not None),
                  key=lambda item: (item.held_on, item.id))
    return {
        "made_on": day(today),
        "municipality": contract.acting_municipality if contract else "",
        "case_number": case.number,
        "citizen": {"name": case.citizen.display_name, "cpr": case.citizen.cpr_masked},
        "legal_basis": legal_basis_label(case.legal_basis),
        "unit": case.unit.name,
        "caseworker": case.owner.full_name,
        "supplier": contract.supplier_name if contract else "–",
        "offer": contract.offer_name if contract else "–",
        "delivery_started_on": day(case.delivery_started_on),
        "contract": _contract(contract, case.delivery_started_on),
        "schedule": _schedule(items, today),
        "history": _history(held),
        "goal_tables": _goals_over_time(held),
        "supplier_side": _supplier_side(items),
        "costs": _costs(case, items, today),
    }


def render(case: PurchaseCase, today: date) -> bytes:
    """The Danish A4 follow-up report (PDF/A, like the contract summary)."""
    with force_locale("da"):
        return render_pdf("pdf/followup.html", d=report_data(case, today))
