"""REST API of the Official Account: followers bound to customers, the template mapping (template or subscribe
message) as records, and the messages sent, with filters and keyset pages; problem+json for bad input; OpenAPI."""
import pytest

from storecrm.sdk import send_message
from wechat_oa_testkit import OPENID, configure, signed_args, event_xml

pytestmark = pytest.mark.storecrm_plugins("wechat_oa")


def test_mappings_can_be_listed_created_updated_and_deleted_and_the_page_agrees(app, make_tenant, login, api_token):
    alpha = make_tenant("alpha", locale="zh_CN")
    admin = configure(login, alpha)
    headers, client = api_token(alpha, "admin"), app.test_client()
    listed = client.get("/api/v1/wechat-oa/template-mappings", headers=headers)
    assert listed.status_code == 200
    assert {m["code"]: m["mode"] for m in listed.json} == {"appointment.reminder": "template",
                                                          "retail.topup": "template", "broken.one": "template"}
    created = client.post("/api/v1/wechat-oa/template-mappings", headers=headers, json={
        "code": "survey.invitation", "mode": "subscribe", "template_id": "SubSurvey_1", "fields": {"thing1": "title"}})
    assert created.status_code == 201 and created.json["mode"] == "subscribe"
    again = client.post("/api/v1/wechat-oa/template-mappings", headers=headers, json={
        "code": "survey.invitation", "template_id": "X1"})
    assert again.status_code == 422 and again.content_type.startswith("application/problem+json")
    assert "code" in again.json["errors"]
    bad = client.post("/api/v1/wechat-oa/template-mappings", headers=headers, json={
        "code": "x.y", "template_id": "bad id!", "fields": {"thing 1": "a"}, "mode": "sms"})
    assert bad.status_code == 422 and {"template_id", "mode"} <= set(bad.json["errors"])
    put = client.put("/api/v1/wechat-oa/template-mappings/retail.topup", headers=headers, json={
        "mode": "subscribe_long", "template_id": "SubTopupLong", "fields": {"amount2": "amount"}})
    assert put.status_code == 200 and put.json == {"code": "retail.topup", "mode": "subscribe_long",
                                                   "template_id": "SubTopupLong", "fields": {"amount2": "amount"}}
    assert client.put("/api/v1/wechat-oa/template-mappings/retail.topup", headers=headers,
                      json={}).status_code == 422
    assert client.delete("/api/v1/wechat-oa/template-mappings/broken.one", headers=headers).status_code == 204
    assert client.get("/api/v1/wechat-oa/template-mappings/broken.one", headers=headers).status_code == 404
    assert client.put("/api/v1/wechat-oa/template-mappings/nope", headers=headers,
                      json={"template_id": "A1"}).status_code == 404
    page = admin.get("/t/alpha/wechat/").get_data(as_text=True)
    assert "SubTopupLong" in page and "SubSurvey_1" in page and "BADTEMPLATE" not in page
    with app.test_request_context():
        pass
    settings = admin.get("/t/alpha/modules/wechat_oa/settings").get_data(as_text=True)
    assert "retail.topup = subscribe_long:SubTopupLong; amount2=amount" in settings


def test_followers_and_deliveries_page_by_keyset_with_filters(app, make_tenant, in_tenant, login, api_token):
    alpha = make_tenant("alpha")
    configure(login, alpha)
    client, headers = app.test_client(), api_token(alpha, "admin")
    for n in range(3):
        client.post("/t/alpha/wechat/callback", query_string=signed_args(),
                    data=event_xml(f"{OPENID}{n}", "subscribe", create_time=1_700_000_000 + n))
    with in_tenant(alpha):
        for n in range(5):
            send_message("wechat", f"{OPENID}{n % 2}", "通知", "正文",
                         payload={"template": "appointment.reminder" if n % 2 else "retail.topup", "params": {}})
    first = client.get("/api/v1/wechat-oa/bindings?per_page=2", headers=headers).json
    assert first["total"] == 3 and len(first["items"]) == 2 and first["items"][0]["subscribed"] is True
    rest = client.get(f"/api/v1/wechat-oa/bindings?per_page=2&after_id={first['items'][-1]['id']}",
                      headers=headers).json
    assert len(rest["items"]) == 1
    assert client.get("/api/v1/wechat-oa/bindings?bound=true", headers=headers).json["total"] == 0
    deliveries = client.get("/api/v1/wechat-oa/deliveries?per_page=3", headers=headers).json
    assert deliveries["total"] == 5 and len(deliveries["items"]) == 3
    assert "body" not in deliveries["items"][0]
    ids = [d["id"] for d in deliveries["items"]]
    assert ids == sorted(ids, reverse=True)
    more = client.get(f"/api/v1/wechat-oa/deliveries?per_page=3&after_id={ids[-1]}", headers=headers).json
    assert len(more["items"]) == 2 and set(ids).isdisjoint(d["id"] for d in more["items"])
    filtered = client.get("/api/v1/wechat-oa/deliveries?template=retail.topup&status=pending", headers=headers).json
    assert filtered["total"] == 3 and {d["template"] for d in filtered["items"]} == {"retail.topup"}
    assert client.get(f"/api/v1/wechat-oa/deliveries?recipient={OPENID}1", headers=headers).json["total"] == 2
    one = client.get(f"/api/v1/wechat-oa/deliveries/{ids[0]}", headers=headers)
    assert one.status_code == 200 and one.json["channel"] == "wechat"
    bad = client.get("/api/v1/wechat-oa/deliveries?status=lost&since=yesterday", headers=headers)
    assert bad.status_code == 422 and {"status", "since"} <= set(bad.json["errors"])


def test_the_api_needs_the_permission_and_is_in_the_openapi_document(app, make_tenant, login, api_token):
    alpha = make_tenant("alpha")
    configure(login, alpha)
    client = app.test_client()
    assert client.get("/api/v1/wechat-oa/template-mappings",
                      headers=api_token(alpha, "technician")).status_code == 403
    assert client.get("/api/v1/wechat-oa/template-mappings").status_code == 401
    spec = client.get("/api/v1/openapi.json").json
    for path in ("/api/v1/wechat-oa/bindings", "/api/v1/wechat-oa/template-mappings",
                 "/api/v1/wechat-oa/template-mappings/{code}", "/api/v1/wechat-oa/deliveries",
                 "/api/v1/wechat-oa/deliveries/{message_id}", "/api/v1/sms-cn/deliveries", "/api/v1/wecom/bindings"):
        assert any(p.endswith(path.removeprefix("/api/v1")) for p in spec["paths"]), path
