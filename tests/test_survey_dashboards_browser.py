"""On a phone (375 px, zh_CN): a customer gives a low score, the conditional "what went wrong" question appears, they
pick a reason and the store manager sees the complaint with it; a manager builds a personal dashboard and makes it
their home."""
from __future__ import annotations

import re

from sqlalchemy import select

from tests.test_browser import SHOTS, live_server, pytestmark  # noqa: F401  (fixture and skip mark)
from tests.test_reports_browser import phone  # noqa: F401  (fixture)


def _login(page, base, world, role):
    from storecrm.testing.fixtures import PASSWORD

    page.goto(f"{base}/t/{world.slug}/login")
    page.fill("#login", world.emails[role])
    page.fill("#password", PASSWORD)
    page.click("[data-testid=login-submit]")
    page.wait_for_selector("[data-testid=greeting]")


def test_a_low_score_asks_why_and_the_manager_sees_the_reason_on_a_phone(make_tenant, in_tenant, live_server, phone):
    from storecrm.customers.models import Customer
    from storecrm.notifications.models import OutboxMessage
    from storecrm.surveys import services as surveys

    alpha = make_tenant("alpha", locale="zh_CN")
    with in_tenant(alpha) as session:
        customer = Customer(name="周先生", mobile="+8613900000123", store_id=alpha.stores[0])
        session.add(customer)
        session.flush()
        survey = surveys.create_survey({"name": "保养满意度", "kind": "csat", "low_score": 2, "questions": [
            {"code": "overall", "label_zh": "您对本次保养总体满意吗?", "label_en": "Overall"},
            {"code": "why", "label_zh": "哪里让您不满意?", "label_en": "What went wrong?", "type": "choice",
             "required": True, "condition": {"question": "overall", "op": "le", "value": 3}, "options": [
                 {"code": "wait", "label_zh": "等待时间太长", "label_en": "Waited too long"},
                 {"code": "price", "label_zh": "收费不透明", "label_en": "Unclear price"},
                 {"code": "attitude", "label_zh": "服务态度", "label_en": "Attitude"}]},
            {"code": "advisor", "label_zh": "服务顾问的态度", "label_en": "Advisor",
             "condition": {"question": "why", "op": "eq", "value": "attitude"}}]})
        invitation = surveys.send_survey(survey, customer)
        sms = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"survey:{invitation.id}"))
        token = re.search(r"/survey/(\S+)", sms.body).group(1)
        customer_id, survey_id = customer.id, survey.id
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, base = phone, live_server
    page.goto(f"{base}/t/alpha/survey/{token}")
    page.wait_for_selector("[data-testid=survey-form]")
    assert page.is_hidden("[data-testid=question-why]") and page.is_hidden("[data-testid=question-advisor]")
    page.screenshot(path=str(SHOTS / "survey-conditional-start-375-zh.png"), full_page=True)
    page.click("label[for='s-overall-2']")
    page.wait_for_selector("[data-testid=question-why]", state="visible")
    assert page.is_hidden("[data-testid=question-advisor]")  # only when the reason is the attitude
    page.click("label[for='s-why-attitude']")
    page.wait_for_selector("[data-testid=question-advisor]", state="visible")
    page.click("label[for='s-why-wait']")  # changed their mind: the advisor question goes away again
    page.wait_for_selector("[data-testid=question-advisor]", state="hidden")
    page.fill("#f-comment", "等了两个小时")
    page.screenshot(path=str(SHOTS / "survey-conditional-reason-375-zh.png"), full_page=True)
    page.click("[data-testid=submit]")
    page.wait_for_selector("[data-testid=survey-done]")
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors

    page.context.clear_cookies()
    _login(page, base, alpha, "manager")
    page.goto(f"{base}/t/alpha/customers/{customer_id}")
    page.wait_for_selector("[data-testid=survey-panel]")
    panel = page.inner_text("[data-testid=survey-panel]")
    assert "等待时间太长" in panel and "等了两个小时" in panel and "服务顾问" not in panel
    page.screenshot(path=str(SHOTS / "survey-conditional-manager-375-zh.png"), full_page=True)
    from storecrm.activities.models import Task

    with in_tenant(alpha) as session:
        task = session.scalar(select(Task).where(Task.related_type == "survey_response"))
        assert task.assignee_id == alpha.users["manager"] and "原因:等待时间太长" in task.notes
        task_id = task.id
    page.goto(f"{base}/t/alpha/tasks/")
    assert "周先生" in page.content() and task_id
    page.screenshot(path=str(SHOTS / "survey-conditional-task-375-zh.png"), full_page=True)

    # the owner's edit form shows the conditions
    page.context.clear_cookies()
    _login(page, base, alpha, "owner")
    page.goto(f"{base}/t/alpha/surveys/{survey_id}/edit")
    page.wait_for_selector("[data-testid=question-row-1]")
    assert page.input_value("[name='q1.cond_question']") == "overall"
    assert page.input_value("[name='q1.cond_value']") == "3"
    page.screenshot(path=str(SHOTS / "survey-conditional-edit-375-zh.png"), full_page=True)


def test_a_manager_builds_a_personal_dashboard_on_a_phone(make_tenant, in_tenant, live_server, phone):
    from storecrm.reports import services as reports
    from storecrm.reports.models import Dashboard
    from storecrm.users.models import User

    alpha = make_tenant("alpha", locale="zh_CN")
    with in_tenant(alpha) as session:
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        reports.save_dashboard(owner, None, {"name": "店长看板", "role_id": alpha.roles["manager"], "items": [
            {"kind": "kpi", "code": "customers.new", "chart": "number"},
            {"kind": "kpi", "code": "tasks.overdue", "chart": "number"}]})
    SHOTS.mkdir(parents=True, exist_ok=True)
    page, base = phone, live_server
    _login(page, base, alpha, "manager")
    page.goto(f"{base}/t/alpha/reports/")
    page.click("[data-testid=copy-dashboard]")
    page.wait_for_selector("[data-testid=add-item]")
    page.select_option("#f-code", "kpi:customers.active")
    page.select_option("#f-chart", "bar")
    page.click("[data-testid=add-item] button[type=submit]")
    page.wait_for_selector("[data-testid=items] li:nth-child(3)")
    page.click("[data-testid=up-2]")  # the new card first … almost
    page.wait_for_selector("[data-testid=items]")
    page.click("[data-testid=remove-0]")
    page.wait_for_selector("[data-testid=items]")
    page.screenshot(path=str(SHOTS / "dashboard-personal-compose-375-zh.png"), full_page=True)
    with in_tenant(alpha) as session:
        mine = session.scalar(select(Dashboard).where(Dashboard.owner_id == alpha.users["manager"]))
        assert [i["code"] for i in mine.items] == ["customers.active", "tasks.overdue"]
        board_id = mine.id
    page.goto(f"{base}/t/alpha/reports/dashboards/{board_id}")
    page.wait_for_selector("[data-testid=chart-bar] canvas")
    assert page.is_visible("[data-testid=personal-badge]")
    page.click("[data-testid=make-home]")
    page.wait_for_selector("[data-testid=make-home]")
    page.screenshot(path=str(SHOTS / "dashboard-personal-375-zh.png"), full_page=True)
    page.goto(f"{base}/t/alpha/")
    page.wait_for_selector("[data-testid=workbench]")
    assert "我的店长看板副本" in page.inner_text("main") if page.locator("main").count() else \
        "我的店长看板副本" in page.content()
    page.screenshot(path=str(SHOTS / "dashboard-personal-home-375-zh.png"), full_page=True)
    assert not [e for e in page.errors if "Content Security Policy" in e], page.errors
