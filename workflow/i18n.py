"""Language choice and the formats users read: dd-mm-yyyy, 1.234,50 kr., Copenhagen time."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from babel.numbers import format_currency, format_decimal
from flask import Flask, current_app, has_request_context, request, session
from flask_babel import format_datetime, get_locale

from workflow import vum
from workflow.extensions import babel
from workflow.legal_basis import BY_CODE as LEGAL_BASES
from workflow.process import Stage
from workflow.vocabulary import TARGET_GROUP_LABELS


def select_locale() -> str:
    chosen = session.get("language") if has_request_context() else None
    languages = current_app.config["LANGUAGES"]
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


def day(value: date | datetime | None) -> str:
    if value is None:
        return "–"
    if isinstance(value, datetime):
        return format_datetime(value, "dd-MM-yyyy")
    return value.strftime("%d-%m-%Y")


def timestamp(value: datetime | None) -> str:
    if value is None:
        return "–"
    return format_datetime(value, "dd-MM-yyyy HH:mm")


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


def init_app(app: Flask) -> None:
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.filters.update(money=money, number=number, day=day, timestamp=timestamp)
    app.jinja_env.globals.update(
        stage_label=stage_label, legal_basis_label=legal_basis_label, target_group_label=target_group_label,
        level_label=level_label, support_need_label=support_need_label, goal_type_label=goal_type_label)

    @app.context_processor
    def language():
        return {"current_language": str(get_locale() or "da"), "request_path": request.path}
