"""The models, one module per aggregate; importing this package registers them all."""
from workflow.models.access import LoginAttempt, UserSession
from workflow.models.audit import AppendOnlyError, AuditEvent
from workflow.models.settings import Setting
from workflow.models.users import Role, Unit, User

__all__ = [
    "AppendOnlyError",
    "AuditEvent",
    "LoginAttempt",
    "Role",
    "Setting",
    "Unit",
    "User",
    "UserSession",
]
