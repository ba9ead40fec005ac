"""The plugin system, exercised with the example out-of-tree plugin `carwash` (tests/example_plugins)."""
import logging
import types

import pytest
from sqlalchemy import text

from storecrm.hooks import hookimpl
from storecrm.hooks.info import PluginInfo
from storecrm.hooks.manager import PluginError


def _nav(browser, slug):
    return browser.get(f"/t/{slug}/").get_data(as_text=True)


def test_the_installed_plugin_is_listed_for_every_tenant(two_tenants, login, app):
    alpha, _ = two_tenants
    from storecrm.hooks.runtime import host

    assert "carwash" in host(app).infos
    page = login(alpha, "admin").get("/t/alpha/modules/").get_data(as_text=True)
    assert 'data-plugin="carwash"' in page and "Car wash" in page


def test_enabling_for_a_shows_nav_page_and_api_for_a_only(two_tenants, login, api_token, app):
    alpha, beta = two_tenants
    admin_a, admin_b = login(alpha, "admin"), login(beta, "admin")
    headers_a, headers_b = api_token(alpha, "admin"), api_token(beta, "admin")
    client = app.test_client()
    assert admin_a.get("/t/alpha/carwash/").status_code == 404  # off by default
    assert admin_a.post("/t/alpha/modules/carwash/enable").status_code == 302
    assert "/t/alpha/carwash/" in _nav(admin_a, "alpha")
    assert admin_a.get("/t/alpha/carwash/").status_code == 200
    assert client.get("/api/v1/carwash/washes", headers=headers_a).status_code == 200
    # tenant B has not switched it on
    assert "/carwash/" not in _nav(admin_b, "beta")
    assert admin_b.get("/t/beta/carwash/").status_code == 404
    resp = client.get("/api/v1/carwash/washes", headers=headers_b)
    assert resp.status_code == 404 and resp.mimetype == "application/problem+json"


def test_enabling_seeds_once_and_disabling_keeps_the_data(two_tenants, login, system_db, app):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    admin.post("/t/alpha/modules/carwash/enable")
    admin.get("/t/alpha/carwash/")
    assert admin.post("/t/alpha/carwash/", {"customer_id": str(alpha.customers[0]), "wash_type": "premium"}
                      ).status_code == 302
    with system_db.connect() as conn:
        grants = conn.execute(text("SELECT permissions FROM roles WHERE code='technician' AND tenant_id=:t"),
                              {"t": alpha.id}).scalar()
    assert "carwash.view" in grants  # default grants applied on first enable
    assert admin.post("/t/alpha/modules/carwash/disable").status_code == 302
    assert admin.get("/t/alpha/carwash/").status_code == 404
    admin.get("/t/alpha/modules/")
    admin.post("/t/alpha/modules/carwash/enable")
    page = admin.get("/t/alpha/carwash/").get_data(as_text=True)
    assert "ALPHA-customer-0" in page and "premium" in page
    with system_db.connect() as conn:
        types_ = conn.execute(text("SELECT count(*) FROM carwash_types WHERE tenant_id=:t"), {"t": alpha.id}).scalar()
        states = conn.execute(text("SELECT action FROM audit_log WHERE entity_type='plugin' ORDER BY id")).scalars().all()
    assert types_ == 2  # seeded once, not again on re-enable
    assert states == ["enable", "disable", "enable"]


def test_plugin_panel_kpi_and_rule_action_reach_enabled_tenants(two_tenants, login, in_tenant, app):
    alpha, beta = two_tenants
    from storecrm.hooks.runtime import host
    from storecrm.plugin_host.services import enable

    with in_tenant(alpha):
        enable("carwash")
        action = next(a for a in host(app).items("register_rule_actions") if a.code == "carwash.free_wash")
        from storecrm.customers.models import Customer
        from storecrm.extensions import db

        customer = db.session.get(Customer, (alpha.id, alpha.customers[0]))
        wash = action.run(customer, action.params().load({}))
        assert wash.free and wash.price == 0
    owner_a, owner_b = login(alpha, "owner"), login(beta, "owner")
    assert 'data-panel="carwash.history"' in owner_a.get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    assert 'data-panel="carwash.history"' not in owner_b.get(f"/t/beta/customers/{beta.customers[0]}").get_data(as_text=True)
    home_a = owner_a.get("/t/alpha/").get_data(as_text=True)
    assert 'data-kpi="carwash.washes_this_month"' in home_a and 'data-kpi="customers.total"' in home_a
    assert 'data-kpi="carwash.washes_this_month"' not in owner_b.get("/t/beta/").get_data(as_text=True)


def test_plugin_settings_page_and_api_come_from_its_schema(two_tenants, login, api_token, app):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    page = admin.get("/t/alpha/modules/carwash/settings").get_data(as_text=True)
    assert 'name="loyalty_every"' in page and 'value="10"' in page
    bad = admin.post("/t/alpha/modules/carwash/settings", {"loyalty_every": "1", "default_price": "x"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    assert 'data-error-for="loyalty_every"' in html and 'data-error-for="default_price"' in html
    assert admin.post("/t/alpha/modules/carwash/settings", {"loyalty_every": "5", "default_price": "45"}
                      ).status_code == 302
    client, headers = app.test_client(), api_token(alpha, "admin")
    got = client.get("/api/v1/plugins/carwash/settings", headers=headers).get_json()
    assert got == {"loyalty_every": 5, "default_price": "45.00", "send_receipt": False, "receipt_api_key": ""}
    resp = client.put("/api/v1/plugins/carwash/settings", json={"loyalty_every": 0}, headers=headers)
    assert resp.status_code == 422 and "loyalty_every" in resp.get_json()["errors"]
    state = client.get("/api/v1/plugins", headers=headers).get_json()
    assert {"name": "carwash", "enabled": False}.items() <= next(p for p in state if p["name"] == "carwash").items()
    on = client.post("/api/v1/plugins/carwash/enable", headers=headers)
    assert on.status_code == 200 and on.get_json()["enabled"] is True
    assert client.post("/api/v1/plugins/nosuch/enable", headers=headers).status_code == 404


def test_a_secret_setting_is_sealed_at_rest_masked_everywhere_and_clear_only_to_plugin_code(
        two_tenants, login, api_token, app, in_tenant, system_db):
    from sqlalchemy import text

    from storecrm.audit.models import AuditEntry
    from storecrm.extensions import db
    from storecrm.sdk import plugin_settings

    alpha, beta = two_tenants
    admin = login(alpha, "admin")
    assert admin.post("/t/alpha/modules/carwash/settings",
                      {"loyalty_every": "5", "default_price": "45", "receipt_api_key": "sk-live-123"}).status_code == 302
    page = admin.get("/t/alpha/modules/carwash/settings").get_data(as_text=True)
    assert 'type="password"' in page and "sk-live-123" not in page
    with system_db.connect() as conn:
        stored = conn.execute(text("SELECT settings FROM tenant_plugins WHERE tenant_id = :t AND name = 'carwash'"),
                              {"t": alpha.id}).scalar_one()
    assert stored["receipt_api_key"].startswith("fernet:") and "sk-live-123" not in str(stored)
    client, headers = app.test_client(), api_token(alpha, "admin")
    assert client.get("/api/v1/plugins/carwash/settings", headers=headers).get_json()["receipt_api_key"] == "********"
    # saving other fields (blank or the mask sent back) keeps the secret; a new value replaces it
    assert admin.post("/t/alpha/modules/carwash/settings",
                      {"loyalty_every": "6", "default_price": "45", "receipt_api_key": ""}).status_code == 302
    assert client.put("/api/v1/plugins/carwash/settings", json={"loyalty_every": 7, "receipt_api_key": "********"},
                      headers=headers).status_code == 200
    with in_tenant(alpha):
        assert plugin_settings("carwash")["receipt_api_key"] == "sk-live-123"
        assert plugin_settings("carwash")["loyalty_every"] == 7
        audits = db.session.scalars(db.select(AuditEntry).where(AuditEntry.entity_type == "plugin_settings")).all()
        assert audits and all("sk-live-123" not in str((a.before, a.after)) for a in audits)
    assert client.put("/api/v1/plugins/carwash/settings", json={"receipt_api_key": "sk-new"},
                      headers=headers).status_code == 200
    with in_tenant(alpha):
        assert plugin_settings("carwash")["receipt_api_key"] == "sk-new"
    with in_tenant(beta):
        assert plugin_settings("carwash")["receipt_api_key"] == ""


def test_plugin_jobs_run_only_for_tenants_with_the_plugin(two_tenants, in_tenant, app):
    from dramatiq import Worker

    from storecrm.jobs import actor, broker
    from storecrm.plugin_host.services import enable
    from storecrm.tenancy.context import current_tenant

    ran = []

    @actor(actor_name="test_carwash_job", plugin="carwash")
    def carwash_job():
        ran.append(current_tenant().slug)

    alpha, beta = two_tenants
    with in_tenant(alpha):
        enable("carwash")
        carwash_job.send()
    with in_tenant(beta):
        carwash_job.send()
    with app.app_context():
        from storecrm.plugin_host.jobs import fan_out

        assert fan_out("carwash", "monthly_summary") == 1  # alpha only
    worker = Worker(broker, worker_timeout=100)
    worker.start()
    broker.join("default")
    worker.join()
    worker.stop()
    assert ran == ["alpha"]


def test_lifecycle_and_data_hooks_reach_only_enabled_plugins(two_tenants, in_tenant, login, app):
    from storecrm.hooks.runtime import host
    from storecrm.plugin_host.services import disable, enable

    seen = []
    spy = types.ModuleType("spy_plugin")
    spy.PLUGIN = PluginInfo(name="spy", label={"en": "Spy"}, version="1", core=">=0")
    spy.plugin_enabled = hookimpl(lambda tenant, first_time: seen.append(("enabled", tenant.slug, first_time)))
    spy.plugin_disabled = hookimpl(lambda tenant: seen.append(("disabled", tenant.slug)))
    spy.customer_created = hookimpl(lambda customer: seen.append(("created", customer.name)))
    plugin_host = host(app)
    plugin_host.pm.register(spy, name="spy")
    plugin_host.infos["spy"] = spy.PLUGIN
    try:
        alpha, beta = two_tenants
        with in_tenant(alpha):
            enable("spy")
            disable("spy")
            enable("spy")
        for world, name in ((alpha, "甲客户"), (beta, "乙客户")):
            b = login(world, "owner")
            b.get(f"/t/{world.slug}/customers/new")
            assert b.post(f"/t/{world.slug}/customers/new",
                          {"name": name, "store_id": str(world.stores[0])}).status_code == 302
        assert seen == [("enabled", "alpha", True), ("disabled", "alpha"), ("enabled", "alpha", False),
                        ("created", "甲客户")]
    finally:
        plugin_host.pm.unregister(name="spy")
        plugin_host.infos.pop("spy")


def test_dependencies_and_entitlements(two_tenants, in_tenant, app):
    from marshmallow import ValidationError

    from storecrm.hooks.runtime import host
    from storecrm.plugin_host.services import disable, enable, enabled_names

    extra = types.ModuleType("carwash_plus")
    extra.PLUGIN = PluginInfo(name="carwash_plus", label={"en": "Car wash plus"}, version="1", core=">=0",
                              requires=("carwash",))
    gate = types.ModuleType("plan_gate")
    gate.plugin_allowed = hookimpl(lambda tenant, plugin_name: False if plugin_name == "carwash_plus" and
                                   tenant.slug == "beta" else None)
    plugin_host = host(app)
    plugin_host.pm.register(extra, name="carwash_plus")
    plugin_host.pm.register(gate, name="plan_gate")
    plugin_host.infos["carwash_plus"] = extra.PLUGIN
    try:
        alpha, beta = two_tenants
        with in_tenant(alpha):
            enable("carwash_plus")
            assert enabled_names() == {"carwash", "carwash_plus"}  # the requirement came along
            with pytest.raises(ValidationError) as err:
                disable("carwash")
            assert "carwash_plus" in str(err.value.messages)
        with in_tenant(beta):
            with pytest.raises(ValidationError) as err:
                enable("carwash_plus")
            assert "plan" in str(err.value.messages)
            assert enabled_names() == set()
    finally:
        plugin_host.pm.unregister(name="carwash_plus")
        plugin_host.pm.unregister(name="plan_gate")
        plugin_host.infos.pop("carwash_plus")


def _module(**info):
    module = types.ModuleType(info["name"])
    module.PLUGIN = PluginInfo(label={"en": "x"}, version="1.0", **info)
    return module


@pytest.mark.parametrize("info,message", [
    ({"name": "future", "core": ">=99"}, "plugin future 1.0 supports StoreCRM >=99, but this is StoreCRM 0.1.0"),
    ({"name": "broken", "core": "latest"}, "is not a version specifier"),
    ({"name": "lonely", "core": ">=0", "requires": ("nothere",)}, "requires nothere, which is not installed"),
    ({"name": "Bad-Name", "core": ">=0"}, "must be 2-40 lowercase"),
])
def test_a_plugin_that_cannot_run_stops_the_start_with_a_clear_message(info, message, storecrm_services):
    from storecrm.app import create_app

    with pytest.raises(PluginError) as err:
        create_app({"STORECRM_LOAD_PLUGINS": False, "STORECRM_EXTRA_PLUGINS": [_module(**info)]})
    assert message in str(err.value)


def test_trace_logs_every_hook_call_with_its_time(caplog, storecrm_services, monkeypatch):
    from storecrm.hooks.manager import build_plugin_manager

    caplog.set_level(logging.INFO, logger="storecrm.plugins")
    from storecrm import core_plugin

    pm, _infos = build_plugin_manager(core=core_plugin, load_entry_points=False, trace=True)
    pm.hook.register_permissions()
    assert any("hook register_permissions -> ['core'] in" in r.getMessage() for r in caplog.records)


def test_plugin_tables_follow_the_schema_rules(owner_engine, app):
    from storecrm.testing.isolation import schema_violations, tenant_tables

    with owner_engine.connect() as conn:
        assert {"carwash_types", "carwash_washes"} <= set(tenant_tables(conn))
        assert schema_violations(conn, {"carwash_types", "carwash_washes"}) == []


def test_plugins_cli(two_tenants, system_db):
    from tests.test_platform import _flask

    listed = _flask("plugins", "list")
    assert listed.returncode == 0 and "carwash\t1.0.0\tCar wash" in listed.stdout
    on = _flask("plugins", "enable", "--tenant", "alpha", "carwash")
    assert on.returncode == 0, on.stderr
    state = _flask("plugins", "list", "--tenant", "alpha")
    assert "carwash\t1.0.0\ton" in state.stdout
    assert _flask("plugins", "enable", "--tenant", "alpha", "nosuch").returncode != 0
    off = _flask("plugins", "disable", "--tenant", "alpha", "carwash")
    assert off.returncode == 0
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT enabled FROM tenant_plugins")).scalars().all() == [False]


def test_a_scaffolded_plugin_passes_its_own_tests(tmp_path, app):
    import os
    import subprocess
    import sys

    from tests.test_platform import _flask

    made = _flask("plugins", "new", "shop_notes", "--dir", str(tmp_path))
    assert made.returncode == 0, made.stderr
    package = tmp_path / "storecrm-shop_notes"
    assert (package / "storecrm_shop_notes" / "migrations" / "versions" / "0001_initial.py").exists()
    assert _flask("plugins", "new", "shop_notes", "--dir", str(tmp_path)).returncode != 0  # exists already
    assert _flask("plugins", "new", "Bad-Name", "--dir", str(tmp_path)).returncode != 0
    pip = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q"]
    subprocess.run(pip + ["install", "--no-deps", "--no-build-isolation", "-e", str(package)], check=True,
                   capture_output=True)
    try:
        env = {k: v for k, v in os.environ.items()
               if not k.startswith(("DATABASE_", "REDIS_URL", "STORECRM_EMBEDDED_", "PYTEST_"))}
        env["STORECRM_TEST_DATABASE"] = "storecrm_scaffold_test"  # its own database on the same embedded server
        run = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"], cwd=package, env=env,
                             capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-3000:]
        assert "3 passed" in run.stdout
    finally:
        subprocess.run(pip + ["uninstall", "-y", "storecrm-shop_notes"], capture_output=True)
