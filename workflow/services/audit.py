"""Writing the audit trail. Every state-changing service calls record()."""
from __future__ import annotations

from flask_login import current_user

from workflow.extensions import db
from workflow.models import AuditEvent, User


def _current_actor() -> User | None:
    try:
        return current_user if current_user.is_authenticated else None
    except (AttributeError, RuntimeError):  # outside a request: CLI, tests
        return None


def record(action: str, obj=None, details: dict | None = None, actor: User | None = None,
           object_type: str | None = None, object_id: int | None = None, case=None) -> AuditEvent:
    """Add an audit event to the current transaction (it commits with the change it logs).

    `case` ties the event to a purchase case, so that it shows on the case's timeline.
    """
    actor = actor or _current_actor()
    if obj is not None:
        object_type = object_type or obj.__tablename__
        object_id = object_id or obj.id
    if case is None and object_type == "purchase_cases":
        case = obj
    event = AuditEvent(
        actor_id=actor.id if actor else None,
        action=action,
        object_type=object_type,
        object_id=object_id,
        case_id=case.id if case is not None else None,
        details=details or {},
    )
    db.session.add(event)
    return event


def changes(obj, fields: dict) -> dict:
    """Set fields on obj and return {field: [before, after]} for those that changed."""
    changed = {}
    for name, value in fields.items():
        before = getattr(obj, name)
        if before != value:
            changed[name] = [_plain(before), _plain(value)]
            setattr(obj, name, value)
    return changed


def _plain(value):
    if value is None or isinstance(value, (bool, int, str)):
        return value
    return str(value)
