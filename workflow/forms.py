"""Form fields shared by every area: Danish money and dates."""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal, InvalidOperation

import flask_babel
from flask import flash
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import Field, HiddenField, StringField
from wtforms.validators import ValidationError

from workflow import clock

_MONEY = re.compile(r"^-?\d{1,3}(\.\d{3})*(,\d{1,2})?$|^-?\d+(,\d{1,2})?$|^-?\d+(\.\d{1,2})?$")


def parse_money(text: str) -> Decimal:
    """'1.234,50', '1234,50', '1234.50' or '1 234,50 kr.' → Decimal('1234.50')."""
    cleaned = text.strip().lower().removesuffix("kr.").removesuffix("kr").replace(" ", "").replace("\xa0", "")
    if not _MONEY.match(cleaned):
        raise ValueError(text)
    if "," in cleaned or re.fullmatch(r"-?\d{1,3}(\.\d{3})+", cleaned):
        # Danish: dots group thousands, the comma marks øre ("500.000" is half a million).
        cleaned = cleaned.replace(".", "").replace(",", ".")
    try:
        return Decimal(cleaned).quantize(Decimal("0.01"))
    except InvalidOperation as error:
        raise ValueError(text) from error


def format_money_input(value: Decimal | None) -> str:
    if value is None:
        return ""
    whole, _, cents = f"{value:.2f}".partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = whole.lstrip("-")
    groups = []
    while whole:
        groups.insert(0, whole[-3:])
        whole = whole[:-3]
    return f"{sign}{'.'.join(groups)},{cents}"


class MoneyField(StringField):
    """An amount in DKK typed the Danish way; data is a Decimal or None."""

    def __init__(self, label=None, validators=None, maximum: Decimal = Decimal("1000000000"), **kwargs):
        kwargs.setdefault("render_kw", {}).setdefault("inputmode", "decimal")
        super().__init__(label, validators, **kwargs)
        self.maximum = maximum

    def process_formdata(self, valuelist):
        self.raw = valuelist[0] if valuelist else ""
        if not self.raw.strip():
            self.data = None
            return
        try:
            self.data = parse_money(self.raw)
        except ValueError as error:
            self.data = None
            raise ValueError(_l("Write an amount in kroner, for example 1.234,50.")) from error
        if abs(self.data) > self.maximum:
            self.data = None
            raise ValueError(_l("The amount is too large."))

    def _value(self):
        if getattr(self, "raw", None) is not None and self.data is None:
            return self.raw
        return format_money_input(self.data)


class DanishDateField(Field):
    """A date typed as dd-mm-yyyy (also accepts yyyy-mm-dd from date pickers)."""

    widget = StringField.widget

    def __init__(self, label=None, validators=None, **kwargs):
        kwargs.setdefault("render_kw", {}).setdefault("placeholder", "dd-mm-åååå")
        super().__init__(label, validators, **kwargs)

    def process_formdata(self, valuelist):
        self.raw = (valuelist[0] if valuelist else "").strip()
        if not self.raw:
            self.data = None
            return
        try:
            self.data = clock.read_date(self.raw)
        except ValueError:
            self.data = None
            raise ValueError(_l("Write the date as dd-mm-yyyy, for example 24-12-2026.")) from None
        if self.data.year not in clock.SENSIBLE_YEARS:
            self.data = None
            raise ValueError(_l("Write a date between %(first)s and %(last)s.", first="01-01-1900",
                                last="31-12-2200"))

    def _value(self):
        if getattr(self, "raw", None) and self.data is None:
            return self.raw
        return self.data.strftime("%d-%m-%Y") if isinstance(self.data, date) else ""


class VersionField(HiddenField):
    """The version of the object the form was loaded with, for refusing stale saves."""

    def process_formdata(self, valuelist):
        try:
            self.data = int(valuelist[0]) if valuelist and valuelist[0] else None
        except ValueError as error:
            self.data = None
            raise ValidationError(_l("The form is not valid. Reload the page.")) from error


def show_refusal(form, error) -> None:
    """Show a service's refusal (ServiceError) at its field, or as a message at the top of the page."""
    field = getattr(form, error.field, None) if error.field else None
    if field is not None and field.type not in ("FieldList", "FormField"):
        field.errors = [*field.errors, error.message]
    else:  # a list of sub-forms has no single place for a message
        flash(error.message, "error")


DONE, REFUSED, STALE = "done", "refused", "stale"


def carry_out(form, work) -> str:
    """Run a service call for a submitted, valid form in the request's transaction.

    DONE: committed. REFUSED: rolled back, the refusal shown on the form (at its field when it names one).
    STALE: rolled back, someone else saved first; the caller answers 409. The service's own version check
    says so (StaleEdit), or the database does at commit when both saves passed that check at once.
    """
    from sqlalchemy.exc import IntegrityError
    from sqlalchemy.orm.exc import StaleDataError

    from workflow.database import lost_race
    from workflow.extensions import db
    from workflow.services.errors import ServiceError, StaleEdit

    try:
        work()
        db.session.commit()
    except StaleEdit:
        db.session.rollback()
        return STALE
    except ServiceError as error:
        db.session.rollback()
        show_refusal(form, error)
        return REFUSED
    except (StaleDataError, IntegrityError) as error:
        if not lost_race(error):
            raise
        db.session.rollback()
        return STALE
    return DONE


# WTForms ships no Danish messages: its own English messages are listed here so that they are
# extracted into the app's catalogue, and every form reads them through Flask-Babel.
WTFORMS_MESSAGES = (
    _l("This field is required."), _l("Not a valid choice."), _l("Invalid Choice: could not coerce."),
    _l("Invalid email address."), _l("Invalid input."), _l("Not a valid integer value."),
    _l("Number must be at least %(min)s."), _l("Number must be at most %(max)s."),
    _l("Number must be between %(min)s and %(max)s."), _l("Field must be equal to %(other_name)s."),
    _l("Field must be between %(min)d and %(max)d characters long."),
    _l("Field must be at least %(min)d character long."), _l("Field must be at least %(min)d characters long."),
    _l("Field cannot be longer than %(max)d character."), _l("Field cannot be longer than %(max)d characters."),
    _l("Field must be exactly %(max)d character long."), _l("Field must be exactly %(max)d characters long."),
    _l("Not a valid date value."), _l("This field cannot be edited."),
)


class _AppTranslations:
    """Only translate: WTForms fills in its messages' %(min)d, %(max)d and %(length)d itself afterwards
    (Flask-Babel's ngettext would format them at once with nothing but %(num)d, and fail)."""

    def gettext(self, string):
        return flask_babel.get_translations().gettext(string)

    def ngettext(self, singular, plural, n):
        # The catalogue holds both forms as messages of their own (WTFORMS_MESSAGES above).
        return self.gettext(singular if n == 1 else plural)


class Form(FlaskForm):
    """The base of every form: CSRF from Flask-WTF, messages in the user's language, and no NUL characters."""

    class Meta(FlaskForm.Meta):
        def get_translations(self, form):
            return _AppTranslations()

    def validate(self, extra_validators=None) -> bool:
        """Nobody types a NUL character, and PostgreSQL cannot store one: such a field is refused with the rest.

        Only the form's own fields are read here; a list of sub-forms (FieldList) checks each sub-form itself."""
        valid = super().validate(extra_validators)
        for field in self:
            if field.type in ("FieldList", "FormField", "CSRFTokenField"):
                continue
            if any(isinstance(value, str) and "\x00" in value for value in field.raw_data or ()):
                field.errors = [*field.errors, _l("Remove the character that is not allowed (NUL).")]
                valid = False
        return valid


class PlainForm(Form):
    """A form with nothing but its CSRF token: sign-out, confirmations and other one-button actions."""


MAX_QUANTITY = Decimal(10_000)


def price_lines(entries) -> list[tuple[str, str, Decimal, Decimal, bool]]:
    """(description, unit, unit price, quantity, supplement) of the filled price lines of a FieldList.

    Empty lines are left out; a quantity that is not a number is refused with a ValueError.
    """
    lines = []
    for entry in entries:
        line = entry.form
        if not (line.description.data or "").strip() and line.unit_price.data is None:
            continue
        try:
            quantity = Decimal((line.quantity.data or "1").replace(",", ".").strip())
        except InvalidOperation as error:
            raise ValueError(line.quantity.data) from error
        if not quantity.is_finite() or not 0 < quantity <= MAX_QUANTITY:
            raise ValueError(line.quantity.data)
        supplement = bool(getattr(line, "supplement", None) and line.supplement.data)
        lines.append((line.description.data or "", line.unit.data, line.unit_price.data, quantity, supplement))
    return lines
