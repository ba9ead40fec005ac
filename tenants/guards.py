"""Request guards of the control plane (through the `request_guard` hook): a read-only (dunning) workspace writes
nothing; a plan without API access answers 403 to every API call."""
from __future__ import annotations

from flask import request
from flask_babel import gettext as _
from werkzeug.exceptions import Forbidden

from . import entitlements

SAFE = ("GET", "HEAD", "OPTIONS")
# what a read-only workspace may still do: sign in and out, and pay
ALLOWED = ("auth.", "billing.", "web.language", "static")


class ReadOnly(Forbidden):
    read_only = True  # the error page shows the description: the user must learn why and what to do


def guard(tenant, api: bool) -> None:
    allowed, read_only = entitlements.gate(tenant.id)
    if api and not allowed:
        raise Forbidden(description=_("Your plan does not include API access. Upgrade under Plan and billing."))
    if request.method in SAFE or any((request.endpoint or "").startswith(prefix) for prefix in ALLOWED):
        return
    if read_only:
        raise ReadOnly(description=_("This workspace is read-only until the overdue invoice is paid: your data "
                                     "is kept and can be viewed. The owner can pay under Plan and billing."))
