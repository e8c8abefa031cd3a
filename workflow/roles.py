"""The roles staff have. Plain Python, so that the process module can name them."""
from __future__ import annotations

from enum import StrEnum

from flask_babel import lazy_gettext as _l


class Role(StrEnum):
    CASEWORKER = "caseworker"
    PROCUREMENT = "procurement"
    ECONOMY = "economy"
    MANAGER = "manager"
    ADMIN = "admin"

    @property
    def label(self) -> str:
        return str(ROLE_LABELS[self])


ROLE_LABELS = {
    Role.CASEWORKER: _l("Caseworker"),
    Role.PROCUREMENT: _l("Procurement"),
    Role.ECONOMY: _l("Economy"),
    Role.MANAGER: _l("Manager"),
    Role.ADMIN: _l("Administrator"),
}
