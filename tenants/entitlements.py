"""What a tenant's plan allows, and the checks services run before adding stores, staff, customers or modules.

No account row, or an account without a plan (a self-hosted install, an enterprise deal), means no limits. A limit
reached refuses the one thing being added with a message saying what and how to go on; nothing else breaks and
nothing already saved is touched."""
from __future__ import annotations

from flask import g
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select

from ..customers.models import Customer
from ..extensions import db
from ..localcache import MISSING, LocalCache
from ..stores.models import Store
from ..tenancy.context import current_tenant_id
from ..users.models import User
from .models import Plan, TenantAccount

RESOURCES = ("stores", "seats", "customers")


def account(tenant_id: int | None = None) -> TenantAccount | None:
    """The tenant's account row, read once per request or job."""
    tenant_id = tenant_id or current_tenant_id()
    if tenant_id is None:
        return None
    cache = g.setdefault("_storecrm_accounts", {})
    if tenant_id not in cache:
        cache[tenant_id] = db.session.get(TenantAccount, tenant_id)
    return cache[tenant_id]


def forget() -> None:
    g.pop("_storecrm_accounts", None)


def plan(tenant_id: int | None = None) -> Plan | None:
    acct = account(tenant_id)
    return db.session.get(Plan, acct.plan_code) if acct is not None and acct.plan_code else None


def limit(resource: str) -> int | None:
    p = plan()
    if p is None:
        return None
    value = (p.limits or {}).get(resource)
    if resource == "seats" and value is not None:
        acct = account()
        return max(value, acct.seats) if acct is not None and acct.stripe_subscription_id else value
    return value


def usage(resource: str) -> int:
    if resource == "stores":
        return db.session.scalar(select(func.count()).select_from(Store).where(Store.active.is_(True))) or 0
    if resource == "seats":
        return db.session.scalar(select(func.count()).select_from(User).where(User.active.is_(True))) or 0
    return db.session.scalar(select(func.count()).select_from(Customer).where(Customer.deleted_at.is_(None))) or 0


WHAT = {"stores": "stores", "seats": "active staff", "customers": "customers"}


def ensure_room(resource: str, adding: int = 1, *, field: str = "_schema") -> None:
    """Refuse (ValidationError on `field`) when adding `adding` more of `resource` would pass the plan's limit."""
    allowed = limit(resource)
    if allowed is None or adding <= 0:
        return
    used = usage(resource)
    if used + adding > allowed:
        from flask_babel import get_locale

        what = {"stores": _("stores"), "seats": _("active staff accounts"), "customers": _("customers")}[resource]
        name = plan().name(str(get_locale() or "en"))
        raise ValidationError({field: [_("Your plan %(plan)s allows %(limit)s %(what)s and %(used)s are in use. "
                                         "Upgrade under Billing, or free one up first.",
                                         plan=name, limit=allowed, what=what, used=used)]})


def plugin_allowed(plugin_name: str) -> bool | None:
    p = plan()
    if p is None:
        return None
    allowed = (p.limits or {}).get("plugins", ["*"])
    return "*" in allowed or plugin_name in allowed


def api_allowed(tenant_id: int) -> bool:
    p = plan(tenant_id)
    return p is None or bool((p.limits or {}).get("api", True))


def read_only(tenant_id: int | None = None) -> bool:
    acct = account(tenant_id)
    return bool(acct is not None and acct.read_only)


# What every request's guard asks — API allowed, read-only — kept per process for at most AUTH_CACHE_SECONDS, cleared
# by a commit here that changed an account or a plan (storecrm.localcache): a plan change elsewhere takes effect here
# within that bound. Services that change the account read it fresh through account().
_gates = LocalCache("plan gates", (TenantAccount.__tablename__, Plan.__tablename__))


def gate(tenant_id: int) -> tuple[bool, bool]:
    """(API access allowed, workspace read-only) for the request guards."""
    found = _gates.get(tenant_id)
    if found is MISSING:
        stamp = _gates.stamp()
        found = (api_allowed(tenant_id), read_only(tenant_id))
        _gates.put(tenant_id, found, stamp=stamp)
    return found


def summary() -> list[dict]:
    """Usage against limits, for the billing page and the API."""
    return [{"resource": r, "used": usage(r), "limit": limit(r)} for r in RESOURCES]
