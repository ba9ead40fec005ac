"""Unpaid payments against the fake WeChat Pay (查询订单 and 关闭订单, signed both ways): the periodic job queries those
pending for more than five minutes — a payment whose notification was lost is booked exactly as the notification
would book it, once — marks closed and failed ones, and closes those past two hours so they cannot be paid later;
staff query and close from the payment page. Then the REST API under /api/v1/wechat-pay."""
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text, update

from storecrm.sdk import AUTOMATION, confirm_order, create_sales_document, utcnow
from storecrm.testing import run_jobs
from wechat_pay_testkit import configure_pay, fake_pay, post_notification  # noqa: F401

pytestmark = pytest.mark.storecrm_plugins("wechat_pay", "wechat_oa", "retail")


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _order(in_tenant, world, amount="300.00"):
    with in_tenant(world):
        order = create_sales_document(AUTOMATION, "order", customer_id=world.customers[0], store_id=world.stores[0],
                                      lines=[{"description": "安装服务", "quantity": 1, "unit_price": amount}])
        confirm_order(AUTOMATION, order)
        return order.id


def _quote(in_tenant, world, total="1000.00"):
    from storecrm.sales import services as sales

    with in_tenant(world):
        quote = sales.create_quote(None, {"customer_id": world.customers[0], "store_id": world.stores[0],
                                          "deposit_pct": Decimal("20"), "lines": [
                                              {"description": "全屋智能方案", "quantity": Decimal(1),
                                               "unit_price": Decimal(total)}]})
        sales.send_quote(None, quote)
        return quote.id


def _payments(system_db, world):
    return _rows(system_db, "SELECT id, out_trade_no, status, transaction_id, error FROM wechat_pay_payments "
                            "WHERE tenant_id = :t ORDER BY id", t=world.id)


def _age(in_tenant, world, minutes):
    """Make every payment of `world` `minutes` old (instead of waiting)."""
    from storecrm.plugins.wechat_pay.models import Payment

    with in_tenant(world) as session:
        session.execute(update(Payment).values(created_at=utcnow() - timedelta(minutes=minutes)))


def _sweep(app) -> int:
    """What the scheduler does every five minutes: fan the job out to the tenants, a worker runs it."""
    from storecrm.plugin_host.jobs import fan_out

    with app.app_context():
        tenants = fan_out("wechat_pay", "wechat_pay_unpaid")
    run_jobs()
    return tenants


def _collect(browser, world, order_id, amount):
    resp = browser.post(f"/t/{world.slug}/wechat-pay/orders/{order_id}/collect", {"amount": amount})
    assert resp.status_code == 302
    return resp.location


def test_the_periodic_job_books_a_lost_notification_once_and_closes_what_is_left_unpaid(
        app, make_tenant, in_tenant, login, fake_pay, system_db):
    from storecrm.sdk import get_sales_order

    alpha = make_tenant("alpha", locale="zh_CN")
    admin = configure_pay(login, alpha)
    order_id = _order(in_tenant, alpha)
    for amount in ("100.00", "50.00", "20.00", "10.00"):
        _collect(admin, alpha, order_id, amount)
    lost, stale, failed, fresh = _payments(system_db, alpha)
    notification = fake_pay.pay(lost.out_trade_no)            # paid, but the notification never arrives
    fake_pay.fail(failed.out_trade_no)
    _age(in_tenant, alpha, 10)
    # a fresh one (under five minutes) is left alone
    from storecrm.plugins.wechat_pay.models import Payment

    with in_tenant(alpha) as session:
        session.execute(update(Payment).where(Payment.id == fresh.id).values(created_at=utcnow()))
    assert _sweep(app) == 1                                  # the platform's periodic job, one per tenant
    states = {p.id: (p.status, p.transaction_id) for p in _payments(system_db, alpha)}
    assert states[lost.id] == ("paid", fake_pay.orders[lost.out_trade_no]["paid"])
    assert states[stale.id][0] == "created" and states[failed.id][0] == "failed" and states[fresh.id][0] == "created"
    with in_tenant(alpha):
        assert get_sales_order(order_id).paid_total == Decimal("100.00")
    # the late notification and a second run change nothing
    assert post_notification(app.test_client(), notification).json["message"] == "duplicate"
    _sweep(app)
    assert len(_rows(system_db, "SELECT id FROM payments WHERE tenant_id = :t", t=alpha.id)) == 1
    assert fake_pay.closes == []
    # past two hours the unpaid one is closed at WeChat Pay: the customer can no longer pay it
    _age(in_tenant, alpha, 121)
    _sweep(app)
    states = {p.id: p.status for p in _payments(system_db, alpha)}
    assert states[stale.id] == "closed" and states[fresh.id] == "closed" and states[lost.id] == "paid"
    assert set(fake_pay.closes) == {stale.out_trade_no, fresh.out_trade_no}
    with pytest.raises(RuntimeError):
        fake_pay.pay(stale.out_trade_no)
    assert fake_pay.rejected == []                            # every request was signed as WeChat Pay checks


def test_staff_query_and_close_from_the_payment_page(app, make_tenant, in_tenant, login, fake_pay, system_db):
    alpha = make_tenant("alpha", locale="zh_CN")
    configure_pay(login, alpha)
    order_id = _order(in_tenant, alpha)
    advisor, manager = login(alpha, "advisor"), login(alpha, "manager")
    page_url = _collect(advisor, alpha, order_id, "100.00")
    payment, = _payments(system_db, alpha)
    page = advisor.get(page_url).get_data(as_text=True)
    assert "查询支付状态" in page and "关闭支付单" not in page              # an advisor collects, a manager closes
    shown = advisor.post(f"/t/alpha/wechat-pay/payments/{payment.id}/query", {}, follow_redirects=True)
    assert "状态：待支付" in shown.get_data(as_text=True)
    assert advisor.post(f"/t/alpha/wechat-pay/payments/{payment.id}/close", {}).status_code == 403
    fake_pay.pay(payment.out_trade_no)                                   # paid meanwhile: close finds it paid
    closed = manager.post(f"/t/alpha/wechat-pay/payments/{payment.id}/close", {}, follow_redirects=True)
    assert "状态：已支付" in closed.get_data(as_text=True)
    assert _payments(system_db, alpha)[0].status == "paid"
    again = manager.post(f"/t/alpha/wechat-pay/payments/{payment.id}/close", {}, follow_redirects=True)
    assert "只能关闭未支付的支付单" in again.get_data(as_text=True)
    _collect(advisor, alpha, order_id, "50.00")
    second = _payments(system_db, alpha)[-1]
    manager.post(f"/t/alpha/wechat-pay/payments/{second.id}/close", {})
    assert _payments(system_db, alpha)[-1].status == "closed" and fake_pay.orders[second.out_trade_no]["closed"]


# --- the REST API -------------------------------------------------------------------------------------------------

def test_the_api_creates_lists_queries_refunds_and_closes_payments(app, make_tenant, in_tenant, login, api_token,
                                                                   fake_pay, system_db):
    alpha = make_tenant("alpha")
    configure_pay(login, alpha)
    order_id, quote_id = _order(in_tenant, alpha, "300.00"), _quote(in_tenant, alpha)
    client, manager, advisor = app.test_client(), api_token(alpha, "manager"), api_token(alpha, "advisor")
    base = "/api/v1/wechat-pay/payments"

    created = client.post(base, json={"purpose": "order", "reference_id": order_id}, headers=advisor)
    assert created.status_code == 201, created.json
    assert created.json["amount"] == "300.00" and created.json["code_url"].startswith("weixin://wxpay/")
    deposit = client.post(base, json={"purpose": "sales.quote_deposit", "reference_id": quote_id}, headers=advisor)
    assert deposit.status_code == 201 and deposit.json["amount"] == "200.00"          # 20 % of 1000
    too_much = client.post(base, json={"purpose": "order", "reference_id": order_id, "amount": "999"},
                           headers=advisor)
    assert too_much.status_code == 422 and too_much.headers["Content-Type"].startswith("application/problem+json")
    assert "amount" in too_much.json["errors"]
    unknown = client.post(base, json={"purpose": "order", "reference_id": 99999}, headers=advisor)
    assert unknown.status_code == 422 and "reference_id" in unknown.json["errors"]
    bad = client.post(base, json={"purpose": "lottery", "reference_id": "x"}, headers=advisor)
    assert bad.status_code == 422 and {"purpose", "reference_id"} <= set(bad.json["errors"])

    # list: filters and keyset paging
    first = client.get(f"{base}?per_page=1", headers=advisor).json
    assert first["total"] == 2 and [p["purpose"] for p in first["items"]] == ["sales.quote_deposit"]
    rest = client.get(f"{base}?per_page=1&after_id={first['items'][0]['id']}", headers=advisor).json
    assert [p["purpose"] for p in rest["items"]] == ["order"]
    assert client.get(f"{base}?purpose=order&status=created", headers=advisor).json["total"] == 1
    assert client.get(f"{base}?status=nonsense", headers=advisor).status_code == 422

    # query books a payment whose notification was lost; refund and close need the manage permission
    out_trade_no = created.json["out_trade_no"]
    fake_pay.pay(out_trade_no)
    queried = client.post(f"{base}/{created.json['id']}/query", headers=advisor)
    assert queried.status_code == 200 and queried.json["status"] == "paid"
    assert client.post(f"{base}/{created.json['id']}/refunds", json={"amount": "10.00"}, headers=advisor).status_code == 403
    over = client.post(f"{base}/{created.json['id']}/refunds", json={"amount": "301.00"}, headers=manager)
    assert over.status_code == 422 and "amount" in over.json["errors"]
    refunded = client.post(f"{base}/{created.json['id']}/refunds", json={"amount": "10.00", "reason": "少装"},
                           headers=manager)
    assert refunded.status_code == 201 and refunded.json["status"] == "processing"
    one = client.get(f"{base}/{created.json['id']}", headers=advisor).json
    assert one["refunded"] == "10.00" and [r["amount"] for r in one["refunds"]] == ["10.00"]
    assert client.post(f"{base}/{deposit.json['id']}/close", headers=advisor).status_code == 403
    closed = client.post(f"{base}/{deposit.json['id']}/close", headers=manager)
    assert closed.status_code == 200 and closed.json["status"] == "closed"
    again = client.post(f"{base}/{deposit.json['id']}/close", headers=manager)
    assert again.status_code == 409 and "status" in again.json["errors"]
    # a quote deposit is given back only through its quote (declined or expired)
    paid_deposit = client.post(base, json={"purpose": "sales.quote_deposit", "reference_id": quote_id},
                               headers=advisor).json
    post_notification(app.test_client(), fake_pay.pay(paid_deposit["out_trade_no"]))
    early = client.post(f"{base}/{paid_deposit['id']}/refunds", json={}, headers=manager)
    assert early.status_code == 422 and fake_pay.refunds.keys() == {refunded.json["out_refund_no"]}
    assert client.get(f"{base}/424242", headers=advisor).status_code == 404

    spec = client.get("/api/v1/openapi.json").json["paths"]
    for path in ("/api/v1/wechat-pay/payments", "/api/v1/wechat-pay/payments/{payment_id}",
                 "/api/v1/wechat-pay/payments/{payment_id}/refunds", "/api/v1/wechat-pay/payments/{payment_id}/query",
                 "/api/v1/wechat-pay/payments/{payment_id}/close", "/api/v1/quotes/{quote_id}/deposits"):
        assert any(p.endswith(path.removeprefix("/api/v1")) for p in spec), path
