"""Socialkøb: buying specialised social services, one shared purchase case at a time."""
from __future__ import annotations

import logging

from flask import Flask, session
from werkzeug.middleware.proxy_fix import ProxyFix

from workflow import api, database, errors, i18n, logging_setup, navigation, security
from workflow.config import Config
from workflow.extensions import csrf, db, login_manager, migrate


def create_app(config: dict | None = None) -> Flask:
    settings = Config().as_dict()
    settings.update(config or {})
    app = Flask(
        __name__,
        instance_path=settings["INSTANCE_PATH"],
        template_folder="../templates",
        static_folder="../static",
    )
    app.config.update(settings)
    if app.config["PROXY_FIX"]:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)
    logging_setup.configure()
    for chatty in ("weasyprint", "fontTools"):   # a line per rendering step; their warnings still show
        logging.getLogger(chatty).setLevel(logging.WARNING)

    db.init_app(app)
    database.init_app(app)
    migrate.init_app(app, db, directory=str(app.root_path + "/../migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    i18n.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    navigation.init_app(app)
    _register_user_loader()
    _register_blueprints(app)
    api.init_app(app)

    from workflow import cli, maintenance
    cli.init_app(app)
    maintenance.init_app(app)
    return app


def _register_user_loader() -> None:
    from workflow.models import User
    from workflow.services import signin

    @login_manager.user_loader
    def load_user(user_id: str):
        if api.problems.is_api_request():
            return None  # the API takes its bearer token, never the browser's session cookie
        try:
            uid = int(user_id)
        except ValueError:
            return None
        live, reason = signin.live_session(session.get("sid"), uid)
        if live is None:
            security.note_expired_session(reason)
            return None
        user = db.session.get(User, uid)
        return user if user is not None and user.active else None


def _register_blueprints(app: Flask) -> None:
    from workflow.admin.views import bp as admin_bp
    from workflow.auth.views import bp as auth_bp
    from workflow.cases.views import bp as cases_bp
    from workflow.contracts.views import bp as contracts_bp
    from workflow.dialogue.views import bp as dialogue_bp
    from workflow.followup.report import bp as followup_report_bp
    from workflow.followup.views import bp as followup_bp
    from workflow.main.views import bp as main_bp
    from workflow.market.views import bp as market_bp
    from workflow.offers.views import bp as offers_bp
    from workflow.reports.dashboard import bp as dashboard_bp
    from workflow.reports.exports import bp as exports_bp
    from workflow.supplier_reply.views import bp as supplier_reply_bp

    app.register_blueprint(main_bp)
    app.register_blueprint(auth_bp)
    app.register_blueprint(admin_bp, url_prefix="/admin")
    app.register_blueprint(cases_bp)
    app.register_blueprint(market_bp)
    app.register_blueprint(offers_bp)
    app.register_blueprint(dialogue_bp)
    app.register_blueprint(supplier_reply_bp)
    app.register_blueprint(contracts_bp)
    app.register_blueprint(followup_bp)
    app.register_blueprint(followup_report_bp)
    app.register_blueprint(dashboard_bp)
    app.register_blueprint(exports_bp)

