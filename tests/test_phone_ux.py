"""Store staff on phones: numbers one tap from a call (and copyable), search in the top bar, a short new-customer
form with the rest folded, human messages for empty selects, and — in Chromium at 375 px, zh_CN — nothing cut."""
from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.test_browser import CHROMIUM, SHOTS, live_server  # noqa: F401  (live_server is a fixture)


def _zh(system_db, world):
    with system_db.begin() as conn:
        conn.execute(text("UPDATE tenants SET locale = 'zh_CN' WHERE id = :t"), {"t": world.id})
        conn.execute(text("UPDATE users SET locale = 'zh_CN' WHERE tenant_id = :t"), {"t": world.id})


def test_every_shown_phone_number_can_be_called_and_copied(two_tenants, login, system_db):
    alpha, _ = two_tenants
    _zh(system_db, alpha)
    owner = login(alpha, "owner")
    with system_db.connect() as conn:
        mobile = conn.execute(text("SELECT mobile FROM customers WHERE tenant_id = :t AND id = :c"),
                              {"t": alpha.id, "c": alpha.customers[0]}).scalar()
    for url in (f"/t/alpha/customers/{alpha.customers[0]}", "/t/alpha/customers/"):
        page = owner.get(url).get_data(as_text=True)
        assert f'href="tel:{mobile}"' in page, url
        assert f'data-copy-text="{mobile}"' in page and "复制号码" in page, url
    with system_db.begin() as conn:
        conn.execute(text("UPDATE users SET mobile = '+8613916000009' WHERE tenant_id = :t AND id = :u"),
                     {"t": alpha.id, "u": alpha.users["advisor"]})
    staff = owner.get("/t/alpha/users/").get_data(as_text=True)
    assert 'href="tel:+8613916000009"' in staff
    # a role without contact rights sees the masked number, with nothing to call or copy
    tech = login(alpha, "technician").get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    assert "tel:" not in tech and "data-copy-text" not in tech and 'data-testid="phone-masked"' in tech


def test_search_is_in_the_top_bar_on_every_width(two_tenants, login):
    alpha, _ = two_tenants
    page = login(alpha, "advisor").get("/t/alpha/").get_data(as_text=True)
    form = re.search(r'<form class="([^"]*)"[^>]*data-testid="top-search"', page)
    assert form and "d-none" not in form.group(1)


def test_the_new_customer_form_starts_with_name_mobile_and_store_and_folds_the_rest(two_tenants, login, system_db):
    alpha, _ = two_tenants
    _zh(system_db, alpha)
    advisor = login(alpha, "advisor")  # works in one store
    page = advisor.get("/t/alpha/customers/new").get_data(as_text=True)
    form = page.split('<form method="post" class="card', 1)[1]
    names = re.findall(r'name="([a-z_]+)"', form)
    assert names[1:4] == ["name", "mobile", "store_id"], names[:6]
    before_fold, folded = form.split('data-testid="more-details"', 1)
    assert "更多资料" in folded.split("</summary>", 1)[0]
    for name in ("email", "birthday", "tags", "address", "notes", "consent_sms"):
        assert f'name="{name}"' in folded and f'name="{name}"' not in before_fold, name
    assert not re.search(r'data-testid="more-details"[^>]*\bopen\b', page)  # folded on a new customer
    store = re.search(r'<select[^>]*id="f-store_id".*?</select>', page, re.S).group(0)
    assert re.search(rf'<option value="{alpha.stores[0]}" selected>', store)  # the advisor's only store
    owner = re.search(r'<select[^>]*id="f-owner_id".*?</select>', page, re.S).group(0)
    assert re.search(rf'<option value="{alpha.users["advisor"]}" selected>', owner)  # owner = me
    # editing shows everything
    edit = login(alpha, "owner").get(f"/t/alpha/customers/{alpha.customers[0]}/edit").get_data(as_text=True)
    assert re.search(r'data-testid="more-details"[^>]*\bopen\b', edit)


def test_an_empty_store_says_choose_a_store_not_not_a_valid_integer(two_tenants, login, system_db):
    alpha, _ = two_tenants
    _zh(system_db, alpha)
    owner = login(alpha, "owner")  # sees both stores: nothing preselected
    page = owner.get("/t/alpha/customers/new").get_data(as_text=True)
    store = re.search(r'<select[^>]*id="f-store_id".*?</select>', page, re.S).group(0)
    assert "selected" not in store and "请选择门店" in store
    resp = owner.post("/t/alpha/customers/new", {"name": "钱多多", "mobile": "13900001111", "store_id": ""})
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422
    assert "请选择门店。" in body.split('data-error-for="store_id"', 1)[1][:200]
    assert "不是有效的整数" not in body and "整数" not in body
    # a staff form's empty role select is just as plain
    staff = owner.post("/t/alpha/users/new", {"display_name": "新同事", "email": "new@alpha.test",
                                             "password": "long-enough-pw", "role_id": ""}).get_data(as_text=True)
    assert "请选择角色。" in staff and "整数" not in staff


pytestmark_browser = pytest.mark.skipif(not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(),
                                        reason="Debian chromium is not installed (.ci/run installs it)")


@pytest.fixture
def phone():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        context = browser.new_context(viewport={"width": 375, "height": 740}, locale="zh-CN", is_mobile=True,
                                      has_touch=True, device_scale_factor=2)
        context.grant_permissions(["clipboard-read", "clipboard-write"])
        yield context.new_page()
        context.close()
        browser.close()


@pytestmark_browser
def test_on_a_phone_in_chinese_nothing_is_cut(two_tenants, live_server, phone, system_db, in_tenant):  # noqa: F811
    alpha, _ = two_tenants
    _zh(system_db, alpha)
    from flask_babel import force_locale

    from storecrm.customers.models import Customer
    from storecrm.users.models import User
    from storecrm.workflow import engine as workflows

    with in_tenant(alpha) as session, force_locale("zh_CN"):
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        workflows.copy_template(owner, "lead")
        item = workflows.start(owner, "customer", session.get(Customer, (alpha.id, alpha.customers[0])), "lead")
        item_id = item.id
    SHOTS.mkdir(parents=True, exist_ok=True)
    base, page = live_server, phone
    page.goto(f"{base}/t/alpha/login")
    page.fill("#login", "owner@alpha.test")
    from storecrm.testing.fixtures import PASSWORD

    page.fill("#password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=top-search]")
    assert page.locator("[data-testid=top-search] input").is_visible()

    def no_sideways_scroll():
        return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")

    # the customer page: the number calls and copies
    page.goto(f"{base}/t/alpha/customers/{alpha.customers[0]}")
    link = page.locator("[data-testid=customer-mobile] a[href^='tel:']")
    assert link.is_visible()
    page.locator("[data-testid=customer-mobile] [data-copy-text]").click()
    page.wait_for_selector("[data-testid=customer-mobile] .bi-check2")
    assert page.evaluate("navigator.clipboard.readText()").startswith("+86")
    assert no_sideways_scroll()
    page.screenshot(path=str(SHOTS / "phone-customer-zh_CN.png"), full_page=True)

    # the new-customer form: short, dates whole
    page.goto(f"{base}/t/alpha/customers/new")
    page.screenshot(path=str(SHOTS / "phone-customer-form-zh_CN.png"), full_page=True)
    page.click("[data-testid=more-details] summary")
    page.fill("#f-birthday", "1985-03-12")
    truncated = page.evaluate("""() => [...document.querySelectorAll('input[type=date]')]
        .filter(el => el.offsetParent !== null && el.scrollWidth > el.clientWidth + 1).map(el => el.name)""")
    assert truncated == []
    assert no_sideways_scroll()
    page.screenshot(path=str(SHOTS / "phone-customer-form-open-zh_CN.png"), full_page=True)

    # the audit log and its date filters
    page.goto(f"{base}/t/alpha/audit/")
    truncated = page.evaluate("""() => [...document.querySelectorAll('input[type=date]')]
        .filter(el => el.scrollWidth > el.clientWidth + 1).map(el => el.name)""")
    assert truncated == []
    page.screenshot(path=str(SHOTS / "phone-audit-zh_CN.png"), full_page=True)

    # the workflow diagram scrolls inside its card; the page does not
    page.goto(f"{base}/t/alpha/workflows/items/{item_id}")
    box = page.locator("[data-testid=diagram]").locator("xpath=..")
    assert box.evaluate("el => el.scrollWidth > el.clientWidth && getComputedStyle(el).overflowX === 'auto'")
    assert no_sideways_scroll()
    page.screenshot(path=str(SHOTS / "phone-workflow-item-zh_CN.png"), full_page=True)
