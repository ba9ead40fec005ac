"""DDL for row-level security and grants, used by migrations (core and plugins alike)."""
from __future__ import annotations

TENANT_EXPR = "NULLIF(current_setting('app.tenant_id', true), '')::bigint"


def enable_rls_sql(table: str) -> list[str]:
    """Statements that put `table` under the tenant isolation policy (idempotent)."""
    return [
        f'ALTER TABLE "{table}" ENABLE ROW LEVEL SECURITY',
        f'ALTER TABLE "{table}" FORCE ROW LEVEL SECURITY',
        f'DROP POLICY IF EXISTS tenant_isolation ON "{table}"',
        f'CREATE POLICY tenant_isolation ON "{table}" USING (tenant_id = {TENANT_EXPR}) '
        f"WITH CHECK (tenant_id = {TENANT_EXPR})",
    ]


def enable_rls(op, table: str) -> None:
    """In an Alembic migration: `enable_rls(op, "stores")` right after op.create_table."""
    for stmt in enable_rls_sql(table):
        op.execute(stmt)


def grant_sql(app_role: str, system_role: str) -> list[str]:
    """Runtime privileges: DML on every table for the app and system roles, nothing else.

    Run after every migration (migrations/env.py does), so tables added by plugins are covered.
    """
    return [
        f"GRANT USAGE ON SCHEMA public TO {app_role}, {system_role}",
        f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {app_role}, {system_role}",
        f"GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO {app_role}, {system_role}",
        f"REVOKE ALL ON TABLE alembic_version FROM {app_role}, {system_role}",
        # Tenants are platform rows: the app reads them all but creates/deletes none.
        f"REVOKE INSERT, DELETE ON TABLE tenants FROM {app_role}",
        # Plans and billing state are the control plane's: the app reads them (limits), only the system role writes.
        "DO $$ BEGIN IF to_regclass('public.billing_events') IS NOT NULL THEN "
        f"EXECUTE 'REVOKE INSERT, UPDATE, DELETE ON TABLE tenant_accounts, plans, billing_events FROM {app_role}'; "
        "END IF; END $$",
        # operator accounts (password hashes) and their log are not the app's at all
        "DO $$ BEGIN IF to_regclass('public.operators') IS NOT NULL THEN "
        f"EXECUTE 'REVOKE ALL ON TABLE operators, operator_audit FROM {app_role}'; "
        f"EXECUTE 'REVOKE INSERT, UPDATE, DELETE ON TABLE tenant_exports FROM {app_role}'; END IF; END $$",
        # nor are the console's sessions
        "DO $$ BEGIN IF to_regclass('public.operator_sessions') IS NOT NULL THEN "
        f"EXECUTE 'REVOKE ALL ON TABLE operator_sessions FROM {app_role}'; END IF; END $$",
    ]
