"""The main menu, by role: one place that says which areas each role works in."""
from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from flask import Flask, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from workflow.models import Role
from workflow.security import STAFF


@dataclass(frozen=True)
class MenuItem:
    endpoint: str
    label: object
    roles: tuple[Role, ...]
    section: tuple[str, ...]  # endpoints starting with one of these mark the item as current


MENU = (
    MenuItem("main.start", _l("Start"), (*STAFF, Role.ADMIN), ("main.start",)),
    MenuItem("cases.case_list_page", _l("Cases"), STAFF, ("cases.", "market.", "dialogue.", "contracts.")),
    MenuItem("offers.offer_list", _l("Offer registry"), (*STAFF, Role.ADMIN), ("offers.",)),
    MenuItem("dashboard.dashboard_page", _l("Dashboard"), (Role.MANAGER, Role.ECONOMY), ("dashboard.", "exports.")),
    MenuItem("admin.user_list", _l("Users"), (Role.ADMIN,), ("admin.user",)),
    MenuItem("admin.unit_list", _l("Units"), (Role.ADMIN,), ("admin.unit",)),
    MenuItem("admin.settings_page", _l("Settings"), (Role.ADMIN,), ("admin.settings",)),
    MenuItem("admin.audit_log", _l("Audit log"), (Role.ADMIN,), ("admin.audit",)),
    MenuItem("admin.access_extract_page", _l("Access-log extract"), (Role.ADMIN,), ("admin.access_extract",)),
)


def menu_for_current_user() -> list[dict]:
    endpoint = request.endpoint or ""
    return [
        {"url": url_for(item.endpoint), "label": item.label, "current": endpoint.startswith(item.section)}
        for item in MENU if current_user.role in item.roles
    ]


def page_url(page: int) -> str:
    """This list's address at another page, its other query arguments kept as they came.

    Built from the path and the query, not by spreading the query into url_for: an argument named like one of
    url_for's own (endpoint, _external, _anchor) would break the link.
    """
    kept = [(name, value) for name, values in request.args.lists() if name != "page" for value in values]
    return f"{request.path}?{urlencode([*kept, ('page', str(page))])}"


def init_app(app: Flask) -> None:
    app.jinja_env.globals["navigation_items"] = menu_for_current_user
    app.jinja_env.globals["page_url"] = page_url
