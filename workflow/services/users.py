"""Administering staff and units."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select

from workflow.extensions import db
from workflow.models import Role, Unit, User
from workflow.models.types import utcnow
from workflow.services import audit, passwords, signin
from workflow.services.errors import ServiceError, check_version


def _login_free(login: str, except_id: int | None = None) -> None:
    query = select(User.id).where(func.lower(User.login) == login.lower())
    existing = db.session.scalar(query)
    if existing is not None and existing != except_id:
        raise ServiceError(_("The login name is already in use."), "login")


def _limit_for(role: str, approval_limit: Decimal | None) -> Decimal | None:
    return approval_limit if role == Role.MANAGER else None


def create_user(*, login: str, full_name: str, email: str, role: str, unit: Unit,
                password: str, approval_limit: Decimal | None = None) -> User:
    login = signin.normalise_login(login)
    _login_free(login)
    Role(role)
    passwords.check_policy(password, login)
    user = User(login=login, full_name=full_name.strip(), email=email.strip(), role=role,
                unit=unit, approval_limit=_limit_for(role, approval_limit),
                password_hash=passwords.hash_password(password), active=True)
    db.session.add(user)
    db.session.flush()
    audit.record("user.created", user, {"login": login, "role": role, "unit": unit.name})
    return user


def update_user(user: User, *, version: int | None, full_name: str, email: str, role: str,
                unit: Unit, approval_limit: Decimal | None, active: bool) -> dict:
    """Change a user's details. Deactivating ends every session of theirs at once."""
    check_version(user, version)
    Role(role)
    changed = audit.changes(user, {
        "full_name": full_name.strip(), "email": email.strip(), "role": role,
        "unit_id": unit.id, "approval_limit": _limit_for(role, approval_limit), "active": active,
    })
    if "active" in changed and not active:
        signin.end_all_sessions(user, "deactivated")
    if changed:
        audit.record("user.changed", user, {"changes": changed})
    return changed


def reset_password(user: User, new_password: str) -> None:
    passwords.check_policy(new_password, user.login)
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    signin.end_all_sessions(user, "password_reset")
    audit.record("user.password_reset", user)


def create_unit(name: str) -> Unit:
    name = name.strip()
    if db.session.scalar(select(Unit.id).where(func.lower(Unit.name) == name.lower())):
        raise ServiceError(_("A unit with this name exists already."), "name")
    unit = Unit(name=name)
    db.session.add(unit)
    db.session.flush()
    audit.record("unit.created", unit, {"name": name})
    return unit


def update_unit(unit: Unit, *, version: int | None, name: str, active: bool) -> dict:
    check_version(unit, version)
    name = name.strip()
    clash = db.session.scalar(select(Unit.id).where(func.lower(Unit.name) == name.lower()))
    if clash is not None and clash != unit.id:
        raise ServiceError(_("A unit with this name exists already."), "name")
    if not active and any(u.active for u in unit.users):
        raise ServiceError(_("The unit still has active users. Move or deactivate them first."), "active")
    changed = audit.changes(unit, {"name": name, "active": active})
    if changed:
        audit.record("unit.changed", unit, {"changes": changed})
    return changed
