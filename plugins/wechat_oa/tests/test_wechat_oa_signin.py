"""Web sign-in binds the visitor's openid to the customer whose page they opened (inside WeChat only, state signed
against CSRF), the server callback checks WeChat's signature (forged, stale and replayed pushes change nothing),
and the plugin's routes keep tenants apart."""
import re
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import text

from storecrm.testing import assert_plugin_isolated, schema_violations
from wechat_oa_testkit import OPENID, configure, event_xml, fake_wechat, signed_args  # noqa: F401

pytestmark = pytest.mark.storecrm_plugins("wechat_oa", "retail")
WECHAT_UA = ("Mozilla/5.0 (iPhone; CPU iPhone OS 17_0 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) "
             "Mobile/15E148 MicroMessenger/8.0.47(0x18002f2f) NetType/WIFI Language/zh_CN")


def _card(in_tenant, world, n=1):
    from storecrm.plugins.retail import members, tokens
    from storecrm.sdk import AUTOMATION

    with in_tenant(world):
        member = members.register(AUTOMATION, {"name": f"王女士{n}", "mobile": f"1390000{n:04d}",
                                               "store_id": world.stores[0], "consent": True}, source="till")
        return f"/t/{world.slug}/retail/card/{tokens.make(tokens.CARD, member.id)}", member.customer_id


def _identities(system_db, tenant_id):
    with system_db.connect() as conn:
        return conn.execute(text("SELECT customer_id, value FROM customer_identities WHERE tenant_id = :t AND "
                                 "kind = 'wechat_openid'"), {"t": tenant_id}).all()


def _follow(client, location):
    """Follow the redirect through the fake's authorize page back to our return URL, as WeChat's browser does."""
    import requests

    answer = requests.get(location, allow_redirects=False, timeout=5)
    back = urlsplit(answer.headers["Location"])
    return client.get(f"{back.path}?{back.query}", headers={"User-Agent": WECHAT_UA})


def test_inside_wechat_the_member_page_binds_the_visitors_openid_once(app, make_tenant, in_tenant, login,
                                                                      fake_wechat, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha)
    url, customer_id = _card(in_tenant, alpha)
    assert app.test_client().get(url).status_code == 200          # an ordinary browser: no sign-in
    client = app.test_client()
    resp = client.get(url, headers={"User-Agent": WECHAT_UA})
    assert resp.status_code == 302 and resp.location.startswith(fake_wechat.url + "/connect/oauth2/authorize?")
    query = parse_qs(urlsplit(resp.location).query)
    assert query["appid"] == ["wx1234567890abcdef"] and query["scope"] == ["snsapi_base"]
    back = _follow(client, resp.location)
    assert back.status_code == 302 and back.location.endswith(url)
    assert _identities(system_db, alpha.id) == [(customer_id, OPENID)]
    again = client.get(url, headers={"User-Agent": WECHAT_UA})
    assert again.status_code == 200 and "王女士1" in again.get_data(as_text=True)


def test_a_forged_or_foreign_state_binds_nothing(app, make_tenant, in_tenant, login, fake_wechat, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha)
    url, _customer_id = _card(in_tenant, alpha)
    victim = app.test_client()
    start = victim.get(url, headers={"User-Agent": WECHAT_UA})
    state = parse_qs(urlsplit(start.location).query)["state"][0]
    fake_wechat.codes["stolen"] = "oAttacker_openid_000001"
    attacker = app.test_client()              # another browser replays the victim's state (login CSRF)
    resp = attacker.get(f"/t/alpha/wechat/oauth?code=stolen&state={state}", headers={"User-Agent": WECHAT_UA})
    assert resp.status_code == 400 and "微信授权未完成" in resp.get_data(as_text=True)
    resp = victim.get(f"/t/alpha/wechat/oauth?code=stolen&state={state[:-3]}abc", headers={"User-Agent": WECHAT_UA})
    assert resp.status_code == 400
    assert _identities(system_db, alpha.id) == []


def test_the_server_callback_checks_the_signature_and_applies_each_event_once(app, make_tenant, login, system_db):
    alpha = make_tenant("alpha")
    configure(login, alpha)
    client = app.test_client()
    good = signed_args()
    resp = client.get("/t/alpha/wechat/callback", query_string={**good, "echostr": "hello-wechat"})
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "hello-wechat"
    for forged in ({**good, "signature": "0" * 40}, signed_args(token="someoneElse"), signed_args(timestamp=1_600_000_000)):
        assert client.get("/t/alpha/wechat/callback", query_string={**forged, "echostr": "x"}).status_code == 403
        assert client.post("/t/alpha/wechat/callback", query_string=forged,
                           data=event_xml(OPENID, "subscribe")).status_code == 403
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM wechat_oa_followers")).scalar() == 0
    push = event_xml(OPENID, "subscribe")
    for _ in range(2):                          # WeChat retries a push; a replay within the window is the same push
        resp = client.post("/t/alpha/wechat/callback", query_string=signed_args(), data=push)
        assert resp.status_code == 200 and resp.get_data(as_text=True) == "success"
    assert client.post("/t/alpha/wechat/callback", query_string=signed_args(), data=b"<xml>broken").status_code == 400
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT openid, subscribed FROM wechat_oa_followers WHERE tenant_id = :t"),
                            {"t": alpha.id}).all() == [(OPENID, True)]
        assert conn.execute(text("SELECT count(*) FROM wechat_oa_callback_events")).scalar() == 1
    client.post("/t/alpha/wechat/callback", query_string=signed_args(), data=event_xml(OPENID, "unsubscribe"))
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT subscribed FROM wechat_oa_followers")).scalar() is False


def test_a_tenants_callback_cannot_be_signed_with_another_tenants_token(app, two_tenants, login, system_db):
    alpha, beta = two_tenants
    configure(login, alpha)
    configure(login, beta, server_token="betaTokenDifferent")
    resp = app.test_client().post("/t/beta/wechat/callback", query_string=signed_args(),
                                  data=event_xml(OPENID, "subscribe"))
    assert resp.status_code == 403
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM wechat_oa_followers")).scalar() == 0


def test_every_route_keeps_tenants_apart_and_the_tables_follow_the_rules(app, two_tenants, in_tenant, login,
                                                                          api_token, system_db, owner_engine,
                                                                          fake_wechat):
    from storecrm.sdk import send_message

    from wechat_oa_testkit import TEMPLATE_MAP

    alpha, beta = two_tenants
    configure(login, alpha)
    configure(login, beta, template_map=TEMPLATE_MAP + "\nbeta.only = TplBetaOnly1; thing1=name")
    with in_tenant(beta):
        message_id = send_message("wechat", OPENID, "通知", "正文", payload={"template": "beta.only"}).id
    code = {"code": "beta.only"}
    assert_plugin_isolated(app, "wechat_oa", alpha, beta, login=login, api_token=api_token, system_db=system_db,
                           b_ids={"api_wechat_oa.get_mapping": lambda w: dict(code),
                                  "api_wechat_oa.put_mapping": lambda w: dict(code),
                                  "api_wechat_oa.delete_mapping": lambda w: dict(code),
                                  "wechat_oa.delete_mapping": lambda w: dict(code),
                                  "api_wechat_oa.get_delivery": lambda w: {"message_id": message_id},
                                  "wechat_oa_public.static": lambda w: {"filename": "missing.js"}})
    with owner_engine.connect() as conn:
        assert schema_violations(conn, {"wechat_oa_followers", "wechat_oa_callback_events",
                                        "wechat_oa_subscribe_consents"}) == []


def test_a_tenant_without_the_plugin_gets_404(app, make_tenant, login):
    alpha = make_tenant("alpha", plugins=("retail",))
    admin = login(alpha, "admin")
    assert admin.get("/t/alpha/wechat/").status_code == 404
    assert app.test_client().get("/t/alpha/wechat/callback", query_string=signed_args()).status_code == 404


def test_the_quote_a_customer_opens_in_wechat_binds_them_too(app, make_tenant, in_tenant, login, fake_wechat,
                                                             system_db):
    from storecrm.sdk import AUTOMATION, create_sales_document, send_quote

    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha)
    with in_tenant(alpha):
        quote = create_sales_document(AUTOMATION, "quote", customer_id=alpha.customers[0], store_id=alpha.stores[0],
                                      lines=[{"description": "全屋智能方案", "quantity": 1, "unit_price": "8800.00"}])
        token = send_quote(AUTOMATION, quote).share_token
    client = app.test_client()
    page = client.get(f"/t/alpha/q/{token}", headers={"User-Agent": WECHAT_UA})
    assert page.status_code == 302 and "/connect/oauth2/authorize?" in page.location
    _follow(client, page.location)
    assert _identities(system_db, alpha.id) == [(alpha.customers[0], OPENID)]
