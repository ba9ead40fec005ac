"""WeChat Pay against a fake that checks and signs like WeChat Pay: a 0.01 Native test order, an order's deposit by
QR at the till booked as a payment of the commerce core, a stored-value top-up paid inside WeChat (JSAPI) booked
once with its WeChat notice, refunds; forged, replayed, foreign and duplicate notifications change nothing."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import text

from storecrm.sdk import AUTOMATION, add_identity, confirm_order, create_sales_document, document_totals, get_sales_order
from storecrm.testing import assert_plugin_isolated, schema_violations
from wechat_pay_testkit import (FakeWechatPay, _key, configure_pay, fake_pay, pem_private,  # noqa: F401
                                post_notification)

pytestmark = pytest.mark.storecrm_plugins("wechat_pay", "wechat_oa", "retail")
TABLES = {"wechat_pay_payments", "wechat_pay_notifications", "wechat_pay_refunds"}


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _order(in_tenant, world, amount="300.00"):
    with in_tenant(world):
        order = create_sales_document(AUTOMATION, "order", customer_id=world.customers[0], store_id=world.stores[0],
                                      lines=[{"description": "安装服务", "quantity": 1, "unit_price": amount}])
        confirm_order(AUTOMATION, order)
        return order.id


def _payment(system_db, world):
    return _rows(system_db, "SELECT id, out_trade_no, status, transaction_id, amount_fen, error FROM "
                            "wechat_pay_payments WHERE tenant_id = :t ORDER BY id DESC LIMIT 1", t=world.id)[0]


def test_a_test_order_of_one_fen_shows_its_qr_and_a_repeated_notification_counts_once(
        app, make_tenant, login, fake_pay, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    admin = configure_pay(login, alpha)
    resp = admin.post("/t/alpha/wechat-pay/test", {})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-600:]
    payment = _payment(system_db, alpha)
    assert payment.status == "created" and payment.amount_fen == 1
    assert fake_pay.orders[payment.out_trade_no]["kind"] == "native" and fake_pay.rejected == []
    page = admin.get(resp.location).get_data(as_text=True)
    assert "<svg" in page and "请顾客用微信扫码" in page
    notification = fake_pay.pay(payment.out_trade_no)
    client = app.test_client()
    first, again = post_notification(client, notification), post_notification(client, notification)
    assert (first.status_code, first.json["message"]) == (200, "applied")
    assert (again.status_code, again.json["message"]) == (200, "duplicate")
    assert _payment(system_db, alpha).status == "paid"
    assert len(_rows(system_db, "SELECT id FROM wechat_pay_notifications")) == 1
    assert admin.get(f"/t/alpha/wechat-pay/payments/{payment.id}/status").json == {"status": "paid"}


def test_a_deposit_collected_at_the_till_is_booked_on_the_order_once(app, make_tenant, in_tenant, login, fake_pay,
                                                                      system_db):
    alpha = make_tenant("alpha")
    configure_pay(login, alpha)
    order_id = _order(in_tenant, alpha)
    advisor = login(alpha, "advisor")
    resp = advisor.post(f"/t/alpha/wechat-pay/orders/{order_id}/collect", {"amount": "100.00"})
    assert resp.status_code == 302
    payment = _payment(system_db, alpha)
    assert payment.amount_fen == 10000
    too_much = advisor.post(f"/t/alpha/wechat-pay/orders/{order_id}/collect", {"amount": "900"})
    assert too_much.status_code == 302 and len(fake_pay.orders) == 1
    notification = fake_pay.pay(payment.out_trade_no)
    for _ in range(3):
        assert post_notification(app.test_client(), notification).status_code == 200
    with in_tenant(alpha):
        totals = document_totals(get_sales_order(order_id))
    assert (totals["paid"], totals["balance_due"]) == (Decimal("100.00"), Decimal("200.00"))
    assert len(_rows(system_db, "SELECT id FROM payments WHERE tenant_id = :t", t=alpha.id)) == 1


def test_forged_replayed_and_foreign_notifications_are_refused_and_store_nothing(app, two_tenants, login, fake_pay,
                                                                                  system_db):
    alpha, beta = two_tenants
    admin = configure_pay(login, alpha)
    configure_pay(login, beta)
    admin.post("/t/alpha/wechat-pay/test", {})
    out_trade_no = _payment(system_db, alpha).out_trade_no
    client = app.test_client()
    impostor = FakeWechatPay()
    impostor.orders, impostor.platform_key = fake_pay.orders, _key()          # signs with a key that is not WeChat's
    url, headers, body = fake_pay.pay(out_trade_no)
    tampered = (url, headers, body.replace(b'"TRANSACTION.SUCCESS"', b'"TRANSACTION.SUCCESS" '))
    wrong_key = fake_pay.pay(out_trade_no, key="0" * 32)                      # not encrypted with our APIv3 key
    replayed = fake_pay.pay(out_trade_no, stamp=1_700_000_000)                # validly signed, but long ago
    foreign = (url.replace("/t/alpha/", "/t/beta/"), headers, body)           # alpha's payment at beta's URL
    for notification in (impostor.pay(out_trade_no), tampered, wrong_key, replayed, foreign):
        resp = post_notification(client, notification)
        assert resp.status_code == 401 and resp.json["code"] == "FAIL"
    assert _rows(system_db, "SELECT id FROM wechat_pay_notifications") == []
    assert _payment(system_db, alpha).status == "created"
    assert _rows(system_db, "SELECT id FROM payments") == []


def test_a_top_up_paid_inside_wechat_is_booked_once_and_the_member_is_told_on_wechat(
        app, make_tenant, in_tenant, login, fake_pay, system_db):
    from storecrm.plugins.retail import members, tokens
    from storecrm.sdk import online_payment_url

    alpha = make_tenant("alpha", locale="zh_CN")
    configure_pay(login, alpha)
    with in_tenant(alpha):
        member = members.register(AUTOMATION, {"name": "王女士", "mobile": "13900001111", "store_id": alpha.stores[0],
                                               "consent": True}, source="till")
        add_identity(members.customer_of(member), "wechat_openid", "oFake_openid_customer_0001")
        card = tokens.make(tokens.CARD, member.id)
        member_id = member.id
    client = app.test_client()
    page = client.get(f"/t/alpha/retail/card/{card}").get_data(as_text=True)
    start = page.split('data-testid="topup-online"')[0].rsplit('href="', 1)[1].split('"')[0]
    form = client.get(start)
    assert form.status_code == 200 and "储值充值" in form.get_data(as_text=True)
    token = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True)).group(1)
    bad = client.post(start, data={"csrf_token": token, "amount": "-5"})
    assert bad.status_code == 422 and fake_pay.orders == {}
    resp = client.post(start, data={"csrf_token": token, "amount": "500"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-600:]
    order = next(iter(fake_pay.orders.values()))
    assert order["kind"] == "jsapi" and order["payer"] == {"openid": "oFake_openid_customer_0001"}
    assert order["amount"] == {"total": 50000, "currency": "CNY"}
    paying = client.get(resp.location).get_data(as_text=True)
    assert "getBrandWCPayRequest" not in paying and "paySign" in paying
    notification = fake_pay.pay(order["out_trade_no"])
    for _ in range(2):
        assert post_notification(app.test_client(), notification).status_code == 200
    balance, = _rows(system_db, "SELECT stored_balance FROM retail_members WHERE id = :m", m=member_id)[0]
    assert balance == Decimal("550.00")                                     # 500 + the 500:50 bonus, once
    notices = _rows(system_db, "SELECT recipient, payload FROM outbox_messages WHERE channel = 'wechat'")
    assert len(notices) == 1 and notices[0].recipient == "oFake_openid_customer_0001"
    assert notices[0].payload["template"] == "retail.topup" and notices[0].payload["params"]["balance"] == "550.00"
    assert client.get(resp.location).get_data(as_text=True).count("已支付") >= 1


def test_a_refund_goes_through_wechat_pay_and_is_booked_on_the_order(app, make_tenant, in_tenant, login, fake_pay,
                                                                     system_db):
    alpha = make_tenant("alpha")
    admin = configure_pay(login, alpha)
    order_id = _order(in_tenant, alpha, "120.00")
    admin.post(f"/t/alpha/wechat-pay/orders/{order_id}/collect", {})
    payment = _payment(system_db, alpha)
    post_notification(app.test_client(), fake_pay.pay(payment.out_trade_no))
    too_much = admin.post(f"/t/alpha/wechat-pay/payments/{payment.id}/refund", {"amount": "500"})
    assert too_much.status_code == 302 and fake_pay.refunds == {}
    admin.post(f"/t/alpha/wechat-pay/payments/{payment.id}/refund", {"amount": "20.00", "reason": "少装一个配件"})
    out_refund_no, = fake_pay.refunds
    done = fake_pay.refund_done(out_refund_no)
    for _ in range(2):
        assert post_notification(app.test_client(), done).status_code == 200
    assert _rows(system_db, "SELECT status FROM wechat_pay_refunds") == [("success",)]
    with in_tenant(alpha):
        assert document_totals(get_sales_order(order_id))["paid"] == Decimal("100.00")


def test_wrong_credentials_give_a_clear_chinese_error_and_keep_nothing(make_tenant, login, fake_pay, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    admin = configure_pay(login, alpha, merchant_private_key=pem_private(_key()))
    resp = admin.post("/t/alpha/wechat-pay/test", {}, follow_redirects=True)
    assert "请求签名" in resp.get_data(as_text=True)
    assert _rows(system_db, "SELECT id FROM wechat_pay_payments") == []


def test_every_route_keeps_tenants_apart_and_the_tables_follow_the_rules(app, two_tenants, in_tenant, login,
                                                                          api_token, system_db, owner_engine,
                                                                          fake_pay):
    from storecrm.plugins.wechat_pay import tokens

    alpha, beta = two_tenants
    configure_pay(login, alpha)
    beta_admin = configure_pay(login, beta)
    b_order = _order(in_tenant, beta)
    beta_admin.post(f"/t/beta/wechat-pay/orders/{b_order}/collect", {})
    b_payment = _payment(system_db, beta).id
    with in_tenant(beta):
        pay_token = tokens.make(tokens.PAY, "retail.topup", 1, beta.customers[0], 0, "/")
        paying_token = tokens.make(tokens.PAYING, b_payment, "/")
    with in_tenant(beta):
        b_quote = create_sales_document(AUTOMATION, "quote", customer_id=beta.customers[0], store_id=beta.stores[0],
                                        lines=[{"description": "定金测试", "quantity": 1, "unit_price": "100"}]).id
    payment = lambda w: {"payment_id": b_payment}
    assert_plugin_isolated(app, "wechat_pay", alpha, beta, login=login, api_token=api_token, system_db=system_db,
                           b_ids={"wechat_pay.payment": payment, "wechat_pay.payment_status": payment,
                                  "wechat_pay.refund": payment, "wechat_pay.query_payment": payment,
                                  "wechat_pay.close_payment": payment,
                                  "wechat_pay.collect_quote": lambda w: {"quote_id": b_quote},
                                  "api_wechat_pay.get_payment": payment, "api_wechat_pay.refund": payment,
                                  "api_wechat_pay.query": payment, "api_wechat_pay.close": payment,
                                  "wechat_pay.collect": lambda w: {"order_id": b_order},
                                  "wechat_pay_public.pay": lambda w: {"token": pay_token},
                                  "wechat_pay_public.paying": lambda w: {"token": paying_token},
                                  "wechat_pay_public.paying_status": lambda w: {"token": paying_token},
                                  "wechat_pay_public.static": lambda w: {"filename": "missing.js"}})
    with owner_engine.connect() as conn:
        assert schema_violations(conn, TABLES) == []
