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
from alembic.config import Config
from flask import current_app
from sqlalchemy import create_engine, text

from ..embedded import APP_ROLE, SYSTEM_ROLE
from ..tenancy.ddl import grant_sql


def version_table(plugin_name: str) -> str:
    return f"alembic_version_{plugin_name}"


def plugin_config(info) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", info.migrations)
    cfg.attributes["storecrm_plugin"] = info.name
    return cfg


def upgrade_plugins(revision: str = "heads") -> list[str]:
    from .runtime import host

    done = []
    for name, info in sorted(host().infos.items()):
        if info.migrations:
            command.upgrade(plugin_config(info), revision)
            done.append(name)
    return done


def upgrade_all() -> None:
    """The core's migrations, then every installed plugin's."""
    from flask_migrate import upgrade

    upgrade(directory=str(resources.files("storecrm.migrations")))
    upgrade_plugins()


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

    from ..extensions import db

    name = context.config.attributes["storecrm_plugin"]
    engine = create_engine(current_app.config["DATABASE_OWNER_URL"])
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=db.metadata, version_table=version_table(name),
                          include_name=lambda n, type_, parent: type_ != "table" or n in _plugin_tables(name))
        with context.begin_transaction():
            context.run_migrations()
            grant_runtime_privileges(connection)
    engine.dispose()


def _plugin_tables(name: str) -> set[str]:
    """Tables whose model lives in the plugin's package (autogenerate must not touch the core's)."""
    from .runtime import host

    module = host().pm.get_plugin(name)
    package = module.__name__.split(".")[0]
    from ..extensions import db

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
