"""WeChat template messages as the outbox channel "wechat": mapped per tenant, the access token fetched once for all
processes, a WeChat outage retried through the outbox with nothing lost or sent twice, clear Chinese errors."""
import threading

import pytest
from sqlalchemy import text

from storecrm.sdk import send_message
from storecrm.testing import run_jobs
from wechat_oa_testkit import OPENID, configure, fake_wechat  # noqa: F401  (fixture)

pytestmark = pytest.mark.storecrm_plugins("wechat_oa")


@pytest.fixture(autouse=True)
def _fresh_tokens(app):
    from redis import Redis

    redis = Redis.from_url(app.config["REDIS_URL"])
    for key in redis.scan_iter("storecrm:wechat_oa:token:*"):
        redis.delete(key)


def _outbox(system_db, tenant_id):
    with system_db.connect() as conn:
        return conn.execute(text("SELECT status, attempts, last_error, payload FROM outbox_messages "
                                 "WHERE tenant_id = :t AND channel = 'wechat' ORDER BY id"), {"t": tenant_id}).all()


def _reminder(in_tenant, world, template="appointment.reminder", n=1):
    with in_tenant(world):
        for i in range(n):
            send_message("wechat", OPENID, "预约提醒", "明天 10:00 保养",
                         payload={"template": template, "params": {"service": f"保养{i}", "starts_at": "明天 10:00"}})


def test_a_reminder_goes_out_as_the_mapped_template_message_with_one_token_for_all(
        make_tenant, in_tenant, login, fake_wechat, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha)
    _reminder(in_tenant, alpha, n=2)
    run_jobs()
    assert [m["template_id"] for m in fake_wechat.sent] == ["TplRemind01", "TplRemind01"]
    assert fake_wechat.sent[0]["touser"] == OPENID
    assert sorted(m["data"]["thing1"]["value"] for m in fake_wechat.sent) == ["保养0", "保养1"]
    assert fake_wechat.sent[0]["data"]["time2"] == {"value": "明天 10:00"}
    assert [row.status for row in _outbox(system_db, alpha.id)] == ["sent", "sent"]
    assert len(fake_wechat.tokens_issued) == 1     # the second message used the cached token


def test_many_processes_asking_at_once_fetch_the_token_once(make_tenant, in_tenant, login, fake_wechat):
    from storecrm.plugins.wechat_oa.client import access_token

    alpha = make_tenant("alpha")
    configure(login, alpha)
    got, errors = [], []

    def worker():
        try:
            with in_tenant(alpha):
                got.append(access_token())
        except Exception as exc:  # noqa: BLE001 — reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert not errors
    assert len(set(got)) == 1 and len(fake_wechat.tokens_issued) == 1


def test_a_token_wechat_no_longer_accepts_is_fetched_again_once(make_tenant, in_tenant, login, fake_wechat,
                                                                 system_db):
    alpha = make_tenant("alpha")
    configure(login, alpha)
    _reminder(in_tenant, alpha)
    run_jobs()
    fake_wechat.tokens_issued.append("ROTATED_ELSEWHERE")   # another system fetched a token: ours is void
    _reminder(in_tenant, alpha)
    run_jobs()
    assert len(fake_wechat.sent) == 2
    assert [row.status for row in _outbox(system_db, alpha.id)] == ["sent", "sent"]


def test_an_outage_is_retried_through_the_outbox_with_nothing_lost_or_sent_twice(
        make_tenant, in_tenant, login, fake_wechat, system_db, run_outbox):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha)
    fake_wechat.down = True
    _reminder(in_tenant, alpha)
    run_jobs()
    (status, attempts, error, _payload), = _outbox(system_db, alpha.id)
    assert (status, attempts) == ("pending", 1) and "503" in error and fake_wechat.sent == []
    fake_wechat.down = False
    run_outbox(later=True)
    run_outbox(later=True)        # a second sweep finds nothing left to send
    assert len(fake_wechat.sent) == 1
    (status, attempts, error, payload), = _outbox(system_db, alpha.id)
    assert (status, attempts, error) == ("sent", 2, None) and payload["wechat_msgid"]


def test_a_message_without_a_mapped_template_fails_with_a_chinese_error(make_tenant, in_tenant, login,
                                                                         fake_wechat, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha)
    _reminder(in_tenant, alpha, template="survey.invitation")
    run_jobs()
    (status, _attempts, error, _payload), = _outbox(system_db, alpha.id)
    assert status == "pending" and fake_wechat.sent == []
    assert "survey.invitation" in error and "微信模板消息" in error


def test_the_admin_page_shows_deliveries_and_wrong_credentials_in_chinese(make_tenant, in_tenant, login,
                                                                          fake_wechat):
    alpha = make_tenant("alpha", locale="zh_CN")
    admin = configure(login, alpha, app_secret="wrong-secret-value")
    _reminder(in_tenant, alpha)
    run_jobs()
    page = admin.get("/t/alpha/wechat/").get_data(as_text=True)
    assert "微信公众号" in page and "最近发送" in page and "AppSecret" in page
    resp = admin.post("/t/alpha/wechat/check", {}, follow_redirects=True)
    assert "AppSecret 不正确" in resp.get_data(as_text=True)
    resp = admin.post("/t/alpha/wechat/", {"openid": OPENID, "template": "appointment.reminder"})
    assert resp.status_code == 422 and "AppSecret 不正确" in resp.get_data(as_text=True)
    configure(login, alpha, app_secret="s3cret-app-secret-0001")
    resp = admin.post("/t/alpha/wechat/", {"openid": OPENID, "template": "appointment.reminder"})
    assert resp.status_code == 302 and fake_wechat.sent[-1]["template_id"] == "TplRemind01"
    resp = admin.post("/t/alpha/wechat/", {"openid": "x", "template": "nope"})
    assert resp.status_code == 422


def test_the_mapping_is_checked_when_saved(make_tenant, login):
    alpha = make_tenant("alpha", locale="zh_CN")
    admin = login(alpha, "admin")
    resp = admin.post("/t/alpha/modules/wechat_oa/settings", {"app_id": "wx1234567890abcdef",
                                                             "template_map": "retail.topup TplTopup01"})
    assert resp.status_code == 422 and "第 1 行" in resp.get_data(as_text=True)
