"""Language choice and the formats users read: dd-mm-yyyy, 1.234,50 kr., Copenhagen time."""
from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from babel.numbers import format_currency, format_decimal
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

from workflow import clock, pricing, vum
from workflow.api.problems import is_api_request
from workflow.extensions import babel
from workflow.legal_basis import BY_CODE as LEGAL_BASES
from workflow.legal_basis import choices as legal_basis_choices
from workflow.municipalities import BY_CODE as MUNICIPALITIES
from workflow.municipalities import choices as municipality_choices
from workflow.process import EVENT_LABELS, OUTCOME_EVENTS, Stage
from workflow.vocabulary import SERVICE_TYPE_LABELS, TARGET_GROUP_LABELS


def select_locale() -> str:
    chosen = session.get("language") if has_request_context() else None
    languages = current_app.config["LANGUAGES"]
    if chosen is None and is_api_request():
        chosen = request.accept_languages.best_match(languages)  # an API client has no session: its header decides
    if chosen in languages:
        return chosen
    return current_app.config["BABEL_DEFAULT_LOCALE"]


def money(value: Decimal | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        raise TypeError("money must be Decimal")
    locale = str(get_locale() or "da")
    return format_currency(Decimal(value), "DKK", locale="da_DK" if locale == "da" else "en_DK")


def number(value) -> str:
    return format_decimal(value, locale="da_DK" if str(get_locale()) == "da" else "en_DK")


def _local(value: datetime) -> datetime:
    """The moment in Copenhagen time (clock.COPENHAGEN, babel's BABEL_DEFAULT_TIMEZONE too), a naive value read
    as UTC, as babel's format_datetime does. The patterns here are digits only, the same in every language, so
    they are formatted directly: through babel, the times of a long case history cost more than the rest of its
    page together."""
    return (value if value.tzinfo is not None else value.replace(tzinfo=UTC)).astimezone(clock.COPENHAGEN)


def day(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        value = _local(value)
        return f"{value.day:02d}-{value.month:02d}-{value.year:04d}"
    return value.strftime("%d-%m-%Y")


def timestamp(value: datetime | None) -> str:
    """dd-mm-yyyy HH:MM in Copenhagen time."""
    if value is None:
        return "–"
    value = _local(value)
    return f"{value.day:02d}-{value.month:02d}-{value.year:04d} {value.hour:02d}:{value.minute:02d}"


def stage_label(stage) -> str:
    return Stage(stage).label


def legal_basis_label(code: str) -> str:
    basis = LEGAL_BASES.get(code)
    return basis.label if basis else code


def target_group_label(code: str) -> str:
    return str(TARGET_GROUP_LABELS.get(code, code))


def level_label(level: int | None) -> str:
    return str(vum.NOT_ASSESSED if level is None else vum.LEVEL_LABELS[level])


def support_need_label(code: str) -> str:
    return str(vum.SUPPORT_NEED_LABELS.get(code, code))


def goal_type_label(code: str) -> str:
    return str(vum.GOAL_TYPE_LABELS.get(code, code))


PRICE_UNIT_LABELS = {"døgn": _l("per day"), "måned": _l("per month"), "time": _l("per hour"),
                     "engangsbeløb": _l("one-off")}


def price_unit_label(unit: str) -> str:
    return str(PRICE_UNIT_LABELS.get(unit, unit))


def service_type_label(code: str) -> str:
    return str(SERVICE_TYPE_LABELS.get(code, code))


def municipality_name(code: str) -> str:
    municipality = MUNICIPALITIES.get(code)
    return municipality.name if municipality else code


SUPPLIER_TYPE_LABELS = {"kommunal": _l("Municipal"), "regional": _l("Regional"), "privat": _l("Private"),
                        "selvejende": _l("Self-governing")}


def supplier_type_label(kind: str) -> str:
    return str(SUPPLIER_TYPE_LABELS.get(kind, kind))


APPROVAL_ACTIONS = {"submitted": _l("submitted"), "reviewed": _l("reviewed"), "approved": _l("approved"),
                    "rejected": _l("rejected")}


CONTRACT_STATUSES = {"draft": _l("Draft"), "submitted": _l("Submitted"), "reviewed": _l("Reviewed"),
                     "approved": _l("Approved"), "superseded": _l("Superseded"),
                     "active": _l("Active"), "ended": _l("Ended")}


def contract_status_label(status: str) -> str:
    return str(CONTRACT_STATUSES.get(status, status))


def approval_action_label(action: str) -> str:
    return str(APPROVAL_ACTIONS.get(action, action))


# Follow-up (stages 6–8): the words for the codes in workflow/models/followup.py and the due states.
FOLLOWUP_KINDS = {"individual": _l("Follow-up"), "supplier_review": _l("Supplier review")}
FOLLOWUP_STATES = {"scheduled": _l("Scheduled"), "soon": _l("Due soon"), "due": _l("Due today"),
                   "overdue": _l("Overdue"), "done": _l("Held"), "cancelled": _l("Cancelled")}
FOLLOWUP_OUTCOMES = {outcome: EVENT_LABELS[event] for outcome, event in OUTCOME_EVENTS.items()}   # FSIII
GOAL_SCORES = {"achieved": _l("Achieved"), "partly": _l("Partly achieved"), "not_achieved": _l("Not achieved")}
QUALITY_RATINGS = {"good": _l("Good"), "acceptable": _l("Acceptable"), "poor": _l("Poor")}


def followup_kind_label(kind: str) -> str:
    return str(FOLLOWUP_KINDS.get(kind, kind))


def followup_state_label(state: str) -> str:
    return str(FOLLOWUP_STATES.get(state, state))


def outcome_label(outcome: str) -> str:
    return str(FOLLOWUP_OUTCOMES.get(outcome, outcome))


def goal_score_label(score: str) -> str:
    return str(GOAL_SCORES.get(score, score))


def quality_label(rating: str) -> str:
    return str(QUALITY_RATINGS.get(rating, rating))


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(money=money, number=number, day=day, timestamp=timestamp)
    app.jinja_env.globals.update(
        stage_label=stage_label, legal_basis_label=legal_basis_label, target_group_label=target_group_label,
        level_label=level_label, support_need_label=support_need_label, goal_type_label=goal_type_label,
        price_unit_label=price_unit_label, service_type_label=service_type_label,
        municipality_name=municipality_name, supplier_type_label=supplier_type_label,
        legal_basis_options=legal_basis_choices, municipality_options=municipality_choices, yearly=pricing.yearly,
        approval_action_label=approval_action_label, contract_status_label=contract_status_label,
        followup_kind_label=followup_kind_label, followup_state_label=followup_state_label,
        outcome_label=outcome_label, goal_score_label=goal_score_label, quality_label=quality_label)

    @app.context_processor
    def language():
        return {"current_language": str(get_locale() or "da"),
                "request_path": request.path if has_request_context() else ""}
