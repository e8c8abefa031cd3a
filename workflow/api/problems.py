"""The API's errors as application/problem+json (RFC 9457), titled in the caller's language.

errors.py sends every error of a request under /api/ here, so that a client never gets an HTML page.
"""
from __future__ import annotations

from flask import Response, has_request_context, json, request
from flask_babel import get_locale
from flask_babel import lazy_gettext as _l

PROBLEM = "application/problem+json"
API_PATH = "/api/"

TITLES = {
    400: _l("Bad request"),
    401: _l("Authentication required"),
    403: _l("Access denied"),
    404: _l("Not found"),
    405: _l("Method not allowed"),
    406: _l("Not acceptable"),
    409: _l("Conflict"),
    412: _l("Precondition failed"),
    413: _l("Too large"),
    415: _l("Unsupported media type"),
    422: _l("The request was refused"),
    428: _l("Precondition required"),
    429: _l("Too many requests"),
    500: _l("Something went wrong"),
}

DETAILS = {
    401: _l("Send a valid personal API token as 'Authorization: Bearer <token>'."),
    403: _l("Your role does not allow this."),
    404: _l("The resource does not exist, or you do not have access to it."),
    412: _l("Someone else changed this in the meantime. Read it again and send its new ETag in If-Match."),
    428: _l("Send the ETag you read in an If-Match header, so that no one else's change is overwritten."),
    429: _l("Too many requests. Wait a moment and try again."),
    500: _l("An unexpected error occurred. It has been logged."),
}

# Marshmallow's own words for a field it refuses, in the caller's language.
FIELD_MESSAGES = {
    "Missing data for required field.": _l("This field is required."),
    "Field may not be null.": _l("This field cannot be empty."),
    "Unknown field.": _l("This field is not known here, or you may not set it."),
    "Not a valid string.": _l("Write text here."),
    "Not a valid integer.": _l("Write a whole number here."),
    "Not a valid number.": _l("Write a number here."),
    "Not a valid boolean.": _l("Write true or false here."),
    "Not a valid date.": _l("Write a date as YYYY-MM-DD."),
    "Not a valid list.": _l("Send a list here."),
    "Invalid input type.": _l("The value has the wrong type."),
    "Invalid value.": _l("The value is not valid."),
}
PREFIXED_MESSAGES = {
    "Must be one of:": _l("Choose one of the allowed values."),
    "Longer than maximum length": _l("The text is too long."),
    "Shorter than minimum length": _l("This field is required."),
    "Must be greater than or equal to": _l("The number is outside the allowed range."),
    "Must be less than or equal to": _l("The number is outside the allowed range."),
}


DOCS_PAGE = "/api/v1/docs"   # a page for people: signed-in look, the chosen language, HTML errors


def is_api_request() -> bool:
    return has_request_context() and request.path.startswith(API_PATH) and request.path != DOCS_PAGE


def _translated(messages):
    if isinstance(messages, dict):
        return {str(key): _translated(value) for key, value in messages.items()}
    if isinstance(messages, (list, tuple)):
        return [_translated(message) for message in messages]
    text = str(messages)
    if text in FIELD_MESSAGES:
        return str(FIELD_MESSAGES[text])
    for start, message in PREFIXED_MESSAGES.items():
        if text.startswith(start):
            return str(message)
    return text


def problem(status: int, detail: str | None = None, *, errors=None, error_id: str | None = None,
            headers: dict | None = None) -> Response:
    title = TITLES.get(status) or TITLES[500 if status >= 500 else 400]
    body = {"type": "about:blank", "title": str(title), "status": status,
            "detail": str(detail or DETAILS.get(status) or title), "instance": request.path}
    if errors:
        body["errors"] = _translated(errors)
    if error_id:
        body["error_id"] = error_id
    response = Response(json.dumps(body), status=status, mimetype=PROBLEM)
    response.headers["Content-Language"] = str(get_locale() or "da")
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


def from_http_exception(error) -> Response:
    """abort(), webargs' validation errors (422 with the fields' messages) and the rate limiter's 429.

    The rate limiter adds its Retry-After and X-RateLimit headers to the response afterwards.
    """
    data = getattr(error, "data", None) or {}
    errors = data.get("errors") or data.get("messages")
    headers = dict(data.get("headers") or {})
    if error.code == 401:
        headers.setdefault("WWW-Authenticate", 'Bearer realm="socialkob"')
    if error.code == 405 and getattr(error, "valid_methods", None):
        headers["Allow"] = ", ".join(error.valid_methods)
    detail = data.get("message")
    if errors:
        detail = detail or _l("Some fields are missing or not valid; see errors.")
    return problem(error.code, detail, errors=errors, headers=headers)

