"""The national RM review-expert pool and training platform: application factory."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from flask import Flask, Response, g, has_request_context, request, session
from flask_login import current_user
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.middleware.proxy_fix import ProxyFix

import courses

from . import (
    accounts,
    api,
    assessment,
    core,
    demo,
    experts,
    main,
    matching,
    notifications,
    reviews,
    submissions,
)
from .config import check_config, load_config
from .core import audit, errorpages, logs, ratelimit
from .core.access import undeclared_endpoints
from .db import configure_sqlite, db
from .extensions import babel, csrf, limiter, login_manager, migrate

ROOT = Path(__file__).resolve().parent.parent
log = logging.getLogger(__name__)

# Each feature's front door, `init_app(app)`, in the layer order of `.importlinter` (lowest first):
# a feature may import, and react to the events of, the features before it, never those after.
# Registration order is meaningful: demo loaders and page slots run in this order.
FEATURES = (
    accounts,
    notifications,
    experts,
    courses,
    submissions,
    reviews,
    matching,
    assessment,
    api,
    main,
    demo,
)


def create_app(config: dict[str, Any] | None = None, instance_path: str | None = None) -> Flask:
    """Build the application; `config` overrides every other source (used by tests)."""
    app = Flask(
        __name__,
        instance_path=instance_path or str(ROOT / "instance"),
        static_folder=str(ROOT / "static"),
        static_url_path="/static",
    )
    Path(app.instance_path).mkdir(parents=True, exist_ok=True)
    app.config.update(load_config(Path(app.instance_path), config))
    check_config(app.config)
    logs.init_app(app)  # first: its request id and timing wrap every other hook
    _trust_proxies(app)
    _init_extensions(app)
    core.init_app(app)
    for feature in FEATURES:
        feature.init_app(app)
    _install_request_hooks(app)
    _check_access_declared(app)
    return app


def _trust_proxies(app: Flask) -> None:
    """Believe the X-Forwarded-For/-Proto/-Host of the TRUSTED_PROXIES proxies in front."""
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies > 0:
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies
        )


def _init_extensions(app: Flask) -> None:
    from . import models  # noqa: F401  (every model registered before migrations look)

    db.init_app(app)
    with app.app_context():
        configure_sqlite(db.engine)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    ratelimit.register()  # the `expertpool+db://` storage, before the limiter picks one
    limiter.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message = None
    login_manager.session_protection = "strong"
    babel.init_app(
        app,
        locale_selector=_select_locale,
        default_translation_directories=str(ROOT / "expertpool" / "translations"),
    )

    from flask_babel import get_locale

    app.jinja_env.globals["get_locale"] = get_locale


def _select_locale() -> str:
    languages = _app_languages()
    if not has_request_context():
        return languages[0]
    user_locale = getattr(current_user, "locale", None) if current_user else None
    for choice in (user_locale, session.get("locale")):
        if choice in languages:
            return choice
    return languages[0]


def _app_languages() -> list[str]:
    from flask import current_app

    return current_app.config["LANGUAGES"]


def _install_request_hooks(app: Flask) -> None:
    @app.before_request
    def name_the_actor() -> None:
        actor = current_user if current_user.is_authenticated else None
        audit.set_actor(db.session, actor)

    # Registered first, so it runs last (Flask calls after_request hooks in reverse): it also
    # covers the 409 page that `finish_transaction` puts in place of a response it cannot commit.
    @app.after_request
    def security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "SAMEORIGIN")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            "script-src 'self'; media-src 'self' *; frame-ancestors 'self'",
        )
        return response

    @app.after_request
    def finish_transaction(response: Response) -> Response:
        """One commit per request, here; a failed request leaves the database as it was."""
        if response.status_code >= 400 or g.get("rollback"):
            db.session.rollback()
            return response
        try:
            db.session.commit()
        except StaleDataError:
            return errorpages.conflict(errorpages.stale_message())
        except IntegrityError as exc:
            log.warning("integrity error on %r: %r", request.path, exc.orig)
            return errorpages.conflict(errorpages.duplicate_message())
        return response


def _check_access_declared(app: Flask) -> None:
    missing = undeclared_endpoints(app.view_functions)
    if missing:
        raise RuntimeError(f"routes without an access declaration: {', '.join(missing)}")
