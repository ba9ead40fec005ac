"""WeCom against a fake WeCom API: staff notifications reach bound staff as app messages, the access token is
shared and refreshed once, errors read in Chinese, bindings are checked, tenants stay apart."""
import threading

import pytest
from sqlalchemy import text

from wecom_testkit import FakeWecom, configure

pytestmark = pytest.mark.storecrm_plugins("wecom")


@pytest.fixture
def wecom(app, monkeypatch):
    from storecrm.sdk import shared_redis

    fake = FakeWecom()
    monkeypatch.setenv("STORECRM_WECOM_API_BASE", fake.url)
    with app.app_context():
        for key in shared_redis().scan_iter("wecom:token:*"):  # tenants of earlier tests had the same ids
            shared_redis().delete(key)
    yield fake
    fake.close()


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _notify(in_tenant, world, role, title, url="/smart-home/engineer/1"):
    from storecrm.sdk import User, get_scoped, notify_user

    with in_tenant(world):
        notify_user(get_scoped(User, world.users[role]), title, "客户：王先生 · 门锁故障", url)


def test_a_bound_technician_gets_staff_notifications_in_wecom(app, two_tenants, in_tenant, login, run_outbox,
                                                              system_db, wecom):
    alpha, _ = two_tenants
    configure(login(alpha, "admin"), alpha.slug, bindings={alpha.users["technician"]: "zhangwei"})
    _notify(in_tenant, alpha, "technician", "新工单 WO-0001")
    _notify(in_tenant, alpha, "manager", "不会发到企业微信")  # not bound: bell and email only
    run_outbox()
    [message] = wecom.received
    assert message["touser"] == "zhangwei" and message["msgtype"] == "textcard"
    assert message["textcard"]["title"] == "新工单 WO-0001"
    assert message["textcard"]["url"].startswith("http") and message["textcard"]["url"].endswith(
        f"/t/{alpha.slug}/smart-home/engineer/1")  # a relative link made absolute: WeCom opens it outside
    assert _rows(system_db, "SELECT channel, status FROM outbox_messages WHERE channel = 'wecom'") == [
        ("wecom", "sent")]


def test_the_access_token_is_fetched_once_for_racing_processes_and_refreshed_when_wecom_drops_it(
        app, two_tenants, in_tenant, login, wecom):
    from storecrm.plugins.wecom import client, services

    alpha, _ = two_tenants
    configure(login(alpha, "admin"), alpha.slug)
    tokens = []

    def worker():
        with in_tenant(alpha):
            tokens.append(client.access_token(services.settings()))

    threads = [threading.Thread(target=worker) for _ in range(5)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert wecom.token_calls == 1 and len(set(tokens)) == 1
    wecom.expire_all()
    with in_tenant(alpha):
        client.send_text(services.settings(), "zhangwei", "测试", "正文", None)
    assert wecom.token_calls == 2 and len(wecom.received) == 1


def test_the_cached_token_lives_shorter_than_wecom_says(app, two_tenants, in_tenant, login, wecom):
    from storecrm.plugins.wecom import client, services
    from storecrm.sdk import shared_redis

    alpha, _ = two_tenants
    configure(login(alpha, "admin"), alpha.slug)
    wecom.expires_in = 1000
    with in_tenant(alpha):
        settings = services.settings()
        client.access_token(settings)
        ttl = shared_redis().ttl(client._key(settings))
    assert 600 < ttl <= 700


def test_wrong_secret_shows_a_chinese_error_on_the_test_page(app, two_tenants, login, wecom, system_db):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    configure(admin, alpha.slug, secret="wrong", bindings={alpha.users["technician"]: "zhangwei"})
    resp = admin.post(f"/t/{alpha.slug}/wecom/test", {"staff": alpha.users["technician"]})
    assert resp.status_code == 422 and "应用 Secret 错误或已失效" in resp.get_data(as_text=True)
    assert wecom.received == []
    configure(admin, alpha.slug)
    ok = admin.post(f"/t/{alpha.slug}/wecom/test", {"staff": alpha.users["technician"]})
    assert ok.status_code == 302 and wecom.received[0]["touser"] == "zhangwei"


def test_a_member_wecom_does_not_know_is_given_up_with_the_reason(app, two_tenants, in_tenant, login, run_outbox,
                                                                 system_db, wecom):
    alpha, _ = two_tenants
    configure(login(alpha, "admin"), alpha.slug, bindings={alpha.users["technician"]: "left.company"})
    _notify(in_tenant, alpha, "technician", "新工单 WO-0002")
    run_outbox()
    [(status, error)] = _rows(system_db, "SELECT status, last_error FROM outbox_messages WHERE channel = 'wecom'")
    assert status == "dead" and "81013" in error and "不存在" in error


def test_bindings_are_checked_and_one_userid_belongs_to_one_person(app, two_tenants, login, system_db, wecom):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    configure(admin, alpha.slug, bindings={alpha.users["technician"]: "zhangwei"})
    taken = admin.post(f"/t/{alpha.slug}/wecom/bindings", {f"userid-{alpha.users['manager']}": "zhangwei"})
    assert taken.status_code == 422
    bad = admin.post(f"/t/{alpha.slug}/wecom/bindings", {f"userid-{alpha.users['manager']}": "张 伟"})
    assert bad.status_code == 422
    assert _rows(system_db, "SELECT wecom_userid FROM wecom_bindings") == [("zhangwei",)]
    page = admin.get(f"/t/{alpha.slug}/wecom/")
    assert page.status_code == 200 and "zhangwei" in page.get_data(as_text=True)


def test_every_route_of_the_plugin_keeps_tenants_apart(app, two_tenants, in_tenant, login, api_token, system_db,
                                                       wecom):
    from storecrm.sdk import send_message
    from storecrm.testing import assert_plugin_isolated

    alpha, beta = two_tenants
    configure(login(beta, "admin"), beta.slug, bindings={beta.users["technician"]: "lina"})
    with in_tenant(beta):
        message_id = send_message("wecom", "lina", "新工单", "请查看").id
    staff = {"user_id": beta.users["technician"]}
    assert_plugin_isolated(app, "wecom", alpha, beta, login=login, api_token=api_token, system_db=system_db,
                           b_ids={"api_wecom.put_binding": lambda w: dict(staff),
                                  "api_wecom.delete_binding": lambda w: dict(staff),
                                  "api_wecom.get_delivery": lambda w: {"message_id": message_id}})
    assert _rows(system_db, "SELECT tenant_id, wecom_userid FROM wecom_bindings") == [(beta.id, "lina")]
