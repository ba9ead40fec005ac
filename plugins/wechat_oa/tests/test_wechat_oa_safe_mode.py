"""Safe mode (安全模式) of the server callback: pushes encrypted with the EncodingAESKey are decrypted and applied,
forged msg_signatures and another account's AppID inside the message are refused and store nothing, plaintext mode
keeps working, and a reply to an encrypted push is encrypted."""
import pytest
from sqlalchemy import text
from wechatpy.crypto import WeChatCrypto

from wechat_oa_testkit import (AES_KEY, APP_ID, OPENID, SERVER_TOKEN, configure, encrypted_push, event_xml,
                               signed_args)

pytestmark = pytest.mark.storecrm_plugins("wechat_oa")


def _followers(system_db, tenant_id):
    with system_db.connect() as conn:
        return conn.execute(text("SELECT openid, subscribed FROM wechat_oa_followers WHERE tenant_id = :t"),
                            {"t": tenant_id}).all()


def _events(system_db):
    with system_db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM wechat_oa_callback_events")).scalar()


def test_an_encrypted_push_is_decrypted_applied_once_and_answered_encrypted(app, make_tenant, login, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure(login, alpha, encoding_aes_key=AES_KEY, welcome_text="欢迎关注！预约保养请点菜单。")
    client = app.test_client()
    query, body = encrypted_push(event_xml(OPENID, "subscribe"))
    resp = client.post("/t/alpha/wechat/callback", query_string=query, data=body)
    assert resp.status_code == 200 and "<Encrypt>" in resp.get_data(as_text=True)
    reply = resp.get_data(as_text=True)
    signature = reply.split("<MsgSignature><![CDATA[")[1].split("]]>")[0]
    stamp = reply.split("<TimeStamp>")[1].split("</TimeStamp>")[0]
    nonce = reply.split("<Nonce><![CDATA[")[1].split("]]>")[0]
    plain = WeChatCrypto(SERVER_TOKEN, AES_KEY, APP_ID).decrypt_message(reply, signature, stamp, nonce)
    assert "欢迎关注" in plain and OPENID in plain and "<MsgType><![CDATA[text]]></MsgType>" in plain
    assert client.post("/t/alpha/wechat/callback", query_string=query, data=body).get_data(as_text=True) == "success"
    assert _followers(system_db, alpha.id) == [(OPENID, True)] and _events(system_db) == 1


def test_forged_signatures_and_another_accounts_appid_are_refused_and_store_nothing(app, make_tenant, login,
                                                                                    system_db):
    alpha = make_tenant("alpha")
    configure(login, alpha, encoding_aes_key=AES_KEY)
    client = app.test_client()
    push = event_xml(OPENID, "subscribe")
    query, body = encrypted_push(push)
    forged = [({**query, "msg_signature": "0" * 40}, body),                      # msg_signature does not match
              encrypted_push(push, app_id="wx0000000000000000"),                 # another account's AppID inside
              encrypted_push(push, aes_key="Z" * 43),                            # another key: our signature is right,
              ]
    for forged_query, forged_body in forged[:2]:
        assert client.post("/t/alpha/wechat/callback", query_string=forged_query, data=forged_body).status_code == 403
    forged_query, forged_body = forged[2]
    assert client.post("/t/alpha/wechat/callback", query_string=forged_query,
                       data=forged_body).status_code in (400, 403)      # …but the text cannot be decrypted
    bad_token = encrypted_push(push, token="someoneElse")
    assert client.post("/t/alpha/wechat/callback", query_string=bad_token[0], data=bad_token[1]).status_code == 403
    garbage = client.post("/t/alpha/wechat/callback", query_string=query, data=b"<xml>not-encrypted")
    assert garbage.status_code in (400, 403)
    assert _followers(system_db, alpha.id) == [] and _events(system_db) == 0


def test_without_an_encoding_aes_key_encrypted_pushes_are_refused_and_plaintext_keeps_working(app, make_tenant,
                                                                                              login, system_db):
    alpha = make_tenant("alpha")
    configure(login, alpha)
    client = app.test_client()
    query, body = encrypted_push(event_xml(OPENID, "subscribe"))
    assert client.post("/t/alpha/wechat/callback", query_string=query, data=body).status_code == 403
    assert _followers(system_db, alpha.id) == []
    resp = client.post("/t/alpha/wechat/callback", query_string=signed_args(), data=event_xml(OPENID, "subscribe"))
    assert resp.status_code == 200 and resp.get_data(as_text=True) == "success"
    assert _followers(system_db, alpha.id) == [(OPENID, True)]


def test_the_key_is_a_secret_setting_checked_when_saved(make_tenant, login):
    alpha = make_tenant("alpha", locale="zh_CN")
    admin = login(alpha, "admin")
    resp = admin.post("/t/alpha/modules/wechat_oa/settings", {"app_id": APP_ID, "encoding_aes_key": "short"})
    assert resp.status_code == 422 and "43" in resp.get_data(as_text=True)
    configure(login, alpha, encoding_aes_key=AES_KEY)
    page = admin.get("/t/alpha/modules/wechat_oa/settings").get_data(as_text=True)
    assert AES_KEY not in page
    assert AES_KEY not in admin.get("/t/alpha/wechat/").get_data(as_text=True)
