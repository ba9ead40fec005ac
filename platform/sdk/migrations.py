"""For a plugin's Alembic migrations: its `env.py` calls `run_env()`; each revision that adds a tenant table ends
with `enable_rls(op, "<table>")` (row-level security, forced, on `app.tenant_id`).

    # migrations/env.py
    from storecrm.sdk.migrations import run_env
    run_env()
"""
from ..plugin_host.migrations import run_env
from ..tenancy.ddl import enable_rls

__all__ = ["run_env", "enable_rls"]
