"""A store manager on a phone, in Chinese: a package in the catalog, goods received, a van transfer, the levels."""
from __future__ import annotations

from tests.test_browser import CHROMIUM, SHOTS, _login, live_server, page, pytestmark  # noqa: F401


def test_manager_receives_and_transfers_stock_on_a_phone_in_chinese(two_tenants, live_server, page, in_tenant):
    from storecrm.catalog import services as catalog
    from storecrm.catalog.schemas import ItemSchema
    from storecrm.users.models import User

    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        session.get(User, (alpha.id, alpha.users["manager"])).locale = "zh_CN"
        amp = catalog.create_item(None, ItemSchema().load({"kind": "product", "sku": "AMP-DSP8", "name": "DSP 功放 8 声道",
                                                           "brand": "丹拿", "list_price": "4999", "cost": "2600"}))
        labour = catalog.create_item(None, ItemSchema().load({"kind": "service", "sku": "LAB-INST", "name": "安装工时",
                                                              "list_price": "300", "unit": "小时"}))
        package = catalog.create_item(None, ItemSchema().load({"kind": "package", "sku": "PKG-MID", "name": "中端套餐",
                                                               "list_price": "6999"}))
        catalog.set_package_lines(package, [{"component_id": amp.id, "quantity": 1},
                                            {"component_id": labour.id, "quantity": 3}])
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 375, "height": 812})
    base = live_server
    _login(page, base, "manager@alpha.test", None)
    page.goto(f"{base}/t/alpha/catalog/")
    assert "中端套餐" in page.inner_text("[data-testid=catalog-items]")
    page.screenshot(path=str(SHOTS / "catalog-phone-zh.png"), full_page=True)
    page.goto(f"{base}/t/alpha/catalog/{package.id}/components")
    assert "安装工时" in page.inner_text("body")
    page.screenshot(path=str(SHOTS / "package-phone-zh.png"), full_page=True)

    page.goto(f"{base}/t/alpha/stock/receive")
    page.fill("#f-sku", "AMP-DSP8")
    page.fill("#f-quantity", "-3")
    page.click("[data-testid=save]")
    error = page.locator("[data-error-for=quantity]")
    error.wait_for()
    assert error.inner_text() == "数量必须大于 0。"
    page.screenshot(path=str(SHOTS / "receive-error-phone-zh.png"), full_page=True)
    page.fill("#f-quantity", "6")
    page.fill("#f-unit_cost", "2550")
    page.click("[data-testid=save]")
    page.locator("[data-testid=levels]").wait_for()
    assert "已入库" in page.locator(".alert-success").inner_text()

    page.goto(f"{base}/t/alpha/stock/transfers/new")
    page.select_option("#f-to_location_id", index=2)
    page.fill("input[name=sku]", "AMP-DSP8")
    page.fill("input[name=quantity]", "2")
    page.click("[data-testid=save]")
    page.locator("[data-testid=receive-transfer]").wait_for()
    assert "在途" in page.inner_text("h1")
    page.screenshot(path=str(SHOTS / "transfer-phone-zh.png"), full_page=True)

    page.goto(f"{base}/t/alpha/stock/")
    levels = page.inner_text("[data-testid=levels]")
    assert "DSP 功放 8 声道" in levels and "现存 4" in levels
    page.screenshot(path=str(SHOTS / "stock-levels-phone-zh.png"), full_page=True)
