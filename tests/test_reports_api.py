"""The reports and surveys API: KPI values and their records from one query, dashboards, surveys, answers."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import text

from storecrm.customers.models import Customer
from storecrm.surveys import services


def test_kpi_value_and_records_agree_and_bad_periods_are_422(two_tenants, api_token, app, in_tenant):
    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        session.execute(text("UPDATE customers SET created_at = :t"), {"t": datetime(2026, 11, 5, tzinfo=timezone.utc)})
        for i in range(3):
            session.add(Customer(name=f"api-{i}", store_id=alpha.stores[0],
                                 created_at=datetime(2026, 10, 2 + i, tzinfo=timezone.utc)))
    client, headers = app.test_client(), api_token(alpha)
    listing = client.get("/api/v1/kpis", headers=headers).get_json()
    codes = {k["code"] for k in listing["items"]}
    assert {"customers.new", "customers.active", "surveys.nps", "tasks.overdue"} <= codes
    value = client.get("/api/v1/kpis/customers.new/value?period=month&date=2026-11-20", headers=headers).get_json()
    assert value["value"] == 3 and value["previous"] == 3 and value["period"]["start"] == "2026-11-01"
    records = client.get("/api/v1/kpis/customers.new/records?period=month&date=2026-11-20&per_page=2",
                         headers=headers).get_json()
    assert records["count"] == 3 and len(records["items"]) == 2 and records["next_after"]
    rest = client.get(f"/api/v1/kpis/customers.new/records?period=month&date=2026-11-20&per_page=2"
                      f"&after={records['next_after']}", headers=headers).get_json()
    assert len(rest["items"]) == 1 and rest["next_after"] is None
    bad = client.get("/api/v1/kpis/customers.new/value?period=custom&start=2026-11-05&end=2026-11-01",
                     headers=headers)
    assert bad.status_code == 422 and bad.mimetype == "application/problem+json"
    assert client.get("/api/v1/kpis/customers.new/value?store_id=abc", headers=headers).status_code == 422
    assert client.get("/api/v1/kpis/nope/value", headers=headers).status_code == 404
    # the advisor works in store 1 only: store 2 is refused, not silently empty
    advisor = api_token(alpha, "advisor")
    assert client.get(f"/api/v1/kpis/customers.new/value?store_id={alpha.stores[1]}",
                      headers=advisor).status_code == 422
    # beta counts its own
    beta_value = client.get("/api/v1/kpis/customers.new/value?period=month&date=2026-11-20",
                            headers=api_token(beta)).get_json()
    assert beta_value["value"] == 0


def test_dashboards_and_surveys_through_the_api(two_tenants, api_token, app, in_tenant):
    alpha, _ = two_tenants
    client, headers = app.test_client(), api_token(alpha)
    board = client.post("/api/v1/dashboards", headers=headers, json={"name": "HQ", "items": [
        {"kind": "kpi", "code": "customers.new", "chart": "line"},
        {"kind": "kpi", "code": "surveys.nps", "chart": "pie"}]})
    assert board.status_code == 201, board.get_json()
    bad = client.post("/api/v1/dashboards", headers=headers, json={"name": "x", "items": [
        {"kind": "kpi", "code": "customers.new' OR 1=1 --", "chart": "line"}]})
    assert bad.status_code == 422
    put = client.put(f"/api/v1/dashboards/{board.get_json()['id']}", headers=headers,
                     json={"name": "HQ", "items": [{"kind": "kpi", "code": "surveys.nps", "chart": "number"}]})
    assert put.status_code == 200 and [i["code"] for i in put.get_json()["items"]] == ["surveys.nps"]
    survey = client.post("/api/v1/surveys", headers=headers, json={
        "name": "售后", "kind": "csat", "questions": [{"code": "advisor", "label_zh": "顾问"}], "low_score": 2})
    assert survey.status_code == 201, survey.get_json()
    nps_with_two = client.post("/api/v1/surveys", headers=headers, json={
        "name": "x", "kind": "nps", "questions": [{"code": "a", "label_zh": "a"}, {"code": "b", "label_zh": "b"}]})
    assert nps_with_two.status_code == 422
    sent = client.post("/api/v1/surveys/send", headers=headers,
                       json={"survey_id": survey.get_json()["id"], "customer_id": alpha.customers[0]})
    assert sent.status_code == 201
    with in_tenant(alpha) as session:
        invitation = session.execute(text("SELECT id FROM survey_invitations")).scalar()
        from storecrm.surveys.models import SurveyInvitation

        services.answer(session.get(SurveyInvitation, (alpha.id, invitation)), {"advisor": 1}, "差")
    answers = client.get("/api/v1/survey-responses", headers=headers).get_json()
    assert len(answers["items"]) == 1 and answers["items"][0]["low"] and answers["items"][0]["escalation_task_id"]
    assert answers["items"][0]["answers"][0]["score"] == 1


def test_openapi_lists_the_new_paths(app):
    paths = app.test_client().get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/kpis", "/api/v1/kpis/{code}/value", "/api/v1/kpis/{code}/records", "/api/v1/dashboards",
                 "/api/v1/surveys", "/api/v1/survey-responses", "/api/v1/kpi-alerts"):
        assert path in paths, path
