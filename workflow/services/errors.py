"""Errors that services raise and views turn into messages for the user."""


class ServiceError(Exception):
    """A rule refused the request; `message` is already in the user's language."""

    def __init__(self, message: str, field: str | None = None):
        super().__init__(message)
        self.message = message
        self.field = field


class StaleEdit(ServiceError):
    """The object changed since the form was loaded; the save is refused (HTTP 409)."""

    def __init__(self, message: str, current=None):
        super().__init__(message)
        self.current = current
