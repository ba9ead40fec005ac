from __future__ import annotations

import pluggy

from . import PROJECT, specs

ENTRY_POINT_GROUP = "storecrm.plugins"


def build_plugin_manager(*, load_entry_points: bool = True) -> pluggy.PluginManager:
    pm = pluggy.PluginManager(PROJECT)
    pm.add_hookspecs(specs)
    from .. import core_plugin

    pm.register(core_plugin, name="core")
    if load_entry_points:
        pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
    return pm
