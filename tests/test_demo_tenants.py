"""`register_demo_tenants`: a plugin's demo tenant is created once by `flask demo load`, with the plugin on, the demo
logins, and the plugin's own data; a loader that fails leaves no tenant behind."""
from __future__ import annotations

import pytest
from sqlalchemy import text


def test_a_plugin_demo_tenant_is_created_once_with_the_plugin_on_and_its_data(app, system_db):
    from storecrm.demo.verticals import load_vertical_demos, registered

    with app.app_context():
        assert "carwash-demo" in [demo.slug for _, demo in registered()]
        assert ("carwash-demo", True) in load_vertical_demos()
        assert ("carwash-demo", False) in load_vertical_demos()
    with system_db.begin() as conn:
        tenant = conn.execute(text("SELECT id, locale FROM tenants WHERE slug = 'carwash-demo'")).one()
        assert tenant.locale == "zh_CN"
        assert conn.execute(text("SELECT enabled FROM tenant_plugins WHERE tenant_id = :t AND name = 'carwash'"),
                            {"t": tenant.id}).scalar() is True
        assert conn.execute(text("SELECT count(*) FROM users WHERE tenant_id = :t"), {"t": tenant.id}).scalar() == 5
        assert conn.execute(text("SELECT count(*) FROM carwash_washes WHERE tenant_id = :t"),
                            {"t": tenant.id}).scalar() >= 3
    client = app.test_client()
    page = client.get("/t/carwash-demo/login")
    assert page.status_code == 200


def test_a_demo_loader_that_fails_leaves_no_tenant(app, system_db):
    from storecrm.demo.verticals import load_one
    from storecrm.sdk import DemoTenant

    def broken(ctx):
        raise RuntimeError("half-way")

    with app.app_context(), pytest.raises(RuntimeError):
        load_one("carwash", DemoTenant(slug="broken-demo", name="坏的", stores=({"code": "B1", "name": "一店"},),
                                       load=broken))
    with system_db.begin() as conn:
        assert conn.execute(text("SELECT count(*) FROM tenants WHERE slug = 'broken-demo'")).scalar() == 0
