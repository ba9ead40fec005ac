"""The acceptance journey of the China channels (issue 25) in one browser test, on a phone (375 px, zh_CN):

1. a customer opens the retail member page inside WeChat (WeChat's browser; fake OAuth) and is bound by openid;
2. tops up stored value with WeChat Pay (JSAPI; the fake pays and sends the signed, encrypted notification);
3. receives the top-up notice as a WeChat template message (fake Official Account);
4. books a service on the store's public page in the same WeChat browser: the booking code arrives through Aliyun
   SMS (a fake that checks the signature), the carrier's receipt is recorded, and the confirmation goes by WeChat
   too (One-ID: the booking's mobile is the member's, already bound; `customer_address`);
5. a technician gets a WeCom message for the new job a manager dispatches.

Every provider is a local fake speaking its documented API. Screenshots: $STORECRM_SHOTS (default
/tmp/shots-oa25)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.test_browser import live_server, pytestmark as browser_mark  # noqa: F401  (fixture)
from tests.test_scheduling_browser import _login, _phone
from tests.test_scheduling_web import _shop

ROOT = Path(__file__).resolve().parent.parent
for kit in ("sms_cn", "wecom", "wechat_oa", "wechat_pay"):  # the plugins' fakes live beside their tests
    sys.path.insert(0, str(ROOT / "plugins" / kit / "tests"))
from sms_cn_testkit import FakeAliyun  # noqa: E402
from sms_cn_testkit import configure as configure_sms  # noqa: E402
from test_wechat_pay_acceptance import BRIDGE, WECHAT_UA, _verify_pay_sign  # noqa: E402
from wechat_oa_testkit import OPENID, TEMPLATE_MAP, fake_wechat  # noqa: E402,F401  (fixture)
from wechat_oa_testkit import configure as configure_oa  # noqa: E402
from wechat_pay_testkit import configure_pay, fake_pay  # noqa: E402,F401  (fixture)
from wecom_testkit import FakeWecom  # noqa: E402
from wecom_testkit import configure as configure_wecom  # noqa: E402

SHOTS = Path(os.environ.get("STORECRM_SHOTS", "/tmp/shots-oa25"))
pytestmark = [browser_mark, pytest.mark.storecrm_plugins("retail", "wechat_oa", "wechat_pay", "sms_cn", "wecom",
                                                         "smart_home")]
JOURNEY_MAP = (TEMPLATE_MAP + "\nappointment.booked = TplBooked01; thing1=service, time2=when, thing3=store"
               "\nsurvey.invitation = subscribe:SubSurvey_01; thing1=title")


def test_a_customer_in_wechat_pays_gets_notices_by_wechat_and_sms_and_a_technician_by_wecom(
        make_tenant, in_tenant, login, live_server, fake_wechat, fake_pay, run_outbox, system_db, monkeypatch,
        app):
    from playwright.sync_api import sync_playwright

    from storecrm.plugins.retail import members, tokens
    from storecrm.plugins.smart_home import services as smart_home
    from storecrm.plugins.sms_cn.services import receipt_token
    from storecrm.sdk import AUTOMATION, shared_redis

    aliyun, wecom = FakeAliyun(), FakeWecom()
    monkeypatch.setenv("STORECRM_SMS_CN_ALIYUN_ENDPOINT", aliyun.url)
    monkeypatch.setenv("STORECRM_WECOM_API_BASE", wecom.url)
    with app.app_context():
        for pattern in ("wecom:token:*", "storecrm:wechat_oa:token:*"):
            for key in shared_redis().scan_iter(pattern):
                shared_redis().delete(key)
    alpha = make_tenant("alpha", locale="zh_CN")
    configure_oa(login, alpha, template_map=JOURNEY_MAP)
    configure_pay(login, alpha)
    admin = login(alpha, "admin")
    configure_sms(admin, alpha.slug)
    configure_wecom(admin, alpha.slug, bindings={alpha.users["technician"]: "zhangwei"})
    service_id, tomorrow, store_link = _shop(in_tenant, alpha)
    with in_tenant(alpha):
        member = members.register(AUTOMATION, {"name": "王女士", "mobile": "13900001111", "store_id": alpha.stores[0],
                                               "consent": True}, source="till")
        card = f"{live_server}/t/alpha/retail/card/{tokens.make(tokens.CARD, member.id)}"
        member_id, customer_id = member.id, member.customer_id
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser, _plain = _phone(p)
            wechat = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True,
                                         has_touch=True, device_scale_factor=2, user_agent=WECHAT_UA)
            wechat.add_init_script(BRIDGE)     # WeChat's WeixinJSBridge, which Chromium lacks
            page = wechat.new_page()

            # 1. the member page opened inside WeChat: through WeChat's sign-in (fake) and back, bound by openid
            page.goto(card)
            page.wait_for_selector('[data-testid="topup-online"]')
            with system_db.connect() as conn:
                assert conn.execute(text("SELECT customer_id, value FROM customer_identities WHERE tenant_id = :t "
                                         "AND kind = 'wechat_openid'"), {"t": alpha.id}).all() == [
                    (customer_id, OPENID)]
            page.screenshot(path=str(SHOTS / "1-member-page-in-wechat.png"), full_page=True)

            # 2. a ¥500 top-up with WeChat Pay: a correctly signed JSAPI request, then the signed notification
            page.click('[data-testid="topup-online"]')
            page.wait_for_selector("#pay-submit")
            page.click('button[name="amount"][value="500"]')
            page.wait_for_selector("#waiting")
            for _ in range(100):      # (wait_for_function evaluates a string: the page's CSP forbids that)
                if page.evaluate("window.__wxpay.length"):
                    break
                page.wait_for_timeout(100)
            _verify_pay_sign(page.evaluate("window.__wxpay[0]")["params"])
            out_trade_no, order = next(iter(fake_pay.orders.items()))
            assert order["payer"]["openid"] == OPENID
            assert fake_pay.deliver(fake_pay.pay(out_trade_no)).status_code == 200
            page.wait_for_selector("#paid", timeout=15000)
            page.screenshot(path=str(SHOTS / "2-topup-paid.png"), full_page=True)

            # 3. the top-up notice arrives as the Official Account's template message
            run_outbox()
            notices = [m for m in fake_wechat.sent if m["template_id"] == "TplTopup01"]
            assert len(notices) == 1 and notices[0]["touser"] == OPENID
            assert notices[0]["data"]["amount2"] == {"value": "500.00"}
            page.click("#back")
            page.wait_for_selector('[data-testid="my-stored"]')
            assert "550.00" in page.inner_text('[data-testid="my-stored"]')
            with system_db.connect() as conn:
                assert conn.execute(text("SELECT stored_balance FROM retail_members WHERE id = :m"),
                                    {"m": member_id}).scalar() == 550

            # 4. she books in the same WeChat browser: the code by Aliyun SMS, its receipt recorded, the
            #    confirmation by SMS and by WeChat (her mobile is the member's: One-ID, already bound)
            page.goto(f"{live_server}/t/alpha/book/{store_link}")
            page.click("[data-testid=public-services] >> text=音响安装")
            page.click(f"[data-testid=public-days] a[href*='{tomorrow}']")
            page.locator("[data-testid=slots] label").nth(10).click()
            page.fill("#f-mobile", "139 0000 1111")
            page.fill("#f-name", "王女士")
            page.click("[data-testid=public-book]")
            page.wait_for_selector("[data-testid=code-form]")
            run_outbox()
            [sms] = aliyun.received
            assert sms["phone"] == "13900001111" and sms["template"] == "SMS_100001" and sms["sign"] == "星光汽车"
            page.fill("#f-code", sms["params"]["code"])
            page.screenshot(path=str(SHOTS / "3-booking-code-by-sms.png"), full_page=True)
            page.click("[data-testid=confirm-code]")
            page.wait_for_selector("[data-testid=booked]")
            page.screenshot(path=str(SHOTS / "4-booked.png"), full_page=True)
            run_outbox()
            assert [r["template"] for r in aliyun.received] == ["SMS_100001", "SMS_100002"]
            booked = [m for m in fake_wechat.sent if m["template_id"] == "TplBooked01"]
            assert len(booked) == 1 and booked[0]["touser"] == OPENID
            assert booked[0]["data"]["thing1"] == {"value": "音响安装"}
            with app.app_context():
                address = f"/t/alpha/sms-cn/receipts/aliyun/{receipt_token(alpha.id)}"
            resp = app.test_client().post(address, json=[{
                "phone_number": "13900001111", "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功",
                "biz_id": sms["biz_id"], "out_id": sms["out_id"], "report_time": "2026-12-03 22:40:05"}])
            assert resp.get_json() == {"code": 0, "msg": "成功"}
            with system_db.connect() as conn:
                assert conn.execute(text("SELECT status FROM sms_cn_deliveries WHERE provider_message_id = :b"),
                                    {"b": sms["biz_id"]}).scalar() == "delivered"
                assert conn.execute(text("SELECT customer_id FROM appointments WHERE tenant_id = :t"),
                                    {"t": alpha.id}).scalar() == customer_id

            # 5. a manager dispatches a new job; the technician gets it in WeCom
            with in_tenant(alpha):
                job = smart_home.create_work_order(None, {"kind": "install", "customer_id": customer_id,
                                                          "description": "全屋智能门锁安装"}, dispatch_now=False)
                job_id, number = job.id, job.number
            manager = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True,
                                          has_touch=True, device_scale_factor=2).new_page()
            _login(manager, live_server, alpha.emails["manager"])
            manager.goto(f"{live_server}/t/alpha/smart-home/orders/{job_id}")
            manager.locator("[data-testid=dispatch] li", has_text="technician").locator("button").click()
            manager.wait_for_load_state()
            run_outbox()
            [card_message] = wecom.received
            assert card_message["touser"] == "zhangwei" and card_message["textcard"]["title"] == f"新工单 {number}"
            manager.screenshot(path=str(SHOTS / "5-job-dispatched.png"), full_page=True)

            # the admin sees every channel's deliveries (the Official Account page lists both WeChat messages)
            owner = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True,
                                        has_touch=True, device_scale_factor=2).new_page()
            _login(owner, live_server, alpha.emails["admin"])
            owner.goto(f"{live_server}/t/alpha/wechat/")
            body = owner.inner_text("body")
            assert "订阅通知" not in body or "模板消息" in body
            assert body.count("已发送") >= 2
            owner.screenshot(path=str(SHOTS / "6-admin-wechat-oa.png"), full_page=True)
            # the subscribe page of the account's menu, inside WeChat (Chromium cannot render WeChat's open tag)
            page.goto(f"{live_server}/t/alpha/wechat/notices", wait_until="domcontentloaded")
            assert 'template="SubSurvey_01"' in page.content() and "消息提醒" in page.inner_text("body")
            page.screenshot(path=str(SHOTS / "7-subscribe-page-in-wechat.png"), full_page=True)
            browser.close()
    finally:
        aliyun.close()
        wecom.close()
