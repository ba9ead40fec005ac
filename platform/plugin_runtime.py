"""Builds the plugin manager for an app and collects what plugins register."""
from __future__ import annotations

from .access.registry import PermissionRegistry
from .hooks.manager import build_plugin_manager


def init_plugins(app) -> None:
    pm = build_plugin_manager(load_entry_points=app.config.get("STORECRM_LOAD_PLUGINS", True))
    registry = PermissionRegistry()
    for batch in pm.hook.register_permissions():
        for permission in batch:
            registry.add(permission)
    nav = sorted((i for batch in pm.hook.register_nav_items() for i in batch), key=lambda i: (i.section, i.order))
    app.extensions["storecrm"] = {"pm": pm, "permissions": registry, "nav": nav}
    pm.hook.register_blueprints(app=app)


def plugin_manager(app=None):
    from flask import current_app

    return (app or current_app).extensions["storecrm"]["pm"]


def permissions(app=None) -> PermissionRegistry:
    from flask import current_app

    return (app or current_app).extensions["storecrm"]["permissions"]


def nav_items(app=None):
    from flask import current_app

    return (app or current_app).extensions["storecrm"]["nav"]


def default_grants(app=None) -> dict[str, list[str]]:
    merged: dict[str, list[str]] = {}
    for batch in plugin_manager(app).hook.register_default_grants():
        for role, codes in batch.items():
            merged.setdefault(role, [])
            merged[role] += [c for c in codes if c not in merged[role]]
    return merged
