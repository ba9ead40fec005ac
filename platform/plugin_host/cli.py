"""`flask plugins list|enable|disable|new` and `flask plugins db revision|upgrade|downgrade --plugin NAME`."""
from __future__ import annotations

import click
from flask.cli import AppGroup
from marshmallow import ValidationError

from ..extensions import db
from ..hooks.runtime import host
from ..tenancy.context import tenant_context
from ..tenancy.resolution import find_tenant
from . import services
from .migrations import downgrade_plugin, make_revision, upgrade_plugin
from .scaffold import ScaffoldError, scaffold
from .services import disable, enable

plugins_cli = AppGroup("plugins", help="Installed plugins and their per-tenant state.")


def _tenant(slug):
    tenant = find_tenant(slug)
    if tenant is None:
        raise click.ClickException(f"no tenant with slug {slug!r}")
    return tenant


@plugins_cli.command("list")
@click.option("--tenant", "slug", help="show whether each plugin is on for this tenant")
def list_cmd(slug):
    """List installed plugins (with their state for one tenant)."""
    if not slug:
        for name, info in sorted((n, i) for n, i in host().infos.items() if not i.system):  # modules only
            click.echo(f"{name}\t{info.version}\t{info.label_for('en')}\trequires: {', '.join(info.requires) or '-'}")
        return
    with tenant_context(_tenant(slug)):
        for entry in services.catalog():
            state = "on" if entry["enabled"] else "off"
            click.echo(f"{entry['name']}\t{entry['info'].version}\t{state}\t{entry['info'].label_for('en')}")


def _switch(slug, name, action):
    if name not in host().infos or host().infos[name].system:
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
    _switch(slug, name, enable)
    click.echo(f"{name} is on for {slug}")


@plugins_cli.command("disable")
@click.option("--tenant", "slug", required=True)
@click.argument("name")
def disable_cmd(slug, name):
    """Switch a plugin off for a tenant; its data is kept."""
    _switch(slug, name, disable)
    click.echo(f"{name} is off for {slug}")


@plugins_cli.command("new")
@click.argument("name")
@click.option("--dir", "target", default=".", show_default=True, help="folder to create the package in")
@click.option("--label-zh", "label_zh", help="the plugin's name in Chinese (default: '<Name>模块')")
def new_cmd(name, target, label_zh):
    """Scaffold a working plugin package storecrm-NAME (model, migration, page, API, permission, nav, zh_CN
    catalog, test)."""
    try:
        path = scaffold(name, target, label_zh=label_zh)
    except ScaffoldError as err:
        raise click.ClickException(str(err))
    click.echo(f"created {path}\nnext: pip install -e {path} && pytest {path}/tests")


@plugins_cli.group("db")
def db_cli():
    """Migrations of one plugin (its own folder and version table `alembic_version_<name>`)."""


def _migrating(action):
    """Run a migration command; an unknown plugin or revision is a clear message, not a traceback."""
    from alembic.util import CommandError

    try:
        return action()
    except (LookupError, CommandError) as err:
        raise click.ClickException(str(err).strip("'\""))


@db_cli.command("revision")
@click.option("--plugin", "name", required=True, help="installed plugin whose history gets the revision")
@click.option("-m", "--message", required=True, help="what the revision does (also its file name)")
@click.option("--autogenerate", is_flag=True, help="compare the plugin's models with the database")
def db_revision_cmd(name, message, autogenerate):
    """Write a new revision of a plugin, chained to its current head."""
    path = _migrating(lambda: make_revision(name, message, autogenerate=autogenerate))
    click.echo(f"created {path}")


@db_cli.command("upgrade")
@click.option("--plugin", "name", required=True)
@click.argument("revision", default="head")
def db_upgrade_cmd(name, revision):
    """Upgrade one plugin's schema (to its head unless REVISION is given)."""
    _migrating(lambda: upgrade_plugin(name, revision))
    click.echo(f"{name} upgraded to {revision}")


@db_cli.command("downgrade")
@click.option("--plugin", "name", required=True)
@click.argument("revision")
def db_downgrade_cmd(name, revision):
    """Downgrade one plugin's schema to REVISION (`base` removes all its tables)."""
    _migrating(lambda: downgrade_plugin(name, revision))
    click.echo(f"{name} downgraded to {revision}")
