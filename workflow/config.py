"""Settings from the environment, in one place.

Everything a deployment changes comes from environment variables; the defaults make a
fresh clone run on the embedded SQLite database under instance/.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path


def _instance_path() -> Path:
    return Path(os.environ.get("INSTANCE_PATH", Path(__file__).resolve().parent.parent / "instance"))


def _secret_key(instance: Path) -> str:
    """SECRET_KEY from the environment, else one generated once into instance/."""
    if os.environ.get("SECRET_KEY"):
        return os.environ["SECRET_KEY"]
    instance.mkdir(parents=True, exist_ok=True)
    key_file = instance / "secret_key"
    if not key_file.exists():
        fd = os.open(key_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as handle:
            handle.write(secrets.token_hex(32))
    return key_file.read_text().strip()


def _list(name: str, default: str) -> list[str]:
    return [part.strip() for part in os.environ.get(name, default).split(",") if part.strip()]


class Config:
    """Built from the environment when the app is created."""

    def __init__(self) -> None:
        instance = _instance_path()
        self.INSTANCE_PATH = str(instance)
        self.APP_ENV = os.environ.get("APP_ENV", "production")
        development = self.APP_ENV == "development"
        self.SECRET_KEY = _secret_key(instance)
        database_url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'socialkob.db'}"
        if database_url.startswith("postgresql://"):
            database_url = "postgresql+psycopg://" + database_url[len("postgresql://"):]
        self.SQLALCHEMY_DATABASE_URI = database_url
        self.SQLALCHEMY_ENGINE_OPTIONS = {"pool_pre_ping": True}
        self.TRUSTED_HOSTS = _list("TRUSTED_HOSTS", "localhost,127.0.0.1")
        self.MAX_CONTENT_LENGTH = int(os.environ.get("MAX_CONTENT_LENGTH", 10 * 1024 * 1024))
        self.SESSION_COOKIE_HTTPONLY = True
        self.SESSION_COOKIE_SAMESITE = "Lax"
        self.SESSION_COOKIE_SECURE = not development
        self.SESSION_COOKIE_NAME = "socialkob_session"
        self.REMEMBER_COOKIE_DURATION = 0
        self.WTF_CSRF_TIME_LIMIT = None  # the session's own lifetime bounds the token
        self.BABEL_DEFAULT_LOCALE = "da"
        self.BABEL_DEFAULT_TIMEZONE = "Europe/Copenhagen"
        self.LANGUAGES = ("da", "en")
        self.SESSION_IDLE_MINUTES = int(os.environ.get("SESSION_IDLE_MINUTES", 30))
        self.SESSION_ABSOLUTE_HOURS = int(os.environ.get("SESSION_ABSOLUTE_HOURS", 12))
        self.PROXY_FIX = os.environ.get("PROXY_FIX", "0") == "1"
        self.MAIL_SERVER = os.environ.get("MAIL_SERVER", "")
        self.MAIL_PORT = int(os.environ.get("MAIL_PORT", 25))
        self.MAIL_USE_TLS = os.environ.get("MAIL_USE_TLS", "0") == "1"
        self.MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
        self.MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
        self.MAIL_SENDER = os.environ.get("MAIL_SENDER", "socialkob@localhost")
        # Without a mail server, mails are written to this folder for the developer to read.
        self.MAIL_OUTBOX = os.environ.get("MAIL_OUTBOX", str(instance / "outbox"))
        # The municipality that buys: the acting and (by default) paying party of the contracts.
        self.MUNICIPALITY_NAME = os.environ.get("MUNICIPALITY_NAME", "Eksempel Kommune")
        self.MUNICIPALITY_EAN = os.environ.get("MUNICIPALITY_EAN", "5798000000000")
        self.PASSWORD_HASH_TIME_COST = int(os.environ.get("PASSWORD_HASH_TIME_COST", 3))
        # Requests per API token (per address before sign-in); counted per process with memory://,
        # across processes with a shared store such as redis:// (needs the redis package).
        self.API_RATE_LIMIT = os.environ.get("API_RATE_LIMIT", "120 per minute")
        self.RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")

    def as_dict(self) -> dict:
        return {key: value for key, value in vars(self).items() if key.isupper()}
