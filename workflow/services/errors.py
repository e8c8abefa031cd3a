"""Errors that services raise and views turn into messages for the user."""
from flask_babel import gettext as _


class ServiceError(Exception):
    """A rule refused the request; `message` is already in the user's language."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


def check_version(obj, version: int | None) -> None:
    """Refuse a save based on an older version of obj than the one stored (no lost updates)."""
    if version is not None and obj.version != version:
        raise StaleEdit(_("Someone else saved this in the meantime. Your changes were not saved."), obj)


class StaleEdit(ServiceError):
    """The object changed since the form was loaded; the save is refused (HTTP 409)."""

    def __init__(self, message: str, current=None):
        super().__init__(message)
        self.current = current
