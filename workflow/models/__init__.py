"""The models, one module per aggregate; importing this package registers them all."""
from workflow.models.access import LoginAttempt, UserSession
from workflow.models.audit import AccessLog, AppendOnlyError, AuditEvent
from workflow.models.cases import CaseComment, Citizen, PurchaseCase, StageVisit
from workflow.models.needs import Goal, NeedsAssessment, ThemeAssessment
from workflow.models.settings import Setting
from workflow.models.users import Unit, User
from workflow.roles import Role

__all__ = [
    "AccessLog",
    "AppendOnlyError",
    "AuditEvent",
    "CaseComment",
    "Citizen",
    "Goal",
    "LoginAttempt",
    "NeedsAssessment",
    "PurchaseCase",
    "Role",
    "Setting",
    "StageVisit",
    "ThemeAssessment",
    "Unit",
    "User",
    "UserSession",
]
