"""On a phone, in Chinese: a store manager approves a quote from a card that shows the customer and the amount; an
admin sees which stores lack a manager for a workflow's escalations, and previews a rule's next 30 days."""
from __future__ import annotations

from datetime import timedelta

from sqlalchemy import text

from tests.test_browser import SHOTS, live_server, pytestmark  # noqa: F401  (fixtures and the chromium skip)

PHONE = {"width": 375, "height": 812}


def _phone_page(playwright):
    from tests.test_browser import CHROMIUM

    browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
        "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"])
    context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2, is_mobile=True)
    return browser, context


def _login(page, base, slug, email):
    from storecrm.testing.fixtures import PASSWORD

    page.goto(f"{base}/t/{slug}/login")
    page.fill("#login", email)
    page.fill("#password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=main-nav]", state="attached")


def _no_sideways_scroll(page):
    assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"] + 1


def test_a_manager_approves_from_the_facts_and_an_admin_sees_gaps_and_the_forecast(make_tenant, in_tenant,
                                                                                   live_server, system_db):
    from flask_babel import force_locale
    from playwright.sync_api import sync_playwright

    from storecrm.assets.models import Asset
    from storecrm.customers.models import Customer
    from storecrm.extensions import db
    from storecrm.rules.engine import local_today, save
    from storecrm.users.models import User
    from storecrm.workflow import engine

    zh = make_tenant("zhong", locale="zh_CN")
    with system_db.begin() as conn:
        conn.execute(text("UPDATE tenants SET settings = settings || '{\"quiet_hours\": \"21:00-08:00\"}'::jsonb "
                          "WHERE id = :t"), {"t": zh.id})
    with in_tenant(zh) as s, force_locale("zh_CN"):
        owner, advisor = (s.get(User, (zh.id, zh.users[r])) for r in ("owner", "advisor"))
        customer = s.get(Customer, (zh.id, zh.customers[0]))
        customer.name, customer.store_id = "钱多多", zh.stores[0]
        customer.consents = {"sms": {"granted": True, "source": "form"}}
        other = s.get(Customer, (zh.id, zh.customers[1]))
        other.name, other.consents = "邹海燕", {}
        engine.copy_template(owner, "quote_approval")
        engine.copy_template(owner, "lead")
        item = engine.start(advisor, "customer", customer, "quote_approval")
        engine.move(advisor, item, "submit", values={"custom.quote_amount": 12800})
        today = local_today()
        for who, name, days in ((customer, "特斯拉 Model Y", 360), (other, "比亚迪 汉", 353), (other, "本田 思域", 375)):
            s.add(Asset(customer_id=who.id, type="car", name=name, installed_on=today - timedelta(days=days),
                        store_id=who.store_id, attributes={}))
        rule = save(None, {"name": "安装一周年保养提醒", "entity": "asset", "enabled": False, "run_hour": 22,
                           "trigger": {"type": "date", "field": "installed_on", "offset_days": 365},
                           "conditions": None,
                           "actions": [{"type": "notify", "to": "customer", "channel": "sms",
                                        "body": "{name} 一周年保养提醒"},
                                       {"type": "notify", "to": "role:manager", "channel": "in_app",
                                        "subject": "保养到期", "body": "{name}"}]})
        item_id, rule_id = item.id, rule.id
        db.session.flush()
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser, context = _phone_page(p)
        page = context.new_page()
        _login(page, live_server, zh.slug, zh.emails["manager"])
        page.goto(f"{live_server}/t/{zh.slug}/workflows/queue")
        queue = page.locator("[data-testid=queue]").inner_text()
        assert "钱多多" in queue and "¥12,800.00" in queue
        page.goto(f"{live_server}/t/{zh.slug}/workflows/items/{item_id}")
        card = page.locator("[data-testid=approval]")
        assert "钱多多" in card.inner_text() and "¥12,800.00" in card.inner_text() and "报价金额" in card.inner_text()
        _no_sideways_scroll(page)
        page.screenshot(path=str(SHOTS / "workflow-approval-card-zh_CN-375.png"), full_page=True)
        page.click("[data-testid=approve]")
        page.wait_for_selector("text=您已批准。")
        page.screenshot(path=str(SHOTS / "workflow-approved-flash-zh_CN-375.png"))
        context.close()

        context = browser.new_context(viewport=PHONE, locale="zh-CN", device_scale_factor=2, is_mobile=True)
        page = context.new_page()
        _login(page, live_server, zh.slug, zh.emails["admin"])
        page.goto(f"{live_server}/t/{zh.slug}/workflows/lead")
        warning = page.locator("[data-testid=coverage-warning]").first.inner_text()
        assert "店长" in warning and "ZHONG Store Two" in warning
        _no_sideways_scroll(page)
        page.screenshot(path=str(SHOTS / "workflow-definition-warning-zh_CN-375.png"))
        page.goto(f"{live_server}/t/{zh.slug}/automation/{rule_id}?preview=1")
        forecast = page.locator("[data-testid=forecast]").inner_text()
        assert "特斯拉 Model Y" in forecast and "比亚迪 汉" in forecast and "已跳过" in forecast
        _no_sideways_scroll(page)
        page.locator("[data-testid=preview]").screenshot(path=str(SHOTS / "rule-preview-forecast-zh_CN-375.png"))
        context.close()
        browser.close()
