"""Citus readiness, by test: every tenant table could be distributed by tenant_id today (docs/deployment.md)."""
from sqlalchemy import text

from storecrm.testing.isolation import (CITUS_REFERENCE_TABLES, citus_layout, citus_statements, tenant_tables)


def test_every_tenant_table_could_be_distributed_by_tenant_id(owner_engine, app):
    with owner_engine.connect() as conn:
        layout = citus_layout(conn)
        assert layout["problems"] == []
        assert set(layout["distributed"]) == set(tenant_tables(conn))
        assert {"customers", "stores", "users", "assets", "timers", "outbox_messages"} <= set(layout["distributed"])
        assert set(layout["reference"]) == CITUS_REFERENCE_TABLES
    statements = citus_statements(layout)
    assert statements[0] == "SELECT create_reference_table('plans');" or "create_reference_table" in statements[0]
    assert "SELECT create_distributed_table('customers', 'tenant_id', colocate_with => 'stores');" in statements


def test_the_check_catches_a_cross_tenant_key_and_a_reference_to_a_distributed_table(owner_engine, app):
    """Guard against a checker that never fails: break the schema inside a rolled-back transaction."""
    with owner_engine.connect() as conn:
        trans = conn.begin()
        conn.execute(text("ALTER TABLE customers ADD COLUMN other_store_id bigint"))
        conn.execute(text("CREATE UNIQUE INDEX ix_cross ON stores (id, tenant_id)"))
        conn.execute(text("ALTER TABLE customers ADD CONSTRAINT fk_cross FOREIGN KEY (other_store_id, tenant_id) "
                          "REFERENCES stores (id, tenant_id)"))
        conn.execute(text("ALTER TABLE plans ADD COLUMN store_tenant bigint, ADD COLUMN store_id bigint"))
        conn.execute(text("ALTER TABLE plans ADD CONSTRAINT fk_plan_store FOREIGN KEY (store_tenant, store_id) "
                          "REFERENCES stores (tenant_id, id)"))
        problems = citus_layout(conn)["problems"]
        trans.rollback()
    assert any("fk_cross" in p for p in problems), problems
    assert any("fk_plan_store" in p and "reference table references distributed" in p for p in problems), problems
