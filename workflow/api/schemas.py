"""Schemas shared by every resource: the problem document."""
from __future__ import annotations

import marshmallow as ma

from workflow.api.base import ApiSchema


class ProblemSchema(ApiSchema):
    """An error as RFC 9457 problem details; title and detail in the language of Accept-Language."""

    type = ma.fields.String(metadata={"example": "about:blank"})
    title = ma.fields.String(required=True)
    status = ma.fields.Integer(required=True)
    detail = ma.fields.String()
    instance = ma.fields.String()
    errors = ma.fields.Dict(metadata={"description": "The refused fields and why, by where they were sent."})
    error_id = ma.fields.String(metadata={"description": "Only for 500: quote it when you report the error."})
