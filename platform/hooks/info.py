"""What a plugin says about itself: `PLUGIN = PluginInfo(...)` at the top of its module."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class PluginInfo:
    """Metadata of a plugin.

    name: identifier (lowercase, digits, _), also the entry-point name.
    label: {"zh_CN": "洗车", "en": "Car wash"}.
    core: the StoreCRM versions supported, as a PEP 440 specifier (">=0.1,<1").
    requires: names of plugins that must be enabled first (enabling this one enables them).
    settings_schema: a marshmallow Schema class; tenants get a settings page and API for it.
    migrations: folder of the plugin's Alembic migrations (own version table), or None.
    translations: folder with the plugin's Flask-Babel catalogs, or None.
    system: part of the installation rather than a module (the SaaS control plane): on for every tenant, not
        listed under Administration → Modules, cannot be switched off.
    """

    name: str
    label: dict
    version: str
    core: str
    description: dict = field(default_factory=dict)
    author: str = ""
    requires: tuple = ()
    settings_schema: Any = None
    migrations: str | None = None
    translations: str | None = None
    system: bool = False

    def label_for(self, locale: str) -> str:
        return self.label.get(locale) or self.label.get("en") or self.name

    def description_for(self, locale: str) -> str:
        return self.description.get(locale) or self.description.get("en") or ""
