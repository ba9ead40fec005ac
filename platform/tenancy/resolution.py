"""Tenant resolution by path prefix: every tenant page lives under /t/<slug>/.

A path prefix works on localhost, behind any proxy and with one TLS certificate, which a
subdomain scheme would not; docs/tenancy.md records the choice. The API resolves the tenant
from the bearer token instead (storecrm.api.auth).
"""
from __future__ import annotations

from flask import abort, g, request
from sqlalchemy import select

from ..extensions import db
from .context import TenantRef, reset_tenant, set_tenant
from .models import Tenant


def find_tenant(slug: str | None = None, *, tenant_id: int | None = None) -> Tenant | None:
    """Look a live tenant up, detached and fully loaded, and end the lookup's transaction.

    The lookup runs before any tenant is in context, so its transaction carries no tenant
    for RLS; it must end before tenant work starts, and a rollback would expire the row
    (re-loading it in a new, tenant-less transaction), hence the expunge first.
    """
    query = select(Tenant).where(Tenant.status != "deleted")
    query = query.where(Tenant.slug == slug) if tenant_id is None else query.where(Tenant.id == tenant_id)
    tenant = db.session.scalar(query)
    if tenant is not None:
        db.session.expunge(tenant)
    db.session.rollback()
    return tenant


def enter_tenant(tenant: Tenant) -> None:
    """Bind the request to `tenant`: context var for the ORM scope and RLS, g for templates."""
    g.tenant = tenant
    g._tenant_token = set_tenant(TenantRef(tenant.id, tenant.slug))


def init_app(app) -> None:
    @app.url_value_preprocessor
    def _pull_tenant(endpoint, values):
        if not values or "tenant" not in values:
            return
        slug = values.pop("tenant")
        tenant = find_tenant(slug)
        if tenant is None:
            abort(404)
        enter_tenant(tenant)
        if tenant.status == "suspended" and request.endpoint not in ("web.suspended", "static"):
            abort(403, description="suspended")
        if tenant.status == "pending" and request.endpoint != "static":
            abort(403, description="pending")  # signed up, email not confirmed yet (storecrm.tenants.signup)

    @app.url_defaults
    def _push_tenant(endpoint, values):
        if "tenant" in values or not getattr(g, "tenant", None):
            return
        if app.url_map.is_endpoint_expecting(endpoint, "tenant"):
            values["tenant"] = g.tenant.slug

    @app.teardown_request
    def _leave_tenant(exc):
        token = g.pop("_tenant_token", None)
        if token is not None:
            reset_tenant(token)
