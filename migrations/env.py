"""Alembic environment: migrations run as the owner role, then runtime grants are refreshed."""
import logging

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, text

from storecrm.plugin_host.migrations import grant_runtime_privileges

log = logging.getLogger("alembic.env")
config = context.config


def _metadata():
    import storecrm.models  # noqa: F401  (imports every model so autogenerate sees them)
    import storecrm.tenants.models  # noqa: F401  (the control plane's tables are migrated with the core's)

    return current_app.extensions["migrate"].db.metadata


def _core_only(name, type_, parent_names):
    """Autogenerate of the core sees core tables only (plugins migrate their own)."""
    if type_ != "table":
        return True
    return name in {m.local_table.name for m in current_app.extensions["migrate"].db.Model.registry.mappers
                    if m.class_.__module__.startswith("storecrm.") and not m.class_.__module__.startswith(
                        "storecrm.plugins.")} or name == "alembic_version"


def run_migrations_offline():
    context.configure(url=current_app.config["DATABASE_OWNER_URL"], target_metadata=_metadata(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(current_app.config["DATABASE_OWNER_URL"])
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=_metadata(), compare_type=True,
                          include_name=_core_only)
        with context.begin_transaction():
            context.run_migrations()
            # grants follow the schema; skipped while there is no schema yet (autogenerate on empty db)
            if connection.execute(text("SELECT to_regclass('public.tenants')")).scalar():
                grant_runtime_privileges(connection)
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
