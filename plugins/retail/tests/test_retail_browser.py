"""The shopper's journey on a phone, in zh_CN: registers by the counter's QR code (SMS code) → buys at the till (API)
→ gets points → the birthday coupon arrives (the seeded rule) → redeems it at the till → sees everything on the
member page. Screenshots at 375 px under $STORECRM_SHOTS."""
import os
import re
import shutil
from datetime import datetime, time
from pathlib import Path

import pytest
from sqlalchemy import text

from storecrm.sdk import sweep_rules, tenant_today, tenant_zone

from storecrm.plugins.retail import tokens

CHROMIUM = "/usr/bin/chromium"
SHOTS = Path(os.environ.get("STORECRM_SHOTS", "/tmp/storecrm-shots"))
pytestmark = [pytest.mark.storecrm_plugins("retail"),
              pytest.mark.skipif(not shutil.which(CHROMIUM) and not os.path.exists(CHROMIUM),
                                 reason="Debian chromium is not installed")]


@pytest.fixture
def live_server(app):
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    old = app.config.get("SERVER_NAME")
    app.config["SERVER_NAME"] = None
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.config["SERVER_NAME"] = old


@pytest.fixture
def phone():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN", is_mobile=True,
                                      has_touch=True, device_scale_factor=2)
        yield context.new_page()
        context.close()
        browser.close()


def test_a_shopper_registers_buys_gets_the_birthday_coupon_and_redeems_it(make_tenant, in_tenant, live_server, phone,
                                                                         api_token, system_db, app):
    SHOTS.mkdir(parents=True, exist_ok=True)
    alpha = make_tenant("alpha", locale="zh_CN")
    with in_tenant(alpha):
        join = tokens.make(tokens.JOIN, alpha.stores[0])
        today = tenant_today()
    birthday = f"1992-{today.month:02d}-{today.day:02d}"           # 1992: a leap year has every day
    base = live_server

    # 1. the QR code on the counter: details, consent, SMS code
    phone.goto(f"{base}/t/alpha/retail/join/{join}")
    phone.click("[data-testid=join-submit]")                      # empty: errors in Chinese, nothing written
    phone.wait_for_selector("[data-testid=form-errors]")
    assert "请同意会员条款" in phone.inner_text("[data-testid=join-form]")
    phone.fill("#f-name", "王丽")
    phone.fill("#f-mobile", "139 1234 5678")
    phone.fill("#f-birthday", birthday)
    phone.check("#f-consent")
    phone.screenshot(path=str(SHOTS / "retail-1-join-zh.png"), full_page=True)
    phone.click("[data-testid=join-submit]")
    phone.wait_for_selector("#f-code")
    with system_db.connect() as conn:
        body = conn.execute(text("SELECT body FROM outbox_messages WHERE channel = 'sms' ORDER BY id DESC LIMIT 1")).scalar()
    assert "入会验证码" in body
    phone.fill("#f-code", re.search(r"\d{6}", body).group(0))
    phone.click("[data-testid=join-confirm]")
    phone.wait_for_selector("[data-testid=my-card]")
    card_url = phone.url
    member_no = phone.inner_text("[data-testid=my-number]").strip()
    assert "新会员礼券" in phone.inner_text("[data-testid=my-coupons]")   # the welcome rule
    phone.screenshot(path=str(SHOTS / "retail-2-card-new-zh.png"), full_page=True)

    # 2. the till sells through the API, 3. points
    client, headers = app.test_client(), api_token(alpha, "advisor")
    sale = {"member_no": member_no, "store_id": alpha.stores[0], "method": "wechat_pay",
            "lines": [{"description": "羊毛围巾", "unit_price": "189.00", "quantity": 1}]}
    resp = client.post("/api/v1/retail/purchases", json=sale, headers={**headers, "Idempotency-Key": "till-1-0001"})
    assert resp.status_code == 201 and resp.get_json()["points_earned"] == 189

    # 4. the birthday rule's hour comes: the coupon arrives (and an SMS tells her)
    with in_tenant(alpha):
        sweep_rules(datetime.combine(today, time(10), tzinfo=tenant_zone()))
    phone.goto(card_url)
    coupons_text = phone.inner_text("[data-testid=my-coupons]")
    assert "生日礼券" in coupons_text
    code = re.search(r"生日礼券[^\n]*\n?\s*([A-Z2-9]{10})", coupons_text).group(1)

    # 5. redeemed at the till with the next purchase (满100减50)
    sale = {**sale, "coupon_code": code, "lines": [{"description": "保温杯", "unit_price": "129.00", "quantity": 1}]}
    resp = client.post("/api/v1/retail/purchases", json=sale, headers={**headers, "Idempotency-Key": "till-1-0002"})
    assert resp.status_code == 201, resp.get_json()
    assert resp.get_json()["amount"] == "79.00" and resp.get_json()["points_earned"] == 79
    again = client.post("/api/v1/retail/purchases", json={**sale}, headers={**headers, "Idempotency-Key": "till-2-0001"})
    assert again.status_code == 422 and "coupon_code" in str(again.get_json())

    # 6. the member page shows it all
    phone.goto(card_url)
    assert phone.inner_text("[data-testid=my-points]").strip() == "268"
    assert "已使用" in phone.inner_text("[data-testid=my-coupons]")
    assert phone.locator("[data-testid=my-purchases] li").count() == 2
    assert "¥79.00" in phone.inner_text("[data-testid=my-purchases]")
    page = phone.content()
    assert not re.search(r">\s*(WELCOME|BIRTHDAY|NORMAL|wechat_pay|earn)\s*<", page)
    phone.screenshot(path=str(SHOTS / "retail-3-card-after-zh.png"), full_page=True)

    # the staff's view of the same member, on a phone
    from storecrm.testing.fixtures import PASSWORD

    phone.goto(f"{base}/t/alpha/login")
    phone.fill("#login", alpha.emails["advisor"])
    phone.fill("#password", PASSWORD)
    phone.click("[data-testid=login-submit]")
    phone.goto(f"{base}/t/alpha/retail/?q={member_no}")
    phone.click("[data-testid=members] a")
    phone.wait_for_selector("[data-testid=member-card]")
    assert "268" in phone.inner_text("[data-testid=points]")
    phone.screenshot(path=str(SHOTS / "retail-4-staff-member-zh.png"), full_page=True)
    phone.goto(f"{base}/t/alpha/retail/")
    phone.screenshot(path=str(SHOTS / "retail-5-staff-index-zh.png"), full_page=True)


def test_complaint_remedy_rating_and_the_offline_till_on_phones(make_tenant, in_tenant, live_server, phone, api_token,
                                                                app):
    """A member complains from the card → the manager stops the clock, gives a coupon, resolves → the member rates
    it; the card's offline code is verified by a till with its key and uploaded once; the KPI and offline pages."""
    import base64
    import uuid

    from storecrm.sdk import utcnow
    from storecrm.testing.fixtures import PASSWORD

    from storecrm.plugins.retail import offline
    from retail_testkit import buy, member

    SHOTS.mkdir(parents=True, exist_ok=True)
    alpha = make_tenant("alpha", locale="zh_CN")
    with in_tenant(alpha):
        m = member(alpha, 1, name="王丽")
        buy(alpha, m, "300.00")
        card = tokens.make(tokens.CARD, m.id)
    base = live_server
    phone.goto(f"{base}/t/alpha/retail/card/{card}")
    phone.click("text=有不满意的地方？告诉我们")
    phone.select_option("select[name=kind]", "quality")
    phone.fill("textarea[name=description]", "上周买的羊毛围巾洗后掉色，希望退换。")
    phone.click("form[action$='/complaint'] button[type=submit]")
    phone.wait_for_selector("[data-testid=my-complaints]")

    # the manager, on a phone: waiting for a photo (clock stopped), a coupon as a remedy, resolved
    phone.goto(f"{base}/t/alpha/login")
    phone.fill("#login", alpha.emails["manager"])
    phone.fill("#password", PASSWORD)
    phone.click("[data-testid=login-submit]")
    phone.goto(f"{base}/t/alpha/retail/complaints")
    phone.click("[data-testid=complaints] a")
    phone.fill("#f-asked", "请提供洗涤后的照片")
    phone.click("[data-testid=wait]")
    assert "解决计时已暂停" in phone.inner_text("[data-testid=sla-resolution]")
    phone.screenshot(path=str(SHOTS / "retail-6-complaint-waiting-zh.png"), full_page=True)
    phone.click("[data-testid=resume]")
    phone.click("[data-testid=remedy-form] summary")
    phone.select_option("[data-testid=remedy-form] select[name=kind]", "coupon")
    phone.select_option("[data-testid=remedy-form] select[name=template]", "GIFT")
    phone.fill("[data-testid=remedy-form] textarea[name=note]", "致歉礼品")
    phone.click("[data-testid=remedy-form] button[type=submit]")
    phone.wait_for_selector("[data-testid=remedies]")
    phone.fill("textarea[name=resolution]", "已换新并赠送礼品")
    phone.click("button:has-text('办结')")
    phone.screenshot(path=str(SHOTS / "retail-7-complaint-resolved-zh.png"), full_page=True)
    assert "优惠券" in phone.inner_text("[data-testid=remedies]")

    # the member rates the resolution on the card
    phone.goto(f"{base}/t/alpha/retail/card/{card}")
    phone.click("[data-testid=my-complaints] button[value='5']")
    assert "您的评分：5 / 5" in phone.inner_text("[data-testid=my-complaints]")
    phone.screenshot(path=str(SHOTS / "retail-8-card-rated-zh.png"), full_page=True)

    # the till is offline: the signed code, checked with the till's key, 100 points taken, uploaded twice
    phone.click("[data-testid=offline-pass-link]")
    phone.wait_for_selector("[data-testid=offline-pass]")
    phone.screenshot(path=str(SHOTS / "retail-9-offline-code-zh.png"), full_page=True)
    qr = phone.get_attribute("[data-pass]", "data-pass")
    client, headers = app.test_client(), api_token(alpha, "advisor")
    raw = client.get("/api/v1/retail/offline/key", headers=headers).get_json()["key"]
    payload = offline.verify(qr, base64.urlsafe_b64decode(raw + "=" * (-len(raw) % 4)))
    assert payload["m"] == m.member_no and payload["e"] > utcnow().timestamp()
    sale = {"key": str(uuid.uuid4()), "qr": qr, "accepted_at": utcnow().isoformat(), "points": 100}
    upload = {"till": "JA01-1", "store_id": alpha.stores[0], "transactions": [sale]}
    for replayed in (False, True):
        result = client.post("/api/v1/retail/offline/transactions", json=upload, headers=headers).get_json()
        assert result["results"][0]["status"] == "applied" and result["results"][0]["replayed"] is replayed
    phone.goto(f"{base}/t/alpha/retail/card/{card}")
    assert phone.inner_text("[data-testid=my-points]").strip() == "200"
    phone.goto(f"{base}/t/alpha/retail/offline")
    phone.screenshot(path=str(SHOTS / "retail-10-offline-sales-zh.png"), full_page=True)
    phone.goto(f"{base}/t/alpha/reports/kpis/retail.complaint_satisfaction?period=month")
    phone.screenshot(path=str(SHOTS / "retail-11-kpi-satisfaction-zh.png"), full_page=True)
    phone.goto(f"{base}/t/alpha/reports/kpis/retail.complaints_per_100_orders?period=month")
    phone.screenshot(path=str(SHOTS / "retail-12-kpi-per-100-orders-zh.png"), full_page=True)
