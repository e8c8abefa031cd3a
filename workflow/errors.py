"""Error pages in the user's language, with no traceback; an error id for 500s.

A save that lost a race with another one in the database (see database.lost_race) is a 409 here for
every page, whichever view committed it; the API's resources answer such a stale version with 412.
"""
from __future__ import annotations

import logging
import uuid

from flask import Flask, render_template, request
from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from markupsafe import escape
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.exceptions import HTTPException, InternalServerError

from workflow.api import problems
from workflow.database import lost_race

log = logging.getLogger(__name__)

MESSAGES = {
    400: (_l("Bad request"), _l("The request could not be understood. Go back and try again.")),
    401: (_l("Sign-in required"), _l("Sign in to continue.")),
    403: (_l("Access denied"), _l("You do not have access to this page.")),
    404: (_l("Page not found"), _l("The page does not exist, or you do not have access to it.")),
    405: (_l("Not allowed"), _l("This action cannot be done in that way.")),
    409: (_l("Conflict"), _l("Someone else changed this in the meantime.")),
    413: (_l("Too large"), _l("What you sent is too large.")),
    429: (_l("Too many requests"), _l("Wait a moment and try again.")),
    500: (_l("Something went wrong"), _l("An unexpected error occurred. It has been logged.")),
}


def render_error(status: int, message: str | None = None, error_id: str | None = None):
    title, default_message = MESSAGES.get(status, MESSAGES[500] if status >= 500 else MESSAGES[400])
    message = message or default_message
    try:
        return render_template("errors/error.html", status=status, title=title,
                               message=message, error_id=error_id), status
    except Exception:  # noqa: BLE001 - e.g. an untrusted Host leaves no URL adapter for the layout
        log.warning("error page %s rendered without layout", status)
        page = (f"<!DOCTYPE html><html lang=da><title>{escape(title)}</title>"
                f"<h1>{escape(title)}</h1><p>{escape(message)}</p>")
        return page, status, {"Content-Type": "text/html; charset=utf-8"}


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(400, str(_l("The form has expired or is not valid. Reload the page and try again.")))

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        if problems.is_api_request():
            return problems.from_http_exception(error)
        return render_error(error.code)

    @app.errorhandler(StaleDataError)
    @app.errorhandler(IntegrityError)
    def changed_meanwhile(error):
        if not lost_race(error):
            raise error   # a bug: the 500 below, with its error id and traceback in the log
        from workflow.extensions import db
        db.session.rollback()
        log.info("save refused on %s %s: %s", request.method, request.path, type(error).__name__)
        if problems.is_api_request():
            return problems.problem(412 if isinstance(error, StaleDataError) else 409)
        return render_error(409)

    @app.errorhandler(InternalServerError)
    def server_error(error):
        error_id = uuid.uuid4().hex[:12]
        original = getattr(error, "original_exception", None) or error
        log.error("error %s on %s %s", error_id, request.method, request.path,
                  exc_info=(type(original), original, original.__traceback__))
        from workflow.extensions import db
        db.session.rollback()
        if problems.is_api_request():
            return problems.problem(500, error_id=error_id)
        return render_error(500, error_id=error_id)
