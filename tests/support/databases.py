"""Fresh databases beside the session's, and a second app on one of them.

The migration and backup tests need an empty database of their own (a new SQLite file, or a new database on
the session's PostgreSQL server), never the session's, which the other tests keep at head.
"""
from __future__ import annotations

import contextlib
import shutil
import tempfile
from pathlib import Path

import psycopg
from flask import Flask
from sqlalchemy import inspect, text
from sqlalchemy.engine import make_url

from workflow import create_app
from workflow.extensions import db


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
