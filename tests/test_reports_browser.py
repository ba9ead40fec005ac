"""On a phone (375 px, zh_CN): the manager's workbench, a dashboard with a line, a bar and a pie chart, drill-down from
a number to its records, a report built with the report builder, and a customer answering a survey with a low
score."""
from __future__ import annotations

import re
from datetime import datetime, time, timedelta

import pytest
from sqlalchemy import select

from tests.test_browser import CHROMIUM, SHOTS, live_server, pytestmark  # noqa: F401  (fixture and skip mark)


@pytest.fixture
def phone():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=[
            "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"])
        context = browser.new_context(viewport={"width": 375, "height": 812}, locale="zh-CN", device_scale_factor=2)
        page = context.new_page()
        errors = []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.errors = errors
        yield page
        context.close()
        browser.close()


def _seed(in_tenant, world):
    from storecrm.activities.models import Interaction, Task
    from storecrm.customers.models import Customer
    from storecrm.reports import services as reports
    from storecrm.surveys import services as surveys
    from storecrm.calendar import tenant_today, tenant_zone
    from storecrm.tenancy.models import utcnow
    from storecrm.users.models import User

    now = utcnow()
    with in_tenant(world) as session:
        names = ["王先生", "李女士", "张总", "陈师傅", "刘小姐", "赵先生", "孙女士"]
        made = []
        for i, name in enumerate(names):
            c = Customer(name=name, mobile=f"+86139000000{i:02d}", store_id=world.stores[i % 2],
                         created_at=now - timedelta(days=i % 5))
            session.add(c)
            made.append(c)
        session.flush()
        for i, c in enumerate(made[:5]):
            session.add(Interaction(customer_id=c.id, kind=("call", "visit")[i % 2], body="回访",
                                    user_id=world.users["manager"], occurred_at=now - timedelta(hours=i)))
        session.add(Task(title="回访王先生的安装效果", assignee_id=world.users["manager"], customer_id=made[0].id,
                         # later today in the tenant's zone, whatever the hour the test runs at
                         due_at=datetime.combine(tenant_today(), time(23, 59), tzinfo=tenant_zone())))
        session.add(Task(title="确认李女士的保养预约", assignee_id=world.users["manager"], customer_id=made[1].id,
                         due_at=now - timedelta(hours=3)))
        nps, csat = surveys.create_from_template("nps"), surveys.create_from_template("csat")
        nps.throttle_days = csat.throttle_days = 0
        for c, score in zip(made, (10, 9, 9, 7, 4)):
            surveys.answer(surveys.send_survey(nps, c), {"recommend": score}, None)
        for c, scores in zip(made[:3], ((5, 4, 5, 4), (4, 3, 4, 5), (5, 5, 4, 4))):
            surveys.answer(surveys.send_survey(csat, c), dict(zip(("advisor", "quality", "timeliness", "facility"),
                                                                   scores)), None)
        owner = session.get(User, (world.id, world.users["owner"]))
        board = reports.save_dashboard(owner, None, {"name": "店长看板", "role_id": world.roles["manager"], "items": [
            {"kind": "kpi", "code": "customers.new", "chart": "line"},
            {"kind": "kpi", "code": "surveys.csat", "chart": "bar"},
            {"kind": "kpi", "code": "customers.active", "chart": "pie"},
            {"kind": "kpi", "code": "surveys.nps", "chart": "number"},
            {"kind": "kpi", "code": "tasks.overdue", "chart": "number"}]})
        from decimal import Decimal

        from storecrm.sales import services as sales

        for c, amount in ((made[0], "1280"), (made[2], "3600"), (made[4], "880")):  # store one's customers
            order = sales.create_order(owner, {"customer_id": c.id, "store_id": world.stores[0], "lines": [
                {"description": "功放安装", "unit_price": Decimal(amount), "quantity": Decimal(1)}]})
            sales.record_payment(owner, order, {"method": "wechat_pay", "amount": Decimal(amount)})
        invitation = surveys.send_survey(nps, made[6])
        from storecrm.notifications.models import OutboxMessage

        sms = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"survey:{invitation.id}"))
        return board.id, re.search(r"/survey/(\S+)", sms.body).group(1)


def test_manager_workbench_dashboard_and_a_low_score_on_a_phone(make_tenant, in_tenant, live_server, phone):
    from storecrm.testing.fixtures import PASSWORD

    from storecrm.tenancy.models import current_tenant_row

    alpha = make_tenant("alpha", locale="zh_CN")
    board_id, token = _seed(in_tenant, alpha)
    with in_tenant(alpha):
        current_tenant_row().name = "鸣笛汽车音响改装连锁（上海徐汇旗舰店）"  # a real chain's name is long
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, base = phone, live_server
    page.goto(f"{base}/t/alpha/login")
    page.fill("#login", alpha.emails["manager"])
    page.fill("#password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=workbench]")
    # the top bar keeps the account menu on the name's row: the name is cut short instead
    name_box, menu_box = (page.locator(f"[data-testid={t}]").bounding_box() for t in ("tenant-name", "user-menu"))
    assert abs(name_box["y"] + name_box["height"] / 2 - (menu_box["y"] + menu_box["height"] / 2)) < 8
    assert page.locator("[data-testid=my-day] li").count() == 2
    page.screenshot(path=str(SHOTS / "reports-home-375-zh.png"), full_page=True)

    page.goto(f"{base}/t/alpha/reports/dashboards/{board_id}")
    for chart in ("line", "bar", "pie"):
        page.wait_for_selector(f"[data-testid=chart-{chart}] canvas")  # ECharts drew it
    page.screenshot(path=str(SHOTS / "reports-dashboard-375-zh.png"), full_page=True)

    # from a number to its records
    page.click("[data-testid=dashboard] [data-kpi='surveys.nps']")
    page.wait_for_selector("[data-testid=records]")
    # the manager works in store 1: the three answers of store 1 customers, as the card counted
    assert page.locator("[data-testid=records] tbody tr[data-record]").count() == 3
    page.screenshot(path=str(SHOTS / "reports-drilldown-375-zh.png"), full_page=True)
    # a KPI broken down by one of its dimensions: horizontal bars, every label shown, and the table
    page.goto(f"{base}/t/alpha/reports/kpis/surveys.csat?by=dimension")
    page.wait_for_selector("[data-testid=breakdown-table] tbody tr")
    page.wait_for_selector("[data-testid=chart] canvas")
    assert page.locator("[data-testid=breakdown-table] tbody tr").count() >= 2
    page.click("[data-testid=by-store_id]")
    page.wait_for_selector("[data-testid=by-store_id].btn-secondary")
    page.screenshot(path=str(SHOTS / "reports-breakdown-375-zh.png"), full_page=True)

    # the report builder: paid orders summed by store, as a table and a bar chart
    page.goto(f"{base}/t/alpha/reports/builder/new?entity=orders")
    page.wait_for_selector("[data-testid=builder-form]")
    page.fill("#f-name", "门店收款汇总")
    page.select_option("#f-group_by", "store")
    page.select_option("#f-chart", "bar")
    page.select_option("#f-aggregate", "sum")
    page.select_option("#f-measure", "paid_total")
    page.screenshot(path=str(SHOTS / "report-builder-form-375-zh.png"), full_page=True)
    page.click("[data-testid=save]")
    page.wait_for_selector("[data-testid=chart] canvas")
    assert "5760.00" in page.inner_text("[data-testid=report-rows]")  # 1280 + 3600 + 880
    page.screenshot(path=str(SHOTS / "report-builder-result-375-zh.png"), full_page=True)

    # the same orders as a pie, a funnel, a pivot (store × status) and a number with its change on last month
    for chart, extra, drawn in (("pie", {}, "[data-testid=chart] canvas"),
                                ("funnel", {}, "[data-testid=chart] canvas"),
                                ("pivot", {"#f-group_by2": "state"}, "[data-testid=report-pivot]"),
                                ("number", {"#f-date_field": "created_at"}, "[data-testid=report-number]")):
        page.goto(f"{base}/t/alpha/reports/builder/new?entity=orders")
        page.fill("#f-name", {"pie": "订单饼图", "funnel": "订单漏斗", "pivot": "门店×状态", "number": "本月订单"}[chart])
        if chart != "number":
            page.select_option("#f-group_by", "store")
        page.select_option("#f-chart", chart)
        for selector, value in extra.items():
            page.select_option(selector, value)
        page.click("[data-testid=save]")
        page.wait_for_selector(drawn)
        page.screenshot(path=str(SHOTS / f"report-builder-{chart}-375-zh.png"), full_page=True)
    assert page.inner_text("[data-testid=report-number] .display-6").strip() == "3"

    # the pie report as a card on the dashboard, and this month's target for the manager's store
    from storecrm.reports import targets
    from storecrm.reports.models import Dashboard, SavedReport
    from storecrm.reports.periods import report_today
    from storecrm.users.models import User

    with in_tenant(alpha) as session:
        pie = session.scalar(select(SavedReport).where(SavedReport.name == "订单饼图"))
        board = session.get(Dashboard, (alpha.id, board_id))
        board.items = [*board.items, {"kind": "report", "code": str(pie.id)}]
        targets.set_target(session.get(User, (alpha.id, alpha.users["owner"])), {
            "kpi_code": "customers.new", "month": f"{report_today():%Y-%m}", "value": "10",
            "store_id": alpha.stores[0]})
    page.goto(f"{base}/t/alpha/reports/dashboards/{board_id}")
    page.wait_for_selector(f"[data-report='{pie.id}'] canvas")
    page.screenshot(path=str(SHOTS / "reports-dashboard-report-card-375-zh.png"), full_page=True)
    page.goto(f"{base}/t/alpha/reports/targets")
    page.wait_for_selector("[data-testid=targets] [data-target]")
    assert "%" in page.inner_text("[data-testid=achievement]")
    page.screenshot(path=str(SHOTS / "reports-targets-375-zh.png"), full_page=True)

    # a customer answers with a low score
    page.context.clear_cookies()
    page.goto(f"{base}/t/alpha/survey/{token}")
    page.wait_for_selector("[data-testid=survey-form]")
    page.screenshot(path=str(SHOTS / "survey-public-375-zh.png"), full_page=True)
    page.click("label[for='s-recommend-2']")
    page.fill("#f-comment", "等了很久,没人跟进")
    page.click("[data-testid=submit]")
    page.wait_for_selector("[data-testid=survey-done]")
    page.screenshot(path=str(SHOTS / "survey-done-375-zh.png"), full_page=True)
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors

    from storecrm.activities.models import Task

    with in_tenant(alpha) as session:
        escalations = session.scalars(select(Task).where(Task.related_type == "survey_response")).all()
        mine = [t for t in escalations if "没人跟进" in (t.notes or "")]  # the seed's score of 4 made another
        assert len(mine) == 1 and mine[0].assignee_id == alpha.users["manager"]
