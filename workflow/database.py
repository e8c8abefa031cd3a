"""The database connection: SQLite's settings, and when a transaction takes SQLite's write lock.

SQLite has one writer at a time. A transaction that reads first and writes later ("BEGIN" deferred)
must upgrade its read snapshot to the write lock, and if another writer committed in between,
SQLite refuses at once with "database is locked" (SQLITE_BUSY_SNAPSHOT): waiting cannot help, so
busy_timeout does not either. A transaction that takes the lock when it begins ("BEGIN IMMEDIATE")
waits its turn under busy_timeout instead, and reads what it then changes under the same lock, so
two saves of the same case are serialised and the second sees the first's version.

Hence, for SQLite:

- a write request (POST and the rest) begins IMMEDIATE, at its first statement (a view marked
  begins_at_first_write, at its first write);
- a read request (GET, HEAD, OPTIONS) and anything else (CLI commands, the shell, the tests' own
  session) read without holding a transaction, so readers run in parallel under WAL and each read
  sees what is committed (as PostgreSQL's READ COMMITTED does); their first write (an access-log
  row, a session touch) begins IMMEDIATE right before it, never by upgrading a snapshot. A CLI
  command thus never holds the lock while it only reads: send-reminders reads between its commits
  while it talks to the mail server, and must not keep the pages' writers waiting meanwhile.

pysqlite's own transaction handling is turned off (isolation_level=None) so that these BEGINs are
the only ones (SQLAlchemy documents this recipe for pysqlite); it still sends COMMIT and ROLLBACK.
PostgreSQL needs none of this: its row locks and the models' version columns do the work.
"""
from __future__ import annotations

import re

from flask import Flask, current_app, has_request_context, request
from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from workflow.extensions import db

READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
BUSY_TIMEOUT_MS = 10_000

IMMEDIATE = "immediate"   # the write lock is taken (or asked for) at BEGIN
ON_WRITE = "on-write"     # no BEGIN yet: reads run on their own; the first write begins IMMEDIATE
_STATE = "sqlite_transaction"

# Statements that change the database, and SAVEPOINT (which outside a transaction would begin a deferred one).
_WRITES = re.compile(r"\s*(INSERT|UPDATE|DELETE|REPLACE|CREATE|DROP|ALTER|SAVEPOINT)\b", re.IGNORECASE)


def init_app(app: Flask) -> None:
    """Set up the app's engine; called by create_app after db.init_app."""
    with app.app_context():
        engine = db.engine
    if engine.dialect.name == "sqlite":
        configure_sqlite(engine)


def configure_sqlite(engine: Engine) -> None:
    """Foreign keys, WAL, busy timeout, and the BEGINs described above, on every connection of engine."""
    event.listen(engine, "connect", _on_connect)
    event.listen(engine, "begin", _on_begin)
    event.listen(engine, "before_cursor_execute", _before_statement)


def begins_at_first_write(view):
    """Mark a write view whose slow work comes before its first write (sign-in: the password hash).

    It reads without the write lock and begins IMMEDIATE at its first write, as a read request does, so
    that twenty people signing in at once do not queue for the lock behind each other's hashing.
    """
    view.sqlite_transaction = ON_WRITE
    return view


def transaction_mode() -> str:
    """IMMEDIATE for a write request; ON_WRITE for a read request and anything else."""
    if has_request_context():
        if request.method in READ_METHODS:
            return ON_WRITE
        view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
        return getattr(view, "sqlite_transaction", IMMEDIATE)
    return ON_WRITE


def _on_connect(dbapi_connection, connection_record) -> None:
    dbapi_connection.isolation_level = None   # pysqlite sends no BEGIN of its own; _on_begin decides
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")   # readers never wait for the writer, nor it for them
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")   # wait for the write lock rather than fail
    cursor.execute("PRAGMA synchronous=NORMAL")   # in WAL: a commit survives a crash of the process
    cursor.close()


def _on_begin(connection) -> None:
    mode = transaction_mode()
    connection.info[_STATE] = mode
    if mode == IMMEDIATE:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def _before_statement(connection, cursor, statement, parameters, context, executemany) -> None:
    if connection.info.get(_STATE) == ON_WRITE and _WRITES.match(statement):
        connection.info[_STATE] = IMMEDIATE
        cursor.execute("BEGIN IMMEDIATE")


# SQLSTATE 23505 (PostgreSQL) and SQLite's extended codes for a unique or primary key already taken.
_UNIQUE_TAKEN = {"23505", "SQLITE_CONSTRAINT_UNIQUE", "SQLITE_CONSTRAINT_PRIMARYKEY"}


def lost_race(error: Exception) -> bool:
    """Whether the database refused a save because another one got there first.

    A StaleDataError is a versioned row changed since it was read (both saves passed the version check
    in the service, one of them updated no row); a unique key taken is the other's insert of the same
    row (the service looked, found none, and so did the other). Any other integrity error is a bug.
    """
    if isinstance(error, StaleDataError):
        return True
    if not isinstance(error, IntegrityError):
        return False
    original = error.orig
    code = getattr(original, "sqlstate", None) or getattr(original, "sqlite_errorname", None)
    return code in _UNIQUE_TAKEN
