"""The plugin runtime of an app: what every installed plugin registered, remembered with its owner, and which
plugins each tenant has on — the part of the plugin system every layer may use (`host()`, `enabled_plugins()`,
`tenant_hook()`). Finding, checking and mounting plugins is the shell's job (storecrm.plugin_host).

Registration hooks are called once, implementation by implementation, so that each item is known to belong to a
plugin; pages, API, nav items, panels and KPIs of a plugin are then hidden from tenants that have not enabled it.
"""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field

from flask import current_app, g
from sqlalchemy import text

from ..extensions import db
from ..localcache import MISSING, LocalCache
from ..tenancy.context import current_tenant_id
from . import specs
from .contrib import PermissionRegistry
from .manager import CORE

log = logging.getLogger("storecrm.plugins")
# registration hooks `mount_plugins` handles itself (they mount something); every other `register_*` hook of
# specs.py is collected as it is, so a hook added to the contract is collected without a list to keep in step
MOUNTED = ("register_permissions", "register_nav_items", "register_blueprints", "register_api_blueprints",
           "register_public_blueprints", "register_cli_commands")


def registration_hooks() -> list[str]:
    """Names of every registration hook in the contract (`storecrm.hooks.specs`)."""
    return [name for name, fn in vars(specs).items()
            if name.startswith("register_") and getattr(fn, "storecrm_spec", None) is not None]


@dataclass
class PluginHost:
    pm: object
    infos: dict  # name -> PluginInfo (core not included)
    permissions: PermissionRegistry = field(default_factory=PermissionRegistry)
    owners: dict = field(default_factory=dict)  # blueprint name -> plugin name
    contributions: dict = field(default_factory=dict)  # hook name -> [(plugin, item)]
    trace: bool = False  # STORECRM_TRACE_PLUGINS=1: log every implementation called here, with its time

    def _call(self, impl, hook_name: str, kwargs: dict):
        wanted = {k: v for k, v in kwargs.items() if k in impl.argnames}
        if not self.trace:
            return impl.function(**wanted)
        started = time.perf_counter()
        try:
            return impl.function(**wanted)
        finally:
            log.info("hook %s -> [%r] in %.2f ms", hook_name, impl.plugin_name, (time.perf_counter() - started) * 1000)

    def collect(self, hook_name: str, **kwargs) -> list[tuple[str, object]]:
        """Call a registration hook implementation by implementation; flatten lists; keep owners."""
        out = []
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            result = self._call(impl, hook_name, kwargs)
            for item in (result if isinstance(result, (list, tuple)) else [result] if result is not None else []):
                out.append((impl.plugin_name, item))
        self.contributions[hook_name] = out
        return out

    def items(self, hook_name: str, enabled: set | None = None) -> list:
        """Registered items of `hook_name`, limited to plugins in `enabled` (the core always counts)."""
        return [item for owner, item in self.contributions.get(hook_name, [])
                if enabled is None or owner == CORE or owner in enabled]

    def owner_of(self, hook_name: str, item) -> str:
        return next(o for o, i in self.contributions.get(hook_name, []) if i is item)

    def tenant_hook(self, hook_name: str, enabled: set):
        """The hook caller that reaches only the core and the plugins in `enabled`."""
        disabled = [self.pm.get_plugin(n) for n in self.infos if n not in enabled]
        return self.pm.subset_hook_caller(hook_name, remove_plugins=[p for p in disabled if p is not None])

    def call_one(self, plugin_name: str, hook_name: str, **kwargs):
        """Call one plugin's implementation of a hook (lifecycle callbacks), if it has one."""
        for impl in getattr(self.pm.hook, hook_name).get_hookimpls():
            if impl.plugin_name == plugin_name:
                return self._call(impl, hook_name, kwargs)
        return None


def host(app=None) -> PluginHost:
    """The app's plugin host (what every plugin registered)."""
    return (app or current_app).extensions["storecrm"]


def enabled_plugins() -> set[str]:
    """Names of the plugins enabled for the current tenant (one query per request, then cached)."""
    tid = current_tenant_id()
    if tid is None:
        return set()
    cache = g.setdefault("_storecrm_enabled_plugins", {})
    if tid not in cache:
        enabled = _enabled_by_tenant.get(tid)
        if enabled is MISSING:
            stamp = _enabled_by_tenant.stamp()
            # plain SQL: the runtime sits below the plugin host's models; tenant_id here and row-level security
            # both scope it
            enabled = frozenset(db.session.scalars(
                text("SELECT name FROM tenant_plugins WHERE tenant_id = :tid AND enabled"), {"tid": tid}))
            _enabled_by_tenant.put(tid, enabled, stamp=stamp)
        infos = host().infos
        cache[tid] = (enabled & set(infos)) | {name for name, info in infos.items() if info.system}
    return cache[tid]


# A tenant's switched-on plugins, read by every request: kept per process within the staleness bound of
# storecrm.localcache, dropped at once by a transaction here that wrote tenant_plugins
_enabled_by_tenant = LocalCache("enabled plugins", ("tenant_plugins",))


def forget_enabled_cache() -> None:
    g.pop("_storecrm_enabled_plugins", None)
    _enabled_by_tenant.clear()


def tenant_hook(hook_name: str):
    """Caller of a tenant hook reaching the core and the plugins enabled for the current tenant."""
    return host().tenant_hook(hook_name, enabled_plugins())



def permissions(app=None) -> PermissionRegistry:
    return host(app).permissions


def nav_items(app=None):
    return host(app).items("register_nav_items", enabled_plugins())


def default_grants(only: str | None = None, app=None) -> dict[str, list[str]]:
    """{role: [permissions]} from the core and every plugin, or from plugin `only`."""
    merged: dict[str, list[str]] = {}
    for owner, batch in host(app).contributions.get("register_default_grants", []):
        if only is not None and owner != only:
            continue
        for role, codes in batch.items():
            merged.setdefault(role, [])
            merged[role] += [c for c in codes if c not in merged[role]]
    return merged
