"""Bearer-token authentication and the tenant context of API requests.

The token names its tenant (sct_<tenant>_<id>_<secret>), so it is checked inside that
tenant's scope, under RLS, like any other row. Any failure answers 401, the same for all.
"""
from __future__ import annotations

import functools

from flask import abort, g, request

from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from ..audit.services import Actor, set_actor
from ..auth.secrets import matches
from ..auth.services import parse_token, token_principal
from ..extensions import db, limiter
from ..localcache import MISSING, LocalCache
from ..hooks.runtime import tenant_hook
from ..tenancy.context import TenantRef, reset_tenant, set_tenant
from ..tenancy.resolution import enter_tenant
from ..web.idempotency import claim_or_replay
from . import ratelimit


# Who a token is: its digest, the tenant and the user (with role and stores), kept per process for at most
# AUTH_CACHE_SECONDS (storecrm.localcache says the bound and how revocation clears it). Every API call used to spend
# four statements on this before any work of its own (bench B1).
principals = LocalCache("api principals", ("api_tokens", "users", "roles", "user_stores", "stores", "tenants"))


USER_VIEWS = ("role", "stores")  # the user's read-only relationships: rows without relationships of their own


def _detached_copy(obj, *, leave_out=()):
    """A copy of `obj` and what it has loaded, except the relationships `leave_out`, in no session: what the cache
    keeps."""
    scratch = Session()
    copy = scratch.merge(obj, load=False)
    if leave_out:
        scratch.expire(copy, leave_out)
    scratch.expunge_all()
    return copy


def _from_cache(token_id: int, secret: str):
    found = principals.get(token_id)
    if found is MISSING:
        return None
    digest, tenant, user, views = found
    if not matches(secret, digest):
        return None
    # The tenant is shared, detached and read-only, as g.tenant always is. The user gets attached to this request's
    # session without a query (merge without load copies the loaded state; anything else loads as usual), since
    # views hand it to services that may change it. Its role and stores are view-only relationships to rows that
    # have none of their own, so they are shared as the tenant is, set as loaded rather than merged: merging them
    # too cost as much as the rest of a cached API call's authentication (bench B1).
    merged = db.session.merge(user, load=False)
    for key, value in zip(USER_VIEWS, views):
        set_committed_value(merged, key, value)
    return merged, tenant


def _authenticate():
    header = request.headers.get("Authorization", "")
    scheme, _, plain = header.partition(" ")
    parsed = parse_token(plain.strip()) if scheme.lower() == "bearer" else None
    if parsed is None:
        return None
    tenant_id, token_id, secret = parsed
    if not 0 < tenant_id < 2**63 or not 0 < token_id < 2**63:
        return None
    found = _from_cache(token_id, secret)
    if found is not None and found[1].id != tenant_id:
        return None
    if found is None:
        # The token's own claim scopes the lookup (RLS and the ORM filter): a token of another tenant, or a forged
        # tenant id, finds nothing. The transaction this opens carries on with the request's work.
        stamp = principals.stamp()
        provisional = set_tenant(TenantRef(tenant_id, ""))
        try:
            principal = token_principal(token_id, secret)
            if principal is not None:
                principal[1].stores  # noqa: B018 — loaded so the cached copy answers store_ids without a query
        finally:
            reset_tenant(provisional)
        if principal is None:
            db.session.rollback()  # nothing of this tenant may stay in the session of an unauthenticated request
            return None
        token, user, tenant = principal
        db.session.expunge(tenant)  # fully loaded; stays readable after the request's commit without a reload
        views = tuple(_detached_copy(getattr(user, key)) if not isinstance(getattr(user, key), list)
                      else [_detached_copy(v) for v in getattr(user, key)] for key in USER_VIEWS)
        principals.put(token_id, (token.secret_hash, _detached_copy(tenant),
                                  _detached_copy(user, leave_out=USER_VIEWS), views), stamp=stamp)
        found = user, tenant
    user, tenant = found
    user.api_token_id = token_id
    enter_tenant(tenant)
    if tenant.status == "suspended":
        abort(403, description="This workspace is suspended.")
    return user


PUBLIC = ("/api/v1/openapi.json", "/api/v1/signup")  # the only API paths needing no token


def _token_checked_path() -> bool:
    return request.path.startswith("/api/v1/") and request.path not in PUBLIC


# Flask-Limiter skips these: their limit is the token's user's, checked with the token (api/ratelimit.py)
limiter.request_filter(_token_checked_path)


def _unless_token_checked(check):
    if not _token_checked_path():
        return check()


def init_app(app) -> None:
    # Flask-Limiter's own check (registered by limiter.init_app) finds nothing to count on these paths — the filter
    # above exempts them — yet resolving that cost as much per call as the API's own limit (bench B1): it is skipped
    # on them outright. Its limits on pages are untouched.
    funcs = app.before_request_funcs.setdefault(None, [])
    if limiter._check_request_limit in funcs:  # noqa: SLF001 - the method Flask-Limiter registers; no public switch
        funcs[funcs.index(limiter._check_request_limit)] = \
            functools.partial(_unless_token_checked, limiter._check_request_limit)  # noqa: SLF001

    @app.before_request
    def _api_user():
        if not _token_checked_path():
            return
        user = _authenticate()
        if user is None:
            ratelimit.check_anonymous()
            abort(401, description="Send a valid personal API token as 'Authorization: Bearer <token>'.")
        ratelimit.check_user(user)

        tenant_hook("request_guard")(tenant=g.tenant, api=True)  # e.g. a plan without API access
        g.api_user = user
        g.log_user = user.id
        set_actor(Actor(user.id, user.display_name, request.remote_addr, g.get("request_id")))

        return claim_or_replay(user)


def api_user():
    """The staff member whose bearer token authenticated this API request."""
    return g.api_user


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

