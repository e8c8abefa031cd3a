"""The models, one module per aggregate; importing this package registers them all."""
from workflow.models.access import ApiToken, LoginAttempt, UserSession
from workflow.models.audit import AccessLog, AppendOnlyError, AuditEvent
from workflow.models.cases import CaseComment, Citizen, PurchaseCase, StageVisit
from workflow.models.contracts import ApprovalEvent, ContractPriceLine, ContractVersion, FrozenContractError
from workflow.models.dialogue import Choice, Inquiry, NegotiationNote, Reply, ReplyPriceLine, Requirement
from workflow.models.followup import CaseEnding, FollowUp, GoalScore, ReminderSent
from workflow.models.needs import Goal, NeedsAssessment, ThemeAssessment
from workflow.models.offers import Offer, OfferImport, OfferPrice, OfferTerm, ShortlistEntry, Supplier
from workflow.models.settings import Setting
from workflow.models.users import Unit, User
from workflow.roles import Role

__all__ = [
    "ApiToken",
    "CaseEnding",
    "FollowUp",
    "GoalScore",
    "ReminderSent",
    "FrozenContractError",
    "ContractVersion",
    "ContractPriceLine",
    "ApprovalEvent",
    "Requirement",
    "ReplyPriceLine",
    "Reply",
    "NegotiationNote",
    "Inquiry",
    "Choice",
    "AccessLog",
    "AppendOnlyError",
    "AuditEvent",
    "CaseComment",
    "Citizen",
    "Goal",
    "LoginAttempt",
    "NeedsAssessment",
    "Offer",
    "OfferImport",
    "OfferPrice",
    "OfferTerm",
    "PurchaseCase",
    "Role",
    "Setting",
    "ShortlistEntry",
    "StageVisit",
    "Supplier",
    "ThemeAssessment",
    "Unit",
    "User",
    "UserSession",
]
