"""What every API call shares: tokens, problem+json errors, language, If-Match, rate limit, the document."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from tests.factories import make_case
from tests.support.api import ApiClient
from workflow import clock
from workflow.api import limiter
from workflow.extensions import db as _db
from workflow.models import AccessLog, ApiToken, AuditEvent
from workflow.services import api_tokens

NEW_CASE = {"cpr": "010180-1234", "citizen_name": "Jens Hansen", "home_municipality": "101",
            "legal_basis": "SEL-108", "target_group": "intellectual_disability"}


def _problem(response, status: int) -> dict:
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.headers["Content-Type"] == "application/problem+json"
    body = response.json
    assert body["status"] == status and body["title"] and body["detail"]
    return body


# --- Tokens ---

def test_without_a_valid_token_the_api_answers_401_with_a_bearer_challenge(app, staff, db):
    anonymous = ApiClient(app)
    body = _problem(anonymous.get("/cases"), 401)
    assert body["instance"] == "/api/v1/cases"
    assert anonymous.get("/cases").headers["WWW-Authenticate"].startswith("Bearer")
    for wrong in ("sk_wrong", "Basic abc", "sk_" + "x" * 200):
        assert ApiClient(app, token=wrong).get("/cases").status_code == 401
    assert anonymous.call("POST", "/cases", json=NEW_CASE).status_code == 401


def test_a_token_stores_only_its_hash_and_stops_working_when_revoked_expired_or_its_user_deactivated(app, staff, db):
    today = clock.today()
    created = api_tokens.create(staff.caseworker, "ESDH", today + timedelta(days=30), today)
    db.session.commit()
    stored = db.session.get(ApiToken, created.token.id)
    assert created.secret not in (stored.token_hash, stored.prefix) and created.secret.startswith(stored.prefix)
    client = ApiClient(app, token=created.secret)
    answer = client.get("/cases")
    assert answer.status_code == 200
    assert "Set-Cookie" not in answer.headers and answer.headers["Cache-Control"] == "no-store"
    db.session.refresh(stored)
    assert stored.last_used_at is not None

    stored.expires_on = today - timedelta(days=1)
    db.session.commit()
    assert client.get("/cases").status_code == 401
    stored.expires_on = today
    db.session.commit()
    assert client.get("/cases").status_code == 200  # valid through its last day

    staff.caseworker.active = False
    db.session.commit()
    assert client.get("/cases").status_code == 401
    staff.caseworker.active = True
    api_tokens.revoke(stored, staff.caseworker)
    db.session.commit()
    assert client.get("/cases").status_code == 401
    actions = set(db.session.scalars(select(AuditEvent.action)))
    assert {"api_token.created", "api_token.revoked"} <= actions


def test_token_rules_refuse_a_missing_name_a_past_expiry_and_more_than_a_year(staff, db):
    today = clock.today()
    for name, expires, field in (("", None, "name"), ("x", today - timedelta(days=1), "expires_on"),
                                 ("x", today + timedelta(days=400), "expires_on")):
        try:
            api_tokens.create(staff.caseworker, name, expires, today)
        except api_tokens.ServiceError as error:
            assert error.field == field
        else:
            raise AssertionError(f"{name!r}, {expires} was accepted")
    assert api_tokens.create(staff.caseworker, "x", None, today).token.expires_on == today + timedelta(days=90)


def test_a_browser_session_does_not_reach_the_api(make_client, staff):
    browser = make_client("caseworker")
    assert browser.get("/cases").status_code == 200
    response = browser.get("/api/v1/cases")
    _problem(response, 401)
    assert browser.post("/api/v1/cases", json=NEW_CASE).status_code == 401


def test_the_api_needs_no_csrf_token_and_a_token_cannot_sign_in_to_the_pages(app, api, staff):
    caseworker = api("caseworker")
    assert caseworker.post("/cases", json=NEW_CASE).status_code == 201
    with app.app_context():
        page = caseworker.client.get("/cases", headers=caseworker.headers())
    assert page.status_code == 302 and "/login" in page.headers["Location"]


def test_the_profile_page_creates_shows_once_and_revokes_a_token(app, make_client, staff, db):
    browser = make_client("caseworker")
    page = browser.get("/profile")
    assert "Personlige API-nøgler" in page.get_data(as_text=True)
    created = browser.submit("/profile/tokens", {"name": "ESDH-integration", "expires_on": ""}, form_page="/profile")
    html = created.get_data(as_text=True)
    assert created.status_code == 200 and "ESDH-integration" in html
    secret = html.split('id="new-token"')[1].split('value="')[1].split('"')[0]
    assert secret.startswith("sk_")
    assert ApiClient(app, token=secret).get("/cases").status_code == 200
    assert secret not in browser.get("/profile").get_data(as_text=True)  # shown once only

    refused = browser.submit("/profile/tokens", {"name": "", "expires_on": "01-01-2000"}, form_page="/profile")
    assert refused.status_code == 422
    token = db.session.scalar(select(ApiToken))
    revoked = browser.submit(f"/profile/tokens/{token.id}/revoke", {}, form_page="/profile")
    assert revoked.status_code == 302
    assert ApiClient(app, token=secret).get("/cases").status_code == 401
    other = make_client("caseworker_other")
    assert other.submit(f"/profile/tokens/{token.id}/revoke", {}, form_page="/profile").status_code == 404


def test_create_token_on_the_command_line_prints_a_working_token_once(app, staff, db):
    runner = app.test_cli_runner(mix_stderr=False) if _mix_stderr_supported(app) else app.test_cli_runner()
    result = runner.invoke(args=["create-token", "procurement", "--name", "Økonomisystem", "--days", "30"])
    assert result.exit_code == 0, result.output
    secret = result.stdout.strip().splitlines()[-1]
    assert secret.startswith("sk_")
    with app.app_context():
        assert ApiClient(app, token=secret).get("/offers").status_code == 200
        assert ApiClient(app, token=secret).post("/cases", json=NEW_CASE).status_code == 403  # procurement's rights
    unknown = runner.invoke(args=["create-token", "nobody", "--name", "x"])
    assert unknown.exit_code != 0 and "nobody" in unknown.output


def _mix_stderr_supported(app) -> bool:
    try:
        app.test_cli_runner(mix_stderr=False)
    except TypeError:
        return False
    return True


# --- Errors as problems, in the caller's language ---

def test_problems_are_danish_by_default_and_english_on_request(app, api, staff):
    danish = _problem(api("caseworker").get("/cases/999999"), 404)
    english = _problem(api("caseworker", "en").get("/cases/999999"), 404)
    assert danish["title"] == "Ikke fundet" and english["title"] == "Not found"
    assert api("caseworker", "en").get("/cases/999999").headers["Content-Language"] == "en"
    _problem(api("caseworker").get("/no-such-thing"), 404)
    _problem(api("caseworker").delete("/cases"), 405)


def test_bad_input_is_refused_field_by_field_and_changes_nothing(app, api, staff, db):
    caseworker = api("caseworker")
    body = _problem(caseworker.post("/cases", json={**NEW_CASE, "stage": "approval", "owner_id": 1,
                                                    "budget_frame": 12.5, "desired_start": "0001-01-01"}), 422)
    errors = body["errors"]["json"]
    assert set(errors) == {"stage", "owner_id", "budget_frame", "desired_start"}
    assert errors["stage"] == ["Feltet kendes ikke her, eller du må ikke sætte det."]
    _problem(caseworker.post("/cases", json={**NEW_CASE, "cpr": "320180-1234"}), 422)
    _problem(caseworker.post("/cases", json={**NEW_CASE, "citizen_name": "Jens\x00"}), 422)
    _problem(caseworker.call("POST", "/cases", data="not json", content_type="application/json"), 400)
    _problem(caseworker.get("/cases?page=0"), 422)
    _problem(caseworker.get("/cases/99999999999999999999"), 404)
    assert caseworker.get("/cases?scope=mine").json["total"] == 0


def test_roles_and_units_are_the_pages_rules(api, staff, db):
    _problem(api("procurement").post("/cases", json=NEW_CASE), 403)
    case = make_case(staff.caseworker)
    _problem(api("caseworker_other").get(f"/cases/{case.id}"), 404)
    _problem(api("procurement").get(f"/cases/{case.id}"), 404)  # not assigned to the case
    assert api("manager").get(f"/cases/{case.id}").status_code == 200
    _problem(api("manager").write("PUT", f"/cases/{case.id}/needs", json={}), 403)


def test_every_read_of_a_case_is_logged_with_the_api_as_purpose(api, staff, db):
    case = make_case(staff.caseworker)
    api("caseworker").get(f"/cases/{case.id}")
    api("caseworker").get(f"/cases/{case.id}/needs")
    purposes = list(_db.session.scalars(select(AccessLog.purpose).where(AccessLog.case_id == case.id)))
    assert purposes == ["API: sagsoplysninger", "API: behovsvurdering"]


def test_steps_need_if_match_and_refuse_a_stale_etag(api, staff, db):
    case = make_case(staff.caseworker)
    caseworker = api("caseworker")
    path = f"/cases/{case.id}"
    etag = caseworker.get(path).headers["ETag"]
    _problem(caseworker.post(f"{path}/steps/cancel", json={"reason": "Borgeren er flyttet"}), 428)
    _problem(caseworker.post(f"{path}/steps/cancel", json={"reason": "x"}, headers={"If-Match": '"case-1-99"'}),
             412)
    missing = _problem(caseworker.post(f"{path}/steps/complete_assessment", headers={"If-Match": etag}), 422)
    assert missing["detail"]  # what is missing, from the process module
    cancelled = caseworker.post(f"{path}/steps/cancel", json={"reason": "Borgeren er flyttet"},
                                headers={"If-Match": etag})
    assert cancelled.status_code == 200 and cancelled.json["stage"] == "cancelled"
    assert cancelled.headers["ETag"] != etag
    _problem(caseworker.post(f"{path}/steps/cancel", json={"reason": "igen"}, headers={"If-Match": etag}), 412)
    own = _problem(caseworker.post(f"{path}/steps/approve", headers={"If-Match": cancelled.headers["ETag"]}), 422)
    assert "/contract/approve" in own["detail"]


def test_the_rate_limit_answers_429_with_retry_after(app, api, staff):
    caseworker = api("caseworker")
    app.config["API_RATE_LIMIT"] = "3 per minute"
    limiter.reset()
    try:
        statuses = [caseworker.get("/cases").status_code for _ in range(4)]
        limited = caseworker.get("/cases")
    finally:
        app.config["API_RATE_LIMIT"] = "100000 per minute"
        limiter.reset()
    assert statuses == [200, 200, 200, 429]
    _problem(limited, 429)
    assert int(limited.headers["Retry-After"]) > 0
    assert api("manager").get("/cases").status_code == 200  # counted per token


# --- The document ---

def test_the_openapi_document_is_generated_and_open_without_signing_in(app):
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"
    assert "/api/v1/cases" in spec["paths"] and "/api/v1/cases/{case_id}/needs" in spec["paths"]
    error = spec["components"]["responses"]["DEFAULT_ERROR"]["content"]
    assert list(error) == ["application/problem+json"]
    for path, item in spec["paths"].items():
        assert "cpr" not in path.lower()
        for operation in item.values():
            if isinstance(operation, dict):
                for parameter in operation.get("parameters", []):
                    assert "cpr" not in parameter["name"].lower()


def test_the_docs_page_lists_every_operation_of_the_document(app):
    client = app.test_client()
    spec = client.get("/api/v1/openapi.json").json
    html = client.get("/api/v1/docs").get_data(as_text=True)
    for path, item in spec["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item:
                assert f"{method.upper()} {path}" in html
    assert "Authorization: Bearer" in html
