"""The integration API at /api/v1: JSON over the same services and rules as the pages.

- Authentication: a personal API token as `Authorization: Bearer <token>`; session cookies are
  ignored here (so CSRF cannot reach the API, and it is exempt from the CSRF token).
- Errors: application/problem+json (problems.py), titled by Accept-Language.
- Writes: If-Match with the ETag read (base.py); 412 when someone else changed it since.
- Rate limit per token (or per address before authentication), API_RATE_LIMIT in the settings.
- The OpenAPI document is generated from the resources' schemas (flask-smorest) and served with
  a readable page at /api/v1/docs (docs.py).
"""
from __future__ import annotations

import flask_smorest
from flask import Flask, g, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user

from workflow.api import problems
from workflow.api.base import PREFIX

OPENAPI_VERSION = "3.0.3"


class Api(flask_smorest.Api):
    ERROR_SCHEMA = None  # set in init_app: the problem schema

    def _register_error_handlers(self):
        """errors.py answers every error under /api/ as a problem; nothing app-wide here."""


api = Api()


def _limit_key() -> str:
    current_user.is_authenticated  # noqa: B018 - loads the token's user, which sets g.api_user_id
    user_id = getattr(g, "api_user_id", None)
    return f"user:{user_id}" if user_id else f"address:{get_remote_address()}"


limiter = Limiter(key_func=_limit_key, headers_enabled=True)


def bearer_user():
    """The user of the request's API token (Flask-Login's request loader, for /api/ only)."""
    from workflow import clock
    from workflow.services import api_tokens

    scheme, _space, secret = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not secret.strip():
        return None
    user = api_tokens.authenticate(secret.strip(), clock.today())
    if user is not None:
        g.api_user_id = user.id
    return user


def init_app(app: Flask) -> None:
    from workflow.api.schemas import ProblemSchema
    from workflow.extensions import csrf, login_manager

    Api.ERROR_SCHEMA = ProblemSchema
    app.config.setdefault("API_TITLE", "Socialkøb API")
    app.config.setdefault("API_VERSION", "v1")
    app.config.setdefault("OPENAPI_VERSION", OPENAPI_VERSION)
    app.config.setdefault("API_SPEC_OPTIONS", {
        "info": {"description": "Purchase cases of specialised social services, from needs to follow-up. "
                                "Authenticate with a personal API token: Authorization: Bearer <token>."},
        "servers": [{"url": "/"}],
        "security": [{"bearerAuth": []}],
        "components": {"securitySchemes": {"bearerAuth": {"type": "http", "scheme": "bearer"}}},
    })
    app.config.setdefault("RATELIMIT_ENABLED", True)
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    api.init_app(app)
    limiter.init_app(app)

    @login_manager.request_loader
    def load_api_user(_request):
        return bearer_user() if problems.is_api_request() else None

    from workflow.api import cases, contracts, dialogue, docs, followup, offers, portfolio, shortlist

    for module in (cases, offers, shortlist, dialogue, contracts, followup, portfolio):
        csrf.exempt(module.bp)
        limiter.limit(lambda: app.config["API_RATE_LIMIT"])(module.bp)
        api.register_blueprint(module.bp)
    # Schemas only computed fields point to (listed()), so that the document holds them too.
    for name, schema in (("Step", cases.StepSchema), ("GoalToScore", followup.GoalToScoreSchema)):
        if name not in api.spec.components.schemas:
            api.spec.components.schema(name, schema=schema)
    csrf.exempt(docs.bp)
    app.register_blueprint(docs.bp, url_prefix=PREFIX)
