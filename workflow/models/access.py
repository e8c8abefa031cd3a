"""Sign-in state kept in the database: sessions and attempts.

Both live in the database, not in a worker's memory, so that sign-out, deactivation and
throttling hold across every worker process.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from workflow.extensions import db
from workflow.models.types import UTCDateTime, utcnow
from workflow.models.users import User


class UserSession(db.Model):
    """One signed-in browser. The cookie holds only a random id; the hash is stored."""

    __tablename__ = "user_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    end_reason: Mapped[str | None] = mapped_column(String(30))

    user: Mapped[User] = relationship()


class LoginAttempt(db.Model):
    """A failed sign-in, by the login name tried and by the client address."""

    __tablename__ = "login_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(128))
    address: Mapped[str] = mapped_column(String(64))
    attempted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (
        Index("ix_login_attempts_login_time", "login", "attempted_at"),
        Index("ix_login_attempts_address_time", "address", "attempted_at"),
    )


class ApiToken(db.Model):
    """A personal API token: acts with its user's rights until it expires or is revoked.

    Only a SHA-256 hash is stored (the token is 240 random bits, so a slow hash adds nothing);
    the first characters are kept so that its owner can tell tokens apart.
    """

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_on: Mapped[date] = mapped_column(Date)
    last_used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user: Mapped[User] = relationship()

    def usable(self, today: date) -> bool:
        return self.revoked_at is None and today <= self.expires_on
