"""A plugin's life in a tenant across versions: default grants that a newer version adds reach the tenant's
built-in roles, and `plugin_upgraded` tells the plugin its tenant ran an older version.

When: in `flask db upgrade` (`migrations.upgrade_all`), right after the plugins' own migrations, for every tenant
with the plugin on; and when a tenant switches a plugin back on. Not lazily on a tenant's next request: installing
a new plugin version already needs `flask db upgrade` for its schema (the Procfile's `release` step), so the new
code, its tables and its grants arrive together, once per deploy, in one place that logs what it did — rather
than in some user's request, raced by every web worker, with a plugin's data work added to that request's time.

Grants are pairs (role code, permission code). A tenant row records every pair already given, so a pair is given
once: a grant an admin took away later is never given back. Rows enabled before the record existed (NULL) start
from the assumption that they were given every pair the installed version declares; nothing is added for them.
"""
from __future__ import annotations

import logging

from sqlalchemy import select

from ..access.models import Role
from ..audit.services import record
from ..extensions import db
from ..tenancy.context import TenantRef, tenant_context
from ..tenancy.models import Tenant, current_tenant_row
from ..tenancy.scoping import unscoped
from .models import TenantPlugin
from ..hooks.runtime import default_grants, host

log = logging.getLogger("storecrm.plugins")


def default_pairs(name: str) -> set[tuple[str, str]]:
    """The (role, permission) pairs plugin `name` declares in `register_default_grants`."""
    return {(role, code) for role, codes in default_grants(only=name).items() for code in codes}


def _builtin_roles() -> dict[str, Role]:
    return {r.code: r for r in db.session.scalars(select(Role).where(Role.builtin))}


def grant(pairs) -> list[tuple[str, str]]:
    """Add `pairs` to the current tenant's built-in roles; return those whose role exists (given or already held)."""
    roles = _builtin_roles()
    given = []
    for role_code, permission in sorted(pairs):
        role = roles.get(role_code)
        if role is None:
            continue
        if permission not in (role.permissions or []):
            role.permissions = sorted(set(role.permissions or []) | {permission})
        given.append((role_code, permission))
    return given


def _recorded(row: TenantPlugin) -> set[tuple[str, str]]:
    return {(role, code) for role, code in row.grants_applied or []}


def start_record(row: TenantPlugin, given) -> None:
    """A first enable: the installed version and the pairs just given."""
    row.version = host().infos[row.name].version
    row.grants_applied = sorted([role, code] for role, code in given)


def lags_behind(name: str, version: str | None, grants_applied: list | None) -> bool:
    """Whether a tenant's record of plugin `name` is older than what is installed."""
    if version is None or grants_applied is None:
        return True
    recorded = {(role, code) for role, code in grants_applied}
    return version != host().infos[name].version or bool(default_pairs(name) - recorded)


def bring_up_to_date(row: TenantPlugin) -> list[tuple[str, str]]:
    """Inside the row's tenant: give the pairs never given before, then call `plugin_upgraded` if the recorded
    version differs from the installed one. Returns the pairs given now."""
    installed = host().infos[row.name].version
    wanted = default_pairs(row.name)
    if row.grants_applied is None:  # enabled before grants were recorded: take them as given, add nothing
        row.grants_applied = sorted([role, code] for role, code in wanted)
    given = grant(wanted - _recorded(row))
    if given:
        row.grants_applied = sorted([role, code] for role, code in _recorded(row) | set(given))
        record("grant", "plugin", row.id, f"{row.name}: " + ", ".join(f"{r} += {p}" for r, p in given)[:280],
               after={"grants": [list(p) for p in given]})
    before = row.version
    row.version = installed
    db.session.flush()
    if before is not None and before != installed:
        record("upgrade", "plugin", row.id, f"{row.name} {before} → {installed}",
               before={"version": before}, after={"version": installed})
        host().call_one(row.name, "plugin_upgraded", tenant=current_tenant_row(), from_version=before,
                        to_version=installed)
    return given


def upgrade_tenants() -> int:
    """Bring every tenant's enabled plugins up to the installed versions, tenant by tenant, each in its own
    transaction. Returns how many (tenant, plugin) records changed."""
    installed = host().infos
    if not installed:
        return 0
    with unscoped(reason="find tenants whose enabled plugins were recorded at an older version or grant set") as s:
        rows = s.execute(select(Tenant.id, Tenant.slug, TenantPlugin.name, TenantPlugin.version,
                                TenantPlugin.grants_applied)
                         .join(TenantPlugin, TenantPlugin.tenant_id == Tenant.id)
                         .where(TenantPlugin.enabled, TenantPlugin.name.in_(list(installed)),
                                Tenant.status != "deleted")
                         .order_by(Tenant.id, TenantPlugin.name)).all()
    changed = 0
    for tenant_id, slug, name, version, grants_applied in rows:
        if not lags_behind(name, version, grants_applied):
            continue
        with tenant_context(TenantRef(tenant_id, slug)):
            row = db.session.scalar(select(TenantPlugin).where(TenantPlugin.name == name))
            given = bring_up_to_date(row)
            db.session.commit()
        log.info("plugin %s brought up to %s for tenant %s (%d grants added)", name, installed[name].version, slug,
                 len(given))
        changed += 1
    return changed
