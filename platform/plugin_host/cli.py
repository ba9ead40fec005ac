"""`flask plugins list|enable|disable|new`."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from ..extensions import db
from ..tenancy.context import tenant_context

plugins_cli = AppGroup("plugins", help="Installed plugins and their per-tenant state.")


def _tenant(slug):
    from ..tenancy.resolution import find_tenant

    tenant = find_tenant(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r}")
    return tenant


@plugins_cli.command("list")
@click.option("--tenant", "slug", help="show whether each plugin is on for this tenant")
def list_cmd(slug):
    """List installed plugins (with their state for one tenant)."""
    from . import services
    from .runtime import host

    if not slug:
        for name, info in sorted(host().infos.items()):
            click.echo(f"{name}\t{info.version}\t{info.label_for('en')}\trequires: {', '.join(info.requires) or '-'}")
        return
    with tenant_context(_tenant(slug)):
        for entry in services.catalog():
            state = "on" if entry["enabled"] else "off"
            click.echo(f"{entry['name']}\t{entry['info'].version}\t{state}\t{entry['info'].label_for('en')}")


def _switch(slug, name, action):
    from .runtime import host

    if name not in host().infos:
        raise click.ClickException(f"no plugin {name!r} is installed (see `flask plugins list`)")
    with tenant_context(_tenant(slug)):
        try:
            action(name)
        except ValidationError as err:
            for messages in err.messages.values():
                click.echo("; ".join(str(m) for m in messages), err=True)
            raise SystemExit(2)
        db.session.commit()


@plugins_cli.command("enable")
@click.option("--tenant", "slug", required=True)
@click.argument("name")
def enable_cmd(slug, name):
    """Switch a plugin on for a tenant (and the plugins it requires)."""
    from .services import enable

    _switch(slug, name, enable)
    click.echo(f"{name} is on for {slug}")


@plugins_cli.command("disable")
@click.option("--tenant", "slug", required=True)
@click.argument("name")
def disable_cmd(slug, name):
    """Switch a plugin off for a tenant; its data is kept."""
    from .services import disable

    _switch(slug, name, disable)
    click.echo(f"{name} is off for {slug}")


@plugins_cli.command("new")
@click.argument("name")
@click.option("--dir", "target", default=".", show_default=True, help="folder to create the package in")
def new_cmd(name, target):
    """Scaffold a working plugin package storecrm-NAME (model, migration, page, API, permission, nav, test)."""
    from .scaffold import ScaffoldError, scaffold

    try:
        path = scaffold(name, target)
    except ScaffoldError as err:
        raise click.ClickException(str(err))
    click.echo(f"created {path}\nnext: pip install -e {path} && pytest {path}/tests")
