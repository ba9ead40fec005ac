"""The tenancy rules of DESIGN.md, checked on every table the migrations created (core and plugins)."""
from sqlalchemy import text

from storecrm.embedded import APP_ROLE, SYSTEM_ROLE
from storecrm.testing.isolation import role_violations, schema_violations, tenant_tables


def test_every_tenant_table_follows_the_schema_rules(owner_engine, app):
    with owner_engine.connect() as conn:
        assert len(tenant_tables(conn)) >= 8
        assert schema_violations(conn) == []


def test_runtime_roles_are_narrow(owner_engine, app):
    with owner_engine.connect() as conn:
        assert role_violations(conn, APP_ROLE, SYSTEM_ROLE) == []


def test_app_role_cannot_change_the_schema_or_other_tenants_rows(owner_engine, app):
    with owner_engine.connect() as conn:
        for privilege in ("INSERT", "DELETE", "TRUNCATE"):
            assert not conn.execute(text("SELECT has_table_privilege(:r, 'tenants', :p)"),
                                    {"r": APP_ROLE, "p": privilege}).scalar()
        assert not conn.execute(text("SELECT has_table_privilege(:r, 'alembic_version', 'SELECT')"),
                                {"r": APP_ROLE}).scalar()


def test_the_checker_catches_a_table_without_rls(owner_engine, app):
    """Guard against a checker that never fails: break one table inside a rolled-back transaction."""
    with owner_engine.connect() as conn:
        trans = conn.begin()
        conn.execute(text("ALTER TABLE stores NO FORCE ROW LEVEL SECURITY"))
        conn.execute(text("CREATE INDEX ix_bad ON customers (name)"))
        problems = schema_violations(conn)
        trans.rollback()
    assert any("stores: row-level security" in p for p in problems)
    assert any("ix_bad" in p for p in problems)
