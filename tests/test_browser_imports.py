"""On a phone in zh_CN: a store manager imports a customer file whose rows include a conflict and a Chinese date,
reads the preview, leaves a row out, and moves a plate to a new car only after confirming it."""
from __future__ import annotations

import io

import pytest

from tests.test_browser import CHROMIUM, SHOTS, live_server, pytestmark  # noqa: F401  (fixture and skip mark)
from tests.test_import_integrity import HER_VIN, _zh, _zou_haiyan
from tests.test_imports import _run_worker, _workbook


@pytest.fixture
def phone():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking", "--disable-sync"])
        context = browser.new_context(viewport={"width": 375, "height": 740}, device_scale_factor=2, is_mobile=True,
                                      has_touch=True, locale="zh-CN")
        yield context.new_page()
        context.close()
        browser.close()


def _sign_in(page, base, email):
    from storecrm.testing.fixtures import PASSWORD

    page.goto(f"{base}/t/alpha/login")
    page.fill("#login", email)
    page.fill("#password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=tenant-name]")


def test_a_manager_reads_the_import_preview_and_confirms_a_plate_move_on_a_phone(
        two_tenants, in_tenant, live_server, phone, tmp_path):
    alpha, _ = two_tenants
    her = _zou_haiyan(alpha, in_tenant)
    _zh(alpha, in_tenant, "owner")
    SHOTS.mkdir(parents=True, exist_ok=True)
    _sign_in(phone, live_server, alpha.emails["owner"])
    rows = [["钱多多", "13833334444", HER_VIN, "1985/5/3"], ["邹海燕", "139 1111 2222", "", "1979年11月30日"],
            ["李雷", "13800138000", "", "1985.3.12"], ["韩梅梅", "13800138001", "", "31/12/1990"]]
    upload = tmp_path / "客户.xlsx"
    upload.write_bytes(_workbook(rows, ["客户姓名", "手机号", "车架号", "生日"]))
    phone.goto(f"{live_server}/t/alpha/imports/")
    phone.set_input_files("input[type=file]", str(upload))
    phone.click("form[enctype] button[type=submit]")
    phone.wait_for_selector("[data-testid=preview]")
    outcomes = phone.eval_on_selector_all("[data-testid=preview] [data-row]",
                                          "rows => rows.map(r => r.dataset.outcome)")
    assert outcomes == ["conflict", "update", "new", "error"]
    text = phone.inner_text("[data-testid=preview]")
    assert "冲突" in text and "邹海燕" in text and "不是有效的日期" in text and "Not a valid" not in text
    phone.screenshot(path=str(SHOTS / "import-preview-phone-zh_CN.png"), full_page=True)
    phone.click("[data-testid=start-import]")
    _run_worker()
    phone.reload()
    phone.wait_for_selector("[data-testid=row-errors]")
    assert "冲突" in phone.inner_text("[data-testid=counts]")
    phone.screenshot(path=str(SHOTS / "import-result-phone-zh_CN.png"), full_page=True)

    # a plate typed on a new car is on her old car: the form asks, naming it
    phone.goto(f"{live_server}/t/alpha/customers/{her}/assets/new")
    phone.fill("#f-name", "比亚迪 汉")
    phone.fill("#f-id_plate", "沪G84804")
    phone.click("button[name=save]")
    phone.wait_for_url("**/assets/*")
    phone.goto(f"{live_server}/t/alpha/customers/{her}/assets/new")
    phone.fill("#f-name", "特斯拉 Model Y")
    phone.fill("#f-id_plate", "沪G84804")
    phone.click("button[name=save]")
    phone.wait_for_selector("[data-testid=move-plate]")
    assert "比亚迪 汉" in phone.inner_text("[data-testid=move-plate]")
    phone.screenshot(path=str(SHOTS / "asset-move-plate-phone-zh_CN.png"), full_page=True)
    phone.check("#move-plate")
    phone.click("button[name=save]")
    phone.wait_for_selector("text=特斯拉 Model Y")
    assert "沪G84804" in phone.content()
