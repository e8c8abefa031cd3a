"""Migrations: from an empty database up to head, down to nothing, up again; the models and migrations agree.

Each test runs on a fresh database of its own (a new SQLite file, or a new database on the session's
PostgreSQL server), never the session's, which the other tests keep at head.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

import psycopg
import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from workflow import create_app
from workflow.extensions import db

pytestmark = pytest.mark.slow


@contextlib.contextmanager
def fresh_database(database_url: str, name: str):
    """The URL of a new, empty database beside the session's; dropped afterwards."""
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        folder = tempfile.mkdtemp(prefix="socialkob-fresh-")
        try:
            yield f"sqlite:///{folder}/{name}.db"
        finally:
            shutil.rmtree(folder, ignore_errors=True)
        return
    server = url.set(drivername="postgresql", database="postgres").render_as_string(hide_password=False)
    with psycopg.connect(server, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with psycopg.connect(server, autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def app_on(database_url: str, instance: Path) -> Flask:
    """A second app, like the session's, on another database."""
    return create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": database_url, "SECRET_KEY": "test-secret-key",
                       "INSTANCE_PATH": str(instance), "MAIL_OUTBOX": str(instance / "outbox"),
                       "PASSWORD_HASH_TIME_COST": 1, "SERVER_NAME": None})


def _head(app: Flask) -> str:
    config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def _revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


def schema_objects() -> set[str]:
    """Every table, and on PostgreSQL every sequence, view, function, type and trigger the migrations made."""
    found = set(inspect(db.engine).get_table_names())
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as connection:
            found |= set(connection.scalars(text(
                "SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'public' AND c.relkind IN ('S', 'v', 'm')")))
            found |= {f"function {name}" for name in connection.scalars(text(
                "SELECT p.proname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
                "WHERE n.nspname = 'public'"))}
            found |= {f"type {name}" for name in connection.scalars(text(
                "SELECT t.typname FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace "
                "WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd')"))}
            found |= {f"trigger {name}" for name in connection.scalars(text(
                "SELECT tgname FROM pg_trigger WHERE NOT tgisinternal"))}
    return found


def _differences() -> list:
    """What autogenerate would write into a new migration: `flask db check`'s comparison, with its settings."""
    options = {"render_as_batch": True, "compare_type": True}
    with db.engine.connect() as connection:
        return compare_metadata(MigrationContext.configure(connection, opts=options), db.metadata)


def test_upgrade_from_empty_down_to_base_and_up_again(database_url, tmp_path):
    with fresh_database(database_url, "socialkob_migrations") as url:
        app = app_on(url, tmp_path)
        with app.app_context():
            assert schema_objects() == set()
            upgrade()
            assert _revision() == _head(app)
            at_head = schema_objects()
            assert {table.name for table in db.metadata.sorted_tables} | {"alembic_version"} <= at_head
            if db.engine.dialect.name == "postgresql":
                assert {"trigger audit_events_append_only", "trigger access_log_append_only",
                        "trigger approval_events_append_only"} <= at_head

            downgrade(revision="base")
            assert _revision() is None
            assert schema_objects() - {"alembic_version"} == set(), "the downgrades left these behind"

            upgrade()
            assert _revision() == _head(app)
            assert schema_objects() == at_head
            db.engine.dispose()


def test_models_and_migrations_agree(database_url, tmp_path):
    with fresh_database(database_url, "socialkob_drift") as url:
        app = app_on(url, tmp_path)
        with app.app_context():
            upgrade()
            assert _differences() == []
            checked = app.test_cli_runner().invoke(args=["db", "check"])   # the command itself, on this app
            assert checked.exit_code == 0, checked.output
            db.engine.dispose()
