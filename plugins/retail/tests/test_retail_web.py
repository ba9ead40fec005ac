"""Pages and API of the retail plugin: the cross-tenant matrix, 404 without the plugin, disable/re-enable keeps the
data without re-seeding, the till's forms with field errors, the QR join page with its SMS code, the REST API."""
import re

import pytest
from sqlalchemy import text

from storecrm.testing import assert_plugin_isolated

from storecrm.plugins.retail import campaigns, complaints, tokens, wallet
from retail_testkit import buy, member

pytestmark = pytest.mark.storecrm_plugins("retail")


def test_every_route_keeps_tenants_apart(app, two_tenants, in_tenant, login, api_token, system_db):
    alpha, beta = two_tenants
    with in_tenant(beta):
        m = member(beta, 1)
        topup = wallet.top_up(m, {"amount": "100", "method": "cash"})
        p = buy(beta, m, "50.00")
        campaign = campaigns.create({"name": "B", "message": "hi"})
        complaint = complaints.intake(None, {"customer_id": m.customer_id, "store_id": beta.stores[0],
                                             "kind": "other", "description": "B"})
        b = {"member_id": m.id, "topup_id": topup.id, "purchase_id": p.id, "campaign_id": campaign.id,
             "complaint_id": complaint.id,
             "join": tokens.make(tokens.JOIN, beta.stores[0]), "card": tokens.make(tokens.CARD, m.id)}
    member_routes = ("retail.member", "retail.issue_coupon", "retail.redeem_coupon", "retail.top_up",
                     "retail.redeem_points", "api_retail.get_member", "api_retail.points_ledger",
                     "api_retail.redeem_points", "api_retail.member_coupons", "api_retail.issue_coupon",
                     "api_retail.stored_value", "api_retail.top_up")
    b_ids = {name: (lambda w: {"member_id": b["member_id"]}) for name in member_routes}
    b_ids.update({
        "api_retail.refund_top_up": lambda w: {"member_id": b["member_id"], "topup_id": b["topup_id"]},
        "api_retail.get_purchase": lambda w: {"purchase_id": b["purchase_id"]},
        "api_retail.refund_purchase": lambda w: {"purchase_id": b["purchase_id"]},
        "retail.join": lambda w: {"token": b["join"]},
        "retail.card": lambda w: {"token": b["card"]},
        "retail.card_complaint": lambda w: {"token": b["card"]},
        "retail.offline_pass": lambda w: {"token": b["card"]},
        "retail.card_rate": lambda w: {"token": b["card"], "complaint_id": b["complaint_id"]},
    })
    for name in ("retail.campaign", "api_retail.launch_campaign", "api_retail.campaign_report"):
        b_ids[name] = lambda w: {"campaign_id": b["campaign_id"]}
    for name in ("retail.complaint", "api_retail.get_complaint", "api_retail.respond_complaint",
                 "api_retail.resolve_complaint", "api_retail.wait_complaint", "api_retail.resume_complaint",
                 "api_retail.rate_complaint", "api_retail.complaint_remedies", "api_retail.issue_remedy"):
        b_ids[name] = lambda w: {"complaint_id": b["complaint_id"]}
    assert_plugin_isolated(app, "retail", alpha, beta, login=login, api_token=api_token, system_db=system_db,
                           b_ids=b_ids)


@pytest.mark.storecrm_plugins()
def test_a_tenant_without_the_plugin_gets_404_and_re_enabling_keeps_data_without_re_seeding(
        two_tenants, login, api_token, in_tenant, system_db):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    assert admin.get("/t/alpha/retail/").status_code == 404
    assert admin.get("/t/alpha/retail/card/x").status_code == 404
    assert admin.get("/api/v1/retail/members", headers=api_token(alpha, "admin")).status_code == 404
    admin.post("/t/alpha/modules/retail/enable")
    resp = admin.post("/t/alpha/retail/", {"name": "王丽", "mobile": "13912345678", "store_id": str(alpha.stores[0])})
    assert resp.status_code == 302
    assert admin.post("/t/alpha/modules/retail/disable").status_code == 302
    assert admin.get("/t/alpha/retail/").status_code == 404
    admin.post("/t/alpha/modules/retail/enable")
    assert "王丽" in admin.get("/t/alpha/retail/").get_data(as_text=True)
    with system_db.connect() as conn:
        count = lambda sql: conn.execute(text(sql), {"t": alpha.id}).scalar()  # noqa: E731
        assert count("SELECT count(*) FROM retail_coupon_templates WHERE tenant_id = :t") == 5
        assert count("SELECT count(*) FROM retail_tiers WHERE tenant_id = :t") == 4
        assert count("SELECT count(*) FROM rules WHERE tenant_id = :t AND name LIKE 'Members:%'") == 4


def test_the_till_registers_with_field_errors_and_the_member_page_shows_everything(two_tenants, login, in_tenant):
    alpha, _ = two_tenants
    advisor = login(alpha, "advisor")
    resp = advisor.post("/t/alpha/retail/", {"name": "", "mobile": "123", "store_id": str(alpha.stores[0])})
    assert resp.status_code == 422
    page = resp.get_data(as_text=True)
    assert 'data-error-for="name"' in page and 'data-error-for="mobile"' in page
    resp = advisor.post("/t/alpha/retail/", {"name": "张伟", "mobile": "13812340000", "store_id": str(alpha.stores[0]),
                                             "consent": "1"})
    assert resp.status_code == 302
    url = resp.headers["Location"]
    assert advisor.post(url + "/top-up", {"amount": "-5", "method": "cash"}).status_code == 422
    assert advisor.post(url + "/top-up", {"amount": "500", "method": "cash"}).status_code == 302
    assert advisor.post(url + "/points", {"points": "999"}).status_code == 422
    assert advisor.post(url + "/redeem", {"coupon_code": "NOPE"}).status_code == 422
    page = advisor.get(url).get_data(as_text=True)
    assert "550.00" in page and "新会员礼券" in page and ">WELCOME<" not in page
    assert advisor.get("/t/alpha/retail/coupons").status_code == 200


def test_a_shopper_joins_by_qr_code_with_an_sms_code(app, two_tenants, in_tenant, system_db):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        token = tokens.make(tokens.JOIN, alpha.stores[0])
    client = app.test_client()
    url = f"/t/alpha/retail/join/{token}"
    page = client.get(url)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    resp = client.post(url, data={"csrf_token": csrf, "name": "李娜", "mobile": "13955556666"})
    assert resp.status_code == 422 and 'data-error-for="consent"' in resp.get_data(as_text=True)
    resp = client.post(url, data={"csrf_token": csrf, "name": "李娜", "mobile": "13955556666", "consent": "1"})
    assert resp.status_code == 200
    with system_db.connect() as conn:
        body = conn.execute(text("SELECT body FROM outbox_messages WHERE channel = 'sms' ORDER BY id DESC LIMIT 1")).scalar()
    code = re.search(r"\d{6}", body).group(0)
    assert client.post(url, data={"csrf_token": csrf, "code": "000000" if code != "000000" else "111111"}).status_code == 422
    resp = client.post(url, data={"csrf_token": csrf, "code": code})
    assert resp.status_code == 302 and "/retail/card/" in resp.headers["Location"]
    card = client.get(resp.headers["Location"]).get_data(as_text=True)
    assert "李娜" in card and "<svg" in card
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT source FROM retail_members")).scalar() == "qr"


def test_api_purchase_is_idempotent_refunds_and_errors_name_the_field(app, two_tenants, api_token, in_tenant):
    alpha, _ = two_tenants
    headers = api_token(alpha, "advisor")
    client = app.test_client()
    resp = client.post("/api/v1/retail/members", json={"name": "刘洋", "mobile": "13700001111",
                                                       "store_id": alpha.stores[0]}, headers=headers)
    assert resp.status_code == 201, resp.get_json()
    m = resp.get_json()
    sale = {"member_no": m["member_no"], "store_id": alpha.stores[0],
            "lines": [{"description": "运动鞋", "unit_price": "459.00", "quantity": 1}], "method": "alipay"}
    first = client.post("/api/v1/retail/purchases", json=sale, headers={**headers, "Idempotency-Key": "pos-7-0001"})
    again = client.post("/api/v1/retail/purchases", json=sale, headers={**headers, "Idempotency-Key": "pos-7-0001"})
    assert first.status_code == 201 and again.get_json()["id"] == first.get_json()["id"]
    assert first.get_json()["points_earned"] == 459
    bad = client.post("/api/v1/retail/purchases", json={**sale, "member_no": "123"}, headers=headers)
    assert bad.status_code == 422 and "member_no" in str(bad.get_json())
    assert bad.headers["Content-Type"].startswith("application/problem+json")
    pid = first.get_json()["id"]
    resp = client.post(f"/api/v1/retail/purchases/{pid}/refunds", json={"amount": "459.00", "note": "尺码不合适"},
                       headers=headers)
    assert resp.status_code == 201, resp.get_json()
    member = client.get(f"/api/v1/retail/members/{m['id']}", headers=headers).get_json()
    assert member["points_balance"] == 0
    ledger = client.get(f"/api/v1/retail/members/{m['id']}/points", headers=headers).get_json()
    assert [e["kind"] for e in ledger] == ["reverse", "earn"]
    listing = client.get(f"/api/v1/retail/members?member_no={m['member_no']}", headers=headers).get_json()
    assert listing["total"] == 1
    coupons_ = client.get(f"/api/v1/retail/members/{m['id']}/coupons", headers=headers).get_json()
    assert [c["template"] for c in coupons_] == ["WELCOME"]
    resp = client.post("/api/v1/retail/coupons/redemptions", json={"member_no": m["member_no"],
                                                                    "code": coupons_[0]["code"]}, headers=headers)
    assert resp.status_code == 201


def test_the_join_page_is_rate_limited_beyond_the_session_tries(app, two_tenants, in_tenant, system_db):
    """A bot that drops its cookie gets a new session, not a new allowance: posts are limited per address, and the
    codes texted to one mobile are limited whichever address asks."""
    alpha, _ = two_tenants
    with in_tenant(alpha):
        token = tokens.make(tokens.JOIN, alpha.stores[0])
    url = f"/t/alpha/retail/join/{token}"

    def fresh(address):
        client = app.test_client()
        page = client.get(url, environ_base={"REMOTE_ADDR": address})
        return client, re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)

    # one mobile from three addresses, each a fresh session: three codes, then a field error, no fourth SMS
    for n, address in enumerate(("10.0.0.1", "10.0.0.2", "10.0.0.3", "10.0.0.4")):
        client, csrf = fresh(address)
        resp = client.post(url, data={"csrf_token": csrf, "name": "王丽", "mobile": "13955550000", "consent": "1"},
                           environ_base={"REMOTE_ADDR": address})
        assert resp.status_code == (200 if n < 3 else 422)
    assert 'data-error-for="mobile"' in resp.get_data(as_text=True)
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM outbox_messages WHERE channel = 'sms'")).scalar() == 3
    # one address, new sessions each time: after ten posts in a minute, 429
    codes = []
    for n in range(11):
        client, csrf = fresh("10.0.0.9")
        codes.append(client.post(url, data={"csrf_token": csrf, "code": "123456"},
                                 environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code)
    assert codes[:10].count(429) == 0 and codes[-1] == 429


def test_the_complaint_page_stops_the_clock_gives_a_remedy_and_records_the_rating(two_tenants, login, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 1)
        purchase = buy(alpha, m, "120.00")
        row = complaints.intake(None, {"customer_id": m.customer_id, "store_id": alpha.stores[0], "kind": "quality",
                                       "description": "拉链坏了"})
    manager = login(alpha, "manager")
    url = f"/t/alpha/retail/complaints/{row.id}"
    assert manager.post(url, {"action": "wait", "note": "请提供照片"}).status_code == 302
    page = manager.get(url).get_data(as_text=True)
    assert 'data-testid="resume"' in page
    assert manager.post(url, {"action": "resume"}).status_code == 302
    bad = manager.post(url, {"action": "remedy", "kind": "refund", "purchase_id": str(purchase.id), "amount": "999",
                             "note": "退款"})
    assert bad.status_code == 422 and 'data-error-for="amount"' in bad.get_data(as_text=True)
    ok = manager.post(url, {"action": "remedy", "kind": "refund", "purchase_id": str(purchase.id), "amount": "20",
                            "note": "部分退款"})
    assert ok.status_code == 302
    assert manager.post(url, {"action": "resolve", "resolution": "已退款"}).status_code == 302
    assert manager.post(url, {"action": "rate", "score": "9"}).status_code == 422
    assert manager.post(url, {"action": "rate", "score": "5"}).status_code == 302
    page = manager.get(url).get_data(as_text=True)
    assert 'data-testid="remedies"' in page and 'data-testid="satisfaction"' in page
    with in_tenant(alpha):
        assert complaints.get(row.id).satisfaction == 5
