"""Signing in and out, throttling, and the server-side session behind the cookie."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import bindparam, delete, func, select, update
from sqlalchemy.orm import joinedload

from workflow.extensions import db
from workflow.models import LoginAttempt, User, UserSession
from workflow.models.types import utcnow
from workflow.services import audit, passwords

WINDOW = timedelta(minutes=15)
LOCK = timedelta(minutes=15)
TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True)
class ThrottlePolicy:
    """Failures within WINDOW before each step: first a growing delay, then a lock."""

    delay_after: int
    lock_after: int

    def wait(self, failures: int, last_failure: datetime | None, now: datetime) -> timedelta:
        if failures < self.delay_after or last_failure is None:
            return timedelta(0)
        doublings = min(failures - self.delay_after, 10)  # capped: the lock takes over anyway
        pause = LOCK if failures >= self.lock_after else min(LOCK, timedelta(seconds=5 * 2**doublings))
        return max(timedelta(0), last_failure + pause - now)


BY_ACCOUNT = ThrottlePolicy(delay_after=3, lock_after=10)
BY_ADDRESS = ThrottlePolicy(delay_after=20, lock_after=50)


class SignInRefused(Exception):
    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def normalise_login(login: str) -> str:
    return login.strip().lower()[:128]


def _failures(column, value, now: datetime) -> tuple[int, datetime | None]:
    count, last = db.session.execute(
        select(func.count(LoginAttempt.id), func.max(LoginAttempt.attempted_at))
        .where(column == value, LoginAttempt.attempted_at > now - WINDOW)
    ).one()
    if last is not None and last.tzinfo is None:  # func.max bypasses the column type on SQLite
        last = last.replace(tzinfo=now.tzinfo)
    return count, last


def throttle_wait(login: str, address: str, now: datetime | None = None) -> timedelta:
    now = now or utcnow()
    by_login = BY_ACCOUNT.wait(*_failures(LoginAttempt.login, login, now), now)
    by_address = BY_ADDRESS.wait(*_failures(LoginAttempt.address, address, now), now)
    return max(by_login, by_address)


def _wait_message(wait: timedelta) -> str:
    seconds = int(wait.total_seconds()) + 1
    if seconds > 90:
        return _("Too many failed sign-ins. Try again in %(n)d minutes.", n=(seconds + 59) // 60)
    return _("Too many failed sign-ins. Try again in %(n)d seconds.", n=seconds)


def authenticate(login: str, password: str, address: str) -> User:
    """Return the user for a correct login and password, or raise SignInRefused.

    An unknown login and a wrong password give the same message and take the same time.
    """
    login = normalise_login(login)
    wait = throttle_wait(login, address)
    if wait:
        audit.record("signin.throttled", details={"login": login, "address": address})
        raise SignInRefused(_wait_message(wait))
    user = db.session.scalar(select(User).where(User.login == login))
    if user is None:
        passwords.waste_time_like_verify(password)
        ok = False
    else:
        ok = passwords.verify_password(user.password_hash, password) and user.active
    if not ok:
        db.session.add(LoginAttempt(login=login, address=address))
        audit.record("signin.failed", details={"login": login, "address": address})
        raise SignInRefused(_("Wrong login name or password."))
    db.session.execute(delete(LoginAttempt).where(LoginAttempt.login == login))
    return user


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def start_session(user: User, address: str) -> str:
    """Open a server-side session for the user; returns the token for the cookie."""
    token = secrets.token_urlsafe(32)
    db.session.add(UserSession(token_hash=_hash(token), user_id=user.id))
    audit.record("signin.succeeded", user, details={"address": address}, actor=user)
    return token


def end_session(token: str | None, reason: str = "signout") -> None:
    if not token:
        return
    db.session.execute(
        update(UserSession)
        .where(UserSession.token_hash == _hash(token), UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )


def end_all_sessions(user: User, reason: str) -> None:
    db.session.execute(
        update(UserSession)
        .where(UserSession.user_id == user.id, UserSession.ended_at.is_(None))
        .values(ended_at=utcnow(), end_reason=reason)
    )


# Every signed-in request reads its session, and next its user and the user's unit (the page header names
# it): one query for the three, built once.
_SESSION_BY_TOKEN = (select(UserSession).where(UserSession.token_hash == bindparam("token_hash"))
                     .options(joinedload(UserSession.user).joinedload(User.unit)))


def live_session(token: str | None, user_id: int) -> tuple[UserSession | None, str | None]:
    """The session behind a cookie if it is still valid, else (None, why it ended)."""
    if not token:
        return None, None
    row = db.session.scalar(_SESSION_BY_TOKEN, {"token_hash": _hash(token)})
    if row is None or row.user_id != user_id or row.ended_at is not None:
        return None, "ended"
    now = utcnow()
    idle = timedelta(minutes=current_app.config["SESSION_IDLE_MINUTES"])
    absolute = timedelta(hours=current_app.config["SESSION_ABSOLUTE_HOURS"])
    reason = None
    if now - row.last_seen_at > idle:
        reason = "idle"
    elif now - row.created_at > absolute:
        reason = "absolute"
    if reason:
        row.ended_at, row.end_reason = now, reason
        db.session.commit()
        return None, reason
    if now - row.last_seen_at > TOUCH_EVERY:
        row.last_seen_at = now
        db.session.commit()
    return row, None
