"""On a phone (375 px, zh_CN): a customer books on the public page -> the advisor sees it on the calendar and marks
arrival -> the technician's day shows it -> done; waiting time recorded."""
from __future__ import annotations

import re

from sqlalchemy import text

from tests.test_browser import CHROMIUM, SHOTS, live_server, pytestmark  # noqa: F401  (fixtures and skip mark)
from tests.test_scheduling_web import _shop


def _phone(p):
    browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"])
    context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True,
                                  has_touch=True, device_scale_factor=2)
    return browser, context


def _login(page, base, email):
    from storecrm.testing.fixtures import PASSWORD

    page.goto(f"{base}/t/alpha/login")
    page.fill("#login", email)
    page.fill("#password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=main-nav]", state="attached")


def test_public_booking_to_done_on_a_phone(two_tenants, in_tenant, live_server, system_db):  # noqa: F811
    from playwright.sync_api import sync_playwright

    alpha, _beta = two_tenants
    with system_db.begin() as conn:
        conn.execute(text("UPDATE tenants SET locale = 'zh_CN' WHERE id = :t"), {"t": alpha.id})
    service_id, tomorrow, token = _shop(in_tenant, alpha)
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server
    with sync_playwright() as p:
        browser, context = _phone(p)
        try:
            customer = context.new_page()
            customer.goto(f"{base}/t/alpha/book/{token}")
            customer.click("[data-testid=public-services] >> text=音响安装")
            customer.click(f"[data-testid=public-days] a[href*='{tomorrow}']")
            customer.locator("[data-testid=slots] label").nth(10).click()
            customer.fill("#f-mobile", "139 1234 5678")
            customer.fill("#f-name", "王先生")
            customer.screenshot(path=str(SHOTS / "public-booking-zh_CN-375.png"), full_page=True)
            customer.click("[data-testid=public-book]")
            customer.wait_for_selector("[data-testid=code-form]")
            with system_db.connect() as conn:  # the log SMS provider: the code is in the outbox
                body = conn.execute(text("SELECT body FROM outbox_messages WHERE channel = 'sms' "
                                         "ORDER BY id DESC LIMIT 1")).scalar()
            customer.fill("#f-code", re.search(r"\d{6}", body).group(0))
            customer.screenshot(path=str(SHOTS / "public-code-zh_CN-375.png"), full_page=True)
            customer.click("[data-testid=confirm-code]")
            customer.wait_for_selector("[data-testid=booked]")
            assert "音响安装" in customer.inner_text("[data-testid=public-appointment]")
            customer.screenshot(path=str(SHOTS / "public-booked-zh_CN-375.png"), full_page=True)

            advisor_ctx = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True,
                                              has_touch=True, device_scale_factor=2)
            advisor = advisor_ctx.new_page()
            _login(advisor, base, "advisor@alpha.test")
            advisor.goto(f"{base}/t/alpha/scheduling/book?service_type_id={service_id}&date={tomorrow}")
            advisor.wait_for_selector("[data-testid=book-form]")
            advisor.screenshot(path=str(SHOTS / "booking-form-zh_CN-375.png"), full_page=True)
            advisor.goto(f"{base}/t/alpha/scheduling/?date={tomorrow}")
            card = advisor.locator("[data-testid=agenda] a", has_text="音响安装").first
            card.wait_for()
            advisor.screenshot(path=str(SHOTS / "calendar-day-zh_CN-375.png"), full_page=True)
            card.click()
            advisor.click("[data-testid=act-arrive]")
            advisor.wait_for_selector("[data-testid=status] >> text=已到店")
            advisor_ctx.close()

            tech_ctx = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", is_mobile=True)
            tech = tech_ctx.new_page()
            _login(tech, base, "technician@alpha.test")
            tech.goto(f"{base}/t/alpha/scheduling/my-day?date={tomorrow}")
            tech.click("text=开始服务")
            tech.goto(f"{base}/t/alpha/scheduling/my-day?date={tomorrow}")
            tech.click("text=完工")
            tech.screenshot(path=str(SHOTS / "my-day-zh_CN-375.png"), full_page=True)
            tech_ctx.close()
        finally:
            context.close()
            browser.close()
    with system_db.connect() as conn:
        row = conn.execute(text("SELECT status, source, arrived_at IS NOT NULL, completed_at IS NOT NULL "
                                "FROM appointments")).one()
    assert tuple(row) == ("done", "public", True, True)
