"""What every resource of the API shares: its blueprint, its schemas' base, ETags and If-Match.

The resources are thin: they read the request through a schema, call the same services as the
pages, commit, and answer with a schema. Services' refusals become problems here, once.
"""
from __future__ import annotations

import logging
import re

import marshmallow as ma
from flask import abort, request
from flask_smorest import Blueprint
from sqlalchemy.orm.exc import StaleDataError

from workflow.api import problems
from workflow.extensions import db
from workflow.services import ServiceError, StaleEdit

log = logging.getLogger(__name__)

PREFIX = "/api/v1"
ID = "int(max=2147483647)"   # a path id; anything larger is no row of ours (404, not an overflow)
MAX_ID = 2_147_483_647


class ApiSchema(ma.Schema):
    """Fields not named here are refused, never silently ignored (no mass assignment)."""

    class Meta:
        unknown = ma.RAISE
        ordered = True


class NoBodySchema(ApiSchema):
    """A step without data: no body, or an empty object. Any field sent is refused (422), never ignored."""


class PageSchema(ApiSchema):
    """One page of a list: subclasses add `items` (read from the page's `rows`)."""

    total = ma.fields.Integer(metadata={"description": "Rows in all pages."})
    page = ma.fields.Integer()
    pages = ma.fields.Integer()
    page_size = ma.fields.Integer()


def _refused(error: ServiceError):
    db.session.rollback()
    errors = {error.field: [error.message]} if error.field else None
    return problems.problem(422, error.message, errors=errors)


def _stale(error: Exception):
    db.session.rollback()
    return problems.problem(412)


def blueprint(name: str, description: str) -> Blueprint:
    """A resource's blueprint under /api/v1, with the services' refusals as problems."""
    bp = Blueprint(f"api_{name}", __name__, url_prefix=PREFIX, description=description)
    bp.register_error_handler(ServiceError, _refused)
    bp.register_error_handler(StaleEdit, _stale)
    bp.register_error_handler(StaleDataError, _stale)
    return bp


# --- Optimistic locking: an ETag on what is read, If-Match on what is written. ---

def etag(kind: str, obj) -> str:
    return f'"{kind}-{obj.id}-{obj.version}"'


def etag_header(kind: str, obj) -> dict:
    return {"ETag": etag(kind, obj)}


_TAG = re.compile(r'\s*(W/)?("[^"]*"|\*)\s*(,|$)')


def if_match(kind: str, obj) -> int:
    """The version the client read, from If-Match: 428 without it, 412 when obj has changed since.

    The service is then given this version, and the database's version check catches a change
    that lands between this read and the write.
    """
    header = request.headers.get("If-Match", "").strip()
    if not header:
        abort(problems.problem(428))
    current = etag(kind, obj)
    tags = [(weak, tag) for weak, tag, _sep in _TAG.findall(header)]
    if not any(tag == "*" or (not weak and tag == current) for weak, tag in tags):
        abort(problems.problem(412))
    return obj.version


IF_MATCH_DOC = {
    "parameters": [{
        "in": "header", "name": "If-Match", "required": True, "schema": {"type": "string"},
        "description": "The ETag of the resource as last read; the write is refused with 412 if it has changed.",
    }],
}


def listed(schema_name: str) -> dict:
    """A reference to a schema of the document, for a field computed by a method (whose type apispec cannot see).

    The schema must be in the document: used by another field, or named in api.init_app.
    """
    return {"$ref": f"#/components/schemas/{schema_name}"}


def found(obj):
    """404 for a missing row; the caller has checked that the user may see it."""
    if obj is None:
        abort(404)
    return obj
