"""Application factory: create_app() is a list of named register_* steps."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, has_request_context, request, session
from flask_login import current_user

from config import INSTANCE_DIR, config_for

TEMPLATE_FOLDER = "../templates"


def create_app(config_name: str | None = None, **overrides: Any) -> Flask:
    """Build a configured app: `config_name` picks the config class, `overrides` win."""
    app = Flask(__name__, template_folder=TEMPLATE_FOLDER, instance_path=str(INSTANCE_DIR))
    register_config(app, config_name, overrides)
    register_proxy_headers(app)
    register_logging(app)
    register_extensions(app)
    register_url_converters(app)
    register_models(app)
    register_login(app)
    register_security_steps(app)
    register_blueprints(app)
    register_error_handlers(app)
    register_template_context(app)
    register_cli(app)
    return app


def register_config(app: Flask, config_name: str | None, overrides: dict[str, Any]) -> None:
    """Load the config class, apply overrides, then let the class check what it needs."""
    config_class = config_for(config_name)
    app.config.from_object(config_class)
    app.config.update(overrides)
    config_class.finalise(app.config)


def register_proxy_headers(app: Flask) -> None:
    """Behind PROXY_COUNT reverse proxies, take the client address and scheme from them."""
    count = app.config.get("PROXY_COUNT", 0)
    if count:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=count, x_proto=count, x_host=count)


def register_logging(app: Flask) -> None:
    """Module loggers (`logging.getLogger(__name__)`) under `app` log at LOG_LEVEL;
    libraries keep to warnings so the console shows what matters."""
    level = app.config.get("LOG_LEVEL") or ("DEBUG" if app.debug else "INFO")
    logging.basicConfig(level="WARNING", format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("app").setLevel(level)


def register_extensions(app: Flask) -> None:
    """Bind the unbound extensions from app.extensions."""
    from pathlib import Path

    from app.extensions import babel, bootstrap, cache, csrf, db, login_manager, migrate

    db.init_app(app)
    migrate.init_app(app, db, directory=str(Path(app.root_path).parent / "migrations"))
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=str(Path(app.root_path) / "translations"),
    )
    bootstrap.init_app(app)
    cache.init_app(app)
    login_manager.init_app(app)
    app.json.ensure_ascii = False  # API answers show Chinese as Chinese, not \u escapes


def register_url_converters(app: Flask) -> None:
    """`<id:...>` for row ids in every blueprint's routes."""
    from app.core.url_converters import IdConverter

    app.url_map.converters["id"] = IdConverter


def register_models(app: Flask) -> None:
    """Import every feature's models so metadata (and `flask db migrate`) sees all tables."""
    import app.auth.models
    import app.businesses.models
    import app.core.audit
    import app.followups.models
    import app.founders.models
    import app.incubation.models
    import app.integrity.models
    import app.library.models
    import app.loans.models
    import app.notifications.models
    import app.regions.models
    import app.reports.models
    import app.scheduler.models
    import app.targets.models
    import app.training.models  # noqa: F401


def select_locale() -> str:
    """The user's saved language, else the session's choice, else the browser's.

    Outside a request (commands, jobs) messages use the default language.
    """
    languages = list(supported_languages())
    if not has_request_context():
        return languages[0]
    saved = getattr(current_user, "locale", None) if current_user else None
    if saved in languages:
        return saved
    chosen = session.get("locale")
    if chosen in languages:
        return chosen
    return request.accept_languages.best_match(languages) or languages[0]


def supported_languages() -> list[str]:
    """Supported interface languages, the default first."""
    from flask import current_app

    return list(current_app.config["LANGUAGES"])


def register_login(app: Flask) -> None:
    """Session sign-in for pages, bearer-token sign-in for the API, session expiry, and
    the password change a user whose password someone else set must make first."""
    from flask_babel import lazy_gettext as _l

    from app.auth.bearer import authenticate_bearer_token
    from app.auth.queries import load_user_for_session
    from app.auth.views import end_expired_session, insist_on_password_change
    from app.extensions import login_manager

    login_manager.login_view = "auth.login"
    login_manager.login_message = _l("Please sign in to see this page.")
    login_manager.login_message_category = "info"
    login_manager.session_protection = "basic"
    login_manager.user_loader(load_user_for_session)
    app.before_request(authenticate_bearer_token)
    app.before_request(end_expired_session)
    app.before_request(insist_on_password_change)


def register_security_steps(app: Flask) -> None:
    """CSRF checks and security headers."""
    from app.core.security import register_security

    register_security(app)


def register_blueprints(app: Flask) -> None:
    """Every blueprint of the application, in one explicit list."""
    from app.admin.views import admin_bp
    from app.auth.api import auth_api_bp
    from app.auth.views import auth_bp
    from app.businesses.api import businesses_api_bp
    from app.businesses.views import businesses_bp
    from app.core.openapi import openapi_bp
    from app.followups.api import followups_api_bp
    from app.followups.plan_views import followup_plan_bp
    from app.followups.views import followups_bp
    from app.founders.api import founders_api_bp
    from app.founders.views import founders_bp
    from app.incubation.api import incubation_api_bp
    from app.incubation.views import incubation_bp
    from app.integrity.api import integrity_api_bp
    from app.integrity.views import integrity_bp
    from app.library.api import library_api_bp
    from app.library.views import library_bp
    from app.loans.api import loans_api_bp
    from app.loans.policy_api import loan_policies_api_bp
    from app.loans.policy_views import loan_policies_bp
    from app.loans.statement_api import loan_statements_api_bp
    from app.loans.statement_views import loan_statements_bp
    from app.loans.views import loans_bp
    from app.main.views import main_bp
    from app.notifications.api import notifications_api_bp
    from app.notifications.views import notifications_bp
    from app.regions.api import regions_api_bp
    from app.regions.views import regions_bp
    from app.reports.api import reports_api_bp
    from app.reports.views import reports_bp
    from app.scheduler.api import jobs_api_bp
    from app.scheduler.views import jobs_bp
    from app.targets.api import api_targets_bp
    from app.targets.views import targets_bp
    from app.training.api import training_api_bp
    from app.training.views import training_bp

    for blueprint in (
        main_bp,
        auth_bp,
        admin_bp,
        regions_bp,
        founders_bp,
        training_bp,
        library_bp,
        businesses_bp,
        incubation_bp,
        loans_bp,
        loan_policies_bp,
        loan_statements_bp,
        integrity_bp,
        followups_bp,
        followup_plan_bp,
        notifications_bp,
        jobs_bp,
        reports_bp,
        targets_bp,
        auth_api_bp,
        regions_api_bp,
        founders_api_bp,
        training_api_bp,
        library_api_bp,
        businesses_api_bp,
        incubation_api_bp,
        loans_api_bp,
        loan_policies_api_bp,
        loan_statements_api_bp,
        integrity_api_bp,
        followups_api_bp,
        notifications_api_bp,
        jobs_api_bp,
        reports_api_bp,
        api_targets_bp,
        openapi_bp,
    ):
        app.register_blueprint(blueprint)


def register_error_handlers(app: Flask) -> None:
    """Domain errors, HTTP errors and crashes become flashes, pages or JSON."""
    from app.core.error_pages import register_error_handlers as register

    register(app)


def register_template_context(app: Flask) -> None:
    """Names every template may use."""
    from flask_babel import get_locale

    from app.auth.forms import ROLE_LABELS
    from app.core.numbers import percent_text
    from app.core.pagination import current_page_link, link_args
    from app.core.permissions import Permission, Role, has_permission
    from app.notifications.queries import count_unread

    app.jinja_env.globals["link_args"] = link_args  # a global: imported macros use it too
    app.jinja_env.globals["current_page_link"] = current_page_link

    def role_label(role: str) -> str:
        return str(ROLE_LABELS.get(Role(role), role))

    def current_language() -> str:
        """The LANGUAGES key of the interface language (Babel calls zh_CN zh_Hans_CN)."""
        locale = get_locale()
        for code in app.config["LANGUAGES"]:
            if locale is not None and locale.language == code.split("_")[0]:
                return code
        return next(iter(app.config["LANGUAGES"]))

    # A true Jinja global, so imported macros (which see no context) can use it too.
    app.jinja_env.globals["percent_text"] = percent_text

    @app.context_processor
    def inject_globals() -> dict[str, Any]:
        return {
            "Permission": Permission,
            "role_label": role_label,
            "can": lambda permission: has_permission(current_user, permission),
            "languages": app.config["LANGUAGES"],
            "current_locale": current_language(),
            "unread_notifications": lambda: count_unread(current_user),
        }


def register_cli(app: Flask) -> None:
    """The `flask users`, `flask regions` and `flask demo` command groups."""
    from app.cli import register_commands

    register_commands(app)
