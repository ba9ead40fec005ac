"""Conditional survey questions: "what went wrong" (reason categories) asked only after a low overall score, checked
on save (only earlier questions), decided by the server on submit (the page works without JavaScript), hidden
answers not stored, CSAT counting shown answers only, old links answered with the questions they were sent with."""
from __future__ import annotations

import re
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from sqlalchemy import select

from storecrm.customers.models import Customer
from storecrm.notifications.models import OutboxMessage
from storecrm.reports import engine
from storecrm.reports.periods import period_of
from storecrm.surveys import services
from storecrm.surveys.models import SurveyAnswer, SurveyResponse
from storecrm.users.models import User

REASONS = [{"code": "wait", "label_zh": "等待太久", "label_en": "Waited too long"},
           {"code": "price", "label_zh": "价格不透明", "label_en": "Unclear price"},
           {"code": "attitude", "label_zh": "服务态度", "label_en": "Attitude"}]


def conditional_csat(**overrides):
    return {"name": "售后满意度", "kind": "csat", "low_score": 2, "questions": [
        {"code": "overall", "label_zh": "总体满意度", "label_en": "Overall"},
        {"code": "why", "label_zh": "哪里做得不好?", "label_en": "What went wrong?", "type": "choice",
         "options": REASONS, "required": True, "condition": {"question": "overall", "op": "le", "value": 3}},
        {"code": "advisor", "label_zh": "顾问", "label_en": "Advisor",
         "condition": {"question": "why", "op": "in", "value": ["attitude"]}}], **overrides}


def _invite(session, world, survey, index=0):
    customer = session.get(Customer, (world.id, world.customers[index]))
    invitation = services.send_survey(survey, customer)
    sms = session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == f"survey:{invitation.id}"))
    return invitation, re.search(r"/survey/([A-Za-z0-9_-]+)", sms.body).group(1)


@pytest.mark.parametrize("condition, reason", [
    ({"question": "advisor", "op": "le", "value": 3}, "later"),     # a later question
    ({"question": "nope", "op": "eq", "value": 1}, "unknown"),      # no such question
    ({"question": "overall", "op": "le", "value": 9}, "range"),     # CSAT scores are 1–5
    ({"question": "overall", "op": "in", "value": 3}, "list"),      # "in" takes a list
])
def test_a_condition_refers_only_to_an_earlier_question_with_a_fitting_value(two_tenants, in_tenant, condition,
                                                                             reason):
    alpha, _ = two_tenants
    data = conditional_csat()
    data["questions"][1]["condition"] = condition
    with in_tenant(alpha):
        with pytest.raises(ValidationError) as err:
            services.create_survey(data)
        assert "questions.1.condition" in err.value.messages, reason
        # a question cannot hang on itself either, so no cycle is possible
        data["questions"][1]["condition"] = {"question": "why", "op": "eq", "value": "wait"}
        with pytest.raises(ValidationError):
            services.create_survey(data)
        # a reason question is compared with its own options, never with ≤ / ≥
        data["questions"][1]["condition"] = {"question": "overall", "op": "le", "value": 3}
        data["questions"][2]["condition"] = {"question": "why", "op": "ge", "value": "wait"}
        with pytest.raises(ValidationError) as err:
            services.create_survey(data)
        assert "questions.2.condition" in err.value.messages


def test_the_edit_form_names_the_bad_condition_in_chinese(make_tenant, in_tenant, login):
    alpha = make_tenant("alpha", locale="zh_CN")
    with in_tenant(alpha):
        survey = services.create_from_template("csat")
    b = login(alpha, "owner")
    form = {"name": "售后", "active": "1", "q0.code": "overall", "q0.label_zh": "总体",
            "q1.code": "why", "q1.label_zh": "原因", "q1.type": "choice", "q1.options": "wait | 等待太久 | Waited",
            "q1.cond_question": "later", "q1.cond_op": "le", "q1.cond_value": "3",
            "q2.code": "later", "q2.label_zh": "后面的问题"}
    page = b.post(f"/t/alpha/surveys/{survey.id}/edit", form)
    assert page.status_code == 422
    assert "条件只能引用前面的问题" in page.get_data(as_text=True)
    ok = b.post(f"/t/alpha/surveys/{survey.id}/edit", {**form, "q1.cond_question": "overall"})
    assert ok.status_code == 302
    with in_tenant(alpha):
        saved = services.get_survey(survey.id)
        assert saved.questions[1] == {"code": "why", "label_zh": "原因", "label_en": "", "type": "choice",
                                      "options": [{"code": "wait", "label_zh": "等待太久", "label_en": "Waited"}],
                                      "condition": {"question": "overall", "op": "le", "value": 3}}
    # the survey's page shows staff each question and when it is asked, in Chinese
    page = b.get(f"/t/alpha/surveys/{survey.id}").get_data(as_text=True)
    assert "当“总体” ≤ 3 时显示" in page and "等待太久" in page and "原因分类" in page


def test_without_javascript_the_server_decides_which_questions_count(two_tenants, in_tenant, app):
    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        survey = services.create_survey(conditional_csat())
        _invitation, happy = _invite(session, alpha, survey, 0)
        _invitation, unhappy = _invite(session, alpha, survey, 1)
    client = app.test_client()
    page = client.get(f"/t/alpha/survey/{happy}").get_data(as_text=True)
    # every question is on the page (no JS needed), the conditional one marked and wired for the static script
    assert "哪里做得不好?" in page and "data-condition=" in page and "js/surveys.js" in page and "<script>" not in page
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
    # a happy customer also ticked a reason (the question was hidden for them): ignored, not stored
    assert client.post(f"/t/alpha/survey/{happy}", data={
        "csrf_token": csrf, "score.overall": "5", "score.why": "price", "score.advisor": "1"}).status_code == 200
    # an unhappy one must say why (the shown question is required) …
    missing = client.post(f"/t/alpha/survey/{unhappy}", data={"csrf_token": csrf, "score.overall": "2"})
    assert missing.status_code == 422 and "请从列表中选择" in missing.get_data(as_text=True)  # zh_CN, the customer's
    bad = client.post(f"/t/alpha/survey/{unhappy}", data={"csrf_token": csrf, "score.overall": "2",
                                                         "score.why": "'; DROP TABLE surveys; --"})
    assert bad.status_code == 422
    # … and then the advisor question shows only when the reason is the attitude
    assert client.post(f"/t/alpha/survey/{unhappy}", data={
        "csrf_token": csrf, "score.overall": "2", "score.why": "wait", "score.advisor": "1"}).status_code == 200
    with in_tenant(alpha) as session:
        responses = {r.customer_id: r for r in session.scalars(select(SurveyResponse))}
        happy_answers = session.scalars(select(SurveyAnswer).where(
            SurveyAnswer.response_id == responses[alpha.customers[0]].id)).all()
        assert [(a.question, a.score, a.choice) for a in happy_answers] == [("overall", 5, None)]
        assert responses[alpha.customers[0]].score == 5 and not responses[alpha.customers[0]].low
        unhappy_answers = session.scalars(select(SurveyAnswer).where(
            SurveyAnswer.response_id == responses[alpha.customers[1]].id).order_by(SurveyAnswer.id)).all()
        assert [(a.question, a.score, a.choice, a.label) for a in unhappy_answers] == [
            ("overall", 2, None, "Overall"), ("why", None, "wait", "Waited too long")]  # the tenant's language
        low = responses[alpha.customers[1]]
        assert low.low and low.score == 2  # the hidden advisor "1" did not lower it
        from storecrm.activities.models import Task

        assert "Waited too long" in session.get(Task, (alpha.id, low.escalation_task_id)).notes


def test_csat_counts_only_the_answers_shown(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        survey = services.create_survey(conditional_csat())
        survey.throttle_days = 0
        customer = session.get(Customer, (alpha.id, alpha.customers[0]))
        # 5 (advisor 1 hidden: not counted); 2 + attitude + advisor 1 (shown: counted); 3 + wait (advisor hidden)
        services.answer(services.send_survey(survey, customer), {"overall": 5, "why": "attitude", "advisor": 1}, None)
        services.answer(services.send_survey(survey, customer), {"overall": 2, "why": "attitude", "advisor": 1}, None)
        services.answer(services.send_survey(survey, customer), {"overall": 3, "why": "wait", "advisor": 2}, None)
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        scope = engine.scope_for(owner, period_of("month"))
        csat = engine.get_kpi(owner, "surveys.csat")
        result = engine.evaluate([csat], scope)["surveys.csat"]
        assert result.n == 4 and result.value == Decimal("2.75")  # (5 + 2 + 1 + 3) / 4
        by_dimension = {k: (v, n) for k, _label, v, n in engine.breakdown(csat, scope, "dimension")}
        assert by_dimension == {"overall": (Decimal("3.33"), 3), "advisor": (Decimal("1.00"), 1)}
        assert len(engine.records(csat, scope)) == 4


def test_an_invitation_answers_the_version_it_was_sent(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        survey = services.create_survey(conditional_csat())
        old, _token = _invite(session, alpha, survey, 0)
        services.update_survey(survey, {"questions": [{"code": "overall", "label_zh": "总体"},
                                                      {"code": "speed", "label_zh": "速度"}]})
        assert survey.version == 2 and survey.past_questions["1"][1]["code"] == "why"
        new, _token = _invite(session, alpha, survey, 1)
        with pytest.raises(ValidationError) as err:  # the old link asks the old questions
            services.answer(old, {"overall": 1}, None)
        assert "why" in err.value.messages
        assert services.answer(old, {"overall": 1, "why": "price"}, None).low
        with pytest.raises(ValidationError) as err:
            services.answer(new, {"overall": 4}, None)
        assert "speed" in err.value.messages


def test_conditions_through_the_api(two_tenants, api_token, app):
    alpha, _ = two_tenants
    client, headers = app.test_client(), api_token(alpha)
    created = client.post("/api/v1/surveys", headers=headers, json=conditional_csat())
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["questions"][1]["condition"] == {"question": "overall", "op": "le", "value": 3}
    assert body["questions"][1]["options"][0]["code"] == "wait" and body["questions"][1]["type"] == "choice"
    assert client.get(f"/api/v1/surveys/{body['id']}", headers=headers).get_json()["questions"][2]["condition"] == \
        {"question": "why", "op": "in", "value": ["attitude"]}
    bad = conditional_csat()
    bad["questions"][1]["condition"] = {"question": "advisor", "op": "le", "value": 3}
    refused = client.patch(f"/api/v1/surveys/{body['id']}", headers=headers, json=bad)
    assert refused.status_code == 422 and refused.content_type.startswith("application/problem+json")
    assert "questions.1.condition" in str(refused.get_json())
    weird = conditional_csat()
    weird["questions"][1]["condition"] = {"question": "overall", "op": "LIKE", "value": {"x": 1}}
    assert client.post("/api/v1/surveys", headers=headers, json=weird).status_code == 422
