"""Migrations of the core and of every installed plugin.

Each plugin keeps its own Alembic history in its own folder and version table
(`alembic_version_<name>`), so plugins are installed, upgraded and removed independently of
the core and of each other. `flask db upgrade` runs the core first, then every plugin.
A plugin's `migrations/env.py` is two lines:

    from storecrm.plugin_host.migrations import run_env
    run_env()
"""
from __future__ import annotations

from importlib import resources

import click
from alembic import command
from alembic.autogenerate import renderers
from alembic.config import Config
from alembic.operations import MigrateOperation
from alembic.operations import ops as ops_module
from flask import current_app
from sqlalchemy import create_engine, text

from ..embedded import APP_ROLE, SYSTEM_ROLE
from ..extensions import db
from ..hooks.runtime import host
from ..tenancy.ddl import grant_sql
from .lifecycle import upgrade_tenants


def version_table(plugin_name: str) -> str:
    return f"alembic_version_{plugin_name}"


def plugin_config(info) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", info.migrations)
    cfg.attributes["storecrm_plugin"] = info.name
    return cfg


def plugin_info(name: str):
    """The PluginInfo of installed plugin `name` that ships migrations; LookupError (with the reason) otherwise."""
    info = host().infos.get(name)
    if info is None:
        raise LookupError(f"no plugin {name!r} is installed (see `flask plugins list`)")
    if not info.migrations:
        raise LookupError(f"plugin {name!r} has no migrations folder (PluginInfo.migrations)")
    return info


def next_revision_id(info) -> tuple[str, str]:
    """(`<name>_NNNN`, file prefix `NNNN`) after the highest numbered revision in the plugin's history.

    Numbered ids read in order and say whose they are; each plugin has its own history and version table, so
    they cannot clash with the core's or another plugin's.
    """
    from alembic.script import ScriptDirectory

    numbers = [0]
    for script in ScriptDirectory.from_config(plugin_config(info)).walk_revisions():
        tail = script.revision.rsplit("_", 1)[-1]
        if tail.isdigit():
            numbers.append(int(tail))
    number = max(numbers) + 1
    return f"{info.name}_{number:04d}", f"{number:04d}"


def make_revision(name: str, message: str, autogenerate: bool = False) -> str:
    """A new revision of plugin `name`, chained to its current head, written to its migrations/versions folder.

    With `autogenerate`, the plugin's models are compared with the database (which must be at the plugin's
    head: `flask plugins db upgrade --plugin NAME` first); only the plugin's own tables are looked at, and each
    table it creates gets `enable_rls`. Returns the path of the new file.
    """
    info = plugin_info(name)
    rev_id, prefix = next_revision_id(info)
    cfg = plugin_config(info)
    cfg.set_main_option("file_template", prefix + "_%%(slug)s")
    script = command.revision(cfg, message=message, autogenerate=autogenerate, rev_id=rev_id)
    scripts = script if isinstance(script, list) else [script]
    return scripts[0].path


def upgrade_plugin(name: str, revision: str = "head") -> None:
    """Upgrade plugin `name` alone (its own version table)."""
    command.upgrade(plugin_config(plugin_info(name)), revision)


def downgrade_plugin(name: str, revision: str) -> None:
    """Downgrade plugin `name` alone to `revision` (`base` removes every table of it)."""
    command.downgrade(plugin_config(plugin_info(name)), revision)


def upgrade_plugins(revision: str = "heads") -> list[str]:
    done = []
    for name, info in sorted(host().infos.items()):
        if info.migrations:
            command.upgrade(plugin_config(info), revision)
            done.append(name)
    return done


def upgrade_all() -> None:
    """The core's migrations, then every installed plugin's, then every tenant's plugin records brought up to
    the installed versions (new default grants, `plugin_upgraded`; see `plugin_host.lifecycle`)."""
    from flask_migrate import upgrade

    upgrade(directory=str(resources.files("storecrm.migrations")))
    upgrade_plugins()
    upgrade_tenants()


def grant_runtime_privileges(connection) -> None:
    cfg = current_app.config
    app_role, system_role = cfg.get("DATABASE_APP_ROLE", APP_ROLE), cfg.get("DATABASE_SYSTEM_ROLE", SYSTEM_ROLE)
    for stmt in grant_sql(app_role, system_role):
        connection.execute(text(stmt))
    for (table,) in connection.execute(text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' AND tablename LIKE 'alembic_version_%'")):
        connection.execute(text(f'REVOKE ALL ON TABLE "{table}" FROM {app_role}, {system_role}'))


def run_env() -> None:
    """The body of a plugin's migrations/env.py: run as the owner role, own version table, then grants."""
    from alembic import context

    name = context.config.attributes["storecrm_plugin"]
    own = _plugin_tables(name)
    engine = create_engine(current_app.config["DATABASE_OWNER_URL"])
    with engine.connect() as connection:
        # autogenerate sees the plugin's tables alone, on both sides: include_name filters what is reflected from
        # the database, include_object what comes from the models (without it every core table looks missing)
        context.configure(connection=connection, target_metadata=db.metadata, version_table=version_table(name),
                          include_name=lambda n, type_, parent: type_ != "table" or n in own,
                          include_object=lambda obj, n, type_, reflected, other: type_ != "table" or n in own,
                          process_revision_directives=_rls_for_new_tables)
        with context.begin_transaction():
            context.run_migrations()
            grant_runtime_privileges(connection)
    engine.dispose()


class EnableRlsOp(MigrateOperation):
    """`enable_rls(op, table)` in an autogenerated revision, right after the table is created."""

    def __init__(self, table_name: str):
        self.table_name = table_name

    def reverse(self):  # dropping the table drops its policy too
        return None

    def to_diff_tuple(self):
        return ("enable_rls", self.table_name)


@renderers.dispatch_for(EnableRlsOp)
def _render_enable_rls(autogen_context, op_) -> str:
    return f"enable_rls(op, {op_.table_name!r})"


def _rls_for_new_tables(context, revision, directives) -> None:
    """Autogenerate: every tenant table a revision creates is put under row-level security, as the schema
    rules require (a table with a tenant_id column is a tenant table)."""
    for script in directives:
        for upgrade_ops in script.upgrade_ops_list:
            ops = []
            for op_ in upgrade_ops.ops:
                ops.append(op_)
                if isinstance(op_, ops_module.CreateTableOp) and any(
                        getattr(c, "name", None) == "tenant_id" for c in op_.columns):
                    ops.append(EnableRlsOp(op_.table_name))
            upgrade_ops.ops = ops


def _plugin_tables(name: str) -> set[str]:
    """Tables whose model lives in the plugin's package (autogenerate must not touch the core's)."""
    module = host().pm.get_plugin(name)
    package = module.__name__.split(".")[0]

    return {mapper.local_table.name for mapper in db.Model.registry.mappers
            if mapper.class_.__module__.split(".")[0] == package}


def install_upgrade_command() -> None:
    """Make `flask db upgrade` upgrade the core and then every installed plugin."""
    from flask.cli import with_appcontext
    from flask_migrate.cli import db as db_group

    @click.command("upgrade", help="Upgrade the core schema and every installed plugin's schema.")
    @with_appcontext
    def upgrade_command():
        upgrade_all()

    db_group.add_command(upgrade_command, "upgrade")
