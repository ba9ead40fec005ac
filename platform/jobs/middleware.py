from __future__ import annotations

import logging
import threading

from dramatiq.middleware import Middleware

from ..extensions import db
from ..hooks.runtime import enabled_plugins
from ..tenancy.context import TenantRef, current_tenant_id, reset_tenant, set_tenant
from ..tenancy.resolution import find_tenant

log = logging.getLogger("storecrm.jobs")
_app = None
_local = threading.local()


def bind_app(app) -> None:
    """Use `app` for jobs in this process (the worker binds one it creates; tests bind theirs)."""
    global _app
    _app = app


def bind_first(app) -> None:
    """Bind `app` unless one is bound already: the first app a process creates runs its jobs."""
    if _app is None:
        bind_app(app)


def _get_app():
    if _app is None:  # create_app() binds the first app of a process; the jobs layer knows nothing above it
        raise RuntimeError("no app bound for jobs: create the app (storecrm.app.create_app) before processing jobs")
    return _app


class TenantMiddleware(Middleware):
    """Carries tenant_id in every message and re-enters that tenant in the worker.

    An actor declared with `plugin="name"` does not run for tenants that have that plugin off.
    """

    actor_options = {"plugin"}

    def before_enqueue(self, broker, message, delay):
        tid = current_tenant_id()
        if tid is not None:
            message.options.setdefault("tenant_id", tid)

    def before_process_message(self, broker, message):
        tid = message.options.get("tenant_id")
        _local.tenant_token = None
        if tid is None:
            return
        tenant = find_tenant(tenant_id=tid)
        if tenant is None:
            from dramatiq.middleware import SkipMessage

            log.warning("skipping job %s for missing tenant %s", message.actor_name, tid)
            raise SkipMessage()
        _local.tenant_token = set_tenant(TenantRef(tenant.id, tenant.slug))
        plugin = broker.get_actor(message.actor_name).options.get("plugin")
        if plugin:
            if plugin not in enabled_plugins():
                from dramatiq.middleware import SkipMessage

                log.info("skipping job %s: plugin %s is off for tenant %s", message.actor_name, plugin, tid)
                raise SkipMessage()

    def _leave(self):
        token = getattr(_local, "tenant_token", None)
        if token is not None:
            reset_tenant(token)
            _local.tenant_token = None

    def after_process_message(self, broker, message, *, result=None, exception=None):
        try:
            if exception is None:
                db.session.commit()
            else:
                db.session.rollback()
        finally:
            self._leave()

    def after_skip_message(self, broker, message):
        self._leave()


class AppContextMiddleware(Middleware):
    """One Flask app context per job, so the job's session and config are the app's."""

    def before_process_message(self, broker, message):
        ctx = _get_app().app_context()
        ctx.push()
        _local.app_ctx = ctx

    def _pop(self):
        ctx = getattr(_local, "app_ctx", None)
        if ctx is not None:
            db.session.remove()
            ctx.pop()
            _local.app_ctx = None

    def after_process_message(self, broker, message, *, result=None, exception=None):
        self._pop()

    def after_skip_message(self, broker, message):
        self._pop()
