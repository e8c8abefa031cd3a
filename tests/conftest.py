"""Fixtures: the app on SQLite or a real PostgreSQL (--db), users per role, signed-in clients."""
from __future__ import annotations

import os
import re
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from flask_migrate import upgrade
from sqlalchemy import text

from tests.support.postgres import TemporaryPostgres, find_bindir
from workflow import create_app
from workflow.extensions import db as _db
from workflow.models import Role, Unit, User
from workflow.services import users as user_service

PASSWORD = "correct-horse-battery-staple"
IN_CI = os.environ.get("CI") == "true"
pytest_plugins = [
    "tests.support.leak_watch",  # no full CPR number in any log or URL of the session
    "tests.support.pdf",         # `fetched`: what WeasyPrint asks for while a test renders a PDF
]


def pytest_addoption(parser):
    parser.addoption("--db", choices=("sqlite", "postgresql"), default="sqlite",
                     help="database to run the suite on")


def pytest_report_header(config):
    return f"database: {config.getoption('--db')}"


@pytest.fixture(scope="session")
def database_url(request):
    if request.config.getoption("--db") == "sqlite":
        folder = tempfile.mkdtemp(prefix="socialkob-test-")
        yield f"sqlite:///{folder}/test.db"
        return
    bindir = find_bindir()
    if bindir is None:
        if IN_CI:
            pytest.fail("PostgreSQL binaries not found; CI needs them")
        pytest.skip("PostgreSQL binaries not found")
    server = TemporaryPostgres(bindir).start()
    try:
        yield server.create_database("socialkob_test")
    finally:
        server.stop()


@pytest.fixture(scope="session")
def app(database_url):
    instance = tempfile.mkdtemp(prefix="socialkob-instance-")
    app = create_app({
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SECRET_KEY": "test-secret-key",
        "INSTANCE_PATH": instance,
        "MAIL_OUTBOX": str(Path(instance) / "outbox"),
        "PASSWORD_HASH_TIME_COST": 1,
        "TRUSTED_HOSTS": ["localhost", "127.0.0.1"],
        "SESSION_COOKIE_SECURE": False,
        "SERVER_NAME": None,
        "API_RATE_LIMIT": "100000 per minute",  # test_api_core checks the limit with a low one
    })
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(autouse=True)
def _clean_database(request, app):
    """Every test starts from empty tables."""
    yield
    with app.app_context():
        _db.session.remove()
        tables = [table.name for table in reversed(_db.metadata.sorted_tables)]
        if _db.engine.dialect.name == "postgresql":
            _db.session.execute(text("TRUNCATE " + ", ".join(f'"{t}"' for t in tables)
                                     + " RESTART IDENTITY CASCADE"))
        else:
            for table in tables:
                _db.session.execute(text(f'DELETE FROM "{table}"'))
        _db.session.commit()
        _db.session.remove()


@pytest.fixture
def app_ctx(app):
    with app.app_context():
        yield app


@pytest.fixture
def db(app_ctx):
    return _db


@pytest.fixture
def outbox(app, monkeypatch, tmp_path) -> Path:
    """Mail is written to this test's own outbox folder instead of an SMTP server. Modules whose cases send mail
    use it in every test: `pytestmark = pytest.mark.usefixtures("outbox")`."""
    folder = tmp_path / "outbox"
    monkeypatch.setitem(app.config, "MAIL_SERVER", "")
    monkeypatch.setitem(app.config, "MAIL_OUTBOX", str(folder))
    return folder


@pytest.fixture
def request_ctx(app, db):
    """Services that build links or render PDFs run inside a request, as they do on the pages."""
    with app.test_request_context():
        yield


class Staff(dict):
    """The users of a test by key: 'caseworker', 'manager_other' and so on."""

    def __getattr__(self, name):
        return self[name]


@pytest.fixture
def staff(db) -> Staff:
    """Two units with one user per role each (the second unit's keys end in _other)."""
    home = user_service.create_unit("Voksenhandicap")
    other = user_service.create_unit("Børn og Familie")
    people = Staff()
    for unit, suffix in ((home, ""), (other, "_other")):
        for role in Role:
            login = f"{role.value}{suffix}"
            people[login] = user_service.create_user(
                login=login, full_name=f"{role.value.title()} {unit.name}", email=f"{login}@example.org",
                role=role, unit=unit, password=PASSWORD,
                approval_limit=Decimal("2000000") if role == Role.MANAGER else None)
    db.session.commit()
    return people


TOKEN_INPUT = re.compile(r'<input[^>]*name="csrf_token"[^>]*>')
VALUE = re.compile(r'value="([^"]+)"')


def csrf_token(response) -> str:
    match = TOKEN_INPUT.search(response.get_data(as_text=True))
    assert match, "no CSRF token on the page"
    return VALUE.search(match.group(0)).group(1)


def version_on(page: str) -> str:
    """The version a page's form carries: a save sent with an older one is refused as stale."""
    return re.search(r'name="version"[^>]*value="(\d+)"', page).group(1)


class Client:
    """The Flask test client with helpers for signing in and posting forms with their token.

    Each request runs in a fresh application context, as in a real server: otherwise a test's
    own app context would be shared and `g` (current user, CSRF token) would leak between requests.
    """

    REQUEST_METHODS = ("get", "post", "put", "patch", "delete", "head", "open")

    def __init__(self, flask_client):
        self.raw = flask_client

    def __getattr__(self, name):
        attribute = getattr(self.raw, name)
        if name not in self.REQUEST_METHODS:
            return attribute

        def in_fresh_context(*args, **kwargs):
            with self.raw.application.app_context():
                return attribute(*args, **kwargs)
        return in_fresh_context

    def token(self, page: str = "/login") -> str:
        return csrf_token(self.get(page))

    def submit(self, url: str, data: dict | None = None, form_page: str | None = None, **kwargs):
        """GET the form's page for a token, then POST the data to url."""
        payload = {"csrf_token": self.token(form_page or url), **(data or {})}
        return self.post(url, data=payload, **kwargs)

    def sign_in(self, login: str, password: str = PASSWORD):
        response = self.submit("/login", {"login": login, "password": password})
        assert response.status_code == 302, response.get_data(as_text=True)[:2000]
        return response


@pytest.fixture
def client(app) -> Client:
    return Client(app.test_client())


@pytest.fixture
def make_client(app):
    def make(login: str | None = None) -> Client:
        new = Client(app.test_client())
        if login:
            new.sign_in(login)
        return new
    return make


def example_url(rule, value) -> str:
    """A URL of the app map's rule with every argument `value`, or the first choice of an <any(...)> argument."""
    values = {name: sorted(converter.items)[0] if hasattr(converter, "items") else value
              for name, converter in rule._converters.items()}
    return rule.build(values)[1]


def is_api(rule) -> bool:
    """Under /api/: a bearer token or nothing; a browser session never counts there (so CSRF cannot ride it)."""
    return rule.rule.startswith("/api/") and rule.endpoint != "api_docs.docs_page"


def get_user(login: str) -> User:
    return _db.session.scalar(_db.select(User).where(User.login == login))


def get_unit(name: str) -> Unit:
    return _db.session.scalar(_db.select(Unit).where(Unit.name == name))
