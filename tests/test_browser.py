"""Store staff journeys in headless Chromium (Debian's chromium; Playwright never downloads one)."""
from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

CHROMIUM = os.environ.get("STORECRM_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parent.parent / "var" / "screenshots"

pytestmark = pytest.mark.skipif(not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists(),
                                reason="Debian chromium is not installed (.ci/run installs it)")


@pytest.fixture
def live_server(app):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    old = app.config.get("SERVER_NAME")
    app.config["SERVER_NAME"] = None  # let pages be served under 127.0.0.1:<port>
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    app.config["SERVER_NAME"] = old


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
            "--disable-component-update", "--disable-sync"])
        context = browser.new_context(viewport={"width": 1280, "height": 860}, locale="en-US")
        yield context.new_page()
        context.close()
        browser.close()


def _login(page, base, email, password):
    from storecrm.testing.fixtures import PASSWORD

    page.goto(f"{base}/t/alpha/login")
    page.fill("#login", email)
    page.fill("#password", password or PASSWORD)
    page.click("[data-testid=login-submit]")


@pytest.mark.parametrize("language", ["en", "zh_CN"])
def test_admin_signs_in_and_creates_a_store(language, two_tenants, live_server, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    base = live_server
    page.goto(f"{base}/t/alpha/login")
    if language == "zh_CN":
        page.click("[data-testid=language-switch]")
        page.click("[data-locale=zh_CN]")
        page.wait_for_selector("text=邮箱或手机号")
    _login(page, base, "admin@alpha.test", None)
    page.wait_for_selector("[data-testid=main-nav]")
    page.click("[data-testid=main-nav] >> text=" + ("门店" if language == "zh_CN" else "Stores"))
    page.click("[data-testid=new-store]")
    # first a mistake: closing before opening
    page.fill("#f-code", "SH09")
    page.fill("#f-name", "静安寺店" if language == "zh_CN" else "Jing'an Temple")
    page.fill("#f-phone", "021 6248 0000")
    page.fill("#f-opens_at", "21:00")
    page.fill("#f-closes_at", "09:00")
    page.click("[data-testid=save]")
    error = page.locator("[data-error-for=closes_at]")
    error.wait_for()
    assert error.inner_text() == ("打烊时间必须晚于营业时间。" if language == "zh_CN"
                                  else "Closing time must be after opening time.")
    page.screenshot(path=str(SHOTS / f"store-form-error-{language}.png"), full_page=True)
    page.fill("#f-opens_at", "09:00")
    page.fill("#f-closes_at", "21:00")
    page.click("[data-testid=save]")
    table = page.locator("[data-testid=stores-table]")
    table.wait_for()
    assert "SH09" in table.inner_text() and "09:00–21:00" in table.inner_text()
    flash = page.locator(".alert-success").inner_text()
    assert ("已保存" in flash) if language == "zh_CN" else ("saved" in flash)
    page.screenshot(path=str(SHOTS / f"stores-{language}.png"), full_page=True)


def test_store_staff_on_a_phone(two_tenants, live_server, page):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, live_server, "advisor@alpha.test", None)
    page.goto(f"{live_server}/t/alpha/customers/")
    assert "ALPHA-customer-0" in page.inner_text("[data-testid=customers-table]")
    page.screenshot(path=str(SHOTS / "customers-phone.png"), full_page=True)
    page.click("button[aria-controls=sidebar]")
    page.locator("#sidebar.show").wait_for()
    page.wait_for_timeout(500)  # let the slide-in finish before the picture; nothing is asserted on time
    assert page.locator("#sidebar").get_by_text("Customers").is_visible()
    page.screenshot(path=str(SHOTS / "menu-phone.png"))


def test_admin_switches_on_a_module_and_staff_use_it(two_tenants, live_server, page, in_tenant):
    from storecrm.users.models import User

    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        session.get(User, (alpha.id, alpha.users["admin"])).locale = "zh_CN"
    SHOTS.mkdir(parents=True, exist_ok=True)
    _login(page, live_server, "admin@alpha.test", None)
    page.goto(f"{live_server}/t/alpha/modules/")
    page.click("[data-testid=enable-carwash]")
    page.locator(".alert-success").wait_for()
    assert "洗车 已开启" in page.locator(".alert-success").inner_text()
    page.screenshot(path=str(SHOTS / "modules-zh_CN.png"), full_page=True)
    page.click("[data-testid=main-nav] >> text=洗车")
    page.fill("input[name=customer_id]", str(alpha.customers[0]))
    page.select_option("select[name=wash_type]", "premium")
    page.click("[data-testid=record-wash]")
    page.locator(".alert-success").wait_for()
    assert "ALPHA-customer-0" in page.inner_text("[data-testid=washes]")
    page.screenshot(path=str(SHOTS / "carwash-zh_CN.png"), full_page=True)


def test_an_import_shows_live_progress_until_done(two_tenants, live_server, page, tmp_path):
    """Upload, confirm the guessed columns, start; the page follows the job without reloading."""


    from dramatiq import Worker

    from storecrm.jobs import broker
    from tests.test_imports import _good_rows, _workbook

    path = tmp_path / "客户.xlsx"
    path.write_bytes(_workbook(list(_good_rows(300))))
    _login(page, live_server, "admin@alpha.test", None)
    page.goto(f"{live_server}/t/alpha/imports/")
    page.set_input_files("input[name=file]", str(path))
    page.click("[data-testid=upload]")
    page.wait_for_selector("[data-testid=start-import]")
    assert page.locator("select[name=col_0]").input_value() == "name"
    page.click("[data-testid=start-import]")
    page.wait_for_selector("#import-progress")
    worker = Worker(broker, worker_timeout=100)
    worker.start()
    try:
        page.wait_for_selector("#import-progress[data-status=done]", timeout=60_000)
    finally:
        worker.stop()
    assert "300 / 300" in page.inner_text("#import-progress")
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / "import-done.png"), full_page=True)


def test_technician_adds_completion_photos_from_a_phone(two_tenants, live_server, page, in_tenant, tmp_path):
    """A Chinese-speaking advisor on a phone attaches two photos to a customer and sees them as thumbnails."""
    from storecrm.fields.models import FieldDefinition
    from storecrm.users.models import User
    from tests.test_files import _jpeg

    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        session.add(FieldDefinition(entity="customer", code="done_photos", label_zh="完工照片", label_en="Completion photos",
                                    type="photo"))
        session.get(User, (alpha.id, alpha.users["advisor"])).locale = "zh_CN"
    shots = []
    for n, color in enumerate([(220, 40, 40), (40, 90, 220)]):
        path = tmp_path / f"photo{n}.jpg"
        path.write_bytes(_jpeg((1600, 1200), color))
        shots.append(str(path))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, live_server, alpha.emails["advisor"], None)
    page.goto(f"{live_server}/t/alpha/customers/{alpha.customers[0]}/edit")
    assert "完工照片" in page.inner_text("[data-testid=custom-fields]")
    page.set_input_files("#f-cf_done_photos", shots)
    page.click("button[type=submit].btn-primary")
    page.wait_for_selector("[data-custom=done_photos] img")
    thumbs = page.locator("[data-custom=done_photos] img")
    assert thumbs.count() == 2
    page.locator("[data-custom=done_photos]").scroll_into_view_if_needed()  # thumbnails load lazily
    page.wait_for_function("Array.from(document.querySelectorAll('[data-custom=done_photos] img'))"
                           ".every(i => i.complete && i.naturalWidth > 0)", timeout=15000)
    page.screenshot(path=str(SHOTS / "customer-photos-phone-zh_CN.png"), full_page=True)


def test_staff_see_a_reminder_in_the_bell_and_open_it(two_tenants, live_server, page, in_tenant):
    from storecrm.notifications.services import notify_user
    from storecrm.users.models import User

    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        manager = session.get(User, (alpha.id, alpha.users["manager"]))
        manager.locale = "zh_CN"
        notify_user(manager, "提醒：回访王先生报价", "截止 2026/11/23 10:00", f"/t/alpha/customers/{alpha.customers[0]}",
                    email=False)
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, live_server, alpha.emails["manager"], None)
    assert page.inner_text("[data-testid=unread]") == "1"
    page.click("[data-testid=bell]")
    assert "提醒：回访王先生报价" in page.inner_text("[data-testid=notifications]")
    page.screenshot(path=str(SHOTS / "notifications-phone-zh_CN.png"), full_page=True)
    page.click("[data-notification]")
    page.wait_for_url(f"**/customers/{alpha.customers[0]}")
    assert page.locator("[data-testid=unread]").count() == 0


def test_install_job_goes_through_qc_on_a_phone(two_tenants, live_server, page, in_tenant, tmp_path):
    """zh_CN, on a phone: a technician starts the work and hands over to QC with a photo; the manager finds the job
    in the queue, sends it back with a reason, and later passes it. The diagram marks where the job stands."""
    from storecrm.assets.models import Asset
    from storecrm.users.models import User
    from storecrm.workflow import engine
    from tests.test_files import _jpeg

    alpha, _ = two_tenants
    with in_tenant(alpha) as s:
        for role in ("technician", "manager", "owner"):
            s.get(User, (alpha.id, alpha.users[role])).locale = "zh_CN"
        from flask_babel import force_locale

        with force_locale("zh_CN"):
            engine.copy_template(s.get(User, (alpha.id, alpha.users["owner"])), "install_qc")
        car = Asset(customer_id=alpha.customers[0], type="vehicle", name="特斯拉 Model Y 隔音施工", store_id=alpha.stores[0],
                    attributes={})
        s.add(car)
        s.flush()
        item_id = engine.start(s.get(User, (alpha.id, alpha.users["manager"])), "asset", car, "install_qc").id
    photo = tmp_path / "door.jpg"
    photo.write_bytes(_jpeg((1200, 900), (30, 160, 90)))
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 390, "height": 844})
    _login(page, live_server, alpha.emails["technician"], None)
    page.goto(f"{live_server}/t/alpha/workflows/queue")
    page.click(f"[data-item='{item_id}']")
    page.click("[data-testid=do-begin]")
    page.wait_for_selector("[data-state=installing]")
    page.click("[data-testid=do-to_qc]")  # without the photo: refused, nothing moves
    page.wait_for_selector("text=此步骤需要至少一张照片。")
    page.set_input_files("[data-testid=photos-to_qc]", [str(photo)])
    page.click("[data-testid=do-to_qc]")
    page.wait_for_selector("[data-state=qc]")
    page.screenshot(path=str(SHOTS / "workflow-item-phone-zh_CN.png"), full_page=True)
    page.click("[data-testid=user-menu]") if page.locator("[data-testid=user-menu]").count() else None
    page.context.clear_cookies()
    _login(page, live_server, alpha.emails["manager"], None)
    page.goto(f"{live_server}/t/alpha/workflows/queue")
    assert "特斯拉 Model Y 隔音施工" in page.inner_text("[data-testid=queue]")
    page.screenshot(path=str(SHOTS / "workflow-queue-phone-zh_CN.png"), full_page=True)
    page.click(f"[data-item='{item_id}']")
    page.click("summary:has-text('退回')")
    page.select_option("select[name=to_state]", "installing")
    page.fill("[data-testid=reason]", "门板缝隙不均，返工")
    page.click("[data-testid=send-back]")
    page.wait_for_selector("[data-state=installing]")
    assert "门板缝隙不均，返工" in page.inner_text("[data-testid=history]")
    assert page.locator("[data-testid=history] img").count() == 1  # the technician's photo stays on the history


def test_admin_previews_and_switches_on_an_anniversary_rule(two_tenants, live_server, page, in_tenant):
    from datetime import timedelta

    from storecrm.assets.models import Asset
    from storecrm.rules.engine import local_today
    from storecrm.users.models import User

    alpha, _ = two_tenants
    with in_tenant(alpha) as s:
        s.get(User, (alpha.id, alpha.users["admin"])).locale = "zh_CN"
        s.add(Asset(customer_id=alpha.customers[0], type="vehicle", name="宝马 X5 音响升级", store_id=alpha.stores[0],
                    attributes={}, installed_on=local_today() - timedelta(days=370)))
    SHOTS.mkdir(parents=True, exist_ok=True)
    _login(page, live_server, alpha.emails["admin"], None)
    page.goto(f"{live_server}/t/alpha/automation/")
    page.screenshot(path=str(SHOTS / "rules-index-zh_CN.png"), full_page=True)
    page.click("[data-testid=copy-install_anniversary]")
    page.click("[data-testid=run-preview]")
    page.wait_for_selector("[data-testid=preview-total]")
    assert "宝马 X5 音响升级" in page.inner_text("[data-testid=preview]")
    page.screenshot(path=str(SHOTS / "rule-preview-zh_CN.png"), full_page=True)
    page.click("text=编辑")
    page.wait_for_load_state("load")  # the cards' inputs are switched by the page's script once it has loaded
    # the action cards show only the inputs of their kind
    assert page.locator("[data-action-card='0'] [name='actions.0.title']").is_visible()
    assert not page.locator("[data-action-card='0'] [name='actions.0.tag']").is_visible()
    page.select_option("[name='rows.0.field']", "type")
    page.fill("[name='rows.0.value']", "vehicle")
    page.screenshot(path=str(SHOTS / "rule-editor-zh_CN.png"), full_page=True)
    page.click("[data-testid=save-rule]")
    page.wait_for_selector("[data-testid=preview-total]")
    page.click("[data-testid=switch-rule]")
    assert page.inner_text("[data-testid=rule-state]") == "on" or "启" in page.inner_text("[data-testid=rule-state]")


def test_admin_sees_the_workflow_drawn_and_edits_it(two_tenants, live_server, page, in_tenant):
    from storecrm.users.models import User

    alpha, _ = two_tenants
    with in_tenant(alpha) as s:
        s.get(User, (alpha.id, alpha.users["admin"])).locale = "zh_CN"
    SHOTS.mkdir(parents=True, exist_ok=True)
    _login(page, live_server, alpha.emails["admin"], None)
    page.goto(f"{live_server}/t/alpha/workflows/")
    page.click("[data-testid=copy-quote_approval]")
    diagram = page.locator("[data-testid=diagram]")
    diagram.wait_for()
    assert "报价草稿" in diagram.text_content() and "提交审批" in diagram.text_content()
    page.screenshot(path=str(SHOTS / "workflow-definition-zh_CN.png"), full_page=True)
    page.click("[data-testid=edit-workflow]")
    page.fill("[name='states.1.deadline_hours']", "abc")
    page.click("[data-testid=save-workflow]")
    page.wait_for_selector("[data-testid=form-errors]")
    page.screenshot(path=str(SHOTS / "workflow-editor-error-zh_CN.png"), full_page=False)
    page.fill("[name='states.1.deadline_hours']", "48")
    page.click("[data-testid=save-workflow]")
    page.wait_for_selector("text=第 2 版")  # versions are written out in the reader's language


def test_a_chain_signs_up_in_the_browser_and_lands_in_its_workspace(two_tenants, live_server, page, system_db):
    """zh_CN, on a phone: the signup form (a taken address is refused live), the mail's link, sign-in, the empty
    workspace with its first-run checklist."""
    import re

    from sqlalchemy import text

    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/")
    page.click("[data-testid=language-switch]")
    page.click("[data-locale=zh_CN]")
    page.click("[data-testid=signup-link]")
    page.fill("#f-chain_name", "鸣笛汽车音响")
    page.fill("#f-slug", "alpha")
    page.wait_for_selector("[data-slug-status].text-danger")
    assert "已被使用" in page.inner_text("[data-slug-status]") or page.inner_text("[data-slug-status]")
    page.fill("#f-slug", "mingdi")
    page.wait_for_selector("[data-slug-status].text-success")
    page.fill("#f-admin_name", "陈志远")
    page.fill("#f-email", "chen@mingdi.cn")
    page.fill("#f-mobile", "139 1600 0001")
    page.fill("#f-password", "long-enough-password")
    page.screenshot(path=str(SHOTS / "signup-phone-zh_CN.png"), full_page=True)
    page.click("[data-testid=signup-submit]")
    page.wait_for_selector("[data-testid=signup-sent]")
    with system_db.connect() as conn:
        body = conn.execute(text("SELECT body FROM outbox_messages WHERE recipient = 'chen@mingdi.cn'")).scalar()
    link = re.search(r"/signup/verify/\S+", body).group(0)
    page.goto(live_server + link)
    page.fill("#login", "chen@mingdi.cn")
    page.fill("#password", "long-enough-password")
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=checklist]")
    assert "添加门店" in page.inner_text("[data-testid=checklist]")
    page.screenshot(path=str(SHOTS / "signup-first-run-zh_CN.png"), full_page=True)
    page.goto(f"{live_server}/t/mingdi/customers/")
    assert "ALPHA" not in page.content() and "BETA" not in page.content()
    page.goto(f"{live_server}/t/alpha/customers/")
    assert "/t/alpha/login" in page.url  # signed in to mingdi only
