"""The audit trail, the access log and the approval history are append-only in fact.

In the ORM on both databases (workflow.models.audit.make_append_only; the audit trail's single-object
case is tests/test_admin.py::test_audit_events_cannot_be_changed_or_deleted), and on PostgreSQL in the
database itself, whatever sends the statement (migration 0008).
"""
from __future__ import annotations

import pytest
from sqlalchemy import delete, exc, func, select, text, update

from tests.support.contracts import build_terms_case, submitted
from workflow.models import AccessLog, ApprovalEvent, AuditEvent
from workflow.models.audit import AppendOnlyError
from workflow.services import cases

LOGS = (AuditEvent, AccessLog, ApprovalEvent)


@pytest.fixture
def logged(app, staff, db):
    """A case walked to a submitted contract, and read once: rows in all three logs."""
    case = build_terms_case(app, staff)
    submitted(case, staff)
    cases.log_access(staff.caseworker, case, "case.view", "Sagsbehandling")
    db.session.commit()
    for model in LOGS:
        assert db.session.scalar(select(func.count()).select_from(model)) > 0
    return case


def _snapshot(db, model) -> list[tuple]:
    """Every row of the log as plain values, to show nothing changed."""
    db.session.rollback()
    db.session.expire_all()
    table = model.__table__
    return [tuple(row) for row in db.session.execute(select(table).order_by(table.c.id))]


def _first(db, model):
    return db.session.scalar(select(model).order_by(model.id))


def test_orm_refuses_to_change_or_delete_logged_rows(logged, db):
    for model in LOGS:
        before = _snapshot(db, model)
        if model is not AuditEvent:  # the audit trail's own test is in tests/test_admin.py
            row = _first(db, model)
            row.occurred_at = row.occurred_at.replace(year=2020)
            with pytest.raises(AppendOnlyError):
                db.session.commit()
            db.session.rollback()
            db.session.delete(_first(db, model))
            with pytest.raises(AppendOnlyError):
                db.session.commit()
            db.session.rollback()
        # update(Model) and delete(Model) statements skip the per-object guard: refused all the same.
        for statement in (update(model).values(occurred_at=func.current_timestamp()), delete(model)):
            with pytest.raises(AppendOnlyError):
                db.session.execute(statement)
            db.session.rollback()
        assert _snapshot(db, model) == before, model.__name__


def test_postgresql_refuses_raw_update_and_delete(logged, db):
    if db.engine.dialect.name != "postgresql":
        pytest.skip("SQLite has the ORM guard only")
    for model in LOGS:
        name = model.__tablename__
        before = _snapshot(db, model)
        for statement in (f"UPDATE {name} SET occurred_at = occurred_at - interval '1 year'",
                          f"DELETE FROM {name} WHERE id = (SELECT min(id) FROM {name})"):
            with pytest.raises(exc.DBAPIError, match=f"{name} rows are append-only"):
                db.session.execute(text(statement))
            db.session.rollback()
        assert _snapshot(db, model) == before, name
