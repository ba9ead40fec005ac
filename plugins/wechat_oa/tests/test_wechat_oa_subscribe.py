"""Subscribe messages (订阅通知) as the second delivery mode of the "wechat" channel: a template code mapped with
`subscribe:` goes out through bizsend, only to a user whose consent the callback recorded (one message per accept,
or while a long-term consent lasts); refusals come back in Chinese and are not retried."""
import pytest
from sqlalchemy import text

from storecrm.sdk import send_message
from storecrm.testing import run_jobs
from wechat_oa_testkit import OPENID, configure, fake_wechat, popup_xml, sent_xml, signed_args  # noqa: F401

pytestmark = pytest.mark.storecrm_plugins("wechat_oa")
SUB_MAP = ("appointment.reminder = subscribe:SubRemind_01; thing1=service, time2=starts_at\n"
           "retail.topup = subscribe_long:SubTopupLong; character_string1=member_no, amount2=amount\n"
           "survey.invitation = TplSurvey01; thing1=title")


@pytest.fixture(autouse=True)
def _fresh_tokens(app):
    from redis import Redis

    redis = Redis.from_url(app.config["REDIS_URL"])
    for key in redis.scan_iter("storecrm:wechat_oa:token:*"):
        redis.delete(key)


def _outbox(system_db, tenant_id):
    with system_db.connect() as conn:
        return conn.execute(text("SELECT status, last_error, payload FROM outbox_messages WHERE tenant_id = :t AND "
                                 "channel = 'wechat' ORDER BY id"), {"t": tenant_id}).all()


def _consents(system_db, tenant_id):
    with system_db.connect() as conn:
        return conn.execute(text("SELECT openid, template_id, status, credits FROM wechat_oa_subscribe_consents "
                                 "WHERE tenant_id = :t ORDER BY template_id"), {"t": tenant_id}).all()


def _send(in_tenant, world, template, params):
    with in_tenant(world):
        send_message("wechat", OPENID, "通知", "正文", payload={"template": template, "params": params})
    run_jobs()


def _push(client, xml):
    resp = client.post("/t/alpha/wechat/callback", query_string=signed_args(), data=xml)
    assert resp.status_code == 200, resp.get_data(as_text=True)


def test_a_one_time_consent_allows_exactly_one_subscribe_message(app, make_tenant, in_tenant, login, fake_wechat,
                                                                 system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha, template_map=SUB_MAP)
    _send(in_tenant, alpha, "appointment.reminder", {"service": "保养", "starts_at": "明天 10:00"})
    (status, error, _payload), = _outbox(system_db, alpha.id)
    assert status == "dead" and "订阅通知" in error and fake_wechat.sent == []     # no consent: not even tried
    client = app.test_client()
    _push(client, popup_xml(OPENID, "SubRemind_01", "accept", create_time=1_700_000_000))
    _push(client, popup_xml(OPENID, "SubRemind_01", "accept", create_time=1_700_000_000))   # WeChat's retry
    assert _consents(system_db, alpha.id) == [(OPENID, "SubRemind_01", "accept", 1)]
    _send(in_tenant, alpha, "appointment.reminder", {"service": "保养", "starts_at": "明天 10:00"})
    _send(in_tenant, alpha, "appointment.reminder", {"service": "洗车", "starts_at": "后天 9:00"})
    assert [(m["kind"], m["template_id"], m["data"]["thing1"]["value"]) for m in fake_wechat.sent] == [
        ("subscribe", "SubRemind_01", "保养")]
    assert [row.status for row in _outbox(system_db, alpha.id)] == ["dead", "sent", "dead"]
    assert _outbox(system_db, alpha.id)[1].payload["wechat_mode"] == "subscribe"
    _push(client, sent_xml(OPENID, "SubRemind_01", fake_wechat.sent[0]["msgid"]))
    assert _consents(system_db, alpha.id) == [(OPENID, "SubRemind_01", "accept", 0)]


def test_a_long_term_consent_lasts_until_the_user_turns_it_off(app, make_tenant, in_tenant, login, fake_wechat,
                                                               system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha, template_map=SUB_MAP)
    client = app.test_client()
    _push(client, popup_xml(OPENID, "SubTopupLong", "accept"))
    for amount in ("100.00", "200.00"):
        _send(in_tenant, alpha, "retail.topup", {"member_no": "M0001", "amount": amount})
    assert [m["data"]["amount2"]["value"] for m in fake_wechat.sent] == ["100.00", "200.00"]
    _push(client, popup_xml(OPENID, "SubTopupLong", "reject", event="subscribe_msg_change_event"))
    _send(in_tenant, alpha, "retail.topup", {"member_no": "M0001", "amount": "300.00"})
    assert len(fake_wechat.sent) == 2 and _outbox(system_db, alpha.id)[-1].status == "dead"


def test_wechat_refusing_with_43101_is_explained_in_chinese_and_closes_the_consent(
        app, make_tenant, in_tenant, login, fake_wechat, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha, template_map=SUB_MAP)
    _push(app.test_client(), popup_xml(OPENID, "SubTopupLong", "accept"))
    fake_wechat.refusing.add(OPENID)
    _send(in_tenant, alpha, "retail.topup", {"member_no": "M0001", "amount": "100.00"})
    (status, error, _payload), = _outbox(system_db, alpha.id)
    assert status == "dead" and "拒收" in error and "43101" in error
    assert _consents(system_db, alpha.id) == [(OPENID, "SubTopupLong", "reject", 0)]


def test_template_messages_and_subscribe_messages_live_side_by_side(app, make_tenant, in_tenant, login,
                                                                    fake_wechat, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    admin = configure(login, alpha, template_map=SUB_MAP)
    _send(in_tenant, alpha, "survey.invitation", {"title": "满意度回访"})
    assert fake_wechat.sent[-1]["template_id"] == "TplSurvey01" and "kind" not in fake_wechat.sent[-1]
    page = admin.get("/t/alpha/wechat/").get_data(as_text=True)
    assert "订阅通知" in page and "SubRemind_01" in page
    resp = admin.post("/t/alpha/wechat/", {"openid": OPENID, "template": "appointment.reminder"})
    assert resp.status_code == 302 and fake_wechat.sent[-1]["kind"] == "subscribe"


def test_the_subscribe_page_signs_wx_config_for_the_subscribe_templates_inside_wechat_only(
        app, make_tenant, login, fake_wechat):
    import hashlib
    import json
    import re
    from html import unescape

    alpha = make_tenant("alpha", locale="zh_CN")
    admin = configure(login, alpha, template_map=SUB_MAP)
    url = "http://localhost/t/alpha/wechat/notices"
    outside = app.test_client().get(url)
    assert outside.status_code == 200 and "请在微信中打开" in outside.get_data(as_text=True)
    assert "wx-open-subscribe" not in outside.get_data(as_text=True)
    ua = {"User-Agent": "Mozilla/5.0 (iPhone) MicroMessenger/8.0.47 NetType/WIFI Language/zh_CN"}
    for _ in range(2):
        inside = app.test_client().get(url, headers=ua)
        html = inside.get_data(as_text=True)
        assert inside.status_code == 200 and 'template="SubRemind_01,SubTopupLong"' in html
        assert "https://res.wx.qq.com" in inside.headers["Content-Security-Policy"]
        config = json.loads(unescape(re.search(r'data-config="([^"]+)"', html).group(1)))
        plain = (f"jsapi_ticket={fake_wechat.tickets[-1]}&noncestr={config['nonceStr']}"
                 f"&timestamp={config['timestamp']}&url={url}")
        assert config["signature"] == hashlib.sha1(plain.encode()).hexdigest()
        assert config["appId"] == "wx1234567890abcdef"
    assert len(fake_wechat.tickets) == 1                     # the ticket is cached like the access token
    assert "default-src 'self'" in app.test_client().get("/t/alpha/wechat/callback").headers.get(
        "Content-Security-Policy", "default-src 'self'")
    assert "/wechat/notices" in admin.get("/t/alpha/wechat/").get_data(as_text=True)
    fake_wechat.down = True
    from redis import Redis

    redis = Redis.from_url(app.config["REDIS_URL"])
    for key in redis.scan_iter("storecrm:wechat_oa:token:*"):
        redis.delete(key)
    down = app.test_client().get(url, headers=ua)
    assert down.status_code == 200 and 'data-testid="subscribe-error"' in down.get_data(as_text=True)


def test_the_admin_page_maps_a_template_code_to_either_mode_and_explains_mistakes_in_chinese(
        app, make_tenant, login, fake_wechat):
    alpha = make_tenant("alpha", locale="zh_CN")
    admin = configure(login, alpha, template_map=SUB_MAP)
    page = admin.get("/t/alpha/wechat/").get_data(as_text=True)
    assert 'data-testid="mapping-form"' in page and "订阅通知（一次性）" in page and "订阅通知（长期）" in page
    resp = admin.post("/t/alpha/wechat/mappings", {"code": "appointment.booked", "mode": "subscribe",
                                                   "template_id": "SubBooked_9", "fields": "thing1=service，time2=when"})
    assert resp.status_code == 302
    page = admin.get("/t/alpha/wechat/").get_data(as_text=True)
    assert "SubBooked_9" in page and "thing1=service, time2=when" in page
    bad = admin.post("/t/alpha/wechat/mappings", {"code": "appointment.booked", "mode": "email",
                                                  "template_id": "坏的", "fields": "thing1"})
    body = bad.get_data(as_text=True)
    assert bad.status_code == 422
    assert "模板 ID 由 1-64 位" in body and "每个字段写成" in body and 'id="m-mode"' in body
    assert admin.post("/t/alpha/wechat/mappings/appointment.booked/delete", {}).status_code == 302
    assert "SubBooked_9" not in admin.get("/t/alpha/wechat/").get_data(as_text=True)
    assert admin.post("/t/alpha/wechat/mappings/nope.code/delete", {}).status_code == 404
