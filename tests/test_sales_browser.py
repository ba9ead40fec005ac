"""The sales journey in headless Chromium on a 375 px phone, in zh_CN: quote from a package, manager approval, the
customer signs on the share link, the order is paid in two parts and fulfilled, the amplifier's serial becomes the
customer's asset, the lifetime spend moves and the VIP rule fires. Set-up as in tests/test_browser.py."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import text

from tests.test_browser import CHROMIUM, SHOTS, _login, live_server  # noqa: F401  (the live server fixture)
from tests.test_browser import pytestmark  # noqa: F401  (skipped without Debian chromium)

PHONE = {"width": 375, "height": 812}


@pytest.fixture
def phone():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        contexts = []

        def new_phone():
            contexts.append(browser.new_context(viewport=PHONE, locale="zh-CN"))
            return contexts[-1].new_page()

        yield new_phone
        for context in contexts:
            context.close()
        browser.close()


def _setup(alpha, in_tenant):
    from storecrm.catalog import services as catalog
    from storecrm.catalog.schemas import ItemSchema
    from storecrm.extensions import db
    from storecrm.rules import engine as rules
    from storecrm.stock import services as stock
    from storecrm.stores.models import Store
    from storecrm.tenancy.models import Tenant
    from storecrm.users.models import User
    from storecrm.workflow import engine as workflows

    with in_tenant(alpha) as s:
        s.get(Tenant, alpha.id).locale = "zh_CN"  # the customer's page speaks the chain's language
        for role in ("advisor", "manager", "owner"):
            s.get(User, (alpha.id, alpha.users[role])).locale = "zh_CN"
        owner = s.get(User, (alpha.id, alpha.users["owner"]))

        def item(**fields):
            return catalog.create_item(None, ItemSchema().load({"cost": "0", "tax_rate": "0", **fields}))

        amp = item(kind="product", sku="AMP-HI", name="功放 DSP-8 旗舰", list_price="19999.00", cost="9000",
                   tax_rate="0.13", serial_tracked=True)
        cable = item(kind="part", sku="CBL-1", name="音频线", list_price="80.00", cost="20", tax_rate="0.13")
        labour = item(kind="service", sku="LAB-1", name="安装工时", list_price="300.00", tax_rate="0.06")
        package = item(kind="package", sku="PKG-HI", name="高端套餐", list_price="0")
        catalog.set_package_lines(package, [{"component_id": amp.id, "quantity": Decimal(1)},
                                            {"component_id": cable.id, "quantity": Decimal(2)},
                                            {"component_id": labour.id, "quantity": Decimal(1)}])
        shelf = stock.location_for_store(db.session.get(Store, (alpha.id, alpha.stores[0])))
        stock.receive(amp, shelf, 1, unit_cost="9000", serials=["SN-HI-0001"])
        stock.receive(cable, shelf, 10, unit_cost="20")
        workflows.copy_template(owner, "sales_quote_approval")
        rules.copy_template("vip_upgrade").enabled = True


def test_a_package_quote_is_approved_signed_paid_and_fulfilled_on_a_phone(two_tenants, live_server, phone,
                                                                          in_tenant, system_db):
    alpha, _ = two_tenants
    _setup(alpha, in_tenant)
    staff, manager, customer_page = phone(), phone(), phone()  # each their own phone (and session)
    base = live_server
    SHOTS.mkdir(parents=True, exist_ok=True)

    # the advisor builds the quote from the package on the customer's page
    _login(staff, base, alpha.emails["advisor"], None)
    staff.goto(f"{base}/t/alpha/customers/{alpha.customers[0]}")
    staff.click("[data-testid=new-quote]")
    staff.click("[data-testid=create-document]")
    staff.fill("[data-testid=item-search]", "套餐")
    staff.click("[data-item=PKG-HI]")
    staff.wait_for_selector("[data-testid=package-group]")
    assert staff.locator("[data-line]").count() == 3
    total = staff.inner_text("[data-testid=doc-total]")
    assert total == "¥23,097.67", total  # 19,999 + 13 % · 2 × 80 + 13 % · 300 + 6 %
    staff.screenshot(path=str(SHOTS / "sales-quote-editor-375-zh_CN.png"), full_page=True)
    staff.click("[data-testid=submit-approval]")
    assert staff.inner_text("[data-testid=approval-state]") == "待审批"
    quote_url = staff.url

    # above 5,000: the store manager approves it in the workflow
    _login(manager, base, alpha.emails["manager"], None)
    manager.goto(quote_url)
    manager.click("[data-testid=approval-link]")
    manager.click("[data-testid=approve]")
    manager.wait_for_selector("[data-testid=history]")
    staff.goto(quote_url)
    assert staff.inner_text("[data-testid=approval-state]") == "已批准"
    staff.click("[data-testid=send-quote]")
    share_url = staff.input_value("[data-testid=share-url]")

    # the customer opens the link on their phone, signs with the mouse and accepts
    customer_page.goto(share_url)
    assert "高端套餐" in customer_page.inner_text("[data-testid=sheet-lines]")
    assert "接受此报价" in customer_page.content()
    customer_page.fill("[data-testid=accept-name]", "张伟")
    box = customer_page.locator("[data-testid=signature-pad]").bounding_box()
    customer_page.mouse.move(box["x"] + 20, box["y"] + 60)
    customer_page.mouse.down()
    for step in range(1, 12):
        customer_page.mouse.move(box["x"] + 20 + step * 25, box["y"] + 60 + (25 if step % 2 else -25), steps=4)
    customer_page.mouse.up()
    customer_page.screenshot(path=str(SHOTS / "sales-share-page-375-zh_CN.png"), full_page=True)
    customer_page.click("[data-testid=accept-quote]")
    customer_page.wait_for_selector("[data-testid=accepted-note]")

    # the order: confirmed, paid in part, fulfilled with the serial, paid in full
    staff.goto(quote_url)
    assert staff.locator("[data-testid=signature]").count() == 1
    staff.click("[data-testid=open-order]")
    staff.click("[data-testid=confirm-order]")
    staff.wait_for_selector("[data-state=confirmed]")
    staff.fill("[data-testid=payment-amount]", "5000")
    staff.click("[data-testid=record-payment]")
    staff.wait_for_selector("[data-payment]")
    assert staff.inner_text("[data-testid=doc-balance]") == "¥18,097.67"
    staff.fill("[data-testid=serials-AMP-HI]", "SN-HI-0001")
    staff.click("[data-testid=fulfil-order]")
    staff.wait_for_selector("[data-state=fulfilled]")
    staff.click("[data-testid=record-payment]")  # the form offers the balance due
    staff.wait_for_selector("[data-state=closed]")
    staff.screenshot(path=str(SHOTS / "sales-order-page-375-zh_CN.png"), full_page=True)

    staff.goto(f"{base}/t/alpha/customers/{alpha.customers[0]}")
    assert staff.inner_text("[data-testid=lifetime-spend]") == "¥23,097.67"
    with system_db.connect() as conn:
        owner = conn.execute(text("SELECT a.customer_id FROM assets a JOIN customer_identities i ON i.asset_id = a.id "
                                  "WHERE i.kind = 'serial' AND i.value = 'SN-HI-0001'")).scalar()
        level, spend = conn.execute(text("SELECT level, lifetime_spend FROM customers WHERE id = :c"),
                                    {"c": alpha.customers[0]}).one()
        fired = conn.execute(text("SELECT count(*) FROM rule_firings WHERE customer_id = :c"),
                             {"c": alpha.customers[0]}).scalar()
    assert owner == alpha.customers[0]
    assert spend == Decimal("23097.67") and level == "VIP" and fired == 1
