"""Field types of the API: money as exact decimal strings, sensible dates, clean text."""
from __future__ import annotations

import re
from decimal import Decimal

import marshmallow as ma
from flask_babel import lazy_gettext as _l

from workflow import clock

_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


class Money(ma.fields.Decimal):
    """An amount in DKK as a string such as "1234.50": exact, never a binary float.

    Input is at most `maximum` (a milliard by default); computed output such as an annual cost may be larger.
    """

    def __init__(self, maximum: Decimal = Decimal("1000000000"), **kwargs):
        metadata = {"type": "string", "format": "decimal", "pattern": r"^-?\d+(\.\d{1,2})?$",
                    "example": "1234.50", **kwargs.pop("metadata", {})}
        super().__init__(places=2, as_string=True, allow_nan=False, metadata=metadata, **kwargs)
        self.maximum = maximum

    def _deserialize(self, value, attr, data, **kwargs):
        if not isinstance(value, str) or not re.fullmatch(r"-?\d{1,10}(\.\d{1,2})?", value.strip()):
            raise self.make_error("invalid")
        amount = super()._deserialize(value.strip(), attr, data, **kwargs)
        if abs(amount) > self.maximum:
            raise ma.ValidationError(str(_l("The amount is too large.")))
        return amount

    default_error_messages = {"invalid": _l("Write the amount as a string such as \"1234.50\"."),
                              "special": _l("Write the amount as a string such as \"1234.50\".")}


class Day(ma.fields.Date):
    """A date as YYYY-MM-DD, within the years a municipality's work can mean."""

    def _deserialize(self, value, attr, data, **kwargs):
        day = super()._deserialize(value, attr, data, **kwargs)
        if day.year not in clock.SENSIBLE_YEARS:
            raise ma.ValidationError(str(_l("Write a date between the years 1900 and 2200.")))
        return day


class Text(ma.fields.String):
    """Text without control characters (they would break logs, PDFs and some databases), trimmed."""

    def __init__(self, max_length: int = 200, *, required: bool = False, blank: bool = True, **kwargs):
        validators = [ma.validate.Length(max=max_length)]
        if not blank:
            validators.append(ma.validate.Length(min=1))
        super().__init__(required=required, validate=validators, **kwargs)
        self.blank = blank

    def _deserialize(self, value, attr, data, **kwargs):
        text = super()._deserialize(value, attr, data, **kwargs)
        if _CONTROL.search(text):
            raise ma.ValidationError(str(_l("The text contains characters that cannot be stored.")))
        text = text.strip()
        if not self.blank and not text:
            raise self.make_error("required")
        return text


class Count(ma.fields.Integer):
    """A whole number within bounds (so no value overflows a database column), in JSON or a query string."""

    def __init__(self, minimum: int = 0, maximum: int = 1_000_000, **kwargs):
        super().__init__(strict=True, validate=ma.validate.Range(minimum, maximum), **kwargs)

    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str) and re.fullmatch(r"-?\d{1,12}", value.strip()):
            value = int(value)   # a query string's "2"; JSON's 2.0 or "2.5" stay refused
        if isinstance(value, bool):
            raise self.make_error("invalid")
        return super()._deserialize(value, attr, data, **kwargs)
