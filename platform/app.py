"""The application factory."""
from __future__ import annotations

import os
from importlib import resources

from flask import Flask

from . import events
from . import config as config_module
from . import dbpool  # noqa: F401  (installs the pool's ping of idle connections)
from . import localcache
from .auth import sessions
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .logs import init_logging
from .plugin_host import listener as plugins
from .tenancy import resolution, scoping  # noqa: F401  (scoping installs the SQLAlchemy events)
from .hooks import catalogs
from .web import errors, i18n, json_bodies, security
from .web.transactions import init_app as init_transactions


def _frontend_path(*parts: str) -> str:
    return str(resources.files("storecrm.frontend").joinpath(*parts))


class StoreCrmFlask(Flask):
    def ensure_sync(self, func):
        """Flask asks inspect whether each view and hook is a coroutine function on every call (about 20 times a
        request here, bench B1); StoreCRM has no async views or hooks, so every callable is used as it is."""
        return func


def create_app(overrides: dict | None = None, *, environ=os.environ) -> Flask:
    settings = config_module.load_settings(environ)
    app = StoreCrmFlask(
        "storecrm",
        root_path=os.path.dirname(os.path.abspath(__file__)),  # storecrm is a namespace package
        instance_path=str(settings.var_dir / "instance"),
        template_folder=_frontend_path("templates"),
        static_folder=_frontend_path("static"),
        static_url_path="/static",
    )
    app.request_class = json_bodies.Request  # an undecodable JSON body (too deep, too long a number) is a 400
    app.config.update(
        STORECRM=settings,
        ENV_NAME=settings.env,
        SECRET_KEY=settings.secret_key,
        SQLALCHEMY_DATABASE_URI=settings.database_url,
        SQLALCHEMY_ENGINE_OPTIONS={},  # idle connections are pinged before use: storecrm.dbpool
        DATABASE_OWNER_URL=settings.database_owner_url,
        DATABASE_SYSTEM_URL=settings.database_system_url,
        READ_DATABASE_URL=settings.read_database_url,  # storecrm.tenancy.reads; unset: reads go to the primary
        READ_MAX_LAG_SECONDS=settings.read_max_lag_seconds,
        REDIS_URL=settings.redis_url,
        SESSION_COOKIE_NAME="storecrm_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=settings.session_cookie_secure,
        REMEMBER_COOKIE_HTTPONLY=True,
        REMEMBER_COOKIE_SECURE=settings.session_cookie_secure,
        PERMANENT_SESSION_LIFETIME=60 * 60 * 12,
        WTF_CSRF_TIME_LIMIT=None,  # tokens live as long as the session; forms stay open all day on a shop phone
        BABEL_TRANSLATION_DIRECTORIES=_frontend_path("translations"),
        BABEL_DEFAULT_LOCALE="zh_CN",
        BABEL_DEFAULT_TIMEZONE="Asia/Shanghai",
        RATELIMIT_STORAGE_URI=_limiter_uri(settings.redis_url),
        RATELIMIT_STRATEGY="moving-window",
        # X-RateLimit-* headers would cost every API call a second Redis round trip (bench B1); a refused call
        # still gets 429 with Retry-After
        RATELIMIT_HEADERS_ENABLED=False,
        # if Redis is unreachable, sign-in keeps working (logged) rather than every login page failing
        RATELIMIT_SWALLOW_ERRORS=True,
        MAX_CONTENT_LENGTH=20 * 1024 * 1024,
        API_TITLE="StoreCRM API",
        API_VERSION="v1",
        OPENAPI_VERSION="3.0.3",
        OPENAPI_URL_PREFIX="/api/v1",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH=None,
    )
    if overrides:
        app.config.update(overrides)
    localcache.configure(settings.auth_cache_seconds)
    if settings.proxy_hops:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=settings.proxy_hops, x_proto=settings.proxy_hops,
                                x_host=settings.proxy_hops)

    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from . import models  # noqa: F401  (maps every model before first use)
    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from .shell import context as shell

    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from .shell.plugins import load_plugins, mount_plugins

    init_logging(app, settings)
    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from . import core_plugin
    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from .notifications import reminders  # noqa: F401  (timer handlers register on import; plugins' with their module)
    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from .workflow import engine  # noqa: F401

    load_plugins(app, core_plugin)  # before Babel: plugins bring translation folders
    db.init_app(app)
    migrate.init_app(app, db, directory=str(resources.files("storecrm.migrations")))
    csrf.init_app(app)
    limiter.init_app(app)
    i18n.init_app(app, babel)
    catalogs.install(babel)  # a plugin's words win on its own pages, the core's elsewhere
    login_manager.init_app(app)

    sessions.init_app(app, login_manager)
    resolution.init_app(app)
    security.init_app(app)
    errors.init_app(app)
    shell.init_app(app)
    shell.init_filters(app)

    # imported here: loads users.passwords (argon2 cost read at import) before the pytest plugin's pytest_configure
    from .shell.views import public_bp

    app.register_blueprint(public_bp)
    mount_plugins(app)  # the control plane (signup, billing, the operator console) is a system plugin
    _subscribe_to_events(app)

    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from .shell.plugins import check_nav_endpoints

    check_nav_endpoints(app)

    init_transactions(app)

    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from .cli import register_cli

    register_cli(app)
    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from .jobs.middleware import bind_first

    bind_first(app)
    return app


def _subscribe_to_events(app) -> None:
    """Who hears `storecrm.events`, in order: sessions and tokens (a staff member's access ended ends at once); then
    webhooks, so a receiver gets an event before the ones rules and plugins cause while handling it (a rule that sets a
    field after a customer is created); then plugins; then rules."""
    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from .auth import services as auth
    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from .notifications import webhooks
    # imported here: loads storecrm.jobs (broker fixed at import) before the pytest plugin's pytest_configure
    from .rules import engine as rules

    events.init_app(app, (auth.listen, webhooks.listen, plugins.listen, rules.listen))


def _limiter_uri(redis_url: str) -> str:
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url
