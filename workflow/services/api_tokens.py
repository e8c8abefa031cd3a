"""Personal API tokens: created by their user (or by the command line), shown once, revocable.

A token acts with its user's rights, nothing more: the API checks the same rules as the pages.
"""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import date, timedelta

from flask_babel import gettext as _
from sqlalchemy import select

from workflow.extensions import db
from workflow.models import ApiToken, User
from workflow.models.types import utcnow
from workflow.services import audit
from workflow.services.errors import ServiceError

PREFIX = "sk_"
DEFAULT_DAYS = 90
MAX_DAYS = 366
TOUCH_EVERY = timedelta(seconds=60)


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class NewToken:
    token: ApiToken
    secret: str  # shown to its user once, then only the hash is known


def tokens_of(user: User) -> list[ApiToken]:
    return list(db.session.scalars(
        select(ApiToken).where(ApiToken.user_id == user.id).order_by(ApiToken.created_at.desc(), ApiToken.id.desc())))


def create(user: User, name: str, expires_on: date | None, today: date, actor: User | None = None) -> NewToken:
    """A new token for user, valid to expires_on (default 90 days, at most a year ahead)."""
    name = (name or "").strip()
    if not name:
        raise ServiceError(_("Give the token a name, for example the system that will use it."), "name")
    if len(name) > 80:
        raise ServiceError(_("The name can be at most 80 characters."), "name")
    if not user.active:
        raise ServiceError(_("The user is deactivated."))
    expires_on = expires_on or today + timedelta(days=DEFAULT_DAYS)
    if expires_on < today:
        raise ServiceError(_("The expiry date cannot be in the past."), "expires_on")
    if expires_on > today + timedelta(days=MAX_DAYS):
        raise ServiceError(_("A token can be valid for at most a year."), "expires_on")
    secret = PREFIX + secrets.token_urlsafe(30)
    token = ApiToken(user_id=user.id, name=name, token_hash=_hash(secret), prefix=secret[:10], expires_on=expires_on)
    db.session.add(token)
    db.session.flush()
    audit.record("api_token.created", token, {"name": name, "expires_on": expires_on.isoformat(), "user": user.login},
                 actor=actor or user)
    return NewToken(token, secret)


def revoke(token: ApiToken, actor: User) -> None:
    if token.user_id != actor.id:
        raise ServiceError(_("You can only revoke your own tokens."))
    if token.revoked_at is not None:
        return
    token.revoked_at = utcnow()
    audit.record("api_token.revoked", token, {"name": token.name}, actor=actor)


def find(user: User, token_id: int) -> ApiToken | None:
    token = db.session.get(ApiToken, token_id)
    return token if token is not None and token.user_id == user.id else None


def authenticate(secret: str, today: date) -> User | None:
    """The active user behind a usable token; None for anything else (never a hint which part failed)."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == _hash(secret)))
    if token is None or not token.usable(today) or not token.user.active:
        return None
    now = utcnow()
    if token.last_used_at is None or now - token.last_used_at > TOUCH_EVERY:
        token.last_used_at = now
        db.session.commit()
    return token.user
