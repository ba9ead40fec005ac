"""Deposits (定金) on quotes paid with WeChat Pay, against the fake WeChat Pay: from the customer's share page inside
WeChat (JSAPI) or by QR at the till (Native), booked once through the SDK as a deposit of the commerce core, carried
to the order when the quote is accepted, given back through WeChat Pay when the quote is declined; forged and repeated
notifications store nothing or once. Also: a WeChat Pay refund of a stored-value top-up takes it off the card."""
import re
from decimal import Decimal

import pytest
from sqlalchemy import text

from storecrm.sdk import AUTOMATION, add_identity
from wechat_pay_testkit import FakeWechatPay, _key, configure_pay, fake_pay, post_notification  # noqa: F401

pytestmark = pytest.mark.storecrm_plugins("wechat_pay", "wechat_oa", "retail")
OPENID = "oFake_openid_quote_customer_01"


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _sent_quote(in_tenant, world, total="1000.00", deposit_pct="30", openid=OPENID):
    from storecrm.sales import services as sales

    with in_tenant(world):
        quote = sales.create_quote(None, {"customer_id": world.customers[0], "store_id": world.stores[0],
                                          "deposit_pct": Decimal(deposit_pct), "lines": [
                                              {"description": "全车隔音套餐", "quantity": Decimal(1),
                                               "unit_price": Decimal(total)}]})
        sales.send_quote(None, quote)
        if openid:
            from storecrm.sdk import Customer, get_scoped

            add_identity(get_scoped(Customer, world.customers[0]), "wechat_openid", openid)
        return quote.id, quote.share_token


def _deposits(system_db, world):
    return _rows(system_db, "SELECT id, method, amount, state, reference, request_key, order_payment_id FROM "
                            "quote_deposits WHERE tenant_id = :t ORDER BY id", t=world.id)


def _last_payment(system_db, world):
    return _rows(system_db, "SELECT id, out_trade_no, status, transaction_id, amount_fen, purpose FROM "
                            "wechat_pay_payments WHERE tenant_id = :t ORDER BY id DESC LIMIT 1", t=world.id)[0]


def _pay_from_share_page(app, world, token):
    """The customer opens the share link, taps "pay the deposit" and confirms: the JSAPI payment is created."""
    client = app.test_client()
    share = client.get(f"/t/{world.slug}/q/{token}").get_data(as_text=True)
    start = re.search(r'href="([^"]+)" data-testid="pay-deposit"', share).group(1).replace("&amp;", "&")
    form = client.get(start)
    assert form.status_code == 200
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', form.get_data(as_text=True)).group(1)
    resp = client.post(start, data={"csrf_token": csrf})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-600:]
    return client


def test_a_deposit_paid_in_wechat_from_the_share_page_is_booked_once_and_carried_to_the_order(
        app, make_tenant, in_tenant, login, fake_pay, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure_pay(login, alpha)
    quote_id, token = _sent_quote(in_tenant, alpha)
    client = _pay_from_share_page(app, alpha, token)
    out_trade_no, order = next(iter(fake_pay.orders.items()))
    assert order["kind"] == "jsapi" and order["payer"] == {"openid": OPENID}
    assert order["amount"]["total"] == 30000                                    # 30 % of 1000
    assert _last_payment(system_db, alpha).purpose == "sales.quote_deposit"
    notification = fake_pay.pay(out_trade_no)
    outcomes = [post_notification(app.test_client(), notification).json["message"] for _ in range(3)]
    assert outcomes == ["applied", "duplicate", "duplicate"]
    (deposit,) = _deposits(system_db, alpha)
    txid = fake_pay.orders[out_trade_no]["paid"]
    assert (deposit.method, deposit.amount, deposit.state, deposit.reference, deposit.request_key) == \
        ("wechat_pay", Decimal("300.00"), "held", txid, f"wechatpay:{txid}")
    share = client.get(f"/t/alpha/q/{token}").get_data(as_text=True)
    assert "已付定金 ¥300.00" in share and 'data-testid="pay-deposit"' not in share       # nothing more due
    staff = login(alpha, "manager")
    page = staff.get(f"/t/alpha/sales/quotes/{quote_id}").get_data(as_text=True)
    assert "已付定金 ¥300.00" in page and "微信支付" in page
    # the customer accepts: the deposit becomes a payment of the order, once
    from storecrm.sales import services as sales

    with in_tenant(alpha):
        order = sales.accept_quote(sales.get_quote(None, quote_id), {"name": "王先生"}, user=AUTOMATION)
        assert (order.paid_total, order.balance_due) == (Decimal("300.00"), Decimal("700.00"))
        order_id = order.id
    (deposit,) = _deposits(system_db, alpha)
    payments = _rows(system_db, "SELECT id, method, amount, request_key, reference FROM payments WHERE tenant_id = :t",
                     t=alpha.id)
    assert [(p.method, p.amount, p.request_key, p.reference) for p in payments] == \
        [("wechat_pay", Decimal("300.00"), f"deposit:{deposit.id}", txid)]
    assert deposit.state == "applied" and deposit.order_payment_id == payments[0].id
    assert post_notification(app.test_client(), notification).json["message"] == "duplicate"
    order_page = staff.get(f"/t/alpha/sales/orders/{order_id}").get_data(as_text=True)
    assert "报价单已付定金：¥300.00" in order_page
    customer = _rows(system_db, "SELECT lifetime_spend FROM customers WHERE tenant_id = :t AND id = :c",
                     t=alpha.id, c=alpha.customers[0])[0]
    assert customer.lifetime_spend == Decimal("300.00")


def test_forged_and_foreign_deposit_notifications_store_nothing(app, two_tenants, in_tenant, login, fake_pay,
                                                                 system_db):
    alpha, beta = two_tenants
    configure_pay(login, alpha)
    configure_pay(login, beta)
    _quote_id, token = _sent_quote(in_tenant, alpha)
    _pay_from_share_page(app, alpha, token)
    out_trade_no = next(iter(fake_pay.orders))
    impostor = FakeWechatPay()
    impostor.orders, impostor.platform_key = fake_pay.orders, _key()
    url, headers, body = fake_pay.pay(out_trade_no)
    for notification in (impostor.pay(out_trade_no), fake_pay.pay(out_trade_no, key="0" * 32),
                         fake_pay.pay(out_trade_no, total=1),                          # not the amount asked
                         (url.replace("/t/alpha/", "/t/beta/"), headers, body)):
        assert post_notification(app.test_client(), notification).status_code == 401
    assert _rows(system_db, "SELECT id FROM quote_deposits") == []
    assert _rows(system_db, "SELECT id FROM wechat_pay_notifications") == []


def test_a_deposit_collected_by_qr_at_the_till_and_a_late_one_after_acceptance(app, make_tenant, in_tenant, login,
                                                                                fake_pay, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure_pay(login, alpha)
    quote_id, _token = _sent_quote(in_tenant, alpha, openid=None)
    advisor = login(alpha, "advisor")
    page = advisor.get(f"/t/alpha/sales/quotes/{quote_id}").get_data(as_text=True)
    assert 'data-testid="deposit-qr"' in page and "用微信支付二维码收定金" in page
    too_much = advisor.post(f"/t/alpha/wechat-pay/quotes/{quote_id}/collect", {"amount": "1000.01"},
                            follow_redirects=True)
    assert "最多收取" in too_much.get_data(as_text=True) and fake_pay.orders == {}
    resp = advisor.post(f"/t/alpha/wechat-pay/quotes/{quote_id}/collect", {"amount": "200.00"})
    assert resp.status_code == 302
    qr = advisor.get(resp.location).get_data(as_text=True)
    assert "<svg" in qr and "报价单定金" in qr
    payment = _last_payment(system_db, alpha)
    assert (payment.amount_fen, fake_pay.orders[payment.out_trade_no]["kind"]) == (20000, "native")
    # the customer scans, but the notification comes after the quote was accepted: carried at once
    from storecrm.sales import services as sales

    with in_tenant(alpha):
        order_id = sales.accept_quote(sales.get_quote(None, quote_id), {"name": "王先生"}, user=AUTOMATION).id
    assert post_notification(app.test_client(), fake_pay.pay(payment.out_trade_no)).status_code == 200
    (deposit,) = _deposits(system_db, alpha)
    assert deposit.state == "applied"
    with in_tenant(alpha):
        assert sales.get_order(None, order_id).paid_total == Decimal("200.00")


def test_a_declined_quotes_wechat_deposit_is_given_back_through_wechat_pay(app, make_tenant, in_tenant, login,
                                                                          fake_pay, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure_pay(login, alpha)
    quote_id, token = _sent_quote(in_tenant, alpha)
    _pay_from_share_page(app, alpha, token)
    out_trade_no = next(iter(fake_pay.orders))
    post_notification(app.test_client(), fake_pay.pay(out_trade_no))
    (deposit,) = _deposits(system_db, alpha)
    manager = login(alpha, "manager")
    payment = _last_payment(system_db, alpha)
    # while the quote is open the deposit stays: refused on the quote page and on the payment page, WeChat not asked
    early = manager.post(f"/t/alpha/sales/quotes/{quote_id}/deposits/{deposit.id}/refund", {}, follow_redirects=True)
    assert "报价单被拒绝或已过期" in early.get_data(as_text=True)
    early = manager.post(f"/t/alpha/wechat-pay/payments/{payment.id}/refund", {"amount": "300.00"},
                         follow_redirects=True)
    assert "报价单被拒绝或已过期" in early.get_data(as_text=True) and fake_pay.refunds == {}
    from storecrm.sales import services as sales

    with in_tenant(alpha):
        sales.decline_quote(sales.get_quote(None, quote_id), "预算不够")
    resp = manager.post(f"/t/alpha/sales/quotes/{quote_id}/deposits/{deposit.id}/refund", {"reason": "客户取消"},
                        follow_redirects=True)
    assert "已向微信支付申请退款" in resp.get_data(as_text=True)
    (out_refund_no, asked), = fake_pay.refunds.items()
    assert asked["amount"] == {"refund": 30000, "total": 30000, "currency": "CNY"} and asked["reason"] == "客户取消"
    assert _deposits(system_db, alpha)[0].state == "refunding"
    again = manager.post(f"/t/alpha/sales/quotes/{quote_id}/deposits/{deposit.id}/refund", {})
    assert again.status_code == 302 and len(fake_pay.refunds) == 1            # asked once
    done = fake_pay.refund_done(out_refund_no)
    for _ in range(2):
        assert post_notification(app.test_client(), done).status_code == 200
    assert _deposits(system_db, alpha)[0].state == "refunded"
    assert _rows(system_db, "SELECT status FROM wechat_pay_refunds") == [("success",)]
    assert _rows(system_db, "SELECT id FROM payments") == []                  # never money of an order
    page = manager.get(f"/t/alpha/sales/quotes/{quote_id}").get_data(as_text=True)
    assert "已退款" in page and "已付定金 ¥0.00" in page


@pytest.fixture
def topped_up(app, make_tenant, in_tenant, login, fake_pay, system_db):
    """A member with 500 topped up by WeChat Pay from their card page (JSAPI) and its 500:50 bonus: balance 550."""
    from storecrm.plugins.retail import members, tokens

    alpha = make_tenant("alpha", locale="zh_CN")
    admin = configure_pay(login, alpha)
    with in_tenant(alpha):
        member = members.register(AUTOMATION, {"name": "王女士", "mobile": "13900001111", "store_id": alpha.stores[0],
                                               "consent": True}, source="till")
        add_identity(members.customer_of(member), "wechat_openid", OPENID)
        card, member_id = tokens.make(tokens.CARD, member.id), member.id
    client = app.test_client()
    page = client.get(f"/t/alpha/retail/card/{card}").get_data(as_text=True)
    start = page.split('data-testid="topup-online"')[0].rsplit('href="', 1)[1].split('"')[0]
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', client.get(start).get_data(as_text=True)).group(1)
    assert client.post(start, data={"csrf_token": csrf, "amount": "500"}).status_code == 302
    payment_id, out_trade_no = _last_payment(system_db, alpha)[:2]
    post_notification(app.test_client(), fake_pay.pay(out_trade_no))
    assert _balance(system_db, member_id) == Decimal("550.00")
    return alpha, admin, member_id, payment_id


def _balance(system_db, member_id):
    return _rows(system_db, "SELECT stored_balance FROM retail_members WHERE id = :m", m=member_id)[0][0]


def test_a_wechat_refund_of_a_top_up_takes_it_and_its_bonus_off_the_card_once(app, topped_up, fake_pay, system_db):
    alpha, admin, member_id, payment_id = topped_up
    resp = admin.post(f"/t/alpha/wechat-pay/payments/{payment_id}/refund", {"amount": "200.00", "reason": "退卡"},
                      follow_redirects=True)
    assert "已提交退款申请" in resp.get_data(as_text=True)
    assert _balance(system_db, member_id) == Decimal("550.00")              # nothing moves before WeChat confirms
    out_refund_no, = fake_pay.refunds
    done = fake_pay.refund_done(out_refund_no)
    for _ in range(2):
        assert post_notification(app.test_client(), done).status_code == 200
    assert _balance(system_db, member_id) == Decimal("300.00")              # 550 − 50 bonus − 200
    entries = _rows(system_db, "SELECT kind, amount FROM retail_stored_value_entries WHERE member_id = :m "
                               "AND kind IN ('clawback', 'topup_refund') ORDER BY id", m=member_id)
    assert [(e.kind, e.amount) for e in entries] == [("clawback", Decimal("-50.00")),
                                                     ("topup_refund", Decimal("-200.00"))]
    ledger = _rows(system_db, "SELECT sum(amount) FROM retail_stored_value_entries WHERE member_id = :m", m=member_id)
    assert ledger[0][0] == Decimal("300.00")


def test_a_top_up_refund_larger_than_the_card_holds_is_refused_before_wechat_is_asked(app, topped_up, in_tenant,
                                                                                       fake_pay, system_db):
    from storecrm.plugins.retail import wallet

    alpha, admin, member_id, payment_id = topped_up
    with in_tenant(alpha):
        wallet.spend(member_id, Decimal("400.00"))                           # 150 left on the card
    resp = admin.post(f"/t/alpha/wechat-pay/payments/{payment_id}/refund", {"amount": "120.00"},
                      follow_redirects=True)
    assert "卡内余额" in resp.get_data(as_text=True) and fake_pay.refunds == {}
    assert _rows(system_db, "SELECT id FROM wechat_pay_refunds") == []
    assert _balance(system_db, member_id) == Decimal("150.00")
    ok = admin.post(f"/t/alpha/wechat-pay/payments/{payment_id}/refund", {"amount": "100.00"})
    assert ok.status_code == 302 and len(fake_pay.refunds) == 1              # 100 + 50 bonus fits in 150
