"""Migrations: from an empty database up to head, down to nothing, up again; the models and migrations agree.

Each test runs on a fresh database of its own (a new SQLite file, or a new database on the session's
PostgreSQL server), never the session's, which the other tests keep at head.
"""
from __future__ import annotations

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from flask import Flask
from flask_migrate import downgrade, upgrade

from tests.support.databases import app_on, fresh_database, schema_objects
from workflow.extensions import db

pytestmark = pytest.mark.slow


def _head(app: Flask) -> str:
    config = app.extensions["migrate"].migrate.get_config()
    return ScriptDirectory.from_config(config).get_current_head()


def _revision() -> str | None:
    with db.engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()


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
