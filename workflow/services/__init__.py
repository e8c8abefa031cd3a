"""Use cases: each function changes the models, asks the process, writes the audit trail.

Views call these and commit once; a service never commits by itself.
"""
from workflow.services.errors import ServiceError, StaleEdit

__all__ = ["ServiceError", "StaleEdit"]
