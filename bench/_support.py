"""What the benchmarks share: a throwaway database, the app on it, the seeding, signed-in clients, timing.

A database is SQLite in a temporary folder or a database on a throwaway PostgreSQL server
(tests/support/postgres.py); `seed()` fills it the way bench/run.py measures it: the demo staff and
200 users in all, 5,000 offers, N cases in every stage (workflow/demo/bulk.py).
"""
from __future__ import annotations

import contextlib
import gc
import re
import shutil
import statistics
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from flask import Flask
from flask_migrate import upgrade
from sqlalchemy import event

KINDS = ("sqlite", "postgresql")
TOKEN = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"')


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values fall (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(share * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict:
    """p50, p95 and max of timings in milliseconds, rounded for the results file."""
    return {"p50": round(statistics.median(values), 2), "p95": round(percentile(values, 0.95), 2),
            "max": round(max(values), 2), "runs": len(values)}


@dataclass
class Database:
    """A fresh database of one kind; `stop()` removes it (and the server)."""

    kind: str
    folder: Path = field(default_factory=lambda: Path(tempfile.mkdtemp(prefix="socialkob-bench-")))
    url: str = ""
    server: object = None

    def start(self, name: str = "bench") -> Database:
        if self.kind == "postgresql":
            from tests.support.postgres import TemporaryPostgres, find_bindir

            bindir = find_bindir()
            if bindir is None:
                raise RuntimeError("PostgreSQL's binaries (initdb, pg_ctl) are not installed")
            self.server = TemporaryPostgres(bindir).start()
            self.url = self.server.create_database(name)
        else:
            self.url = f"sqlite:///{self.folder}/{name}.db"
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


@contextlib.contextmanager
def database(kind: str) -> Iterator[Database]:
    found = Database(kind).start()
    try:
        yield found
    finally:
        found.stop()


def make_app(url: str, folder: Path) -> Flask:
    """The app on a benchmark database, configured as in production but for plain http on localhost."""
    from workflow import create_app

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "INSTANCE_PATH": str(folder), "SECRET_KEY": "bench",
                      "TRUSTED_HOSTS": ["localhost", "127.0.0.1"], "SESSION_COOKIE_SECURE": False,
                      "PASSWORD_HASH_TIME_COST": 1, "MAIL_OUTBOX": str(folder / "outbox")})
    gc.freeze()                 # as wsgi.py does
    return app


def migrate(app: Flask) -> None:
    import logging

    logging.disable(logging.INFO)   # alembic's line per migration (its logging config sets the level itself)
    try:
        with app.app_context():
            upgrade()
    finally:
        logging.disable(logging.NOTSET)


def seed_people_and_offers(app: Flask, users: int = 200, offers: int = 5000) -> None:
    """The demo staff (their logins) and more up to `users`, and the registry's offers."""
    from workflow import demo
    from workflow.demo import bulk
    from workflow.extensions import db

    with app.app_context():
        demo.seed_staff()
        bulk.bulk_staff(users)
        bulk.bulk_offers(offers)
        db.session.commit()


def seed_cases(app: Flask, count: int, **options) -> float:
    """`count` cases in every stage; returns the seconds it took (written and committed)."""
    from workflow.demo import bulk
    from workflow.extensions import db

    with app.app_context():
        started = time.perf_counter()
        bulk.bulk_cases(count, **options)
        db.session.commit()
        return time.perf_counter() - started


def analyze(app: Flask) -> float:
    """The state autovacuum leaves a table in a minute after a bulk load: fresh planner statistics, and on
    PostgreSQL a visibility map too (VACUUM), without which an index-only scan still reads the table's rows.
    SQLite gets the sampled statistics `PRAGMA optimize` keeps."""
    from workflow.extensions import db

    with app.app_context():
        started = time.perf_counter()
        if db.engine.dialect.name == "postgresql":      # VACUUM cannot run in a transaction
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
                connection.execute(db.text("VACUUM ANALYZE"))
        else:                                           # a full pass would read every index
            db.session.execute(db.text("PRAGMA analysis_limit=1000"))
            db.session.execute(db.text("ANALYZE"))
            db.session.commit()
        return time.perf_counter() - started


def sign_in(app: Flask, login: str, password: str | None = None):
    """A test client signed in as `login` (the demo password by default)."""
    from workflow.demo import DEMO_PASSWORD

    client = app.test_client()
    token = TOKEN.search(client.get("/login").get_data(as_text=True)).group(1)
    response = client.post("/login", data={"csrf_token": token, "login": login,
                                           "password": password or DEMO_PASSWORD})
    if response.status_code != 302:
        raise RuntimeError(f"sign-in of {login} failed: {response.status_code}")
    return client


class QueryCounter:
    """Counts the SQL statements the app's engine sends while it is active (`with`)."""

    def __init__(self, engine):
        self.engine = engine
        self.count = 0

    def _count(self, *args) -> None:
        self.count += 1

    def __enter__(self) -> QueryCounter:
        self.count = 0
        event.listen(self.engine, "before_cursor_execute", self._count)
        return self

    def __exit__(self, *exc) -> None:
        event.remove(self.engine, "before_cursor_execute", self._count)


def time_page(client, url: str, runs: int, warmup: int = 3, budget: float | None = None,
              at_least: int = 10) -> tuple[list[float], set[int]]:
    """Milliseconds per GET of `url` over `runs` requests after `warmup`, and the status codes seen.

    With a `budget` (seconds), a slow page stops early once it has had `at_least` requests timed.
    """
    statuses = set()
    for _ in range(warmup):
        statuses.add(client.get(url).status_code)
    timings = []
    begun = time.perf_counter()
    for _ in range(runs):
        started = time.perf_counter()
        response = client.get(url)
        timings.append((time.perf_counter() - started) * 1000)
        statuses.add(response.status_code)
        if budget is not None and len(timings) >= at_least and time.perf_counter() - begun > budget:
            break
    return timings, statuses


def count_queries(app: Flask, client, url: str) -> tuple[int, int]:
    """(SQL statements, status code) of one GET of `url`."""
    from workflow.extensions import db

    with app.app_context():
        engine = db.engine
    with QueryCounter(engine) as counter:
        status = client.get(url).status_code
    return counter.count, status
