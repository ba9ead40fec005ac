"""Sales: a car-audio shop quotes a package, the customer accepts, the order is paid in parts and fulfilled, the
amplifier's serial becomes the customer's asset, and the customer's spend follows every payment and refund."""
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from sqlalchemy import select, text

from storecrm.catalog import services as catalog
from storecrm.catalog.schemas import ItemSchema
from storecrm.customers.models import Customer
from storecrm.extensions import db
from storecrm.sales import services as sales
from storecrm.sales.models import Order
from storecrm.stock import services as stock
from storecrm.stores.models import Store
from storecrm.users.models import User


def _item(**fields):
    return catalog.create_item(None, ItemSchema().load({"cost": "0", "tax_rate": "0", **fields}))


def _goods(world, *, serials=("SN-A1", "SN-A2")):
    """A package 入门套餐: amplifier (serial-tracked) + 2 cables + installation labour; stock on store one's shelf."""
    amp = _item(kind="product", sku="AMP-1", name="功放 DSP-8", list_price="2999.00", cost="1500", tax_rate="0.13",
                serial_tracked=True)
    cable = _item(kind="part", sku="CBL-1", name="音频线", list_price="80.00", cost="20", tax_rate="0.13")
    labour = _item(kind="service", sku="LAB-1", name="安装工时", list_price="300.00", tax_rate="0.06")
    package = _item(kind="package", sku="PKG-1", name="入门套餐", list_price="0")
    catalog.set_package_lines(package, [{"component_id": amp.id, "quantity": Decimal(1)},
                                        {"component_id": cable.id, "quantity": Decimal(2)},
                                        {"component_id": labour.id, "quantity": Decimal(1)}])
    shelf = stock.location_for_store(db.session.get(Store, (world.id, world.stores[0])))
    stock.receive(amp, shelf, len(serials), unit_cost="1500", serials=serials)
    stock.receive(cable, shelf, 10, unit_cost="20")
    world.items = {"amp": amp.id, "cable": cable.id, "labour": labour.id, "package": package.id}
    world.shelf = shelf.id
    return world.items


def _user(world, role="owner"):
    return db.session.get(User, (world.id, world.users[role]))


def _customer(world, n=0):
    return db.session.get(Customer, (world.id, world.customers[n]))


def _quote_from_package(world, user=None):
    user = user or _user(world)
    return sales.create_quote(user, {"customer_id": world.customers[0], "store_id": world.stores[0],
                                     "lines": [{"item_id": world.items["package"], "quantity": Decimal(1)}]})


def test_a_package_quote_becomes_a_paid_fulfilled_order_and_the_serial_an_asset(two_tenants, in_tenant, system_db):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        _goods(alpha)
        quote = _quote_from_package(alpha)
        lines = sales.lines_of(quote)
        assert [line.sku for line in lines] == ["AMP-1", "CBL-1", "LAB-1"]  # the package expanded
        assert {line.package_name for line in lines} == {"入门套餐"}
        # 2999 + 13 % = 389.87; 2 × 80 = 160 + 20.80; 300 + 6 % = 18
        assert (quote.subtotal, quote.tax_total, quote.total) == (Decimal("3459.00"), Decimal("428.67"),
                                                                   Decimal("3887.67"))
        sales.send_quote(_user(alpha), quote)
        assert quote.state == "sent" and len(quote.share_token) >= 40
        order = sales.accept_quote(quote, {"name": "张伟", "signature": "data:image/png;base64," + "A" * 40})
        quote_id, order_id = quote.id, order.id
    with in_tenant(alpha):
        order = db.session.get(Order, (alpha.id, order_id))
        assert order.total == Decimal("3887.67") and order.quote_id == quote_id and order.state == "draft"
        owner = _user(alpha)
        sales.confirm_order(owner, order)
        assert stock.level_of(catalog.get_item(alpha.items["amp"]),
                              stock.get_location(None, alpha.shelf)).reserved == 1
        sales.record_payment(owner, order, {"method": "wechat_pay", "amount": Decimal("1000.00")})
        assert order.balance_due == Decimal("2887.67")
        amp_line = next(line for line in sales.lines_of(order) if line.sku == "AMP-1")
        sales.fulfil_order(owner, order, {"serials": {str(amp_line.id): ["SN-A2"]}})
        assert order.state == "fulfilled"
        sales.record_payment(owner, order, {"method": "cash", "amount": Decimal("2887.67")})
        assert order.state == "closed" and order.balance_due == 0
        customer = _customer(alpha)
        assert customer.lifetime_spend == Decimal("3887.67") and customer.order_count == 1
        assert customer.average_order_value == Decimal("3887.67")
        assert customer.first_purchase_at is not None and customer.last_purchase_at >= customer.first_purchase_at
    with system_db.connect() as conn:
        asset = conn.execute(text("SELECT a.customer_id FROM assets a JOIN customer_identities i "
                                  "ON i.asset_id = a.id WHERE i.kind = 'serial' AND i.value = 'SN-A2'")).scalar()
        assert asset == alpha.customers[0]
        on_hand = conn.execute(text("SELECT on_hand, reserved FROM stock_levels WHERE item_id = :i"),
                               {"i": alpha.items["cable"]}).one()
        assert on_hand == (8, 0)


def test_refunds_never_exceed_what_was_paid_and_move_the_spend_back(two_tenants, in_tenant, system_db):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        owner = _user(alpha)
        order = sales.create_order(owner, {"customer_id": alpha.customers[1], "store_id": alpha.stores[0], "lines": [
            {"description": "贴膜", "quantity": Decimal(1), "unit_price": Decimal("500.00")}]})
        sales.record_payment(owner, order, {"method": "alipay", "amount": Decimal("500")})
        with pytest.raises(ValidationError) as err:
            sales.record_refund(owner, order, {"method": "alipay", "amount": Decimal("500.01"), "note": "x"})
        assert "amount" in err.value.messages
        sales.record_refund(owner, order, {"method": "alipay", "amount": Decimal("200"), "note": "部分退款"})
        customer = _customer(alpha, 1)
        assert customer.lifetime_spend == Decimal("300.00") and customer.order_count == 1
        with pytest.raises(ValidationError):
            sales.record_refund(owner, order, {"method": "alipay", "amount": Decimal("300.01"), "note": "x"})
        sales.record_refund(owner, order, {"method": "alipay", "amount": Decimal("300"), "note": "全部退款"})
        customer = _customer(alpha, 1)
        assert customer.lifetime_spend == 0 and customer.order_count == 0 and customer.average_order_value is None
        with pytest.raises(ValidationError):
            sales.record_refund(owner, order, {"method": "cash", "amount": Decimal("0.01"), "note": "x"})
        order_id = order.id
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT paid_total, refunded_total FROM sales_documents WHERE id = :i"),
                            {"i": order_id}).one() == (500, 500)


def test_a_refund_can_bring_stock_back(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        _goods(alpha)
        owner = _user(alpha)
        order = sales.create_order(owner, {"customer_id": alpha.customers[0], "store_id": alpha.stores[0],
                                           "lines": [{"item_id": alpha.items["cable"], "quantity": Decimal(3)}]})
        sales.confirm_order(owner, order)
        sales.record_payment(owner, order, {"method": "cash", "amount": order.total})
        sales.fulfil_order(owner, order)
        line = sales.lines_of(order)[0]
        with pytest.raises(ValidationError) as err:
            sales.record_refund(owner, order, {"method": "cash", "amount": Decimal("10"), "note": "x",
                                               "returns": [{"line_id": line.id, "quantity": Decimal(4)}]})
        assert "returns.0.quantity" in err.value.messages
        sales.record_refund(owner, order, {"method": "cash", "amount": Decimal("90.40"), "note": "退一根",
                                           "returns": [{"line_id": line.id, "quantity": Decimal(1)}]})
        cable, shelf = catalog.get_item(alpha.items["cable"]), stock.get_location(None, alpha.shelf)
        assert stock.level_of(cable, shelf).on_hand == 8


def test_states_move_only_along_their_transitions(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        _goods(alpha)
        owner = _user(alpha)
        quote = _quote_from_package(alpha)
        with pytest.raises(ValidationError):
            sales.accept_quote(quote, {"name": "x", "signature": "data:image/png;base64," + "A" * 40})
        sales.send_quote(owner, quote)
        with pytest.raises(ValidationError):
            sales.send_quote(owner, quote)
        with pytest.raises(ValidationError):  # a sent quote is not edited in place: it is revised
            sales.add_line(owner, quote, {"description": "x", "quantity": Decimal(1), "unit_price": Decimal(1)})
        sales.revise_quote(owner, quote)
        assert quote.state == "draft" and quote.revision == 2
        (rev,) = sales.revisions_of(quote)
        assert rev.revision == 1 and rev.snapshot["header"]["total"] == str(quote.total)
        sales.add_line(owner, quote, {"description": "隔音", "quantity": Decimal(1), "unit_price": Decimal("800")})
        sales.send_quote(owner, quote)
        sales.decline_quote(quote, "太贵")
        assert quote.state == "declined"
        order = sales.create_order(owner, {"customer_id": alpha.customers[0], "store_id": alpha.stores[0],
                                           "lines": [{"item_id": alpha.items["cable"], "quantity": Decimal(2)}]})
        with pytest.raises(ValidationError):
            sales.fulfil_order(owner, order)
        sales.confirm_order(owner, order)
        cable, shelf = catalog.get_item(alpha.items["cable"]), stock.get_location(None, alpha.shelf)
        assert stock.level_of(cable, shelf).reserved == 2
        sales.record_payment(owner, order, {"method": "cash", "amount": Decimal("10")})
        with pytest.raises(ValidationError):  # money first goes back
            sales.cancel_order(owner, order)
        sales.record_refund(owner, order, {"method": "cash", "amount": Decimal("10"), "note": "取消"})
        sales.cancel_order(owner, order, "客户改主意")
        assert order.state == "cancelled" and stock.level_of(cable, shelf).reserved == 0
        with pytest.raises(ValidationError):
            sales.confirm_order(owner, order)
        with pytest.raises(ValidationError):
            sales.record_payment(owner, order, {"method": "cash", "amount": Decimal("1")})


def test_a_sent_quote_expires_after_its_day(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        owner = _user(alpha)
        quote = sales.create_quote(owner, {"customer_id": alpha.customers[0], "lines": [
            {"description": "改装方案", "quantity": Decimal(1), "unit_price": Decimal("100")}]})
        sales.send_quote(owner, quote)
        from storecrm.timers import Timer

        timer = db.session.scalar(select(Timer).where(Timer.key == f"sales.quote_expiry:{quote.id}"))
        assert timer is not None and timer.kind == "sales.quote_expiry"
        assert sales.expire_due_quotes() == 0
        quote.valid_until = quote.valid_until - timedelta(days=30)
        from storecrm.timers import HANDLERS

        HANDLERS["sales.quote_expiry"](timer)
        assert quote.state == "expired"
        with pytest.raises(ValidationError):
            sales.accept_quote(quote, {"name": "x", "signature": "data:image/png;base64," + "A" * 40})


def test_quote_approval_runs_on_the_quote_total_without_a_custom_field(two_tenants, in_tenant):
    from storecrm.workflow import engine as workflows

    alpha, _ = two_tenants
    with in_tenant(alpha):
        _goods(alpha)
        workflows.copy_template(_user(alpha), "sales_quote_approval")
        advisor = _user(alpha, "advisor")
        small = sales.create_quote(advisor, {"customer_id": alpha.customers[0], "lines": [
            {"description": "贴膜", "quantity": Decimal(1), "unit_price": Decimal("500")}]})
        with pytest.raises(ValidationError) as err:
            sales.send_quote(advisor, small)
        assert "approval" in err.value.messages
        sales.submit_for_approval(advisor, small)  # below every tier: passes at once
        assert sales.approval_state(small) == "approved"
        sales.send_quote(advisor, small)
        big = _quote_from_package(alpha, advisor)  # 3,887.67 + 2 more amplifiers' worth > 5,000
        sales.add_line(advisor, big, {"item_id": alpha.items["amp"], "quantity": Decimal(1)})
        assert big.total > 5000
        item = sales.submit_for_approval(advisor, big)
        assert sales.approval_state(big) == "pending" and item.pending["chain"] == [["manager"]]
        with pytest.raises(ValidationError):
            sales.send_quote(advisor, big)
        workflows.vote(_user(alpha, "manager"), item, True)
        assert sales.approval_state(big) == "approved"
        sales.send_quote(advisor, big)
        sales.revise_quote(advisor, big)  # a revision needs approval again
        assert sales.approval_state(big) == "needed"


def test_the_vip_rule_fires_on_real_spend(two_tenants, in_tenant):
    from storecrm.rules import engine as rules

    alpha, _ = two_tenants
    with in_tenant(alpha):
        owner = _user(alpha)
        rules.copy_template("vip_upgrade").enabled = True
        order = sales.create_order(owner, {"customer_id": alpha.customers[2], "store_id": alpha.stores[0], "lines": [
            {"description": "全车音响升级", "quantity": Decimal(1), "unit_price": Decimal("25000")}]})
        sales.record_payment(owner, order, {"method": "bank_card", "amount": Decimal("15000")})
        assert _customer(alpha, 2).level != "VIP"
        sales.record_payment(owner, order, {"method": "bank_card", "amount": Decimal("10000")})
        customer = _customer(alpha, 2)
        assert customer.lifetime_spend == Decimal("25000.00") and customer.level == "VIP" and "VIP" in customer.tags


def test_bad_figures_are_field_errors_in_the_users_language(two_tenants, api_token, app, in_tenant, system_db):
    alpha, beta = two_tenants
    with in_tenant(beta):
        _goods(beta, serials=("B-1",))
    with in_tenant(alpha):
        _goods(alpha)
    client, headers = app.test_client(), api_token(alpha, "owner")
    base = {"customer_id": alpha.customers[0]}
    cases = [
        ({"description": "x", "quantity": "-1", "unit_price": "10"}, "quantity"),
        ({"description": "x", "quantity": "abc", "unit_price": "10"}, "quantity"),
        ({"description": "x", "quantity": "1", "unit_price": "-5"}, "unit_price"),
        ({"description": "x", "quantity": "1", "unit_price": "ten"}, "unit_price"),
        ({"description": "x", "quantity": "1", "unit_price": "10.001"}, "unit_price"),
        ({"description": "x", "quantity": "1", "unit_price": "10", "discount_pct": "100.5"}, "discount_pct"),
        ({"item_id": beta.items["amp"], "quantity": "1"}, "item_id"),
    ]
    for line, field in cases:
        resp = client.post("/api/v1/quotes", json={**base, "lines": [line]},
                           headers={**headers, "Accept-Language": "zh-CN"})
        assert resp.status_code == 422, (line, resp.get_json())
        errors = resp.get_json()["errors"]
        assert any(field in key for key in errors), (field, errors)
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM sales_documents")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM sales_lines")).scalar() == 0
    order = client.post("/api/v1/orders", json={**base, "lines": [
        {"description": "x", "quantity": "1", "unit_price": "100"}]}, headers=headers).get_json()
    pay = client.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": "10.005"},
                      headers=headers)
    assert pay.status_code == 422 and "amount" in pay.get_json()["errors"]
    assert client.post(f"/api/v1/orders/{order['id']}/payments", json={"method": "cash", "amount": "40"},
                       headers=headers).status_code == 201
    refund = client.post(f"/api/v1/orders/{order['id']}/refunds", json={"method": "cash", "amount": "40.01",
                                                                         "note": "x"}, headers=headers)
    assert refund.status_code == 422 and "amount" in refund.get_json()["errors"]
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM payments")).scalar() == 1


def test_ten_parallel_payments_with_one_idempotency_key_record_one(two_tenants, api_token, app, system_db):
    alpha, _ = two_tenants
    headers = api_token(alpha, "owner")
    client = app.test_client()
    order = client.post("/api/v1/orders", json={"customer_id": alpha.customers[0], "lines": [
        {"description": "洗车卡", "quantity": "1", "unit_price": "1000"}]}, headers=headers).get_json()
    url = f"/api/v1/orders/{order['id']}/payments"
    barrier, answers = threading.Barrier(10), []

    def pay():
        c = app.test_client()
        barrier.wait()
        resp = c.post(url, json={"method": "wechat_pay", "amount": "300.00", "reference": "WX-1"},
                      headers={**headers, "Idempotency-Key": "pos-7-receipt-1"})
        answers.append(resp.status_code)

    threads = [threading.Thread(target=pay) for _ in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert answers.count(201) >= 1 and set(answers) <= {201, 409}, answers
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM payments")).scalar() == 1
        assert conn.execute(text("SELECT paid_total FROM sales_documents WHERE id = :i"),
                            {"i": order["id"]}).scalar() == Decimal("300.00")
        assert conn.execute(text("SELECT lifetime_spend FROM customers WHERE id = :i"),
                            {"i": alpha.customers[0]}).scalar() == Decimal("300.00")
    replay = client.post(url, json={"method": "wechat_pay", "amount": "300.00", "reference": "WX-1"},
                         headers={**headers, "Idempotency-Key": "pos-7-receipt-1"})
    assert replay.status_code == 201 and replay.headers["Idempotent-Replayed"] == "true"


def test_a_form_retry_with_the_same_request_key_records_once(two_tenants, login, in_tenant, system_db):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        order = sales.create_order(_user(alpha), {"customer_id": alpha.customers[0], "lines": [
            {"description": "保养", "quantity": "1", "unit_price": "200"}]})
        order_id = order.id
    b = login(alpha, "advisor")
    b.get(f"/t/alpha/sales/orders/{order_id}")
    for _ in range(2):
        resp = b.post(f"/t/alpha/sales/orders/{order_id}/payments",
                      {"method": "cash", "amount": "50", "request_key": "form-key-1"})
        assert resp.status_code == 302
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM payments")).scalar() == 1


def test_the_share_link_shows_one_quote_and_takes_a_signature(two_tenants, in_tenant, app, browser, system_db):
    alpha, beta = two_tenants
    with in_tenant(alpha):
        owner = _user(alpha)
        quote = sales.create_quote(owner, {"customer_id": alpha.customers[0], "deposit_pct": Decimal("30"), "lines": [
            {"description": "DSP 调音", "quantity": "1", "unit_price": "600"},
            {"description": "低音炮", "quantity": "1", "unit_price": "1500", "optional": True}]})
        sales.send_quote(owner, quote)
        token, optional_id = quote.share_token, sales.lines_of(quote)[1].id
        assert quote.total == Decimal("600.00")
    client = app.test_client()
    page = client.get(f"/t/alpha/q/{token}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "DSP 调音" in html and "30%" in html and "BETA" not in html
    assert client.get(f"/t/beta/q/{token}").status_code == 404  # the token means nothing in another tenant
    assert client.get("/t/alpha/q/" + "x" * 43).status_code == 404
    import re

    csrf = re.search(r'name="csrf_token" value="([^"]+)"', html).group(1)
    missing = client.post(f"/t/alpha/q/{token}", data={"csrf_token": csrf, "name": "张伟", "decision": "accept"})
    assert missing.status_code == 422
    signed = client.post(f"/t/alpha/q/{token}", data={
        "csrf_token": csrf, "name": "张伟", "decision": "accept", "optional_line_ids": str(optional_id),
        "signature": "data:image/png;base64," + "iVBORw0KGgo" * 5})
    assert signed.status_code == 302
    with system_db.connect() as conn:
        state, total = conn.execute(text("SELECT state, total FROM sales_documents WHERE kind = 'quote'")).one()
        order_total = conn.execute(text("SELECT total FROM sales_documents WHERE kind = 'order'")).scalar()
    assert state == "accepted" and total == order_total == Decimal("2100.00")


def test_customer_page_shows_spend_and_orders_with_a_constant_query_count(two_tenants, login, in_tenant, app):
    from tests.test_query_counts import count_queries

    alpha, _ = two_tenants

    def orders(n):
        with in_tenant(alpha):
            owner = _user(alpha)
            for i in range(n):
                order = sales.create_order(owner, {"customer_id": alpha.customers[0], "lines": [
                    {"description": f"项目 {i}", "quantity": "1", "unit_price": "100"}]})
                sales.record_payment(owner, order, {"method": "cash", "amount": Decimal("100")})

    b = login(alpha, "owner")
    path = f"/t/alpha/customers/{alpha.customers[0]}"
    orders(1)
    b.get(path)  # warm: the per-process caches are filled by the first request
    with count_queries(app) as few:
        page = b.get(path)
    assert page.status_code == 200 and 'data-testid="lifetime-spend"' in page.get_data(as_text=True)
    orders(12)
    with count_queries(app) as many:
        html = b.get(path).get_data(as_text=True)
    assert len(many) == len(few), (len(few), len(many))
    assert "¥1,300.00" in html


def test_spend_filters_sorts_and_exports_customers(two_tenants, in_tenant, login, api_token, app):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        owner = _user(alpha)
        for n, amount in ((1, "800"), (2, "120")):
            order = sales.create_order(owner, {"customer_id": alpha.customers[n], "lines": [
                {"description": "保养", "quantity": "1", "unit_price": amount}]})
            sales.record_payment(owner, order, {"method": "cash", "amount": Decimal(amount)})
    client, headers = app.test_client(), api_token(alpha, "owner")
    body = client.get("/api/v1/customers?min_spend=500", headers=headers).get_json()
    assert [c["name"] for c in body["items"]] == ["ALPHA-customer-1"] and body["items"][0]["lifetime_spend"] == "800.00"
    ranked = client.get("/api/v1/customers?sort=spend", headers=headers).get_json()["items"]
    assert [c["name"] for c in ranked][:2] == ["ALPHA-customer-1", "ALPHA-customer-2"]
    b = login(alpha, "owner")
    page = b.get("/t/alpha/customers/?min_spend=100&sort=spend").get_data(as_text=True)
    assert "ALPHA-customer-1" in page and "ALPHA-customer-2" in page and "ALPHA-customer-0" not in page
    export = b.get("/t/alpha/customers/export.csv?min_spend=500").get_data(as_text=True)
    assert "800.00" in export and "ALPHA-customer-2" not in export


def test_a_line_credits_an_advisor_and_a_technician_with_a_share(two_tenants, login, in_tenant, system_db):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        order = sales.create_order(_user(alpha), {"customer_id": alpha.customers[0], "lines": [
            {"description": "音响改装", "quantity": "1", "unit_price": "1000"}]})
        order_id, line_id = order.id, sales.lines_of(order)[0].id
    b = login(alpha, "advisor")
    b.get(f"/t/alpha/sales/orders/{order_id}")
    bad = b.post(f"/t/alpha/sales/documents/{order_id}/lines/{line_id}",
                 {"advisor_id": str(alpha.users["advisor"]), "technician_id": str(alpha.users["technician"]),
                  "technician_share_pct": "130"}, headers={"HX-Request": "true"})
    assert f'data-error-for="line-{line_id}-technician_share_pct"' in bad.get_data(as_text=True)
    ok = b.post(f"/t/alpha/sales/documents/{order_id}/lines/{line_id}",
                {"advisor_id": str(alpha.users["advisor"]), "technician_id": str(alpha.users["technician"]),
                 "technician_share_pct": "40", "quantity": "2"}, headers={"HX-Request": "true"})
    assert 'data-testid="line-credit"' in ok.get_data(as_text=True)
    with system_db.connect() as conn:
        row = conn.execute(text("SELECT advisor_id, technician_id, technician_share_pct, amount FROM sales_lines")).one()
    assert row == (alpha.users["advisor"], alpha.users["technician"], Decimal("40.00"), Decimal("2000.00"))
