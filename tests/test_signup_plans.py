"""Self-serve signup with email confirmation, plans and their limits, read-only dunning, self-hosted defaults."""
import re

import pytest
from sqlalchemy import text

from storecrm.testing.fixtures import PASSWORD


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _set_plan(system_db, world, plan, **extra):
    with system_db.begin() as conn:
        conn.execute(text("INSERT INTO tenant_accounts (tenant_id, plan_code, seats, billing_status, read_only, "
                          "cancel_at_period_end, checklist_dismissed, created_at, verified_at) "
                          "VALUES (:t, :p, 1, 'active', false, false, true, now(), now()) "
                          "ON CONFLICT (tenant_id) DO UPDATE SET plan_code = :p"), {"t": world.id, "p": plan})
        for key, value in extra.items():
            conn.execute(text(f"UPDATE tenant_accounts SET {key} = :v WHERE tenant_id = :t"), {"v": value, "t": world.id})


GOOD = {"chain_name": "鸣笛汽车音响", "slug": "mingdi", "admin_name": "陈志远", "email": "chen@mingdi.cn",
        "mobile": "13916000001", "password": "long-enough-password", "locale": "zh_CN", "timezone": "Asia/Shanghai"}


def test_a_chain_signs_up_confirms_its_email_and_lands_in_its_own_empty_workspace(two_tenants, browser, system_db,
                                                                                  app):
    b = browser()
    assert 'data-testid="signup-form"' in b.get("/signup/").get_data(as_text=True)
    bad = b.post("/signup/", {**GOOD, "slug": "api", "email": "nope", "password": "short"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422
    for field in ("slug", "email", "password"):
        assert f'data-error-for="{field}"' in body
    taken = b.post("/signup/", {**GOOD, "slug": "alpha"})
    assert taken.status_code == 422 and 'data-error-for="slug"' in taken.get_data(as_text=True)
    resp = b.post("/signup/", GOOD)
    assert resp.status_code == 302 and "/signup/sent" in resp.headers["Location"]
    (tenant_id, status), = _rows(system_db, "SELECT id, status FROM tenants WHERE slug = 'mingdi'")
    assert status == "pending"
    assert _rows(system_db, "SELECT plan_code, verified_at FROM tenant_accounts WHERE tenant_id = :t", t=tenant_id) == \
        [(None, None)]  # no Stripe here: self-hosted defaults, no limits
    assert b.get("/t/mingdi/login").status_code == 403  # nobody signs in before the email is confirmed
    (subject, body), = _rows(system_db, "SELECT subject, body FROM outbox_messages WHERE tenant_id = :t", t=tenant_id)
    assert "mingdi" in subject and "确认" in subject  # in the language chosen at signup
    link = re.search(r"/signup/verify/\S+", body).group(0)
    assert b.get(link[:-3] + "xyz").status_code == 400
    resp = b.get(link)
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/t/mingdi/login")
    assert _rows(system_db, "SELECT status FROM tenants WHERE id = :t", t=tenant_id) == [("active",)]
    b.login("mingdi", "chen@mingdi.cn", "long-enough-password")
    home = b.get("/t/mingdi/").get_data(as_text=True)
    assert 'data-testid="checklist"' in home and "添加门店" in home or "Add your stores" in home
    customers = b.get("/t/mingdi/customers/").get_data(as_text=True)
    assert "ALPHA" not in customers and "BETA" not in customers
    assert b.get(f"/t/alpha/customers/{two_tenants[0].customers[0]}").status_code in (302, 404)


def test_bots_and_floods_get_nothing(two_tenants, browser, system_db, app, monkeypatch):
    b = browser()
    b.get("/signup/")
    resp = b.post("/signup/", {**GOOD, "website": "http://spam.example"})
    assert resp.status_code == 302
    assert _rows(system_db, "SELECT count(*) FROM tenants WHERE slug = 'mingdi'") == [(0,)]
    monkeypatch.setattr(app.config["STORECRM"], "signup_rate_limit", "2 per hour")
    codes = [b.post("/signup/", {**GOOD, "slug": f"flood{n}", "email": f"f{n}@x.cn"}).status_code for n in range(3)]
    assert codes[-1] == 429
    check = app.test_client().get("/signup/slug?slug=alpha").get_json()
    assert check["available"] is False and check["reason"]
    assert app.test_client().get("/signup/slug?slug=new-chain").get_json() == {"available": True, "reason": None}
    monkeypatch.setattr(app.config["STORECRM"], "signup_open", False)
    assert app.test_client().get("/signup/").status_code == 404
    assert app.test_client().post("/api/v1/signup", json=GOOD).status_code == 404


def test_signup_through_the_api(two_tenants, app, system_db):
    client = app.test_client()
    resp = client.post("/api/v1/signup", json={**GOOD, "slug": "via-api", "mobile": "12"})
    assert resp.status_code == 422 and "mobile" in resp.get_json()["errors"]
    resp = client.post("/api/v1/signup", json={**GOOD, "slug": "via-api"})
    assert resp.status_code == 202 and resp.get_json()["status"] == "pending"
    assert _rows(system_db, "SELECT status FROM tenants WHERE slug = 'via-api'") == [("pending",)]


def test_plan_limits_refuse_the_one_thing_over_the_limit_with_a_clear_message(two_tenants, login, api_token,
                                                                             system_db, app, enable_plugin):
    alpha, beta = two_tenants
    _set_plan(system_db, alpha, "free")  # 1 store, 3 active staff, 500 customers, no modules, no API
    owner = login(alpha, "owner")
    before = _rows(system_db, "SELECT count(*) FROM stores WHERE tenant_id = :t", t=alpha.id)
    owner.get("/t/alpha/stores/new")
    resp = owner.post("/t/alpha/stores/new", {"code": "S3", "name": "Third", "active": "on"})
    assert resp.status_code == 422 and "Your plan Free allows 1 stores and 2 are in use." in resp.get_data(as_text=True)
    assert _rows(system_db, "SELECT count(*) FROM stores WHERE tenant_id = :t", t=alpha.id) == before
    resp = owner.post("/t/alpha/users/new", {"display_name": "New", "email": "new@alpha.test",
                                             "role_id": str(alpha.roles["advisor"]), "password": "long-enough-pw",
                                             "store_ids": str(alpha.stores[0]), "active": "on"})
    assert resp.status_code == 422 and "active staff accounts" in resp.get_data(as_text=True)
    resp = owner.post("/t/alpha/plugins/carwash/enable", {})
    assert _rows(system_db, "SELECT count(*) FROM tenant_plugins WHERE tenant_id = :t AND enabled", t=alpha.id) == [(0,)]
    api = app.test_client().get("/api/v1/me", headers=api_token(alpha, "owner"))
    assert api.status_code == 403 and "API access" in api.get_json()["detail"]
    # what was there keeps working: customers can still be added (3 of 500)
    owner.get("/t/alpha/customers/new")
    assert owner.post("/t/alpha/customers/new", {"name": "Still fine", "store_id": str(alpha.stores[0])}
                      ).status_code == 302
    # beta has no plan: nothing limited
    assert app.test_client().get("/api/v1/me", headers=api_token(beta, "owner")).status_code == 200
    _set_plan(system_db, alpha, "pro")
    assert app.test_client().get("/api/v1/me", headers=api_token(alpha, "owner")).status_code == 200
    page = owner.get("/t/alpha/billing/").get_data(as_text=True)
    assert 'data-resource="stores"' in page and "2 / 10" in page


def test_an_import_stops_at_the_customer_limit_and_reports_the_rest(two_tenants, in_tenant, system_db, app):
    from storecrm.customers.services import create_many
    from storecrm.rules.actions import RULE_USER

    alpha, _ = two_tenants
    with system_db.begin() as conn:
        conn.execute(text("INSERT INTO plans (code, name_zh, name_en, limits, monthly_price, currency, position, public)"
                          " VALUES ('tiny', '迷你', 'Tiny', '{\"customers\": 4}', 0, 'CNY', 99, false)"))
    try:
        _set_plan(system_db, alpha, "tiny")
        with in_tenant(alpha):
            refused = create_many(RULE_USER, [({"name": f"Row {n}", "store_id": alpha.stores[0]}, {}) for n in range(3)])
        assert sorted(refused) == [1, 2] and "Tiny" in str(refused[1])
        assert _rows(system_db, "SELECT count(*) FROM customers WHERE tenant_id = :t", t=alpha.id) == [(4,)]
    finally:
        with system_db.begin() as conn:
            conn.execute(text("UPDATE tenant_accounts SET plan_code = NULL WHERE plan_code = 'tiny'"))
            conn.execute(text("DELETE FROM plans WHERE code = 'tiny'"))


def test_a_read_only_workspace_shows_everything_and_writes_nothing(two_tenants, login, api_token, system_db, app):
    alpha, _ = two_tenants
    _set_plan(system_db, alpha, "pro", read_only=True, billing_status="past_due")
    owner = login(alpha, "owner")
    home = owner.get("/t/alpha/").get_data(as_text=True)
    assert 'data-testid="billing-banner"' in home
    assert owner.get(f"/t/alpha/customers/{alpha.customers[0]}").status_code == 200
    owner.get("/t/alpha/customers/new")
    resp = owner.post("/t/alpha/customers/new", {"name": "Blocked", "store_id": str(alpha.stores[0])})
    assert resp.status_code == 403 and 'data-testid="read-only"' in resp.get_data(as_text=True)
    api = app.test_client().post("/api/v1/customers", json={"name": "Blocked", "store_id": alpha.stores[0]},
                                 headers=api_token(alpha, "owner"))
    assert api.status_code == 403 and "read-only" in api.get_json()["detail"]
    assert _rows(system_db, "SELECT count(*) FROM customers WHERE name = 'Blocked'") == [(0,)]
    assert owner.get("/t/alpha/billing/").status_code == 200  # the owner can still reach billing to pay


def test_self_hosted_has_no_billing_ui_and_no_limits(two_tenants, login, app):
    alpha, _ = two_tenants
    page = login(alpha, "owner").get("/t/alpha/").get_data(as_text=True)
    assert "/t/alpha/billing/" not in page  # no Stripe keys, no plan: the menu has no billing entry
    assert app.config["STORECRM"].billing_enabled is False


def test_no_signup_input_causes_a_server_error(app, two_tenants):
    from tests.test_forms_bad_input import NASTY

    client = app.test_client()
    for value in NASTY:
        body = {k: value for k in GOOD} | {"website": ""}
        resp = client.post("/api/v1/signup", json=body)
        assert resp.status_code < 500, (value, resp.status_code)
        client.get("/signup/")
        resp = client.get("/signup/slug?slug=" + value[:100])
        assert resp.status_code < 500
    for body in ([], "x", None, {"slug": None}, {"timezone": ["x"]}):
        assert client.post("/api/v1/signup", json=body).status_code < 500
    assert client.get("/signup/verify/" + "x" * 300).status_code == 400
