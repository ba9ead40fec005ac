"""Alembic environment: migrations run as the owner role, then runtime grants are refreshed."""
import logging

from alembic import context
from flask import current_app
from sqlalchemy import create_engine, text

from storecrm.embedded import APP_ROLE, SYSTEM_ROLE
from storecrm.tenancy.ddl import grant_sql

log = logging.getLogger("alembic.env")
config = context.config


def _metadata():
    import storecrm.models  # noqa: F401  (imports every model so autogenerate sees them)

    return current_app.extensions["migrate"].db.metadata


def _role_names():
    cfg = current_app.config
    return cfg.get("DATABASE_APP_ROLE", APP_ROLE), cfg.get("DATABASE_SYSTEM_ROLE", SYSTEM_ROLE)


def run_migrations_offline():
    context.configure(url=current_app.config["DATABASE_OWNER_URL"], target_metadata=_metadata(), literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    engine = create_engine(current_app.config["DATABASE_OWNER_URL"])
    with engine.connect() as connection:
        context.configure(connection=connection, target_metadata=_metadata(), compare_type=True)
        with context.begin_transaction():
            context.run_migrations()
            # grants follow the schema; skipped while there is no schema yet (autogenerate on empty db)
            if connection.execute(text("SELECT to_regclass('public.tenants')")).scalar():
                app_role, system_role = _role_names()
                for stmt in grant_sql(app_role, system_role):
                    connection.execute(text(stmt))
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
