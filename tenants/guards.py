"""Request guards of the control plane: a read-only (dunning) workspace writes nothing; the plan's API access."""
from __future__ import annotations

from flask import g, request
from flask_babel import gettext as _
from werkzeug.exceptions import Forbidden

from . import entitlements

SAFE = ("GET", "HEAD", "OPTIONS")
# what a read-only workspace may still do: sign in and out, and pay
ALLOWED = ("auth.", "billing.", "web.language", "static")


class ReadOnly(Forbidden):
    read_only = True


def init_app(app) -> None:
    @app.before_request
    def _read_only():
        tenant = g.get("tenant")
        if tenant is None or request.method in SAFE:
            return
        if any((request.endpoint or "").startswith(prefix) for prefix in ALLOWED):
            return
        if entitlements.read_only(tenant.id):
            raise ReadOnly(description=_("This workspace is read-only until the overdue invoice is paid: your data "
                                         "is kept and can be viewed. The owner can pay under Plan and billing."))


def check_api_access(tenant_id: int) -> None:
    if not entitlements.api_allowed(tenant_id):
        raise Forbidden(description=_("Your plan does not include API access. Upgrade under Plan and billing."))
