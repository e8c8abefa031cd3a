"""Who may reach what, and the headers every response carries.

Secure by default: every endpoint needs a signed-in user unless marked @public.
"""
from __future__ import annotations

from functools import wraps

from flask import Flask, abort, current_app, flash, redirect, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user

from workflow.extensions import login_manager
from workflow.models import Role

CSP = "; ".join((
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "form-action 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
))


def public(view):
    """Mark a view as open to anonymous visitors."""
    view.is_public = True
    return view


def roles_required(*roles: Role):
    """Only users with one of these roles; anyone else gets 403."""
    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.has_role(*roles):
                abort(403)
            return view(*args, **kwargs)
        wrapped.allowed_roles = roles
        return wrapped
    return decorator


STAFF = (Role.CASEWORKER, Role.PROCUREMENT, Role.ECONOMY, Role.MANAGER)


def restrict_blueprint(bp, *roles: Role) -> None:
    """Every view of the blueprint answers 403 to users without one of the roles."""
    @bp.before_request
    @roles_required(*roles)
    def check_role():
        return None


def client_address() -> str:
    return (request.remote_addr or "unknown")[:64]


def _require_sign_in():
    if request.endpoint is None:  # 404s and the like are answered by the error handlers
        return None
    view = current_app.view_functions.get(request.endpoint)
    if view is None or getattr(view, "is_public", False) or request.endpoint == "static":
        return None
    if current_user.is_authenticated:
        return None
    return login_manager.unauthorized()


def _refuse_oversized_body():
    """413 at once for a body over MAX_CONTENT_LENGTH, before sign-in, CSRF or the view: Werkzeug refuses
    it only when something reads the body, and some views (a step, an API call with another content type)
    never do."""
    limit = current_app.config.get("MAX_CONTENT_LENGTH")
    if limit is not None and request.content_length is not None and request.content_length > limit:
        abort(413)


def _refuse_nul_in_query():
    """400 for a NUL character in a page's query: no field may hold one (PostgreSQL refuses it in text), and
    the forms refuse it in a body; a search box must not turn it into a server error either. The API's
    query schemas refuse it themselves, naming the parameter (422)."""
    from workflow.api.problems import is_api_request

    if is_api_request():
        return
    if any("\x00" in name or "\x00" in "".join(values) for name, values in request.args.lists()):
        abort(400)


def _security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers["X-Content-Type-Options"] = "nosniff"
    headers["Referrer-Policy"] = "same-origin"
    headers["X-Frame-Options"] = "DENY"
    headers["Cross-Origin-Opener-Policy"] = "same-origin"
    headers["Permissions-Policy"] = "camera=(), microphone=(), geolocation=()"
    if request.is_secure:
        headers["Strict-Transport-Security"] = "max-age=31536000; includeSubDomains"
    if request.endpoint != "static":
        headers["Cache-Control"] = "no-store"
    return response


def init_app(app: Flask) -> None:
    app.before_request_funcs.setdefault(None, []).insert(0, _refuse_oversized_body)
    app.before_request_funcs[None].insert(1, _refuse_nul_in_query)
    app.before_request(_require_sign_in)
    app.after_request(_security_headers)

    @login_manager.unauthorized_handler
    def unauthorized():
        if request.method != "GET" or request.path.startswith("/api/"):
            abort(401)
        return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))

    login_manager.session_protection = None  # the server-side session does this job


def note_expired_session(reason: str | None) -> None:
    if reason in ("idle", "absolute"):
        flash(_("Your session has expired. Please sign in again."), "info")
    session.pop("sid", None)
