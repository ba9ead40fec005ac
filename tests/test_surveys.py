"""Satisfaction surveys: a rule sends one through the outbox, the customer answers once on a phone, a low score
becomes exactly one call-back task for the store manager and an event rules and webhooks hear; KPIs from answers."""
from __future__ import annotations

import re
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from storecrm.activities.models import Task
from storecrm.customers.models import Customer
from storecrm.notifications.models import OutboxMessage
from storecrm.reports import engine
from storecrm.reports.periods import period_of
from storecrm.surveys import services
from storecrm.surveys.models import SurveyInvitation, SurveyResponse
from storecrm.users.models import User

LINK = re.compile(r"/t/(?P<slug>[a-z0-9-]+)/survey/(?P<token>[A-Za-z0-9_-]+)")


def _send(in_tenant, world, kind="csat", customer_index=0):
    """Send `kind` to one of the world's customers; returns (survey id, token from the queued SMS)."""
    with in_tenant(world) as session:
        survey = services.create_from_template(kind)
        customer = session.get(Customer, (world.id, world.customers[customer_index]))
        invitation = services.send_survey(survey, customer)
        message = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"survey:{invitation.id}"))
        assert message.channel == "sms" and message.recipient == customer.mobile
        return survey.id, LINK.search(message.body).group("token")


def test_a_rule_sends_a_survey_through_the_outbox_once_per_record(two_tenants, in_tenant):
    from storecrm.customers.services import create_customer
    from storecrm.rules.engine import save

    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        survey = services.create_from_template("nps")
        save(None, {"name": "ask after signup", "entity": "customer", "enabled": True,
                    "trigger": {"type": "event", "event": "created"},
                    "actions": [{"type": "plugin", "action": "surveys.send", "params": {"survey_id": survey.id}}]})
    with in_tenant(alpha) as session:
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        create_customer(owner, {"name": "新客户", "mobile": "+8613912345678", "store_id": alpha.stores[0]})
    with in_tenant(alpha) as session:
        sms = session.scalars(select(OutboxMessage).where(OutboxMessage.dedupe_key.like("survey:%"))).all()
        assert len(sms) == 1 and sms[0].recipient == "+8613912345678" and "/t/alpha/survey/" in sms[0].body
        assert session.scalar(select(func.count()).select_from(SurveyInvitation)) == 1
        # throttled: the same customer is not asked again within the survey's 30 days
        customer = session.scalar(select(Customer).where(Customer.name == "新客户"))
        assert services.send_survey(survey, customer) is None


def test_the_public_page_answers_once_per_token(two_tenants, in_tenant, app):
    alpha, beta = two_tenants
    survey_id, token = _send(in_tenant, alpha)
    client = app.test_client()
    page = client.get(f"/t/alpha/survey/{token}")
    body = page.get_data(as_text=True)
    assert page.status_code == 200 and "施工/维修质量" in body  # zh_CN by default
    assert "ALPHA-customer" not in body and "+86" not in body  # nothing about the customer, nor anyone else
    # the token means nothing in another tenant, nor does a made-up one
    assert client.get(f"/t/beta/survey/{token}").status_code == 404
    assert client.get("/t/alpha/survey/not-a-token").status_code == 404
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    answers = {"csrf_token": csrf, "score.advisor": "5", "score.quality": "4", "score.timeliness": "5",
               "score.facility": "4", "comment": "很好"}
    bad = client.post(f"/t/alpha/survey/{token}", data={**answers, "score.quality": "9"})
    assert bad.status_code == 422
    assert client.post(f"/t/alpha/survey/{token}", data={**answers, "score.quality": "<script>"}).status_code == 422
    assert client.post(f"/t/alpha/survey/{token}", data=answers).status_code == 200
    again = client.post(f"/t/alpha/survey/{token}", data={**answers, "score.advisor": "1"})
    assert again.status_code == 200 and "already answered" in again.get_data(as_text=True).lower() or \
        "已" in again.get_data(as_text=True)
    with in_tenant(alpha) as session:
        responses = session.scalars(select(SurveyResponse)).all()
        assert len(responses) == 1 and responses[0].score == 4 and not responses[0].low
        assert session.scalar(select(func.count()).select_from(Task)) == 0


def test_two_answers_racing_on_one_link_store_one(two_tenants, in_tenant, app):
    alpha, _ = two_tenants
    _survey_id, token = _send(in_tenant, alpha, "nps")
    outcomes, barrier = [], threading.Barrier(2)

    def answer(score):
        with in_tenant(alpha):
            invitation = services.invitation_for_token(token)
            barrier.wait()
            try:
                outcomes.append(services.answer(invitation, {"recommend": score}, None))
            except Exception as err:  # the unique key may be what stops the loser
                outcomes.append(err)

    threads = [threading.Thread(target=answer, args=(s,)) for s in (2, 10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    with in_tenant(alpha) as session:
        assert session.scalar(select(func.count()).select_from(SurveyResponse)) == 1
        # at most one escalation, whichever answer won
        assert session.scalar(select(func.count()).select_from(Task)) <= 1


def test_a_low_score_creates_exactly_one_task_for_the_store_manager_and_an_event(two_tenants, in_tenant, app):
    from storecrm.notifications.models import WebhookEndpoint
    from storecrm.rules.engine import save

    alpha, _ = two_tenants
    survey_id, token = _send(in_tenant, alpha, "nps", customer_index=0)  # customer 0 is in store 1
    with in_tenant(alpha) as session:
        session.add(WebhookEndpoint(url="https://erp.example.com/hook", secret="whsec_x",
                                    events=["survey.low_score"]))
        save(None, {"name": "low score tag", "entity": "customer", "enabled": True,
                    "trigger": {"type": "event", "event": "survey_low_score"},
                    "actions": [{"type": "add_tag", "tag": "投诉"}]})
    client = app.test_client()
    body = client.get(f"/t/alpha/survey/{token}").get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', body).group(1)
    resp = client.post(f"/t/alpha/survey/{token}", data={"csrf_token": csrf, "score.recommend": "3",
                                                          "comment": "等了两个小时"})
    assert resp.status_code == 200
    client.post(f"/t/alpha/survey/{token}", data={"csrf_token": csrf, "score.recommend": "0"})  # answered already
    with in_tenant(alpha) as session:
        tasks = session.scalars(select(Task)).all()
        assert len(tasks) == 1
        task = tasks[0]
        assert task.assignee_id == alpha.users["manager"] and task.customer_id == alpha.customers[0]
        assert task.priority == "high" and task.related_type == "survey_response"
        response = session.scalar(select(SurveyResponse))
        assert response.low and response.escalation_task_id == task.id
        assert timedelta(hours=23) < task.due_at - response.submitted_at <= timedelta(hours=24, seconds=30)
        assert "等了两个小时" in task.notes
        hooks = session.scalars(select(OutboxMessage).where(OutboxMessage.channel == "webhook")).all()
        assert [m.payload["event"]["type"] for m in hooks] == ["survey.low_score"]
        assert "投诉" in session.get(Customer, (alpha.id, alpha.customers[0])).tags


def test_survey_kpis_per_tenant(two_tenants, in_tenant):
    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        nps = services.create_from_template("nps")
        csat = services.create_from_template("csat")
        nps.throttle_days = csat.throttle_days = 0
        customer = session.get(Customer, (alpha.id, alpha.customers[0]))
        # NPS answers 10, 9, 8, 6, 3: 2 promoters, 2 detractors of 5 -> 0; one invitation left unanswered
        for score in (10, 9, 8, 6, 3):
            services.answer(services.send_survey(nps, customer), {"recommend": score}, None)
        services.send_survey(nps, customer)
        services.answer(services.send_survey(csat, customer),
                        {"advisor": 5, "quality": 4, "timeliness": 3, "facility": 4}, None)
    with in_tenant(beta) as session:
        nps = services.create_from_template("nps")
        customer = session.get(Customer, (beta.id, beta.customers[0]))
        services.answer(services.send_survey(nps, customer), {"recommend": 10}, None)
    with in_tenant(alpha) as session:
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        scope = engine.scope_for(owner, period_of("month"))
        kpis = [engine.get_kpi(owner, c) for c in ("surveys.nps", "surveys.csat", "surveys.response_rate")]
        results = engine.evaluate(kpis, scope)
        assert results["surveys.nps"].value == Decimal("0.0") and results["surveys.nps"].n == 5
        assert results["surveys.csat"].value == Decimal("4.00") and results["surveys.csat"].n == 4
        assert results["surveys.response_rate"].value == Decimal("85.7")  # 6 of 7
        by_dimension = engine.breakdown(kpis[1], scope, "dimension")
        assert [(k, v) for k, _label, v, _n in by_dimension][0] == ("advisor", Decimal("5.00"))
    with in_tenant(beta) as session:
        owner = session.get(User, (beta.id, beta.users["owner"]))
        result = engine.evaluate([engine.get_kpi(owner, "surveys.nps")], engine.scope_for(owner, period_of("month")))
        assert result["surveys.nps"].value == Decimal("100.0") and result["surveys.nps"].n == 1


def test_results_on_the_customer_page(two_tenants, in_tenant, login, app):
    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        survey = services.create_from_template("nps")
        customer = session.get(Customer, (alpha.id, alpha.customers[0]))
        services.answer(services.send_survey(survey, customer), {"recommend": 4}, "太慢")
    page = login(alpha, "manager").get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    assert 'data-testid="survey-panel"' in page and "太慢" in page
    # the technician may not see survey answers
    tech = login(alpha, "technician").get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    assert 'data-testid="survey-panel"' not in tech


def test_staff_pages(two_tenants, login, in_tenant):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    assert b.get("/t/alpha/surveys/").status_code == 200
    resp = b.post("/t/alpha/surveys/from-template", {"template": "csat"})
    assert resp.status_code == 302
    edit = resp.headers["Location"]
    assert b.get(edit).status_code == 200
    assert b.post(edit, {"name": "", "q0.code": "advisor", "q0.label_zh": "顾问"}).status_code == 422
    assert b.post(edit, {"name": "售后满意度", "q0.code": "advisor", "q0.label_zh": "顾问", "low_score": "2",
                         "active": "1"}).status_code == 302
    with in_tenant(alpha) as session:
        survey = services.surveys()[0]
        assert survey.version == 2 and survey.questions == [{"code": "advisor", "label_zh": "顾问", "label_en": ""}]
    send = b.post(f"/t/alpha/surveys/{survey.id}/send", {"customer_id": str(alpha.customers[0])})
    assert send.status_code == 302
    with in_tenant(alpha) as session:
        assert session.scalar(text("SELECT count(*) FROM survey_invitations")) == 1


def test_complaints_by_reason_category_and_the_complaint_rate(two_tenants, in_tenant):
    """A complaint is an answer at or below the survey's threshold; the reason category is the first one picked."""
    from tests.test_survey_conditions import conditional_csat
    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        csat = services.create_survey(conditional_csat(throttle_days=0))  # complaint at overall <= 2
        nps = services.create_from_template("nps")
        nps.throttle_days = 0
        customer = session.get(Customer, (alpha.id, alpha.customers[0]))
        for overall, why in ((1, "wait"), (2, "wait"), (2, "price"), (3, "attitude"), (5, None)):
            given = {"overall": overall, **({"why": why} if why else {})}
            if why == "attitude":
                given["advisor"] = 4
            services.answer(services.send_survey(csat, customer), given, None)
        for score in (10, 3):  # the NPS template's threshold is 6: one complaint, no reason asked
            services.answer(services.send_survey(nps, customer), {"recommend": score}, None)
    with in_tenant(beta) as session:
        nps = services.create_from_template("nps")
        customer = session.get(Customer, (beta.id, beta.customers[0]))
        services.answer(services.send_survey(nps, customer), {"recommend": 0}, None)
    with in_tenant(alpha) as session:
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        scope = engine.scope_for(owner, period_of("month"))
        count, rate = engine.get_kpi(owner, "surveys.complaints"), engine.get_kpi(owner, "surveys.complaint_rate")
        results = engine.evaluate([count, rate], scope)
        assert results["surveys.complaints"].value == 4  # 1, 2, 2 on CSAT and 3 on NPS
        assert results["surveys.complaint_rate"].value == Decimal("57.1")  # 4 of 7
        by_reason = {key: (label, value) for key, label, value, _n in engine.breakdown(count, scope, "reason")}
        assert by_reason == {"wait": ("Waited too long", 2), "price": ("Unclear price", 1),
                             "none": ("No reason given", 1)}
        rate_by_reason = {key: value for key, _l, value, _n in engine.breakdown(rate, scope, "reason")}
        assert rate_by_reason["attitude"] == Decimal("0.0") and rate_by_reason["none"] == Decimal("33.3")  # 5 and NPS 10, 3
        # the drill-down lists exactly the complaints counted
        rows = engine.records(count, scope)
        assert sorted(r["score"] for r in rows) == [1, 2, 2, 3]
        assert {r["reason_name"] for r in rows} == {"Waited too long", "Unclear price", "No reason given"}
    with in_tenant(beta) as session:
        owner = session.get(User, (beta.id, beta.users["owner"]))
        result = engine.evaluate([engine.get_kpi(owner, "surveys.complaints")],
                                 engine.scope_for(owner, period_of("month")))
        assert result["surveys.complaints"].value == 1


def test_a_manager_sends_a_survey_from_the_customer_page_and_reads_complaints_by_reason(make_tenant, in_tenant,
                                                                                          login):
    """zh_CN, as staff meet it: the customer's survey box links to sending one; the answers list names the customer;
    the complaint KPI page breaks down by reason category; the timeline shows no raw codes."""
    from tests.test_survey_conditions import conditional_csat
    alpha = make_tenant("alpha", locale="zh_CN")
    with in_tenant(alpha) as session:
        survey = services.create_survey(conditional_csat(throttle_days=0))
        customer = session.get(Customer, (alpha.id, alpha.customers[0]))
        name = customer.name
    owner = login(alpha, "owner")
    page = owner.get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    assert f"/t/alpha/surveys/?customer_id={alpha.customers[0]}" in page and "发送满意度问卷" in page
    choose = owner.get(f"/t/alpha/surveys/?customer_id={alpha.customers[0]}").get_data(as_text=True)
    assert f"选择要发送给{name}的问卷" in choose and "发送问卷" in choose
    sent = owner.post(f"/t/alpha/surveys/{survey.id}/send", {"customer_id": str(alpha.customers[0])})
    assert sent.status_code == 302
    with in_tenant(alpha) as session:
        invitation = session.scalar(select(SurveyInvitation).where(SurveyInvitation.customer_id == alpha.customers[0]))
        services.answer(invitation, {"overall": 1, "why": "wait"}, "等了两个小时")
    answers = owner.get(f"/t/alpha/surveys/{survey.id}").get_data(as_text=True)
    assert name in answers and "客户 #" not in answers
    kpi = owner.get("/t/alpha/reports/kpis/surveys.complaints?by=reason").get_data(as_text=True)
    assert 'data-testid="breakdown-table"' in kpi and "等待太久" in kpi and "按门店" in kpi
    timeline = owner.get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    assert "· open" not in timeline and "· system" not in timeline
