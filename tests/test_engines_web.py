"""Workflows and automation rules through the web UI and the API, as store staff and admins use them."""
import re
from datetime import timedelta

from sqlalchemy import text


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _form_fields(html: str) -> dict:
    """The editor's inputs as a browser would post them untouched (text inputs, ticked boxes, selected options)."""
    out: dict = {}
    for tag in re.findall(r"<input[^>]*>", html):
        name = re.search(r'name="([^"]+)"', tag)
        if not name:
            continue
        kind = (re.search(r'type="([^"]+)"', tag) or [None, "text"])[1]
        value = re.search(r'value="([^"]*)"', tag)
        if kind == "checkbox":
            if " checked" in tag:
                out.setdefault(name[1], []).append(value[1] if value else "on")
        elif kind != "file":
            out[name[1]] = (value[1] if value else "").replace("&#34;", '"').replace("&quot;", '"').replace("&amp;", "&")
    for name, body in re.findall(r'<select[^>]*name="([^"]+)"[^>]*>(.*?)</select>', html, flags=re.S):
        chosen = re.findall(r'<option value="([^"]*)"[^>]*selected', body)
        if chosen:
            out[name] = chosen if len(chosen) > 1 else chosen[0]
        elif "multiple" not in html.split(f'name="{name}"')[1][:40]:
            first = re.search(r'<option value="([^"]*)"', body)
            out[name] = first[1] if first else ""
    for name, body in re.findall(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, flags=re.S):
        out[name] = body
    return out


def test_admin_builds_a_workflow_from_a_template_and_edits_it_into_a_new_version(two_tenants, login, system_db):
    alpha, beta = two_tenants
    admin = login(alpha, "admin")
    page = admin.get("/t/alpha/workflows/").get_data(as_text=True)
    assert 'data-testid="copy-lead"' in page
    resp = admin.post("/t/alpha/workflows/copy/lead")
    assert resp.status_code == 302 and resp.headers["Location"].endswith("/workflows/lead")
    page = admin.get("/t/alpha/workflows/lead").get_data(as_text=True)
    assert 'data-testid="diagram"' in page and "New lead" in page
    form = _form_fields(admin.get("/t/alpha/workflows/lead/edit").get_data(as_text=True))
    form["states.0.label"] = "新线索"
    form["states.0.deadline_hours"] = "12"
    resp = admin.post("/t/alpha/workflows/lead/edit", form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    assert _rows(system_db, "SELECT version, is_current, spec->'states'->0->>'label' FROM workflow_definitions "
                            "ORDER BY version") == [(1, False, "New lead"), (2, True, "新线索")]
    bad = dict(form, **{"transitions.0.to": "nowhere", "states.1.deadline_hours": "soon"})
    resp = admin.post("/t/alpha/workflows/lead/edit", bad)
    assert resp.status_code == 422 and 'data-testid="form-errors"' in resp.get_data(as_text=True)
    assert _rows(system_db, "SELECT count(*) FROM workflow_definitions") == [(2,)]
    # beta sees none of it
    assert login(beta, "admin").get("/t/beta/workflows/lead").status_code == 404


def test_staff_start_move_send_back_and_see_their_queue(two_tenants, login, in_tenant, system_db, app):
    from storecrm.workflow import engine

    alpha, _ = two_tenants
    with in_tenant(alpha) as s:
        from storecrm.users.models import User

        engine.copy_template(s.get(User, (alpha.id, alpha.users["owner"])), "lead")
    advisor = login(alpha, "advisor")
    customer_page = advisor.get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    assert 'data-testid="start-workflow"' in customer_page
    resp = advisor.post("/t/alpha/workflows/start", {"entity": "customer", "record_id": alpha.customers[0],
                                                     "workflow": "lead"})
    assert resp.status_code == 302
    item_url = resp.headers["Location"]
    page = advisor.get(item_url).get_data(as_text=True)
    assert 'data-testid="do-contact"' in page and 'data-state="new"' in page
    assert advisor.post(item_url + "/move", {"transition": "win"}).status_code == 422  # not from "new"
    resp = advisor.post(item_url + "/move", {"transition": "contact", "comment": "约了周六"})
    assert resp.status_code == 302
    resp = advisor.post(item_url + "/reject", {"to_state": "new", "reason": ""})
    assert resp.status_code == 422 and "Say why it is sent back." in resp.get_data(as_text=True)
    assert advisor.post(item_url + "/reject", {"to_state": "new", "reason": "客户没接电话"}).status_code == 302
    with in_tenant(alpha) as s:
        s.execute(text("UPDATE workflow_items SET deadline_at = now() - interval '1 hour'"))
    queue = advisor.get("/t/alpha/workflows/queue").get_data(as_text=True)
    assert 'data-testid="overdue"' in queue and "ALPHA-customer-0" in queue
    assert _rows(system_db, "SELECT action, comment FROM workflow_steps ORDER BY id") == \
        [("start", None), ("move", "约了周六"), ("reject", "客户没接电话")]
    # a customer of the other store is not the advisor's to start
    other = advisor.post("/t/alpha/workflows/start", {"entity": "customer", "record_id": alpha.customers[1],
                                                      "workflow": "lead"})
    assert other.status_code == 422


def test_admin_copies_previews_edits_and_switches_on_a_rule(two_tenants, login, in_tenant, system_db, app):
    from storecrm.rules.engine import local_today

    alpha, _ = two_tenants
    with in_tenant(alpha) as s:
        from storecrm.assets.models import Asset

        s.add(Asset(customer_id=alpha.customers[0], type="car", name="Model Y", store_id=alpha.stores[0],
                    attributes={}, installed_on=local_today() - timedelta(days=380)))
    admin = login(alpha, "admin")
    resp = admin.post("/t/alpha/automation/copy/install_anniversary")
    assert resp.status_code == 302
    rule_url = resp.headers["Location"]
    page = admin.get(rule_url + "?preview=1").get_data(as_text=True)
    assert "Model Y" in page and 'data-testid="preview-total"' in page
    form = _form_fields(admin.get(rule_url + "/edit").get_data(as_text=True))
    assert form["trigger.type"] == "date" and form["trigger.offset_days"] == "365"
    form.update({"name": "周年检", "rows.0.field": "type", "rows.0.op": "eq", "rows.0.value": "car"})
    resp = admin.post(rule_url + "/edit", form)
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    assert _rows(system_db, "SELECT name, conditions FROM rules") == \
        [("周年检", {"all": [{"field": "type", "op": "eq", "value": "car"}]})]
    bad = dict(form, **{"trigger.field": "name", "actions.0.title": ""})
    resp = admin.post(rule_url + "/edit", bad)
    body = resp.get_data(as_text=True)
    assert resp.status_code == 422 and 'data-error-for="trigger.field"' in body
    assert admin.post(rule_url + "/switch").status_code == 302
    assert _rows(system_db, "SELECT enabled, enabled_at IS NOT NULL FROM rules") == [(True, True)]
    assert login(alpha, "advisor").get(rule_url).status_code == 403


def test_odometer_readings_are_checked_and_drive_the_service_rule(two_tenants, login, in_tenant, system_db):
    alpha, _ = two_tenants
    with in_tenant(alpha) as s:
        from storecrm.assets.models import Asset

        car = Asset(customer_id=alpha.customers[0], type="car", name="Golf", store_id=alpha.stores[0], attributes={})
        s.add(car)
        s.flush()
        car_id = car.id
    manager = login(alpha, "manager")
    ok = manager.post(f"/t/alpha/assets/{car_id}/readings", {"value": "12000", "read_on": "2026-06-01", "service": "on"})
    assert ok.status_code == 302
    for bad, field in (({"value": "11000", "read_on": "2026-07-01"}, "value"), ({"value": "abc"}, "value"),
                       ({"value": "13000", "read_on": "2099-01-01"}, "read_on")):
        resp = manager.post(f"/t/alpha/assets/{car_id}/readings", bad)
        assert resp.status_code == 422, (bad, resp.status_code)
    assert _rows(system_db, "SELECT value, service FROM asset_readings") == [(12000, True)]
    page = manager.get(f"/t/alpha/assets/{car_id}").get_data(as_text=True)
    assert "12,000 km" in page and 'data-panel="workflow.items"' in page


def test_the_api_runs_workflows_and_rules_end_to_end(two_tenants, api_token, in_tenant, system_db, app):
    alpha, beta = two_tenants
    client = app.test_client()
    admin, advisor, manager = api_token(alpha, "admin"), api_token(alpha, "advisor"), api_token(alpha, "manager")
    resp = client.post("/api/v1/workflows", json={"template": "quote_approval"}, headers=admin)
    assert resp.status_code == 201, resp.get_json()
    assert client.get("/api/v1/workflows/templates", headers=admin).status_code == 200
    resp = client.post("/api/v1/workflows", json={"code": "bad", "name": "Bad", "entity": "customer",
                                                  "spec": {"initial": "x", "states": [], "transitions": []}},
                       headers=admin)
    assert resp.status_code == 422 and "states" in str(resp.get_json())
    resp = client.post("/api/v1/workflow-items", json={"workflow": "quote_approval", "entity": "customer",
                                                       "record_id": alpha.customers[0]}, headers=advisor)
    assert resp.status_code == 201, resp.get_json()
    item = resp.get_json()
    assert item["state"] == "draft" and [a["code"] for a in item["actions"]] == ["submit"]
    resp = client.post(f"/api/v1/workflow-items/{item['id']}/transitions",
                       json={"transition": "submit", "values": {"custom.quote_amount": 8800}}, headers=advisor)
    assert resp.status_code == 200 and resp.get_json()["pending"]["chain"] == [["manager"]]
    queue = client.get("/api/v1/workflow-items", headers=manager).get_json()
    assert [i["id"] for i in queue] == [item["id"]]
    resp = client.post(f"/api/v1/workflow-items/{item['id']}/votes", json={"approve": False}, headers=manager)
    assert resp.status_code == 422  # a reason is needed to decline
    resp = client.post(f"/api/v1/workflow-items/{item['id']}/votes", json={"approve": True}, headers=manager)
    assert resp.get_json()["state"] == "approved"
    assert [h["action"] for h in client.get(f"/api/v1/workflow-items/{item['id']}", headers=advisor)
            .get_json()["history"]] == ["start", "request", "approve", "move"]
    # another tenant's token sees none of it
    assert client.get(f"/api/v1/workflow-items/{item['id']}", headers=api_token(beta, "owner")).status_code == 404
    rule = {"name": "Birthday", "entity": "customer", "enabled": False,
            "trigger": {"type": "date", "field": "birthday", "annual": True},
            "actions": [{"type": "notify", "channel": "sms", "to": "customer", "body": "生日快乐 {customer_name}"}]}
    preview = client.post("/api/v1/rules/preview", json=rule, headers=admin)
    assert preview.status_code == 200 and preview.get_json()["total"] == 0
    resp = client.post("/api/v1/rules", json=rule, headers=admin)
    assert resp.status_code == 201
    rule_id = resp.get_json()["id"]
    assert client.get(f"/api/v1/rules/{rule_id}/preview?days=30", headers=admin).status_code == 200
    assert client.get(f"/api/v1/rules/{rule_id}/firings", headers=admin).get_json() == []
    bad = client.put(f"/api/v1/rules/{rule_id}", json={**rule, "trigger": {"type": "threshold", "field": "name"}},
                     headers=admin)
    assert bad.status_code == 422 and "trigger.field" in str(bad.get_json()), bad.get_json()
    assert client.get("/api/v1/rules", headers=advisor).status_code == 403
    assert client.get(f"/api/v1/rules/{rule_id}", headers=api_token(beta, "owner")).status_code == 404
    assert client.delete(f"/api/v1/rules/{rule_id}", headers=admin).status_code == 204
