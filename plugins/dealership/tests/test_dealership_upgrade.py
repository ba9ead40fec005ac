"""A tenant that switched the dealership on at version 1.0 (before demo cars, the 试驾 service, the 已试驾 stage,
the `sold` field and the churn rule's "vehicle not sold" condition existed) gets them when 1.1 is installed — at
`flask db upgrade`, through `plugin_upgraded` — once, and nothing of another tenant's changes."""
from __future__ import annotations

import pytest
from sqlalchemy import text

pytestmark = pytest.mark.storecrm_plugins("dealership")

AS_AT_1_0 = [
    "DELETE FROM resources WHERE tenant_id = :t AND kind = 'demo_car'",
    "DELETE FROM service_types WHERE tenant_id = :t AND resource_kind = 'demo_car'",
    "DELETE FROM lead_stages WHERE tenant_id = :t AND name = '已试驾'",
    "DELETE FROM field_definitions WHERE tenant_id = :t AND entity = 'asset' AND code = 'sold'",
    "UPDATE rules SET conditions = NULL WHERE tenant_id = :t AND trigger->>'type' = 'inactivity'",
    "UPDATE tenant_plugins SET version = '1.0.0' WHERE tenant_id = :t AND name = 'dealership'",
]


def _state(system_db, tenant_id):
    with system_db.connect() as conn:
        one = lambda sql: conn.execute(text(sql), {"t": tenant_id}).scalar()  # noqa: E731
        return {
            "demo_cars": one("SELECT count(*) FROM resources WHERE tenant_id = :t AND kind = 'demo_car'"),
            "stores": one("SELECT count(*) FROM stores WHERE tenant_id = :t AND active"),
            "drive_service": one("SELECT count(*) FROM service_types WHERE tenant_id = :t "
                                 "AND resource_kind = 'demo_car'"),
            "stage": one("SELECT count(*) FROM lead_stages WHERE tenant_id = :t AND name = '已试驾'"),
            "sold_field": one("SELECT count(*) FROM field_definitions WHERE tenant_id = :t AND code = 'sold'"),
            "churn": one("SELECT conditions::text FROM rules WHERE tenant_id = :t AND trigger->>'type' = "
                         "'inactivity'"),
            "version": one("SELECT version FROM tenant_plugins WHERE tenant_id = :t AND name = 'dealership'"),
        }


def test_a_tenant_on_1_0_gets_demo_cars_stage_sold_field_and_churn_condition_once(two_tenants, app, system_db):
    from storecrm.plugin_host.lifecycle import upgrade_tenants

    alpha, beta = two_tenants
    before_beta = _state(system_db, beta.id)
    with system_db.begin() as conn:
        for sql in AS_AT_1_0:
            conn.execute(text(sql), {"t": alpha.id})
    old = _state(system_db, alpha.id)
    assert (old["demo_cars"], old["drive_service"], old["stage"], old["sold_field"], old["churn"]) == (0, 0, 0, 0,
                                                                                                       None)
    with app.app_context():
        assert upgrade_tenants() == 1  # alpha only: beta is on 1.1 already
    now = _state(system_db, alpha.id)
    assert now["demo_cars"] == 2 * now["stores"] and now["drive_service"] == 1
    assert now["stage"] == 1 and now["sold_field"] == 1 and now["version"] == "1.1.0"
    assert "dealership.keeps_vehicle" in now["churn"]
    with app.app_context():
        assert upgrade_tenants() == 0
    assert _state(system_db, alpha.id) == now  # nothing twice
    assert _state(system_db, beta.id) == before_beta
