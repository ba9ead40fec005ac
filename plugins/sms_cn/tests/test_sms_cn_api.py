"""REST API of SMS (China): the delivery log with its carrier receipts (filters, keyset pages, one delivery) and a
test text, with the provider's errors in Chinese as problem+json."""
import pytest

from sms_cn_testkit import FakeAliyun, configure

pytestmark = pytest.mark.storecrm_plugins("sms_cn")


@pytest.fixture
def aliyun(monkeypatch):
    fake = FakeAliyun()
    monkeypatch.setenv("STORECRM_SMS_CN_ALIYUN_ENDPOINT", fake.url)
    yield fake
    fake.close()


def _send_codes(in_tenant, world, phones):
    from storecrm.sdk import send_template

    with in_tenant(world):
        for phone in phones:
            send_template("sms", phone, "appointment.code", {"code": "482913", "store": "一号店"},
                          payload={"scrub": True, "verification": True})


def test_deliveries_page_by_keyset_filter_and_show_their_receipts(app, make_tenant, in_tenant, login, api_token,
                                                                  run_outbox, aliyun):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login(alpha, "admin"), alpha.slug)
    _send_codes(in_tenant, alpha, ["+8613800138000", "+8613800138001", "+8613800138000", "+85291234567"])
    run_outbox()
    client, headers = app.test_client(), api_token(alpha, "admin")
    first = client.get("/api/v1/sms-cn/deliveries?per_page=2", headers=headers)
    assert first.status_code == 200 and first.json["total"] == 4 and len(first.json["items"]) == 2
    ids = [d["id"] for d in first.json["items"]]
    rest = client.get(f"/api/v1/sms-cn/deliveries?per_page=2&after_id={ids[-1]}", headers=headers).json
    assert len(rest["items"]) == 2 and set(ids).isdisjoint(d["id"] for d in rest["items"])
    mine = client.get("/api/v1/sms-cn/deliveries?phone=13800138000", headers=headers).json
    assert mine["total"] == 2 and {d["phone"] for d in mine["items"]} == {"+8613800138000"}
    failed = client.get("/api/v1/sms-cn/deliveries?status=failed", headers=headers).json
    assert failed["total"] == 1 and failed["items"][0]["reason"] == "手机号码格式错误"
    one = client.get(f"/api/v1/sms-cn/deliveries/{ids[0]}", headers=headers)
    assert one.status_code == 200 and one.json["template"] == "appointment.code" and one.json["provider"] == "aliyun"
    assert client.get("/api/v1/sms-cn/deliveries/999999", headers=headers).status_code == 404
    bad = client.get("/api/v1/sms-cn/deliveries?status=lost&phone=abc", headers=headers)
    assert bad.status_code == 422 and bad.content_type.startswith("application/problem+json")


def test_a_test_text_through_the_api_and_wrong_credentials_in_chinese(app, make_tenant, login, api_token, aliyun):
    alpha = make_tenant("alpha", locale="zh_CN")
    admin = login(alpha, "admin")
    configure(admin, alpha.slug)
    client, headers = app.test_client(), api_token(alpha, "admin")
    sent = client.post("/api/v1/sms-cn/test", headers=headers, json={"phone": "13800138000",
                                                                      "template": "appointment.code"})
    assert sent.status_code == 201 and sent.json["status"] == "submitted" and sent.json["message_id"] is None
    assert aliyun.received[-1]["template"] == "SMS_100001"
    unmapped = client.post("/api/v1/sms-cn/test", headers=headers, json={"phone": "13800138000",
                                                                         "template": "survey.invitation"})
    assert unmapped.status_code == 422 and "template" in unmapped.json["errors"]
    assert client.post("/api/v1/sms-cn/test", headers=headers, json={"phone": "12"}).status_code == 422
    configure(admin, alpha.slug, secret="wrong-secret")
    wrong = client.post("/api/v1/sms-cn/test", headers=headers, json={"phone": "13800138000",
                                                                      "template": "appointment.code"})
    assert wrong.status_code == 422 and "阿里云" in str(wrong.json["errors"])
    assert client.get("/api/v1/sms-cn/deliveries", headers=api_token(alpha, "technician")).status_code == 403
