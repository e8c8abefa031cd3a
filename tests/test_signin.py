"""Signing in and out, sessions that really end, timeouts and throttling."""
from __future__ import annotations

from datetime import timedelta

import pytest

from tests.conftest import PASSWORD, example_url, get_user, is_api
from workflow import create_app
from workflow.models import LoginAttempt, UserSession
from workflow.models.types import utcnow
from workflow.services import signin

SAME_MESSAGE = "Forkert brugernavn eller adgangskode."


def public_or_static(app, rule) -> bool:
    view = app.view_functions[rule.endpoint]
    return rule.endpoint == "static" or getattr(view, "is_public", False)


def test_every_route_sends_anonymous_users_to_sign_in(app, client):
    checked = 0
    for rule in app.url_map.iter_rules():
        if public_or_static(app, rule) or "GET" not in rule.methods:
            continue
        url = example_url(rule, 1)
        response = client.get(url)
        if is_api(rule):   # a program, not a person: no sign-in page, a problem with a Bearer challenge
            assert response.status_code == 401 and response.headers["WWW-Authenticate"].startswith("Bearer"), url
        else:
            assert response.status_code == 302, url
            assert response.headers["Location"].startswith("/login?next="), url
        checked += 1
    assert checked >= 8


def test_posts_from_anonymous_users_are_refused(app, client):
    for rule in app.url_map.iter_rules():
        if public_or_static(app, rule) or "POST" not in rule.methods:
            continue
        url = example_url(rule, 1)
        response = client.submit(url, {}, form_page="/login")
        assert response.status_code in (302, 401), url


def test_sign_in_and_start_page_in_danish(staff, client):
    response = client.sign_in("caseworker")
    assert response.headers["Location"] == "/"
    page = client.get("/").get_data(as_text=True)
    assert "Velkommen" in page and "Log af" in page and 'lang="da"' in page


def test_unknown_user_and_wrong_password_get_the_same_message(staff, client):
    unknown = client.submit("/login", {"login": "nobody", "password": "whatever-password"})
    wrong = client.submit("/login", {"login": "caseworker", "password": "wrong-password-1"})
    assert unknown.status_code == wrong.status_code == 200
    assert SAME_MESSAGE in unknown.get_data(as_text=True)
    assert SAME_MESSAGE in wrong.get_data(as_text=True)


def test_deactivated_user_cannot_sign_in(staff, client, db):
    staff.caseworker.active = False
    db.session.commit()
    response = client.submit("/login", {"login": "caseworker", "password": PASSWORD})
    assert SAME_MESSAGE in response.get_data(as_text=True)


@pytest.mark.parametrize("target, expected", [
    ("/admin/users", "/admin/users"),
    ("https://evil.example/", "/"),
    ("//evil.example/", "/"),
    ("/\\evil.example", "/"),
    ("javascript:alert(1)", "/"),
])
def test_next_redirect_stays_on_the_site(staff, client, target, expected):
    response = client.submit(f"/login?next={target}", {"login": "admin", "password": PASSWORD, "next": target},
                             form_page="/login")
    assert response.headers["Location"] == expected


def test_sign_in_starts_a_new_session(staff, client):
    client.get("/login")
    with client.session_transaction() as before:
        before["planted"] = "by an attacker"
    client.sign_in("caseworker")
    with client.session_transaction() as after:
        assert "planted" not in after
        assert after["sid"]


def test_sign_out_ends_the_session_even_for_a_copied_cookie(staff, client, make_client):
    client.sign_in("caseworker")
    cookie = client.get_cookie("socialkob_session").value
    thief = make_client()
    thief.set_cookie("socialkob_session", cookie)
    assert thief.get("/").status_code == 200
    response = client.submit("/logout", {}, form_page="/")
    assert response.status_code == 302
    assert client.get("/").status_code == 302
    assert thief.get("/").status_code == 302


def test_deactivation_ends_sessions_at_once(staff, client, make_client):
    client.sign_in("caseworker")
    assert client.get("/").status_code == 200
    admin = make_client("admin")
    user = staff.caseworker
    response = admin.submit(f"/admin/users/{user.id}", {
        "version": user.version, "full_name": user.full_name, "email": user.email, "role": "caseworker",
        "unit_id": user.unit_id, "approval_limit": "",
    })
    assert response.status_code == 302
    assert client.get("/").status_code == 302


@pytest.mark.parametrize("field, age, expired", [
    ("last_seen_at", timedelta(minutes=29), False),
    ("last_seen_at", timedelta(minutes=31), True),
    ("created_at", timedelta(hours=11, minutes=59), False),
    ("created_at", timedelta(hours=12, minutes=1), True),
])
def test_idle_and_absolute_timeouts(staff, client, db, field, age, expired):
    client.sign_in("caseworker")
    row = db.session.scalar(db.select(UserSession))
    setattr(row, field, utcnow() - age)
    db.session.commit()
    response = client.get("/")
    assert (response.status_code == 302) is expired
    if expired:
        assert db.session.scalar(db.select(UserSession)).end_reason in ("idle", "absolute")


def test_throttling_slows_then_locks_an_account(staff, client, db):
    for _ in range(3):
        client.submit("/login", {"login": "caseworker", "password": "wrong-password-1"})
    # The correct password is refused while the account waits.
    refused = client.submit("/login", {"login": "caseworker", "password": PASSWORD})
    assert "For mange mislykkede" in refused.get_data(as_text=True)
    now = utcnow()
    assert signin.throttle_wait("caseworker", "127.0.0.1", now) > timedelta(0)
    assert signin.throttle_wait("caseworker", "127.0.0.1", now + timedelta(seconds=6)) == timedelta(0)
    # Ten failures lock the account for a quarter of an hour.
    for _ in range(7):
        db.session.add(LoginAttempt(login="caseworker", address="10.0.0.9"))
    db.session.commit()
    wait = signin.throttle_wait("caseworker", "10.1.1.1")
    assert timedelta(minutes=14) < wait <= timedelta(minutes=15)


def test_unknown_login_is_throttled_like_a_real_one(staff, client):
    for _ in range(3):
        client.submit("/login", {"login": "ghost", "password": "wrong-password-1"})
    response = client.submit("/login", {"login": "ghost", "password": "wrong-password-1"})
    assert "For mange mislykkede" in response.get_data(as_text=True)


def test_throttling_holds_across_worker_processes(staff, app, database_url):
    """A second app instance (another worker) sees the failures the first one recorded."""
    other_worker = create_app({
        "TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret-key",
        "INSTANCE_PATH": app.config["INSTANCE_PATH"], "PASSWORD_HASH_TIME_COST": 1,
        "TRUSTED_HOSTS": ["localhost"], "SESSION_COOKIE_SECURE": False,
    })
    from tests.conftest import Client
    first, second = Client(app.test_client()), Client(other_worker.test_client())
    for _ in range(3):
        first.submit("/login", {"login": "economy", "password": "wrong-password-1"})
    response = second.submit("/login", {"login": "economy", "password": PASSWORD})
    assert "For mange mislykkede" in response.get_data(as_text=True)
    with other_worker.app_context():
        from workflow.extensions import db
        db.session.remove()
        db.engine.dispose()


def test_failed_and_successful_sign_ins_are_audited(staff, client, db):
    from workflow.models import AuditEvent
    client.submit("/login", {"login": "caseworker", "password": "wrong-password-1"})
    client.sign_in("manager")
    actions = db.session.scalars(db.select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions[-2:] == ["signin.failed", "signin.succeeded"]


def test_change_own_password(staff, client, make_client):
    client.sign_in("caseworker")
    other = make_client("caseworker")
    response = client.submit("/profile", {"current_password": PASSWORD, "password": "a new long secret 42",
                                          "confirm": "a new long secret 42"})
    assert response.status_code == 302
    assert client.get("/").status_code == 200  # this browser stays signed in
    assert other.get("/").status_code == 302   # the other session ended
    assert get_user("caseworker") is not None
    make_client().sign_in("caseworker", "a new long secret 42")
