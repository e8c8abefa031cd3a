"""Backup under write load, restored into a fresh database, is the database as it was at the backup's moment.

The load is insert-only (cases opened, commented and read, each through the services in a thread with its own
app context and session), so the source as it was at the backup's moment is its rows as they are afterwards,
less those committed later. The restored copy must hold every row committed before the backup began, only rows
that the source has, each exactly as there, and no half of any transaction.
"""
from __future__ import annotations

import hashlib
import threading
import time
from pathlib import Path

import click
import pytest
from sqlalchemy import create_engine, func, select, text

from tests.factories import make_case
from tests.support.databases import app_on, fresh_database, schema_objects
from workflow import demo
from workflow.extensions import db
from workflow.maintenance import backup
from workflow.models import AccessLog, AuditEvent, CaseComment, PurchaseCase, User
from workflow.services import cases

pytestmark = pytest.mark.slow

SEEDED_CASES = 1000
WRITERS = 3
LOAD_NAME = "Belastning Testesen"


class WriteLoad:
    """Threads that open, comment on and read cases until stopped, each in its own app context."""

    def __init__(self, app, owner_id: int):
        self.app, self.owner_id = app, owner_id
        self.commits, self.errors = 0, []
        self._lock, self._stop = threading.Lock(), threading.Event()
        self._threads = [threading.Thread(target=self._write, daemon=True) for _ in range(WRITERS)]

    def __enter__(self) -> WriteLoad:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def _write(self) -> None:
        with self.app.app_context():
            owner = db.session.get(User, self.owner_id)
            try:
                while not self._stop.is_set():
                    case = make_case(owner, name=LOAD_NAME)   # commits: citizen, case, assessment, visit, audit
                    self._counted()
                    cases.add_comment(case, owner, "Ringede til leverandøren")
                    cases.log_access(owner, case, "case.view", "Belastningstest")
                    db.session.commit()
                    self._counted()
            except Exception as error:  # noqa: BLE001 - reported by the test
                self.errors.append(repr(error))
                self._stop.set()
            finally:
                db.session.remove()

    def _counted(self) -> None:
        with self._lock:
            self.commits += 1

    def wait_for(self, commits: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.commits < commits and not self.errors and time.monotonic() < deadline:
            time.sleep(0.01)
        assert not self.errors, self.errors
        assert self.commits >= commits, f"only {self.commits} commits in {timeout} s"


def snapshot() -> dict[str, dict[tuple, tuple]]:
    """Every row of every table of the current app's database, by primary key."""
    rows = {}
    for table in db.metadata.sorted_tables:
        key = list(table.primary_key.columns)
        rows[table.name] = {tuple(row[:len(key)]): tuple(row) for row in db.session.execute(
            select(*key, table).order_by(*key))}
    db.session.remove()
    return rows


def checksum(rows: dict[tuple, tuple]) -> str:
    return hashlib.sha256(repr(sorted(rows.items())).encode()).hexdigest()[:12]


def last_ids() -> dict[str, int]:
    """The highest id of each table with one, so that the load's own rows can be told from the seeded ones."""
    found = {table.name: db.session.scalar(select(func.coalesce(func.max(table.c.id), 0)))
             for table in db.metadata.sorted_tables if "id" in table.c}
    db.session.remove()
    return found


def torn_transactions(seeded: dict[str, int]) -> dict[str, int]:
    """The load's rows whose transaction is only partly in the database: each count must be 0."""
    def count(query) -> int:
        return db.session.scalar(select(func.count()).select_from(query.subquery()))

    events = select(AuditEvent.object_id).where(AuditEvent.id > seeded["audit_events"])
    opened = events.where(AuditEvent.action == "case.opened")
    commented = events.where(AuditEvent.action == "case.commented")
    load_cases = select(PurchaseCase.id).where(PurchaseCase.id > seeded["purchase_cases"])
    comments = select(CaseComment.id).where(CaseComment.id > seeded["case_comments"])
    found = {
        "case without its case.opened event": count(load_cases.where(PurchaseCase.id.not_in(opened))),
        "case.opened event without its case": count(opened.where(AuditEvent.object_id.not_in(load_cases))),
        "comment without its audit event": count(comments.where(CaseComment.id.not_in(commented))),
        "comment audit event without comment": count(commented.where(AuditEvent.object_id.not_in(comments))),
        "comment without its access-log row": count(comments.where(CaseComment.case_id.not_in(
            select(AccessLog.case_id).where(AccessLog.id > seeded["access_log"])))),
    }
    if db.engine.dialect.name == "sqlite":
        found["foreign keys broken"] = len(db.session.execute(text("PRAGMA foreign_key_check")).all())
    db.session.remove()
    return found


def test_backup_under_write_load_restores_the_moment_it_was_taken(app, staff, database_url, tmp_path):
    owner_id = staff.caseworker.id
    demo.bulk_cases(SEEDED_CASES)
    db.session.commit()
    seeded = last_ids()
    file = tmp_path / "socialkob.backup"
    with WriteLoad(app, owner_id) as load:
        load.wait_for(20)
        before = snapshot()   # committed before the backup began: all of it must be in the backup
        at_start = load.commits
        started = time.perf_counter()
        backed_up = app.test_cli_runner().invoke(args=["backup", str(file)])
        backup_seconds = time.perf_counter() - started
        during = load.commits - at_start
        load.wait_for(load.commits + 20)   # and more after it, which must not be in the backup
    assert not load.errors, load.errors
    assert backed_up.exit_code == 0, backed_up.output
    assert during > 0, "the load did not run during the backup"
    after, source_schema = snapshot(), schema_objects()

    with fresh_database(database_url, "socialkob_restored") as url:
        restored_app = app_on(url, tmp_path / "restored")
        with restored_app.app_context():
            started = time.perf_counter()
            restoring = restored_app.test_cli_runner().invoke(args=["restore", str(file)])
            restore_seconds = time.perf_counter() - started
            assert restoring.exit_code == 0, restoring.output
            restored = snapshot()
            torn = torn_transactions(seeded)
            assert torn == dict.fromkeys(torn, 0)
            assert schema_objects() == source_schema   # on PostgreSQL with its sequences, triggers, functions
            # The restored database takes new work: on PostgreSQL its sequences go on from where they were.
            assert make_case(db.session.get(User, owner_id)).id > max(key for key, in restored["purchase_cases"])
            _let_go()

    figures = []
    for name, rows in restored.items():
        missing = before[name].keys() - rows.keys()
        assert not missing, f"{name}: {len(missing)} rows committed before the backup are not in it"
        at_the_moment = {key: after[name].get(key) for key in rows}
        assert (len(rows), checksum(rows)) == (len(at_the_moment), checksum(at_the_moment)), name
        figures.append(f"{name} {len(rows)}")
    later = {name: len(after[name]) - len(rows) for name, rows in restored.items() if len(after[name]) > len(rows)}
    assert later.get("purchase_cases"), "every write is in the backup: the test cannot tell a snapshot from a copy"
    print(f"\nbackup of {file.stat().st_size / 1e6:.1f} MB in {backup_seconds:.2f} s with {during} commits of "
          f"{WRITERS} writers during it; restored in {restore_seconds:.2f} s; rows per table: {', '.join(figures)}; "
          f"written after the backup: {later}")


def test_a_failed_backup_leaves_the_earlier_file_and_no_partial_one(app_ctx, staff, tmp_path, monkeypatch):
    file = tmp_path / "socialkob.backup"
    assert app_ctx.test_cli_runner().invoke(args=["backup", str(file)]).exit_code == 0
    earlier = file.read_bytes()
    make_case(db.session.get(User, staff.caseworker.id))   # there is more to back up now

    def broken_copy(source, partial: Path):
        partial.write_bytes(earlier[:1000])   # half a backup, then the disk fills
        raise click.ClickException("the disk is full")
    monkeypatch.setattr(backup, "_backup_sqlite", broken_copy)
    monkeypatch.setattr(backup, "_backup_postgresql", broken_copy)
    failed = app_ctx.test_cli_runner().invoke(args=["backup", str(file)])
    assert failed.exit_code == 1 and "the disk is full" in failed.output
    assert file.read_bytes() == earlier
    assert [path.name for path in tmp_path.iterdir()] == [file.name]


def _let_go() -> None:
    """Close this app's connections, as a stopped app would have (restore finds an open one, rightly)."""
    db.session.remove()
    db.engine.dispose()


def _restore(app, file: Path, *arguments: str):
    with app.app_context():
        return app.test_cli_runner().invoke(args=["restore", *arguments, str(file)])


def test_restore_refuses_bad_input_and_changes_nothing(app, staff, database_url, tmp_path):
    # Read now: touched under the other app's context, the test's objects would load through its database.
    caseworker_id = staff.caseworker.id
    with fresh_database(database_url, "socialkob_refusals") as url:
        target = app_on(url, tmp_path / "target")

        missing = _restore(target, tmp_path / "no-such.backup")
        assert missing.exit_code == 2 and "does not exist" in missing.output

        not_a_backup = tmp_path / "notes.txt"
        not_a_backup.write_text("Ikke en sikkerhedskopi\n")
        refused = _restore(target, not_a_backup)
        assert refused.exit_code == 1 and "is not a backup" in refused.output

        truncated = tmp_path / "truncated.backup"
        assert app.test_cli_runner().invoke(args=["backup", str(truncated)]).exit_code == 0
        truncated.write_bytes(truncated.read_bytes()[:4096])
        refused = _restore(target, truncated)
        assert refused.exit_code == 1 and "nothing was changed" in refused.output.lower()

        with target.app_context():
            assert db.inspect(db.engine).get_table_names() == []  # the bad files left the database as it was
            _let_go()

        good = tmp_path / "good.backup"
        assert app.test_cli_runner().invoke(args=["backup", str(good)]).exit_code == 0
        assert _restore(target, good).exit_code == 0
        with target.app_context():
            make_case(db.session.get(User, caseworker_id), name=LOAD_NAME)
            _let_go()
        refused = _restore(target, good)   # the database has data now
        assert refused.exit_code == 1 and "--force" in refused.output
        still_running = create_engine(url)   # as an app not stopped: a connection open, idle
        with still_running.connect() as connection:
            connection.execute(text("SELECT count(*) FROM users"))
            refused = _restore(target, good, "--force")
        still_running.dispose()
        assert refused.exit_code == 1 and "stop the app" in refused.output
        with target.app_context():
            assert db.session.scalar(select(func.count(PurchaseCase.id))) == 1
            _let_go()
        forced = _restore(target, good, "--force")
        assert forced.exit_code == 0, forced.output
        with target.app_context():
            assert db.session.scalar(select(func.count(PurchaseCase.id))) == 0
            _let_go()
