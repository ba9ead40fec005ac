"""Discovery, validation and the plugin manager.

Plugins are modules found through the `storecrm.plugins` entry-point group (the built-in
verticals use the same path). Each module carries `PLUGIN = PluginInfo(...)` and hook
implementations. A plugin whose declared core range excludes this StoreCRM, or which
requires a plugin that is not installed, stops the start-up with a message saying so.
"""
from __future__ import annotations

import logging
import re
import threading
import time
from importlib import metadata

import pluggy
from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from . import PROJECT, specs
from .info import PluginInfo

ENTRY_POINT_GROUP = "storecrm.plugins"
CORE = "core"
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{1,39}$")
log = logging.getLogger("storecrm.plugins")


class PluginError(RuntimeError):
    """A plugin cannot be loaded; the message says which and why."""


def core_version() -> str:
    try:
        return metadata.version("storecrm")
    except metadata.PackageNotFoundError:  # running from a source tree without install
        return "0.0.0"


def check_plugin(info, origin: str, version: str) -> PluginInfo:
    if not isinstance(info, PluginInfo):
        raise PluginError(f"plugin {origin}: the module has no `PLUGIN = PluginInfo(...)`")
    if not NAME_RE.match(info.name) or info.name == CORE:
        raise PluginError(f"plugin {origin}: name {info.name!r} must be 2-40 lowercase letters, digits or _")
    try:
        supported = SpecifierSet(info.core)
    except InvalidSpecifier:
        raise PluginError(f"plugin {info.name}: core range {info.core!r} is not a version specifier like '>=0.1,<1'")
    if not supported.contains(Version(version), prereleases=True):
        raise PluginError(
            f"plugin {info.name} {info.version} supports StoreCRM {info.core}, but this is StoreCRM {version}: "
            f"install a version of the plugin made for StoreCRM {version}, or uninstall it")
    return info


def discover() -> list[tuple[str, object]]:
    found = []
    for ep in metadata.entry_points(group=ENTRY_POINT_GROUP):
        try:
            module = ep.load()
        except Exception as exc:  # a broken plugin must say who it is
            raise PluginError(f"plugin {ep.name} ({ep.value}) failed to import: {exc}") from exc
        found.append((ep.name, module))
    return found


def _trace(pm: pluggy.PluginManager) -> None:
    local = threading.local()

    def before(hook_name, hook_impls, kwargs):
        local.__dict__.setdefault("stack", []).append(time.perf_counter())

    def after(outcome, hook_name, hook_impls, kwargs):
        started = local.stack.pop()
        log.info("hook %s -> %s in %.2f ms", hook_name, [i.plugin_name for i in hook_impls],
                 (time.perf_counter() - started) * 1000)

    pm.add_hookcall_monitoring(before, after)


def build_plugin_manager(*, core=None, load_entry_points: bool = True, extra: tuple = (), trace: bool = False):
    """Return (pluggy manager, {name: PluginInfo}) with `core` (the core's own implementations, which the app
    assembly passes in: the contract knows nothing above it) and every installed plugin registered."""
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(specs)
    if core is not None:
        pm.register(core, name=CORE)
    version = core_version()
    candidates = (discover() if load_entry_points else []) + [(getattr(m, "PLUGIN").name, m) for m in extra]
    infos: dict[str, PluginInfo] = {}
    for origin, module in candidates:
        info = check_plugin(getattr(module, "PLUGIN", None), origin, version)
        if info.name in infos:
            continue  # the same distribution seen twice (editable installs)
        if origin != info.name:
            raise PluginError(f"plugin {origin}: entry point name differs from PLUGIN.name {info.name!r}")
        pm.register(module, name=info.name)
        infos[info.name] = info
    for info in infos.values():
        missing = [r for r in info.requires if r not in infos]
        if missing:
            raise PluginError(f"plugin {info.name} requires {', '.join(missing)}, which is not installed")
    if trace:
        _trace(pm)
    return pm, infos
