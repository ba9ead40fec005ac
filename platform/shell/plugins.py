"""Finding, checking and mounting plugins when the app is assembled: their catalogs, permissions, navigation, pages,
API, public pages, commands and periodic jobs; and the start-up check of their nav endpoints. What they registered is
kept by the runtime (storecrm.hooks.runtime), which every layer may use.
"""
from __future__ import annotations

import os

from flask import abort, g, request

from ..api import init_api
from ..api.auth import init_app as init_api_auth
from ..hooks.blocks import render_block
from ..hooks.manager import CORE, PluginError, build_plugin_manager
from ..hooks.runtime import MOUNTED, PluginHost, enabled_plugins, registration_hooks, tenant_hook
from ..plugin_host.jobs import declare_periodic_actors

TENANT_PREFIX = "/t/<tenant>"


def load_plugins(app, core) -> PluginHost:
    """Phase one, before extensions are set up: find and check plugins, add their catalogs. `core` is the module of
    the core's own hook implementations (storecrm.core_plugin), handed in by the app assembly."""
    trace = os.environ.get("STORECRM_TRACE_PLUGINS") == "1"
    pm, infos = build_plugin_manager(core=core, load_entry_points=app.config.get("STORECRM_LOAD_PLUGINS", True),
                                     extra=tuple(app.config.get("STORECRM_EXTRA_PLUGINS", ())), trace=trace)
    host = PluginHost(pm=pm, infos=infos, trace=trace)
    app.extensions["storecrm"] = host
    dirs = [app.config["BABEL_TRANSLATION_DIRECTORIES"]] + [i.translations for i in infos.values() if i.translations]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(dirs)
    errors = [e for batch in pm.hook.validate_config(config=app.config) for e in (batch or [])]
    if errors:
        raise PluginError("configuration refused: " + "; ".join(errors))
    return host


def mount_plugins(app) -> None:
    """Phase two: permissions, navigation, pages, API, commands and the rest."""
    host: PluginHost = app.extensions["storecrm"]
    for _owner, permission in host.collect("register_permissions"):
        host.permissions.add(permission)
    host.collect("register_nav_items")
    host.contributions["register_nav_items"].sort(key=lambda pair: (pair[1].section, pair[1].order))
    for owner, bp in host.collect("register_blueprints"):
        app.register_blueprint(bp, url_prefix=TENANT_PREFIX + (bp.url_prefix or ""))
        host.owners[bp.name] = owner
    for _owner, bp in host.collect("register_public_blueprints"):
        app.register_blueprint(bp)  # outside every tenant: never hidden per tenant
    api = init_api(app)
    for owner, blp in host.collect("register_api_blueprints"):
        api.register_blueprint(blp, url_prefix="/api/v1" + (blp.url_prefix or ""))
        host.owners[blp.name] = owner
    for _owner, command in host.collect("register_cli_commands"):
        add_command(app, command)
    for hook in registration_hooks():
        if hook not in MOUNTED:
            host.collect(hook)

    app.jinja_env.globals["render_block"] = render_block

    declare_periodic_actors(host)

    init_api_auth(app)

    @app.before_request
    def _hide_disabled_plugins():
        owner = host.owners.get(request.blueprint or "")
        if owner in (None, CORE) or g.get("tenant") is None:
            return
        if owner not in enabled_plugins():
            abort(404)

    @app.before_request
    def _request_guards():
        tenant = g.get("tenant")
        if tenant is None or request.path.startswith("/api/"):
            return  # API calls are guarded once their token is checked (api/auth.py)
        tenant_hook("request_guard")(tenant=tenant, api=False)


def add_command(app, command) -> None:
    """Add a click command or group to `flask`; a group named like one already there adds its commands to it (the
    control plane's `flask tenants plan` joins the core's `flask tenants`)."""
    import click

    existing = app.cli.commands.get(command.name)
    if isinstance(existing, click.Group) and isinstance(command, click.Group):
        for name, sub in command.commands.items():
            existing.add_command(sub, name)
    else:
        app.cli.add_command(command)


def check_nav_endpoints(app) -> None:
    """At start-up, once every page is mounted: a nav item pointing at no page would make every page of every
    tenant fail to render, so the start stops here and names the plugin instead."""
    registered: PluginHost = app.extensions["storecrm"]
    for owner, item in registered.contributions.get("register_nav_items", []):
        if item.endpoint not in app.view_functions:
            raise PluginError(f"plugin {owner}: nav item points at endpoint {item.endpoint!r}, which no page defines "
                              f"(endpoints are '<blueprint name>.<view function>')")


