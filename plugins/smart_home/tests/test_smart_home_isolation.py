"""Smart home and tenancy: the cross-tenant matrix over every route of the plugin, 404 for a tenant without it,
disable + re-enable keeps the data and seeds nothing again, the schema rules hold, the demo tenant loads."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import text

from smart_home_testkit import PNG, installer

pytestmark = pytest.mark.storecrm_plugins("smart_home")

TABLES = {"smart_home_worksheet_templates", "smart_home_properties", "smart_home_vans", "smart_home_work_orders", "smart_home_work_order_events",
          "smart_home_part_usages", "smart_home_contracts", "smart_home_contract_visits", "smart_home_articles",
          "smart_home_action_receipts", "smart_home_part_returns", "smart_home_transfer_requests"}


def _beta_records(beta, in_tenant):
    from datetime import date

    from storecrm.plugins.smart_home import services
    from storecrm.plugins.smart_home.models import Article

    ids = installer(beta, in_tenant, suffix="B")
    with in_tenant(beta) as session:
        order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "asset_id": ids["device"], "fault_type": "lock"})
        contract = services.create_contract(None, {"customer_id": ids["customer"], "starts_on": date(2027, 1, 1),
                                                   "ends_on": date(2027, 12, 31), "frequency": "quarterly",
                                                   "price": Decimal("800")})
        article = session.query(Article).first()
        from storecrm.sdk import User, get_scoped
        tech = get_scoped(User, ids["tech"])
        services.check_in(tech, order, {})
        part = services.record_part_return(tech, order, {"item_id": ids["module"], "quantity": Decimal("1")})
        visit = services.plan_contract_visits(date(2027, 1, 1))[0]
        wanted = services.request_part(tech, order, {"item_id": ids["module"], "quantity": Decimal("1")})
        return {**ids, "order": order.id, "token": order.tracking_token, "contract": contract.id,
                "article": article.id, "return": part.id,
                "transfer": wanted.id, "visit": visit.id}


def test_every_route_of_the_plugin_keeps_tenants_apart(app, two_tenants, in_tenant, login, api_token, system_db):
    from storecrm.testing import assert_plugin_isolated

    alpha, beta = two_tenants
    installer(alpha, in_tenant)
    b = _beta_records(beta, in_tenant)
    order = lambda world: {"order_id": b["order"]}
    assert_plugin_isolated(app, "smart_home", alpha, beta, login=login, api_token=api_token, system_db=system_db,
                           b_ids={
                               "smart_home.order": order, "smart_home.assign": order, "smart_home.visited": order,
                               "smart_home.cancel": order, "smart_home.engineer_job": order,
                               "smart_home.engineer_quote": order, "smart_home.take_job": order,
                               "smart_home.send_to_team": order,
                               "smart_home.engineer_act": lambda w: {"order_id": b["order"], "action": "accept"},
                               "smart_home.move_return": lambda w: {"return_id": b["return"]},
                               "smart_home.move_visit": lambda w: {"visit_id": b["visit"]},
                               "smart_home.decide_transfer": lambda w: {"request_id": b["transfer"],
                                                                        "decision": "approve"},
                               "smart_home.new_property": lambda w: {"customer_id": b["customer"]},
                               "smart_home.new_device": lambda w: {"customer_id": b["customer"]},
                               "smart_home.contract": lambda w: {"contract_id": b["contract"]},
                               "smart_home.article": lambda w: {"article_id": b["article"]},
                               "smart_home.edit_article": lambda w: {"article_id": b["article"]},
                               "smart_home.static": lambda w: {"filename": "missing.js"},
                               "smart_home_public.track": lambda w: {"token": b["token"]},
                               "api_smart_home.get_work_order": order, "api_smart_home.act": order,
                               "api_smart_home.get_device": lambda w: {"asset_id": b["device"]},
                               "api_smart_home.get_contract": lambda w: {"contract_id": b["contract"]},
                               "api_smart_home.get_article": lambda w: {"article_id": b["article"]},
                               "api_smart_home.get_quote": order, "api_smart_home.sign_quote": order,
                               "api_smart_home.pay_quote": order,
                               "api_smart_home.approve_transfer_request": lambda w: {"request_id": b["transfer"]},
                               "api_smart_home.move_part_return": lambda w: {"return_id": b["return"],
                                                                             "step": "receive"},
                           })


@pytest.mark.storecrm_plugins()
def test_a_tenant_without_the_plugin_gets_404_and_disable_reenable_keeps_data_without_reseeding(
        app, make_tenant, login, api_token, in_tenant, system_db, enable_plugin):
    gamma = make_tenant("gamma")
    browser, headers, client = login(gamma, "owner"), api_token(gamma, "owner"), app.test_client()
    for url in ("/t/gamma/smart-home/", "/t/gamma/smart-home/kb/", "/t/gamma/smart-home/public/request"):
        assert browser.get(url).status_code == 404, url
    assert client.get("/api/v1/smart-home/work-orders", headers=headers).status_code == 404
    enable_plugin(gamma, "smart_home")
    assert browser.get("/t/gamma/smart-home/kb/").status_code == 200
    ids = installer(gamma, in_tenant)
    with in_tenant(gamma) as session:
        from storecrm.plugins.smart_home import services
        services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"], "fault_type": "lock"})
        session.execute(text("DELETE FROM smart_home_articles WHERE title LIKE '%SOP%'"))
    def count(table):
        with system_db.connect() as conn:  # closed at once: an open one would block the truncation after the test
            return conn.execute(text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"), {"t": gamma.id}).scalar()
    before = {t: count(t) for t in ("smart_home_articles", "smart_home_work_orders", "smart_home_properties")}
    assert client.post("/api/v1/plugins/smart_home/disable", headers=headers).status_code in (200, 204)
    assert browser.get("/t/gamma/smart-home/").status_code == 404
    assert client.post("/api/v1/plugins/smart_home/enable", headers=headers).status_code in (200, 201, 204)
    assert {t: count(t) for t in before} == before
    assert browser.get("/t/gamma/smart-home/").status_code == 200


def test_the_tables_keep_the_tenancy_rules(app, owner_engine):
    from storecrm.testing import schema_violations

    with owner_engine.connect() as conn:
        assert schema_violations(conn, TABLES) == []


def test_the_demo_tenant_loads_with_engineers_vans_and_work_orders(app, system_db):
    from storecrm.demo.verticals import load_one, registered  # the same path `flask demo load` takes

    with app.app_context():
        demo = next(d for name, d in registered() if name == "smart_home")
        assert load_one("smart_home", demo) is True
        assert load_one("smart_home", demo) is False
    with system_db.connect() as conn:
        tenant = conn.execute(text("SELECT id FROM tenants WHERE slug = 'smart-home'")).scalar()
        vans = conn.execute(text("SELECT count(*) FROM smart_home_vans WHERE tenant_id = :t"), {"t": tenant}).scalar()
        done = conn.execute(text("SELECT count(*) FROM smart_home_work_orders WHERE tenant_id = :t AND state IN "
                                 "('done', 'visited')"), {"t": tenant}).scalar()
        planned = conn.execute(text("SELECT count(*) FROM smart_home_contract_visits WHERE tenant_id = :t"),
                               {"t": tenant}).scalar()
    assert vans == 3 and done >= 5 and planned == 4
