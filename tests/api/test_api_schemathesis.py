"""Property-based run of schemathesis against the generated OpenAPI document.

Every operation gets a bounded number of generated requests (valid and invalid bodies, odd
parameters, random If-Match values) as each role; no answer may be a server error, and every
answer must match the document (status, content type, headers, body schema).
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.factories import make_case, to_market_scan
from workflow import clock
from workflow.services import api_tokens

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_headers_conformance,
          response_schema_conformance]
# Per operation and role, deterministic (derandomize): valid requests, then invalid ones.
POSITIVE, NEGATIVE = 20, 10


@pytest.fixture
def tokens(app, staff, db):
    """Tokens for three roles, and cases in the first stages so that ids 1–3 exist."""
    case = make_case(staff.caseworker, procurement=staff.procurement, economy=staff.economy)
    make_case(staff.caseworker)
    to_market_scan(case, staff.caseworker)
    made = {login: api_tokens.create(staff[login], "schemathesis", None, clock.today()).secret
            for login in ("caseworker", "procurement", "manager")}
    db.session.commit()
    return made


def _run(app, operation, headers: dict, mode: GenerationMode, examples: int) -> None:
    @settings(max_examples=examples, deadline=None, derandomize=True, database=None,
              suppress_health_check=list(HealthCheck))
    @given(case=operation.as_strategy(generation_mode=mode), data=st.data())
    def run(case, data):
        for name in list(case.path_parameters or {}):
            if name.endswith("_id") and data.draw(st.booleans()):
                case.path_parameters[name] = data.draw(st.integers(1, 4))  # rows that exist, half the time
        with app.app_context():  # a fresh `g` per request, as in a real server
            case.call_and_validate(headers=headers, checks=CHECKS)
    run()


def test_no_operation_answers_with_a_server_error_or_outside_the_document(app, tokens):
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 40
    failures = []
    for login, secret in tokens.items():
        headers = {"Authorization": f"Bearer {secret}", "Accept-Language": "da"}
        for operation in operations:
            try:
                _run(app, operation, headers, GenerationMode.POSITIVE, POSITIVE)
                _run(app, operation, headers, GenerationMode.NEGATIVE, NEGATIVE)
            except Exception as error:  # noqa: BLE001 - collect them all, then report
                found = "\n".join(str(each) for each in getattr(error, "exceptions", [error])) or repr(error)
                failures.append(f"{login} {operation.method.upper()} {operation.path}: {found}")
    assert not failures, "\n\n".join(failures)
