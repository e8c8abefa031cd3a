"""Backup and restore of the whole database: `flask --app wsgi backup FILE` and `restore FILE`.

SQLite: SQLite's online backup copies a consistent snapshot while the app goes on writing (WAL lets
its writers carry on while the copy reads). PostgreSQL: pg_dump's custom format, read back with
pg_restore; both take the connection from the app's settings, the password through the environment.

A backup holds all the citizens' data: it is written readable by its owner only, and to a temporary
file beside FILE that is renamed onto it only when complete, so a failed backup never leaves a
truncated FILE that looks valid (nor replaces the last good one).
"""
from __future__ import annotations

import contextlib
import glob
import logging
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import click
from flask import Flask
from sqlalchemy import column, exc, exists, inspect, select, table, text
from sqlalchemy.engine import URL

from workflow.extensions import db

log = logging.getLogger(__name__)

SQLITE_MAGIC = b"SQLite format 3\x00"
PG_DUMP_MAGIC = b"PGDMP"
KINDS = {"sqlite": "SQLite", "postgresql": "PostgreSQL"}
# The migrations' own bookkeeping: present in every database of the app, data or not.
BOOKKEEPING = "alembic_version"


def init_app(app: Flask) -> None:
    """Registers this module's commands on app.cli."""

    @app.cli.command("backup")
    @click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
    def backup_command(file: Path):
        """Write a backup of the whole database to FILE; the app may go on running.

        SQLite: a copy made with SQLite's online backup, itself a SQLite database. PostgreSQL: a pg_dump
        archive in custom format. FILE is readable by its owner only; an existing FILE is replaced, and
        only by a complete backup.
        """
        started = time.perf_counter()
        kind = _kind()
        if kind == "sqlite" and file.absolute().resolve() == _sqlite_path().resolve():
            raise click.ClickException(f"{file} is the database itself: write the backup to another file.")
        with _written_atomically(file) as partial:
            if kind == "sqlite":
                revision = _backup_sqlite(_sqlite_path(), partial)
            else:
                with _connection_errors():
                    revision = _revision()
                _backup_postgresql(db.engine.url, partial)
        size, seconds = file.stat().st_size, time.perf_counter() - started
        log.info("backup: %s database (migration %s) written to %s, %d bytes in %.1f s",
                 KINDS[kind], revision, file, size, seconds)
        click.echo(f"Backup of the {KINDS[kind]} database (migration {revision}) written to {file}: "
                   f"{_megabytes(size)} in {seconds:.1f} s.")

    @app.cli.command("restore")
    @click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    @click.option("--force", is_flag=True, help="Replace a database that has data, without asking.")
    def restore_command(file: Path, force: bool):
        """Replace the configured database with the backup in FILE (made by `backup`).

        Stop the app first, all its processes: it must not write while the database is replaced, nor keep
        connections to the old one. A database that has data is replaced only after you confirm, or with
        --force. Afterwards run `flask --app wsgi db upgrade` if the backup is from an older version.
        """
        started = time.perf_counter()
        kind = _kind()
        backed_up = _backup_kind(file)
        if backed_up != kind:
            raise click.ClickException(f"{file} is a backup of a {KINDS[backed_up]} database; the configured "
                                       f"database is {KINDS[kind]}.")
        tables = _sqlite_backup_tables(file) if kind == "sqlite" else _postgresql_backup_tables(file)
        with _connection_errors():
            _check_may_replace(tables, force)
        db.session.remove()
        db.engine.dispose()  # no connection of ours to the old database stays open
        if kind == "sqlite":
            revision = _restore_sqlite(file, _sqlite_path())
        else:
            with _connection_errors():
                _check_postgresql_unused()
            _restore_postgresql(file, db.engine.url)
            with _connection_errors():
                revision = _revision()
        seconds = time.perf_counter() - started
        log.info("restore: %s database replaced from %s (migration %s, %d tables) in %.1f s",
                 KINDS[kind], file, revision, len(tables), seconds)
        click.echo(f"Restored the {KINDS[kind]} database from {file} (migration {revision}, {len(tables)} tables) "
                   f"in {seconds:.1f} s.")


# -- both databases ------------------------------------------------------------------------------------------

def _kind() -> str:
    kind = db.engine.dialect.name
    if kind not in KINDS:
        raise click.ClickException(f"Backup and restore know SQLite and PostgreSQL, not {kind}.")
    return kind


def _revision() -> str:
    """The migration the database is at, for the operator to match a backup with the app's version.

    Through the app's engine, for PostgreSQL; SQLite's is read from the file itself (_sqlite_revision), as the
    app's engine takes SQLite's write lock in a command, which a backup has no need of.
    """
    if not inspect(db.engine).has_table(BOOKKEEPING):
        return "none"
    with db.engine.connect() as connection:
        return connection.scalar(select(column("version_num")).select_from(table(BOOKKEEPING))) or "none"


@contextlib.contextmanager
def _connection_errors():
    """The database unreachable: a message, not a traceback (the driver's message names no password)."""
    try:
        yield
    except exc.DBAPIError as error:
        first_line = str(error.orig).strip().splitlines()[0] if str(error.orig).strip() else type(error.orig).__name__
        raise click.ClickException(f"The database cannot be read: {first_line}") from error


def _backup_kind(file: Path) -> str:
    with open(file, "rb") as handle:
        start = handle.read(len(SQLITE_MAGIC))
    if start == SQLITE_MAGIC:
        return "sqlite"
    if start.startswith(PG_DUMP_MAGIC):
        return "postgresql"
    raise click.ClickException(f"{file} is not a backup: neither a SQLite database nor a pg_dump archive "
                               "(custom format). Nothing was changed.")


def _check_may_replace(backup_tables: set[str], force: bool) -> None:
    """Refuse to replace data unless told to; and refuse tables the backup would leave behind."""
    names = set(inspect(db.engine).get_table_names())
    with db.engine.connect() as connection:
        filled = sorted(name for name in names - {BOOKKEEPING}
                        if connection.scalar(select(exists().select_from(table(name)))))
    # pg_restore replaces the backup's tables only: others (from a newer migration) would stay, out of step.
    left_behind = sorted(names - backup_tables) if db.engine.dialect.name == "postgresql" else []
    if left_behind:
        raise click.ClickException("The database has tables the backup does not have (" + ", ".join(left_behind)
                                   + "): restore into an empty database. Nothing was changed.")
    if not filled:
        return
    named = ", ".join(filled[:5]) + (", ..." if len(filled) > 5 else "")
    summary = f"The database has data in {len(filled)} tables ({named})"
    if force:
        log.warning("restore: replacing a database with data in %d tables (--force)", len(filled))
        return
    if not sys.stdin.isatty():
        raise click.ClickException(f"{summary}: restore replaces it only with --force. Nothing was changed.")
    click.confirm(f"{summary}. Replace all of it with the backup?", abort=True)


@contextlib.contextmanager
def _written_atomically(target: Path):
    """A temporary path beside target (owner-only), renamed onto target when the block completes, else removed."""
    target = target.absolute()
    if not target.parent.is_dir():
        raise click.ClickException(f"No such folder: {target.parent}")
    fd, name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".partial", dir=target.parent)
    os.close(fd)
    partial = Path(name)
    try:
        yield partial
        with open(partial, "rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(partial, target)
    finally:
        for leftover in (partial, *(Path(f"{partial}{suffix}") for suffix in ("-journal", "-wal", "-shm"))):
            leftover.unlink(missing_ok=True)
    directory = os.open(target.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename itself survives a crash
    finally:
        os.close(directory)


def _megabytes(size: int) -> str:
    return f"{size / 1_000_000:.1f} MB"


# -- SQLite --------------------------------------------------------------------------------------------------

def _sqlite_path() -> Path:
    database = db.engine.url.database
    if not database or database == ":memory:" or database.startswith("file:"):
        raise click.ClickException("The configured SQLite database is not a file; nothing to back up or restore.")
    return Path(database).absolute()


def _sqlite_open(path: Path, *, read_only: bool) -> sqlite3.Connection:
    if read_only:
        return sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)
    return sqlite3.connect(path, timeout=30)


def _sqlite_check(connection: sqlite3.Connection, what: str) -> None:
    found = connection.execute("PRAGMA quick_check").fetchall()
    if found != [("ok",)]:
        raise click.ClickException(f"{what} fails SQLite's integrity check: {found[0][0]}.")


def _sqlite_revision(connection: sqlite3.Connection) -> str:
    if not connection.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (BOOKKEEPING,)).fetchone():
        return "none"
    found = connection.execute(f"SELECT version_num FROM {BOOKKEEPING}").fetchone()  # noqa: S608 - a fixed name
    return found[0] if found else "none"


def _backup_sqlite(database: Path, partial: Path) -> str:
    if not database.exists():
        raise click.ClickException(f"The database {database} does not exist.")
    try:
        source = _sqlite_open(database, read_only=True)
        try:
            copy = _sqlite_open(partial, read_only=False)
            try:
                # In one step: a single read transaction, so one consistent snapshot; under WAL the app's
                # writers carry on meanwhile (in small steps each of their commits would restart the copy).
                source.backup(copy)
                copy.execute("PRAGMA journal_mode=DELETE")  # a single self-contained file, no -wal beside it
                _sqlite_check(copy, "The copy")
                return _sqlite_revision(copy)
            finally:
                copy.close()
        finally:
            source.close()
    except sqlite3.Error as error:
        raise click.ClickException(f"The backup failed: {error}") from error


def _sqlite_backup_tables(file: Path) -> set[str]:
    """The tables of a backup file, after checking it is whole and a database of this app."""
    try:
        backup = _sqlite_open(file.absolute(), read_only=True)
        try:
            _sqlite_check(backup, f"{file} (nothing was changed)")
            names = {row[0] for row in backup.execute(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\'")}
        finally:
            backup.close()
    except sqlite3.Error as error:
        raise click.ClickException(f"{file} cannot be read as a SQLite backup: {error}. "
                                   "Nothing was changed.") from error
    if BOOKKEEPING not in names:
        raise click.ClickException(f"{file} is a SQLite database but not one of this app (no {BOOKKEEPING} table). "
                                   "Nothing was changed.")
    return names


def _restore_sqlite(file: Path, database: Path) -> str:
    """SQLite's backup API again, from the file into the database: in one transaction, all or nothing."""
    if database.exists() and database.samefile(file):
        raise click.ClickException(f"{file} is the configured database itself.")
    database.parent.mkdir(parents=True, exist_ok=True)
    try:
        source = _sqlite_open(file.absolute(), read_only=True)
        try:
            target = _sqlite_open(database, read_only=False)
            try:
                # Out of WAL while the pages are replaced (WAL would refuse another page size); this needs the
                # database to itself, so it also finds an app still running.
                if target.execute("PRAGMA journal_mode=DELETE").fetchone()[0] != "delete":
                    raise click.ClickException("The database is in use: stop the app (all its processes) first. "
                                               "Nothing was changed.")
                source.backup(target)
                target.execute("PRAGMA journal_mode=WAL")
                _sqlite_check(target, "The restored database")
                return _sqlite_revision(target)
            finally:
                target.close()
        finally:
            source.close()
    except sqlite3.OperationalError as error:
        if "locked" in str(error):
            raise click.ClickException("The database is in use: stop the app (all its processes) first. "
                                       "Nothing was changed.") from error
        raise click.ClickException(f"The restore failed: {error}") from error
    except sqlite3.Error as error:
        raise click.ClickException(f"The restore failed: {error}") from error


# -- PostgreSQL ----------------------------------------------------------------------------------------------

def _version(bindir: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", Path(bindir).parent.name))


def _pg_program(name: str) -> str:
    """pg_dump must be at least as new as the server: the newest of Debian's versioned folders, else PATH."""
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version, reverse=True):
        if Path(bindir, name).exists():
            return str(Path(bindir, name))
    found = shutil.which(name)
    if not found:
        raise click.ClickException(f"{name} not found: install PostgreSQL's client programs (postgresql-client).")
    return found


def _libpq_target(url: URL) -> tuple[str, dict[str, str]]:
    """The database as a libpq URL without the password, and an environment that carries the password."""
    environment = dict(os.environ)
    if url.password:
        environment["PGPASSWORD"] = str(url.password)
    plain = url.set(drivername="postgresql", password=None)  # no "+psycopg": that is SQLAlchemy's, not libpq's
    return plain.render_as_string(hide_password=False), environment


def _run_pg(name: str, arguments: list[str], url: URL, what: str, outcome: str = "") -> str:
    target, environment = _libpq_target(url)
    command = [_pg_program(name), "--no-password", f"--dbname={target}", *arguments]
    finished = subprocess.run(command, env=environment, capture_output=True, text=True, check=False)
    if finished.returncode != 0:
        message = finished.stderr.strip()
        if url.password:
            message = message.replace(str(url.password), "***")
        last_lines = "\n".join(message.splitlines()[-5:]) or f"exit code {finished.returncode}"
        raise click.ClickException(f"{what} failed ({name}):\n{last_lines}{outcome}")
    return finished.stdout


def _backup_postgresql(url: URL, partial: Path) -> None:
    # pg_dump reads in one repeatable-read snapshot: consistent, and it blocks no writer.
    _run_pg("pg_dump", ["--format=custom", f"--file={partial}"], url, "The backup")


def _postgresql_backup_tables(file: Path) -> set[str]:
    """The tables of a pg_dump archive, from its table of contents (which also proves it whole enough to read)."""
    listing = subprocess.run([_pg_program("pg_restore"), "--list", str(file)], capture_output=True, text=True,
                             check=False)
    if listing.returncode != 0:
        reason = (listing.stderr.strip().splitlines() or [f"exit code {listing.returncode}"])[-1]
        raise click.ClickException(f"{file} cannot be read as a pg_dump archive: {reason}. Nothing was changed.")
    names = set(re.findall(r"^\d+; \d+ \d+ TABLE public (\S+) ", listing.stdout, flags=re.MULTILINE))
    if BOOKKEEPING not in names:
        raise click.ClickException(f"{file} is a pg_dump archive but not of this app's database "
                                   f"(no {BOOKKEEPING} table). Nothing was changed.")
    return names


def _check_postgresql_unused() -> None:
    """Refuse while others are connected: pg_restore would wait for a running app's locks, then pull its tables
    away from under it."""
    with db.engine.connect() as connection:
        others = connection.scalars(text(
            "SELECT coalesce(nullif(application_name, ''), 'unnamed') FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid() AND backend_type = 'client backend'")).all()
    db.engine.dispose()
    if others:
        raise click.ClickException(f"The database is in use by {len(others)} other connections "
                                   f"({', '.join(sorted(set(others)))}): stop the app (all its processes) first. "
                                   "Nothing was changed.")


def _restore_postgresql(file: Path, url: URL) -> None:
    # One transaction, stopping at the first error: the database is replaced wholly or not at all. Owners and
    # grants are left out, as the roles of the server the backup came from need not exist here.
    _run_pg("pg_restore", ["--clean", "--if-exists", "--no-owner", "--no-privileges", "--single-transaction",
                           "--exit-on-error", str(file)], url, "The restore",
            "\nIt ran in one transaction: nothing was changed.")
