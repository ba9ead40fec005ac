"""Deposits (定金) on quotes (storecrm.sales.deposits): staff take one at the till on a draft or sent quote (never above
the total less what was paid), it is carried to the order once when the quote is accepted, and it is given back when
the quote is declined or expired — at once for cash, through the payment plugin's `online_payment_refund` hook for
one paid online; the quote page offers a plugin's `till_payment_url`. Pages in zh_CN, the API with field errors."""
import types
from decimal import Decimal

import pytest
from sqlalchemy import text

from storecrm.hooks import hookimpl
from storecrm.hooks.info import PluginInfo


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _sent_quote(in_tenant, world, total="1000.00", deposit_pct="30"):
    from storecrm.sales import services as sales

    with in_tenant(world):
        quote = sales.create_quote(None, {"customer_id": world.customers[0], "store_id": world.stores[0],
                                          "deposit_pct": Decimal(deposit_pct), "lines": [
                                              {"description": "功放安装", "quantity": Decimal(1),
                                               "unit_price": Decimal(total)},
                                              {"description": "隔音（可选）", "quantity": Decimal(1),
                                               "unit_price": Decimal("500.00"), "optional": True}]})
        sales.send_quote(None, quote)
        return quote.id


@pytest.fixture
def cashier(app):
    """A payment plugin answering the two deposit hooks: a till URL, and refunds it records instead of asking a
    provider."""
    from storecrm.hooks.runtime import host

    module = types.ModuleType("cashier")
    module.PLUGIN = PluginInfo(name="cashier", label={"en": "Cashier"}, version="1", core=">=0")
    module.refunds = []

    def till_payment_url(purpose, reference_id, amount):
        return f"/cashier/{purpose}/{reference_id}?amount={amount}"

    def online_payment_refund(method, reference, amount, reason):
        if method != "wechat_pay":
            return None
        module.refunds.append((reference, amount, reason))
        return True

    module.till_payment_url = hookimpl(till_payment_url)
    module.online_payment_refund = hookimpl(online_payment_refund)
    registered = host(app)
    registered.pm.register(module, name="cashier")
    registered.infos["cashier"] = module.PLUGIN
    try:
        yield module
    finally:
        registered.pm.unregister(name="cashier")
        registered.infos.pop("cashier")


def test_a_cash_deposit_is_taken_at_the_till_and_carried_to_the_order_once(make_tenant, in_tenant, login,
                                                                            system_db):
    from storecrm.sales import deposits, services as sales

    alpha = make_tenant("alpha", locale="zh_CN")
    quote_id = _sent_quote(in_tenant, alpha)
    manager = login(alpha, "manager")
    page = manager.get(f"/t/alpha/sales/quotes/{quote_id}").get_data(as_text=True)
    assert "尚需支付定金：¥300.00" in page and 'data-testid="deposit-qr"' not in page    # no payment plugin on
    form = {"method": "cash", "amount": "300.00", "request_key": "till-7-0001"}
    for _ in range(2):                                                       # a double tap records once
        assert manager.post(f"/t/alpha/sales/quotes/{quote_id}/deposits", form).status_code == 302
    too_much = manager.post(f"/t/alpha/sales/quotes/{quote_id}/deposits",
                            {"method": "bank_card", "amount": "700.01"}, follow_redirects=True)
    assert "超过了报价单总额减去已付定金（700.00）" in too_much.get_data(as_text=True)
    bad = manager.post(f"/t/alpha/sales/quotes/{quote_id}/deposits", {"method": "gold", "amount": "-1"},
                       follow_redirects=True)
    assert bad.status_code == 200 and "请从列表中选择" in bad.get_data(as_text=True)
    assert len(_rows(system_db, "SELECT id FROM quote_deposits")) == 1
    page = manager.get(f"/t/alpha/sales/quotes/{quote_id}").get_data(as_text=True)
    assert "已付定金 ¥300.00" in page and "现金" in page and "已收" in page
    advisor = login(alpha, "advisor")
    with in_tenant(alpha):
        quote = sales.get_quote(None, quote_id)
        from storecrm.sdk import AUTOMATION

        order = sales.accept_quote(quote, {"name": "王先生"}, user=AUTOMATION)  # optional line left out: total 1000
        assert (order.total, order.paid_total, order.balance_due) == (Decimal("1000.00"), Decimal("300.00"),
                                                                     Decimal("700.00"))
        sales.record_payment(None, order, {"method": "cash", "amount": Decimal("100.00")})
        assert deposits.carry_deposits(quote, order) == []                   # carried once
        order_id = order.id
    (deposit,) = _rows(system_db, "SELECT state, order_payment_id FROM quote_deposits")
    payments = _rows(system_db, "SELECT id, request_key, note FROM payments ORDER BY id")
    assert deposit.state == "applied" and deposit.order_payment_id == payments[0].id
    assert payments[0].request_key.startswith("deposit:") and "定金" in payments[0].note
    order_page = advisor.get(f"/t/alpha/sales/orders/{order_id}").get_data(as_text=True)
    assert "报价单已付定金：¥300.00" in order_page
    late = manager.post(f"/t/alpha/sales/quotes/{quote_id}/deposits", {"method": "cash", "amount": "1"},
                        follow_redirects=True)
    assert "只能在草稿或已发送的报价单上收取定金" in late.get_data(as_text=True)


def test_a_declined_quotes_deposit_is_given_back_cash_at_once_online_through_the_plugin(
        make_tenant, in_tenant, login, enable_plugin, cashier, system_db):
    from storecrm.sales import deposits, services as sales

    alpha = make_tenant("alpha", locale="zh_CN")
    enable_plugin(alpha, "cashier")
    quote_id = _sent_quote(in_tenant, alpha)
    manager, advisor = login(alpha, "manager"), login(alpha, "advisor")
    page = manager.get(f"/t/alpha/sales/quotes/{quote_id}").get_data(as_text=True)
    assert f'action="/cashier/sales.quote_deposit/{quote_id}?amount=300.00"' in page      # the plugin's till
    with in_tenant(alpha):
        quote = sales.get_quote(None, quote_id)
        cash = deposits.record_deposit(None, quote, {"method": "cash", "amount": Decimal("100.00")})
        online = deposits.record_deposit(None, quote, {"method": "wechat_pay", "amount": Decimal("200.00"),
                                                       "reference": "4200000001"}, request_key="wechatpay:4200000001")
        cash_id, online_id = cash.id, online.id
    early = manager.post(f"/t/alpha/sales/quotes/{quote_id}/deposits/{cash_id}/refund", {}, follow_redirects=True)
    assert "只有在报价单被拒绝或已过期时才能退还定金" in early.get_data(as_text=True)
    with in_tenant(alpha):
        sales.decline_quote(sales.get_quote(None, quote_id), "太贵")
    assert advisor.post(f"/t/alpha/sales/quotes/{quote_id}/deposits/{cash_id}/refund", {}).status_code == 403
    done = manager.post(f"/t/alpha/sales/quotes/{quote_id}/deposits/{cash_id}/refund", {"reason": "客户放弃"},
                        follow_redirects=True)
    assert "定金已退还" in done.get_data(as_text=True)
    asked = manager.post(f"/t/alpha/sales/quotes/{quote_id}/deposits/{online_id}/refund", {"reason": "客户放弃"},
                         follow_redirects=True)
    assert "已向微信支付申请退款" in asked.get_data(as_text=True)
    assert cashier.refunds == [("4200000001", Decimal("200.00"), "客户放弃")]
    states = dict(_rows(system_db, "SELECT id, state FROM quote_deposits"))
    assert states == {cash_id: "refunded", online_id: "refunding"}
    manager.post(f"/t/alpha/sales/quotes/{quote_id}/deposits/{online_id}/refund", {})
    assert len(cashier.refunds) == 1                                         # asked once
    with in_tenant(alpha):
        deposits.deposit_refunded("wechatpay:4200000001")
        deposits.deposit_refunded("wechatpay:4200000001")
        assert deposits.deposit_paid(sales.get_quote(None, quote_id)) == Decimal("0.00")
    assert dict(_rows(system_db, "SELECT id, state FROM quote_deposits"))[online_id] == "refunded"
    assert _rows(system_db, "SELECT id FROM payments") == []


def test_an_online_deposit_cannot_be_refunded_with_its_provider_off(make_tenant, in_tenant, login, system_db):
    from storecrm.sales import deposits, services as sales

    alpha = make_tenant("alpha", locale="zh_CN")
    quote_id = _sent_quote(in_tenant, alpha)
    with in_tenant(alpha):
        quote = sales.get_quote(None, quote_id)
        deposit_id = deposits.record_deposit(None, quote, {"method": "wechat_pay", "amount": Decimal("50.00"),
                                                           "reference": "42"}, request_key="wechatpay:42").id
        sales.decline_quote(quote)
    resp = login(alpha, "manager").post(f"/t/alpha/sales/quotes/{quote_id}/deposits/{deposit_id}/refund", {},
                                        follow_redirects=True)
    assert "在线支付渠道未启用" in resp.get_data(as_text=True)
    assert _rows(system_db, "SELECT state FROM quote_deposits") == [("held",)]


def test_the_api_lists_records_and_refunds_deposits_and_shows_them_on_quotes_and_orders(make_tenant, in_tenant,
                                                                                       api_token, app, system_db):
    alpha = make_tenant("alpha")
    quote_id = _sent_quote(in_tenant, alpha, deposit_pct="10")
    client, owner = app.test_client(), api_token(alpha, "owner")
    base = f"/api/v1/quotes/{quote_id}/deposits"
    made = client.post(base, json={"method": "transfer", "amount": "100.00", "reference": "TR-1"}, headers=owner)
    assert made.status_code == 201 and made.json["state"] == "held" and made.json["amount"] == "100.00"
    over = client.post(base, json={"method": "cash", "amount": "900.01"}, headers=owner)
    assert over.status_code == 422 and "amount" in over.json["errors"]
    bad = client.post(base, json={"method": "gold", "amount": "x"}, headers=owner)
    assert bad.status_code == 422 and {"method", "amount"} <= set(bad.json["errors"])
    assert [d["amount"] for d in client.get(base, headers=owner).json["items"]] == ["100.00"]
    quote = client.get(f"/api/v1/quotes/{quote_id}", headers=owner).json
    assert (quote["deposit_paid"], quote["deposit_due"], len(quote["deposits"])) == ("100.00", "0.00", 1)
    refund = client.post(f"{base}/{made.json['id']}/refund", json={}, headers=owner)
    assert refund.status_code == 422 and "state" in refund.json["errors"]
    assert client.post(f"{base}/999999/refund", json={}, headers=owner).status_code == 404
    order = client.post(f"/api/v1/quotes/{quote_id}/accept", json={"name": "王先生"}, headers=owner)
    assert order.status_code in (200, 201), order.json
    assert order.json["paid_total"] == "100.00" and order.json["deposits"][0]["state"] == "applied"
    spec = client.get("/api/v1/openapi.json").json
    assert "/api/v1/quotes/{quote_id}/deposits" in spec["paths"] or "/quotes/{quote_id}/deposits" in str(spec["paths"])
