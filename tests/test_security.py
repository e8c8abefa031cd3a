"""CSRF, security headers, Host checks, size limits, error pages and the health check."""
from __future__ import annotations

import io
import json

import pytest

from tests.conftest import PASSWORD, example_url, is_api
from tests.support.api import ApiClient
from workflow import create_app


def test_post_without_csrf_token_is_refused(staff, client):
    response = client.post("/login", data={"login": "caseworker", "password": PASSWORD})
    assert response.status_code == 400
    assert "formularen" in response.get_data(as_text=True).lower()


def test_csrf_refused_on_every_post_route(app, staff, make_client):
    admin = make_client("admin")
    routes = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods]
    assert routes
    for rule in routes:
        url = example_url(rule, staff.admin.id)
        # The API is exempt from the token because the signed-in session does not reach it at all.
        assert admin.post(url, data={}).status_code == (401 if is_api(rule) else 400), url


def _assert_security_headers(response, signed_in: bool = True):
    csp = response.headers["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "base-uri 'none'",
                      "frame-ancestors 'none'"):
        assert directive in csp
    assert "unsafe-inline" not in csp
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    assert response.headers["Referrer-Policy"]
    assert response.headers["Cache-Control"] == "no-store"


def test_headers_on_normal_pages(staff, client):
    _assert_security_headers(client.get("/login"))
    client.sign_in("admin")
    _assert_security_headers(client.get("/"))
    _assert_security_headers(client.get("/admin/users"))


def test_headers_on_error_pages(staff, app, client):
    client.sign_in("caseworker")
    for url, status in (("/no-such-page", 404), ("/admin/users", 403)):
        response = client.get(url)
        assert response.status_code == status
        _assert_security_headers(response)
    _assert_security_headers(client.post("/login", data={}))  # 400 (CSRF)


def test_server_error_page_has_an_error_id_and_no_traceback(database_url, tmp_path, caplog):
    app = create_app({"SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path),
                      "TRUSTED_HOSTS": ["localhost"]})

    @app.route("/_boom_for_test")
    def boom():
        raise RuntimeError("secret internals")
    boom.is_public = True
    response = app.test_client().get("/_boom_for_test")
    body = response.get_data(as_text=True)
    assert response.status_code == 500
    assert "secret internals" not in body and "Traceback" not in body
    assert "Fejl-id" in body
    _assert_security_headers(response)
    assert any("error " in record.getMessage() for record in caplog.records)


def test_hsts_only_over_https(client):
    assert "Strict-Transport-Security" not in client.get("/login").headers
    secure = client.get("/login", base_url="https://localhost")
    assert secure.headers["Strict-Transport-Security"].startswith("max-age=")


def test_session_cookie_flags(staff, client):
    response = client.submit("/login", {"login": "caseworker", "password": PASSWORD})
    cookie = response.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_cookies_are_secure_outside_development(monkeypatch):
    monkeypatch.setenv("APP_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "x" * 32)
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SESSION_COOKIE_SECURE"] is True
    monkeypatch.setenv("APP_ENV", "development")
    assert create_app({"SQLALCHEMY_DATABASE_URI": "sqlite://"}).config["SESSION_COOKIE_SECURE"] is False


@pytest.mark.parametrize("query", ["q=%00", "q=a&q=b%00", "stage%00=x"])
@pytest.mark.parametrize("path", ["/cases", "/offers", "/reports"])
def test_a_nul_in_a_pages_query_is_refused(staff, make_client, path, query):
    """Before the view: PostgreSQL would refuse the NUL in a text comparison (a 500 before). The API's own
    schemas refuse it with 422 (tests/api)."""
    response = make_client("manager").get(f"{path}?{query}")
    assert response.status_code == 400


def test_wrong_host_header_is_refused(client):
    response = client.get("/login", headers={"Host": "evil.example"})
    assert response.status_code == 400


LIMIT = 1000  # bytes, for these tests; the default is 10 MiB


def _oversized_bodies() -> dict[str, dict]:
    """Ways to send more than LIMIT: a form, JSON and a file upload (the test client sets Content-Length)."""
    return {
        "form": {"data": {"login": "x" * (LIMIT + 1), "note": "y"}},
        "json": {"data": json.dumps({"note": "x" * LIMIT}), "content_type": "application/json"},
        "upload": {"data": {"file": (io.BytesIO(b"a;b\n" * LIMIT), "offers.csv")},
                   "content_type": "multipart/form-data"},
    }


def _assert_too_large(response, rule, how: str) -> None:
    where = f"{how} to {rule.rule}"
    assert response.status_code == 413, f"{where}: {response.status_code}"
    if is_api(rule):
        assert response.headers["Content-Type"] == "application/problem+json", where
        assert response.get_json()["status"] == 413, where
    else:
        assert "for stor" in response.get_data(as_text=True).lower(), where


@pytest.mark.parametrize("signed_in", [False, True], ids=["anonymous", "signed-in"])
def test_oversized_request_is_refused_on_every_post_route(app, staff, make_client, monkeypatch, signed_in):
    """Before sign-in, CSRF or the view: some views never read the body, so Werkzeug alone would not refuse it."""
    page_client = make_client("admin" if signed_in else None)
    api_client = ApiClient(app, staff.procurement if signed_in else None)
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", LIMIT)
    routes = [rule for rule in app.url_map.iter_rules() if "POST" in rule.methods]
    assert len([rule for rule in routes if is_api(rule)]) >= 15 and len(routes) >= 50
    for rule in routes:
        url = example_url(rule, staff.admin.id)
        for how, body in _oversized_bodies().items():
            response = api_client.call("POST", url, **body) if is_api(rule) else page_client.post(url, **body)
            _assert_too_large(response, rule, how)


def test_a_body_sent_in_chunks_is_cut_off_at_the_limit(app, client, monkeypatch):
    """Without a Content-Length (chunked, as gunicorn passes it on) the body is counted while it is read."""
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", LIMIT)
    response = client.post("/login", input_stream=io.BytesIO(b"login=" + b"x" * LIMIT),
                           content_type="application/x-www-form-urlencoded",
                           environ_overrides={"wsgi.input_terminated": True})
    assert response.status_code == 413


def test_a_body_within_the_limit_is_not_refused_for_its_size(app, staff, client, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", LIMIT)
    response = client.submit("/login", {"login": "caseworker", "password": PASSWORD, "pad": "x" * (LIMIT - 300)})
    assert response.status_code == 302


def test_healthz(client):
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_reports_an_unreachable_database(tmp_path):
    broken = create_app({
        "SQLALCHEMY_DATABASE_URI": "postgresql+psycopg://nobody@127.0.0.1:1/none?connect_timeout=1",
        "SECRET_KEY": "x", "INSTANCE_PATH": str(tmp_path), "TRUSTED_HOSTS": ["localhost"],
    })
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503
    assert response.get_json()["database"] != "ok"


@pytest.mark.parametrize("status", [403, 404])
def test_error_pages_in_english_when_chosen(staff, client, status):
    client.sign_in("caseworker")
    client.submit("/language", {"language": "en", "next": "/"}, form_page="/")
    response = client.get("/admin/users" if status == 403 else "/nowhere")
    body = response.get_data(as_text=True)
    assert response.status_code == status
    assert ("Access denied" if status == 403 else "Page not found") in body
