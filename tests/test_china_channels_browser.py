"""Acceptance on phones (375 px, zh_CN) for the China channels: a customer books on the public page and the code
arrives through Aliyun SMS (a fake that checks the signature), its carrier receipt is recorded; a manager
dispatches a job and the technician gets it in WeCom (a fake WeCom API). The admin pages are looked at; screenshots
go to $STORECRM_SHOTS (default /tmp/shots/sms)."""
from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.test_browser import CHROMIUM, live_server, pytestmark as browser_mark  # noqa: F401  (fixture)
from tests.test_scheduling_browser import _login, _phone
from tests.test_scheduling_web import _shop

ROOT = Path(__file__).resolve().parent.parent
for kit in ("sms_cn", "wecom"):  # the plugins' fake providers live beside their tests
    sys.path.insert(0, str(ROOT / "plugins" / kit / "tests"))
from sms_cn_testkit import FakeAliyun  # noqa: E402
from sms_cn_testkit import configure as configure_sms  # noqa: E402
from wecom_testkit import FakeWecom  # noqa: E402
from wecom_testkit import configure as configure_wecom  # noqa: E402

SHOTS = Path(os.environ.get("STORECRM_SHOTS", "/tmp/shots/sms"))
pytestmark = [browser_mark, pytest.mark.storecrm_plugins("sms_cn", "wecom", "smart_home")]


def test_booking_code_by_aliyun_and_a_dispatch_in_wecom_on_phones(two_tenants, in_tenant, login, live_server,
                                                                   run_outbox, system_db, monkeypatch, app):
    from playwright.sync_api import sync_playwright

    from storecrm.plugins.sms_cn.services import receipt_token
    from storecrm.plugins.smart_home import services as smart_home
    from storecrm.sdk import find_customer_by_identity, shared_redis

    aliyun, wecom = FakeAliyun(), FakeWecom()
    monkeypatch.setenv("STORECRM_SMS_CN_ALIYUN_ENDPOINT", aliyun.url)
    monkeypatch.setenv("STORECRM_WECOM_API_BASE", wecom.url)
    alpha, _beta = two_tenants
    with system_db.begin() as conn:
        conn.execute(text("UPDATE tenants SET locale = 'zh_CN' WHERE id = :t"), {"t": alpha.id})
    with app.app_context():
        for key in shared_redis().scan_iter("wecom:token:*"):
            shared_redis().delete(key)
    admin = login(alpha, "admin")
    configure_sms(admin, alpha.slug)
    configure_wecom(admin, alpha.slug, bindings={alpha.users["technician"]: "zhangwei"})
    service_id, tomorrow, token = _shop(in_tenant, alpha)
    SHOTS.mkdir(parents=True, exist_ok=True)
    try:
        with sync_playwright() as p:
            browser, context = _phone(p)
            # 1. the customer books; the code comes by Aliyun SMS
            customer = context.new_page()
            customer.goto(f"{live_server}/t/alpha/book/{token}")
            customer.click("[data-testid=public-services] >> text=音响安装")
            customer.click(f"[data-testid=public-days] a[href*='{tomorrow}']")
            customer.locator("[data-testid=slots] label").nth(10).click()
            customer.fill("#f-mobile", "139 1234 5678")
            customer.fill("#f-name", "王先生")
            customer.click("[data-testid=public-book]")
            customer.wait_for_selector("[data-testid=code-form]")
            run_outbox()  # the worker relays the code
            [sms] = aliyun.received
            assert sms["phone"] == "13912345678" and sms["template"] == "SMS_100001" and sms["sign"] == "星光汽车"
            customer.fill("#f-code", sms["params"]["code"])
            customer.screenshot(path=str(SHOTS / "1-public-code-zh_CN-375.png"), full_page=True)
            customer.click("[data-testid=confirm-code]")
            customer.wait_for_selector("[data-testid=booked]")
            run_outbox()  # the booking confirmation, as its approved template
            assert [r["template"] for r in aliyun.received] == ["SMS_100001", "SMS_100002"]
            assert aliyun.received[1]["params"]["customer_name"] == "王先生"

            # the carrier's receipt for the code arrives at the tenant's receipt address
            with app.app_context():
                address = f"/t/alpha/sms-cn/receipts/aliyun/{receipt_token(alpha.id)}"
            resp = app.test_client().post(address, json=[{
                "phone_number": "13912345678", "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功",
                "biz_id": sms["biz_id"], "out_id": sms["out_id"], "report_time": "2026-12-03 22:40:05"}])
            assert resp.get_json() == {"code": 0, "msg": "成功"}
            with system_db.connect() as conn:
                assert conn.execute(text("SELECT status FROM sms_cn_deliveries WHERE provider_message_id = :b"),
                                    {"b": sms["biz_id"]}).scalar() == "delivered"

            # 2. a manager dispatches the job; the technician gets it in WeCom
            with in_tenant(alpha):
                booked = find_customer_by_identity("mobile", "13912345678")
                order = smart_home.create_work_order(None, {"kind": "install", "customer_id": booked.id,
                                                            "description": "全屋智能门锁安装"},
                                                     dispatch_now=False)
                order_id, number = order.id, order.number
            manager = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True,
                                          has_touch=True, device_scale_factor=2).new_page()
            _login(manager, live_server, alpha.emails["manager"])
            manager.goto(f"{live_server}/t/alpha/smart-home/orders/{order_id}")
            manager.locator("[data-testid=dispatch] li", has_text="technician").locator("button").click()
            manager.wait_for_load_state()
            run_outbox()
            [card] = wecom.received
            assert card["touser"] == "zhangwei" and card["textcard"]["title"] == f"新工单 {number}"
            assert card["textcard"]["url"].endswith(f"/smart-home/engineer/{order_id}")

            # 3. the admin looks at both channels' pages
            owner = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True,
                                        has_touch=True, device_scale_factor=2).new_page()
            _login(owner, live_server, alpha.emails["admin"])
            owner.goto(f"{live_server}/t/alpha/sms-cn/")
            rows = owner.inner_text("[data-testid=sms-deliveries]")
            assert "已送达" in rows and "已提交" in rows
            owner.screenshot(path=str(SHOTS / "2-sms-cn-admin-zh_CN-375.png"), full_page=True)
            owner.goto(f"{live_server}/t/alpha/wecom/")
            assert "已发送" in owner.inner_text("[data-testid=wecom-deliveries]")
            owner.screenshot(path=str(SHOTS / "3-wecom-admin-zh_CN-375.png"), full_page=True)
            # a wrong key: the test text fails with a Chinese reason on the page
            owner.goto(f"{live_server}/t/alpha/modules/sms_cn/settings")
            owner.fill("#f-access_key_id", "LTAI5tSomeoneElse")
            owner.click("form.card button.btn-primary[type=submit]")
            owner.goto(f"{live_server}/t/alpha/sms-cn/")
            owner.fill("#f-phone", "13912345678")
            owner.click("[data-testid=sms-test] button[type=submit]")
            assert "AccessKey ID 不存在" in owner.inner_text("[data-testid=test-error]")
            owner.screenshot(path=str(SHOTS / "4-sms-cn-wrong-key-zh_CN-375.png"), full_page=True)
            owner.goto(f"{live_server}/t/alpha/modules/sms_cn/settings")
            owner.screenshot(path=str(SHOTS / "5-sms-cn-settings-zh_CN-375.png"), full_page=True)
            browser.close()
    finally:
        aliyun.close()
        wecom.close()
