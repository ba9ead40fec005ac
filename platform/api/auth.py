"""Bearer-token authentication and the tenant context of API requests.

The token names its tenant (sct_<tenant>_<id>_<secret>), so it is checked inside that
tenant's scope, under RLS, like any other row. Any failure answers 401, the same for all.
"""
from __future__ import annotations

import functools

from flask import abort, current_app, g, request

from ..audit.services import Actor, set_actor
from ..auth.services import parse_token, user_for_token
from ..extensions import db
from ..hooks.runtime import tenant_hook
from ..tenancy.context import TenantRef, reset_tenant, set_tenant
from ..tenancy.resolution import enter_tenant
from ..web.idempotency import claim_or_replay


def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, plain = header.partition(" ")
    parsed = parse_token(plain.strip()) if scheme.lower() == "bearer" else None
    if parsed is None:
        return None
    tenant_id, token_id, secret = parsed
    if not 0 < tenant_id < 2**63 or not 0 < token_id < 2**63:
        return None
    # The token's own claim scopes the lookup (RLS and the ORM filter): a token of another tenant, or a forged
    # tenant id, finds nothing. The transaction this opens carries on with the request's work.
    provisional = set_tenant(TenantRef(tenant_id, ""))
    try:
        found = user_for_token(token_id, secret, with_tenant=True)
    finally:
        reset_tenant(provisional)
    if found is None:
        db.session.rollback()  # nothing of this tenant may stay in the session of an unauthenticated request
        return None
    user, tenant = found
    db.session.expunge(tenant)  # fully loaded; stays readable after the request's commit without a reload
    enter_tenant(tenant)
    if tenant.status == "suspended":
        abort(403, description="This workspace is suspended.")
    return user


PUBLIC = ("/api/v1/openapi.json", "/api/v1/signup")  # the only API paths needing no token


def init_app(app) -> None:
    @app.before_request
    def _api_user():
        if not request.path.startswith("/api/v1/") or request.path in PUBLIC:
            return
        user = _authenticate()
        if user is None:
            abort(401, description="Send a valid personal API token as 'Authorization: Bearer <token>'.")

        tenant_hook("request_guard")(tenant=g.tenant, api=True)  # e.g. a plan without API access
        g.api_user = user
        g.log_user = user.id
        set_actor(Actor(user.id, user.display_name, request.remote_addr, g.get("request_id")))

        return claim_or_replay(user)


def api_user():
    """The staff member whose bearer token authenticated this API request."""
    return g.api_user


def api_limit() -> str:
    return current_app.config["STORECRM"].api_rate_limit


def api_key() -> str:
    user = g.get("api_user")
    return f"api:{user.tenant_id}:{user.id}" if user else f"api-ip:{request.remote_addr}"


def requires(permission: str):
    """Decorator for API views: 403 problem unless the token's user holds `permission`."""
    def decorator(fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            if not g.api_user.has_permission(permission):
                abort(403, description="Your role lacks the permission '%s'." % permission)
            return fn(*args, **kwargs)

        return wrapper

    return decorator

