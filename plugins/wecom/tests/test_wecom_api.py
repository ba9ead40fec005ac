"""REST API of WeCom: staff bindings (list, create or update, delete; a taken or bad UserID is a 422) and the app
messages sent to staff (filters, keyset pages)."""
import pytest

from storecrm.sdk import send_message
from wecom_testkit import configure

pytestmark = pytest.mark.storecrm_plugins("wecom")


def test_bindings_are_listed_created_changed_and_deleted(app, make_tenant, login, api_token, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login(alpha, "admin"), alpha.slug, bindings={alpha.users["technician"]: "zhangwei"})
    client, headers = app.test_client(), api_token(alpha, "admin")
    assert [(b["user_id"], b["wecom_userid"]) for b in client.get("/api/v1/wecom/bindings", headers=headers).json] \
        == [(alpha.users["technician"], "zhangwei")]
    manager = alpha.users["manager"]
    made = client.put(f"/api/v1/wecom/bindings/{manager}", headers=headers, json={"wecom_userid": "lina"})
    assert made.status_code == 200 and made.json["wecom_userid"] == "lina"
    changed = client.put(f"/api/v1/wecom/bindings/{manager}", headers=headers, json={"wecom_userid": "lina.w"})
    assert changed.status_code == 200 and changed.json["wecom_userid"] == "lina.w"
    taken = client.put(f"/api/v1/wecom/bindings/{manager}", headers=headers, json={"wecom_userid": "zhangwei"})
    assert taken.status_code == 422 and "wecom_userid" in taken.json["errors"]
    assert taken.content_type.startswith("application/problem+json")
    assert client.put(f"/api/v1/wecom/bindings/{manager}", headers=headers,
                      json={"wecom_userid": "张 伟"}).status_code == 422
    assert client.put(f"/api/v1/wecom/bindings/{manager}", headers=headers, json={}).status_code == 422
    assert client.put("/api/v1/wecom/bindings/999999", headers=headers,
                      json={"wecom_userid": "x1"}).status_code == 404
    assert client.delete(f"/api/v1/wecom/bindings/{manager}", headers=headers).status_code == 204
    assert client.delete(f"/api/v1/wecom/bindings/{manager}", headers=headers).status_code == 404
    assert len(client.get("/api/v1/wecom/bindings", headers=headers).json) == 1
    assert client.get("/api/v1/wecom/bindings", headers=api_token(alpha, "technician")).status_code == 403


def test_deliveries_page_by_keyset_with_filters(app, make_tenant, in_tenant, api_token):
    alpha = make_tenant("alpha")
    with in_tenant(alpha):
        for n in range(4):
            send_message("wecom", "zhangwei" if n % 2 else "lina", f"新工单 {n}", "请查看")
    client, headers = app.test_client(), api_token(alpha, "admin")
    first = client.get("/api/v1/wecom/deliveries?per_page=3", headers=headers).json
    assert first["total"] == 4 and len(first["items"]) == 3
    more = client.get(f"/api/v1/wecom/deliveries?per_page=3&after_id={first['items'][-1]['id']}",
                      headers=headers).json
    assert len(more["items"]) == 1
    assert client.get("/api/v1/wecom/deliveries?recipient=lina", headers=headers).json["total"] == 2
    one = client.get(f"/api/v1/wecom/deliveries/{first['items'][0]['id']}", headers=headers)
    assert one.status_code == 200 and one.json["subject"].startswith("新工单")
    assert client.get("/api/v1/wecom/deliveries/999999", headers=headers).status_code == 404
