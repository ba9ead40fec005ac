"""SMS (China) against fake Aliyun and Tencent servers that check the signatures: templates instead of free text,
receipts verified and per tenant, outages retried without loss or double sending, errors in Chinese."""
import pytest
from sqlalchemy import text

from sms_cn_testkit import FakeAliyun, FakeTencent, configure

pytestmark = pytest.mark.storecrm_plugins("sms_cn")


@pytest.fixture
def aliyun(monkeypatch):
    fake = FakeAliyun()
    monkeypatch.setenv("STORECRM_SMS_CN_ALIYUN_ENDPOINT", fake.url)
    yield fake
    fake.close()


@pytest.fixture
def tencent(monkeypatch):
    fake = FakeTencent()
    monkeypatch.setenv("STORECRM_SMS_CN_TENCENT_ENDPOINT", fake.url)
    yield fake
    fake.close()


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _send_code(in_tenant, world, phone="+8613800138000", code="482913"):
    from storecrm.sdk import send_template

    with in_tenant(world):
        send_template("sms", phone, "appointment.code", {"code": code, "store": "一号店"},
                      payload={"scrub": True, "verification": True})


def _token(app, world):
    from storecrm.plugins.sms_cn.services import receipt_token

    with app.app_context():
        return receipt_token(world.id)


def test_a_code_goes_out_as_the_mapped_aliyun_template_and_its_receipt_is_recorded(
        app, two_tenants, in_tenant, login, run_outbox, system_db, aliyun):
    alpha, _ = two_tenants
    configure(login(alpha, "admin"), alpha.slug)
    _send_code(in_tenant, alpha)
    run_outbox()
    [sent] = aliyun.received
    assert sent["template"] == "SMS_100001" and sent["params"] == {"code": "482913", "store": "一号店"}
    assert sent["phone"] == "13800138000" and sent["sign"] == "星光汽车"
    [(status, body, message_id)] = _rows(system_db, "SELECT status, body, id FROM outbox_messages")
    assert status == "sent" and body == ""  # the code was scrubbed once sent
    assert sent["out_id"] == str(message_id)
    report = [{"phone_number": "13800138000", "success": True, "err_code": "DELIVERED", "err_msg": "用户接收成功",
               "biz_id": sent["biz_id"], "out_id": sent["out_id"], "report_time": "2026-12-03 10:00:05"}]
    resp = app.test_client().post(f"/t/{alpha.slug}/sms-cn/receipts/aliyun/{_token(app, alpha)}", json=report)
    assert resp.status_code == 200 and resp.get_json() == {"code": 0, "msg": "成功"}
    assert _rows(system_db, "SELECT status, provider_message_id, message_id FROM sms_cn_deliveries") == [
        ("delivered", sent["biz_id"], message_id)]


def test_forged_receipts_and_receipts_at_another_tenants_address_change_nothing(
        app, two_tenants, in_tenant, login, run_outbox, system_db, aliyun):
    alpha, beta = two_tenants
    configure(login(alpha, "admin"), alpha.slug)
    configure(login(beta, "admin"), beta.slug)
    _send_code(in_tenant, alpha)
    run_outbox()
    biz_id = aliyun.received[0]["biz_id"]
    failed = [{"biz_id": biz_id, "success": False, "err_code": "MK:0001", "err_msg": "fail"}]
    client = app.test_client()
    assert client.post(f"/t/{alpha.slug}/sms-cn/receipts/aliyun/{'0' * 40}", json=failed).status_code == 404
    assert client.post(f"/t/{alpha.slug}/sms-cn/receipts/aliyun/{_token(app, beta)}", json=failed).status_code == 404
    # beta's own, valid address cannot reach alpha's message: the id is not found in beta
    assert client.post(f"/t/{beta.slug}/sms-cn/receipts/aliyun/{_token(app, beta)}", json=failed).status_code == 200
    assert _rows(system_db, "SELECT status, error_code FROM sms_cn_deliveries") == [("submitted", None)]
    bad_body = client.post(f"/t/{alpha.slug}/sms-cn/receipts/aliyun/{_token(app, alpha)}", data="not json")
    assert bad_body.status_code == 400
    resp = client.post(f"/t/{alpha.slug}/sms-cn/receipts/aliyun/{_token(app, alpha)}", json=failed)
    assert resp.status_code == 200
    [(status, code, error)] = _rows(system_db, "SELECT status, error_code, error_text FROM sms_cn_deliveries")
    assert (status, code) == ("failed", "MK:0001") and "运营商未能送达" in error


def test_an_unmapped_template_or_free_text_is_never_sent_and_fails_in_chinese(
        app, two_tenants, in_tenant, login, run_outbox, system_db, aliyun):
    from storecrm.sdk import send_message, send_template

    alpha, _ = two_tenants
    configure(login(alpha, "admin"), alpha.slug)
    with in_tenant(alpha):
        send_template("sms", "+8613800138001", "appointment.reminder", {"customer_name": "王先生"})
        send_message("sms", "+8613800138002", body="free text")
    run_outbox()
    assert aliyun.received == []
    rows = dict(_rows(system_db, "SELECT recipient, status || ' ' || last_error FROM outbox_messages"))
    assert rows["+8613800138001"].startswith("dead ") and "appointment.reminder" in rows["+8613800138001"]
    assert "未对应" in rows["+8613800138001"]
    assert rows["+8613800138002"].startswith("dead ") and "没有消息模板" in rows["+8613800138002"]


def test_a_provider_outage_is_retried_through_the_outbox_and_sends_once(
        app, two_tenants, in_tenant, login, run_outbox, system_db, aliyun):
    alpha, _ = two_tenants
    configure(login(alpha, "admin"), alpha.slug)
    aliyun.outage = True
    _send_code(in_tenant, alpha)
    run_outbox()
    [(status, attempts, error)] = _rows(system_db, "SELECT status, attempts, last_error FROM outbox_messages")
    assert (status, attempts) == ("pending", 1) and "无法连接短信服务商" in error
    aliyun.outage = False
    run_outbox(later=True)
    run_outbox(later=True)  # nothing left to send: a second sweep sends nothing again
    assert len(aliyun.received) == 1
    assert _rows(system_db, "SELECT status, attempts FROM outbox_messages") == [("sent", 2)]
    assert [r.status for r in _rows(system_db, "SELECT status FROM sms_cn_deliveries ORDER BY id")] == [
        "failed", "submitted"]


def test_connection_refused_is_retried_too(app, two_tenants, in_tenant, login, run_outbox, system_db, aliyun,
                                           monkeypatch):
    alpha, _ = two_tenants
    configure(login(alpha, "admin"), alpha.slug)
    monkeypatch.setenv("STORECRM_SMS_CN_ALIYUN_ENDPOINT", "http://127.0.0.1:9")  # discard port: nothing listens
    _send_code(in_tenant, alpha)
    run_outbox()
    assert _rows(system_db, "SELECT status, attempts FROM outbox_messages") == [("pending", 1)]
    monkeypatch.setenv("STORECRM_SMS_CN_ALIYUN_ENDPOINT", aliyun.url)
    run_outbox(later=True)
    assert len(aliyun.received) == 1 and _rows(system_db, "SELECT status FROM outbox_messages") == [("sent",)]


def test_wrong_credentials_show_a_chinese_error_on_the_test_page_and_write_nothing(
        app, two_tenants, login, system_db, aliyun):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    configure(admin, alpha.slug, key="LTAI5tSomeoneElse")
    resp = admin.post(f"/t/{alpha.slug}/sms-cn/test", {"phone": "13800138000", "code": "appointment.code"},
                      headers={"Accept-Language": "zh-CN"})
    page = resp.get_data(as_text=True)
    assert resp.status_code == 422 and "AccessKey ID 不存在" in page
    configure(admin, alpha.slug, secret="wrong-secret")
    page = admin.post(f"/t/{alpha.slug}/sms-cn/test", {"phone": "13800138000", "code": "appointment.code"})
    assert page.status_code == 422 and "AccessKey Secret 错误" in page.get_data(as_text=True)
    assert aliyun.received == [] and _rows(system_db, "SELECT count(*) FROM sms_cn_deliveries") == [(0,)]
    configure(admin, alpha.slug)
    ok = admin.post(f"/t/{alpha.slug}/sms-cn/test", {"phone": "13800138000", "code": "appointment.code"})
    assert ok.status_code == 302 and aliyun.received[0]["params"] == {"code": "123456", "store": "测试"}
    assert admin.get(f"/t/{alpha.slug}/sms-cn/").status_code == 200


def test_tencent_sends_the_variables_in_the_templates_order_and_records_its_receipt(
        app, two_tenants, in_tenant, login, run_outbox, system_db, tencent):
    alpha, _ = two_tenants
    configure(login(alpha, "admin"), alpha.slug, provider="tencent")
    _send_code(in_tenant, alpha, code="731205")
    run_outbox()
    [sent] = tencent.received
    assert sent["params"] == ["731205", "一号店"] and sent["phone"] == "+8613800138000"
    assert sent["app"] == "1400000001" and sent["sign"] == "星光汽车"
    report = [{"user_receive_time": "2026-12-03 10:00:05", "nationcode": "86", "mobile": "13800138000",
               "report_status": "FAIL", "errmsg": "UNDELIV", "description": "用户短信未送达", "sid": sent["serial"]}]
    resp = app.test_client().post(f"/t/{alpha.slug}/sms-cn/receipts/tencent/{_token(app, alpha)}", json=report)
    assert resp.get_json() == {"result": 0, "errmsg": "OK"}
    assert _rows(system_db, "SELECT status, error_code FROM sms_cn_deliveries") == [("failed", "UNDELIV")]


def test_tencent_wrong_secret_key_is_refused_by_the_signature_check(app, two_tenants, login, tencent):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    configure(admin, alpha.slug, provider="tencent", secret="not-the-key")
    resp = admin.post(f"/t/{alpha.slug}/sms-cn/test", {"phone": "13800138000", "code": "appointment.code"})
    assert resp.status_code == 422 and "SecretKey 错误" in resp.get_data(as_text=True)
    assert tencent.received == []


def test_a_number_the_provider_calls_invalid_is_given_up_at_once(app, two_tenants, in_tenant, login, run_outbox,
                                                                  system_db, aliyun):
    alpha, _ = two_tenants
    configure(login(alpha, "admin"), alpha.slug)
    _send_code(in_tenant, alpha, phone="+85291234567")
    run_outbox()
    [(status, attempts, error)] = _rows(system_db, "SELECT status, attempts, last_error FROM outbox_messages")
    assert (status, attempts) == ("dead", 1) and "手机号码格式错误" in error


def test_every_route_of_the_plugin_keeps_tenants_apart(app, two_tenants, in_tenant, login, api_token, system_db,
                                                       run_outbox, aliyun):
    from storecrm.testing import assert_plugin_isolated

    alpha, beta = two_tenants
    configure(login(beta, "admin"), beta.slug)
    _send_code(in_tenant, beta)
    run_outbox()
    assert_plugin_isolated(app, "sms_cn", alpha, beta, login=login, api_token=api_token, system_db=system_db,
                           b_ids={"sms_cn.receipts": lambda w: {"provider": "aliyun", "token": _token(app, w)},
                                  "api_sms_cn.get_delivery": lambda w: {"delivery_id": _rows(
                                      system_db, "SELECT id FROM sms_cn_deliveries WHERE tenant_id = :t",
                                      t=w.id)[0][0]}})


def test_erasing_a_customer_removes_their_number_from_the_delivery_log(app, two_tenants, in_tenant, login,
                                                                       run_outbox, system_db, aliyun):
    from storecrm.plugins.sms_cn import customer_erasure
    from storecrm.sdk import Customer, get_scoped

    alpha, _ = two_tenants
    configure(login(alpha, "admin"), alpha.slug)
    with in_tenant(alpha):
        mobile = get_scoped(Customer, alpha.customers[0]).mobile
    _send_code(in_tenant, alpha, phone=mobile)
    run_outbox()
    assert _rows(system_db, "SELECT count(*) FROM sms_cn_deliveries") == [(1,)]
    with in_tenant(alpha):
        customer_erasure(get_scoped(Customer, alpha.customers[0]))
    assert _rows(system_db, "SELECT count(*) FROM sms_cn_deliveries") == [(0,)]
