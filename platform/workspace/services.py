"""Creating tenants (operators) and editing a tenant's own settings (its admins)."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from ..access.services import seed_builtin_roles
from ..audit.services import changed_only, record
from ..extensions import db
from ..stores.services import create_store
from ..tenancy.context import tenant_context
from ..tenancy.models import Tenant, current_tenant_row
from ..tenancy.scoping import unscoped
from ..users.services import create_user

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
RESERVED = {"api", "admin", "static", "www", "app", "t", "login", "signup", "healthz", "operator"}




def validate_slug(slug: str) -> str:
    slug = (slug or "").strip().lower()
    if not SLUG_RE.match(slug) or slug in RESERVED:
        raise ValidationError({"slug": [_("Use 2–63 lowercase letters, digits or hyphens (not a reserved word).")]})
    return slug


def create_tenant(*, slug: str, name: str, locale: str = "zh_CN", timezone: str = "Asia/Shanghai",
                  currency: str = "CNY", owner: dict, store: dict | None = None, status: str = "active") -> Tenant:
    """Create a tenant with its built-in roles, a first store and its owner account.

    The tenant row is a platform row, written by the system role; the rest is written inside
    the new tenant's scope. If that part fails the tenant row is removed again.
    """
    slug = validate_slug(slug)
    # routine: every signup, the demo loader and operators create tenants; a warning would cry wolf
    with unscoped(reason=f"create tenant {slug}", routine=True) as system:
        if system.scalar(select(Tenant.id).where(Tenant.slug == slug)):
            raise ValidationError({"slug": [_("This workspace name is taken.")]})
        tenant = Tenant(slug=slug, name=name, locale=locale, timezone=timezone, currency=currency, status=status)
        system.add(tenant)
        system.flush()
        tenant_id = tenant.id
    try:
        with tenant_context(tenant):
            roles = seed_builtin_roles()
            first_store = create_store(store or {"code": "HQ", "name": name})
            create_user({**owner, "role_id": roles["owner"].id, "store_ids": [first_store.id]})
            record("create", "tenant", tenant_id, name)
            db.session.commit()
    except BaseException:
        with unscoped(reason=f"roll back half-created tenant {slug}") as system:
            system.execute(Tenant.__table__.delete().where(Tenant.id == tenant_id))
        raise
    return tenant


PREFERENCES = ("duplicate_policy",)  # kept in tenants.settings (JSONB) rather than columns


def settings_view(tenant: Tenant) -> dict:
    return {"slug": tenant.slug, "name": tenant.name, "locale": tenant.locale, "timezone": tenant.timezone,
            "currency": tenant.currency, "duplicate_policy": (tenant.settings or {}).get("duplicate_policy", "propose")}


def update_settings(data: dict) -> Tenant:
    tenant = current_tenant_row()
    before = settings_view(tenant)
    for key, value in data.items():
        if key in PREFERENCES:
            tenant.settings = {**(tenant.settings or {}), key: value}
        else:
            setattr(tenant, key, value)
    db.session.flush()
    old, new = changed_only(before, settings_view(tenant))
    if new:
        record("update", "tenant", tenant.id, tenant.name, before=old, after=new)
    return tenant
