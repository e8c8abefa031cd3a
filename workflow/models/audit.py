"""The append-only audit trail: who did what, when, to which object."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, event
from sqlalchemy.orm import Mapped, ORMExecuteState, Session, mapped_column, relationship

from workflow.extensions import db
from workflow.models.types import UTCDateTime, utcnow
from workflow.models.users import User


class AppendOnlyError(RuntimeError):
    """Raised when code tries to change or remove a logged row."""


class AuditEvent(db.Model):
    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    action: Mapped[str] = mapped_column(String(60), index=True)
    object_type: Mapped[str | None] = mapped_column(String(40))
    object_id: Mapped[int | None] = mapped_column()
    case_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_cases.id"))
    details: Mapped[dict] = mapped_column(JSON, default=dict)

    actor: Mapped[User | None] = relationship()

    __table_args__ = (
        Index("ix_audit_events_object", "object_type", "object_id", "id"),
        Index("ix_audit_events_case", "case_id", "id"),
    )


class AccessLog(db.Model):
    """Who read which citizen's data, when and why. Kept for data-subject access requests."""

    __tablename__ = "access_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    citizen_id: Mapped[int] = mapped_column(ForeignKey("citizens.id"))
    case_id: Mapped[int | None] = mapped_column(ForeignKey("purchase_cases.id"))
    action: Mapped[str] = mapped_column(String(40))      # what was read: "case.view", "cpr.show", ...
    purpose: Mapped[str] = mapped_column(String(200))    # why: the work the read served

    user: Mapped[User] = relationship()

    __table_args__ = (
        Index("ix_access_log_citizen", "citizen_id", "occurred_at"),
        Index("ix_access_log_user", "user_id", "occurred_at"),
    )


def _refuse_change(mapper, connection, target):
    raise AppendOnlyError(f"{type(target).__name__} rows are append-only")


_APPEND_ONLY: set[type] = set()


def make_append_only(model) -> None:
    """Refuse UPDATE and DELETE of a model's rows through the ORM, one object at a time or in bulk.

    On PostgreSQL the database refuses them too (migration 0008), whatever sends them.
    """
    _APPEND_ONLY.add(model)
    event.listen(model, "before_update", _refuse_change)
    event.listen(model, "before_delete", _refuse_change)


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_change(state: ORMExecuteState) -> None:
    # update(Model) and delete(Model) statements skip the per-object events above.
    if (state.is_update or state.is_delete) and state.bind_mapper is not None \
            and state.bind_mapper.class_ in _APPEND_ONLY:
        raise AppendOnlyError(f"{state.bind_mapper.class_.__name__} rows are append-only")


make_append_only(AuditEvent)
make_append_only(AccessLog)
