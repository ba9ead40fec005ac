"""Stock: a chain receives, sells, reserves, transfers and counts; the database keeps quantities right."""
import threading
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from sqlalchemy import select, text

from storecrm.catalog import services as catalog
from storecrm.catalog.schemas import ItemSchema
from storecrm.customers.models import Customer
from storecrm.extensions import db
from storecrm.stock import services as stock
from storecrm.stock.models import Location, StockLevel
from storecrm.stores.models import Store
from storecrm.users.models import User


def _item(**overrides):
    data = ItemSchema().load({"kind": "product", "sku": "AMP-1", "name": "功放 DSP-8", "list_price": "2999.00",
                              "cost": "1500", "tax_rate": "0.13", **overrides})
    return catalog.create_item(None, data)


def _shelf(world, n=0):
    return stock.location_for_store(db.session.get(Store, (world.id, world.stores[n])))




def test_receipts_move_the_average_cost_and_issues_carry_it(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        item, shelf = _item(), _shelf(alpha)
        stock.receive(item, shelf, 10, unit_cost="100")
        stock.receive(item, shelf, 10, unit_cost="130")
        level = stock.level_of(item, shelf)
        assert level.on_hand == 20 and level.avg_cost == Decimal("115.0000")
        (out,) = stock.issue(item, shelf, 4)
        assert out.quantity == -4 and out.unit_cost == Decimal("115.0000")
        assert stock.level_of(item, shelf).on_hand == 16


def test_bad_quantities_are_field_errors_and_write_nothing(two_tenants, in_tenant, system_db):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        item, shelf = _item(), _shelf(alpha)
        for bad in ("-1", "abc", "0", "NaN", "1e400", "1.0001", None, True):
            with pytest.raises(ValidationError) as err:
                stock.receive(item, shelf, bad)
            assert "quantity" in err.value.messages
        with pytest.raises(ValidationError) as err:
            stock.receive(item, shelf, 1, unit_cost="-3")
        assert "unit_cost" in err.value.messages
        with pytest.raises(stock.InsufficientStock) as err:
            stock.issue(item, shelf, 1)
        assert "quantity" in err.value.messages
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM stock_movements")).scalar() == 0


def test_a_serial_already_sold_is_refused_and_a_sold_serial_becomes_the_customers_asset(two_tenants, in_tenant,
                                                                                          system_db):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        item, shelf = _item(serial_tracked=True), _shelf(alpha)
        stock.receive(item, shelf, 2, serials=["SN-1", "SN-2"])
        customer = db.session.get(Customer, (alpha.id, alpha.customers[0]))
        stock.issue(item, shelf, 1, serials=["SN-1"], customer=customer, reference=("order_line", 1))
    with in_tenant(alpha):
        item, shelf = catalog.item_by_sku("AMP-1"), _shelf(alpha)
        with pytest.raises(ValidationError) as err:
            stock.issue(item, shelf, 1, serials=["SN-1"])
        assert "already sold" in err.value.messages["serials"][0]
        with pytest.raises(ValidationError):
            stock.receive(item, shelf, 1, serials=["SN-2"])  # known already
    with system_db.connect() as conn:
        asset = conn.execute(text("SELECT a.customer_id, a.type, i.value FROM stock_serials s JOIN assets a "
                                  "ON a.tenant_id = s.tenant_id AND a.id = s.asset_id LEFT JOIN customer_identities i "
                                  "ON i.tenant_id = a.tenant_id AND i.asset_id = a.id WHERE s.serial = 'SN-1'")).one()
        assert tuple(asset) == (alpha.customers[0], "device", "SN-1")
        assert conn.execute(text("SELECT state FROM stock_serials WHERE serial='SN-2'")).scalar() == "in_stock"


def test_reservations_hold_stock_and_are_used_by_the_issue_of_the_same_reference(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        item, shelf = _item(), _shelf(alpha)
        stock.receive(item, shelf, 3)
        stock.reserve(item, shelf, 2, reference=("order", 7))
        with pytest.raises(stock.InsufficientStock):
            stock.issue(item, shelf, 2)  # only 1 is free
        stock.issue(item, shelf, 2, reference=("order", 7))
        level = stock.level_of(item, shelf)
        assert (level.on_hand, level.reserved) == (1, 0)
        stock.reserve(item, shelf, 1, reference=("order", 8))
        assert stock.release(("order", 8)) == 1
        assert stock.level_of(item, shelf).reserved == 0


def _ledger_matches(conn):
    rows = conn.execute(text(
        "SELECT l.on_hand, l.reserved, "
        "COALESCE((SELECT sum(quantity) FROM stock_movements m WHERE m.tenant_id = l.tenant_id AND m.item_id = l.item_id"
        " AND m.location_id = l.location_id AND kind NOT IN ('reserve', 'release')), 0), "
        "COALESCE((SELECT sum(quantity) FROM stock_movements m WHERE m.tenant_id = l.tenant_id AND m.item_id = l.item_id"
        " AND m.location_id = l.location_id AND kind IN ('reserve', 'release')), 0) FROM stock_levels l")).all()
    return all(r[0] == r[2] and r[1] == r[3] for r in rows)


def test_twenty_staff_take_the_last_ten_units_at_once(two_tenants, in_tenant, app, system_db):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        item, shelf = _item(), _shelf(alpha)
        stock.receive(item, shelf, 10)
        item_id, shelf_id = item.id, shelf.id
    results, barrier = [], threading.Barrier(20)

    def take():
        with in_tenant(alpha):
            barrier.wait()
            try:
                stock.issue(catalog.get_item(item_id), db.session.get(Location, (alpha.id, shelf_id)), 1)
                db.session.commit()
                results.append("ok")
            except stock.InsufficientStock:
                db.session.rollback()
                results.append("short")

    threads = [threading.Thread(target=take) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results.count("ok") == 10 and results.count("short") == 10
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT on_hand FROM stock_levels")).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM stock_movements WHERE kind = 'issue'")).scalar() == 10
        assert _ledger_matches(conn)


def test_packages_expand_into_their_components_and_stores_have_their_own_price(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        amp = _item()
        labour = _item(kind="service", sku="LAB-1", name="安装工时", list_price="300")
        cable = _item(kind="part", sku="CAB-1", name="电源线", unit="米", list_price="12.5")
        inner = _item(kind="package", sku="PKG-IN", name="线材包", list_price="0")
        catalog.set_package_lines(inner, [{"component_id": cable.id, "quantity": Decimal("4.5")}])
        package = _item(kind="package", sku="PKG-1", name="入门套餐", list_price="3999")
        catalog.set_package_lines(package, [{"component_id": amp.id, "quantity": Decimal("1")},
                                            {"component_id": labour.id, "quantity": Decimal("2")},
                                            {"component_id": inner.id, "quantity": Decimal("2")}])
        assert [(i.sku, q) for i, q in catalog.expand_package(package)] == \
            [("AMP-1", 1), ("LAB-1", 2), ("CAB-1", Decimal("9.0"))]
        with pytest.raises(ValidationError):  # a package inside itself
            catalog.set_package_lines(inner, [{"component_id": package.id, "quantity": Decimal("1")}])
        store = db.session.get(Store, (alpha.id, alpha.stores[1]))
        assert catalog.price_for(amp, store) == Decimal("2999.00")
        catalog.set_store_price(amp, store, Decimal("2799.00"))
        assert catalog.price_for(amp, store) == Decimal("2799.00")
        assert catalog.price_for(amp, alpha.stores[0]) == Decimal("2999.00")


def test_bad_catalog_input_is_refused_field_by_field(two_tenants, in_tenant):
    alpha, beta = two_tenants
    with in_tenant(beta):
        beta_category = catalog.create_category({"name": "BETA", "parent_id": None, "position": 0, "active": True}).id
    with in_tenant(alpha):
        for field, value in (("list_price", "-1"), ("list_price", "abc"), ("list_price", "1.005"),
                             ("tax_rate", "13"), ("cost", "-0.01"), ("sku", "has space")):
            with pytest.raises(ValidationError) as err:
                _item(**{field: value})
            assert field in err.value.messages, (field, value)
        with pytest.raises(ValidationError) as err:
            _item(category_id=beta_category)
        assert "category_id" in err.value.messages
        _item()
        with pytest.raises(ValidationError) as err:
            _item(sku="amp-1")  # SKUs are unique per tenant, whatever the case
        assert "sku" in err.value.messages
    with in_tenant(beta):
        _item()  # the same SKU in another tenant is fine


def test_a_two_step_transfer_with_a_short_receipt(two_tenants, in_tenant, system_db):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        item, here, there = _item(), _shelf(alpha, 0), _shelf(alpha, 1)
        stock.receive(item, here, 10, unit_cost="50")
        transfer = stock.send_transfer(here, there, [{"item_id": item.id, "quantity": "6"}])
        assert transfer.state == "in_transit"
        assert stock.level_of(item, here).on_hand == 4 and stock.level_of(item, there) is None
        (line, _i), = stock.transfer_lines(transfer)
        with pytest.raises(ValidationError):
            stock.receive_transfer(transfer, {line.id: "7"})  # more than was sent
        stock.receive_transfer(transfer, {line.id: "5"})
        level = stock.level_of(item, there)
        assert (level.on_hand, level.avg_cost) == (5, Decimal("50.0000"))
        assert line.quantity_received == 5 and transfer.state == "received"
        with pytest.raises(ValidationError):
            stock.receive_transfer(transfer, {})  # once only
    with system_db.connect() as conn:
        assert _ledger_matches(conn)
        assert conn.execute(text("SELECT reason FROM stock_movements WHERE kind = 'transfer_in'")).scalar() == \
            "Short receipt"


def test_a_count_posts_the_differences_as_adjustments(two_tenants, in_tenant, system_db):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        amp, cable, shelf = _item(), _item(kind="part", sku="CAB-1", name="电源线"), _shelf(alpha)
        stock.receive(amp, shelf, 10)
        stock.receive(cable, shelf, 100)
        count = stock.start_count(shelf)
        assert {i.sku: line.expected for line, i in stock.count_lines(count)} == {"AMP-1": 10, "CAB-1": 100}
        with pytest.raises(ValidationError) as err:
            stock.record_counts(count, {amp.id: "-1"})
        assert f"counted.{amp.id}" in err.value.messages
        stock.record_counts(count, {amp.id: "8", cable.id: "100"})
        stock.issue(amp, shelf, 1)  # sold while counting: the count still sets what is on the shelf now
        moves = stock.post_count(count)
        assert [(m.kind, m.quantity) for m in moves] == [("adjust", -1)]
        assert stock.level_of(amp, shelf).on_hand == 8 and stock.level_of(cable, shelf).on_hand == 100
        with pytest.raises(ValidationError):
            stock.post_count(count)
    with system_db.connect() as conn:
        assert _ledger_matches(conn)


def test_the_reorder_level_raises_one_event_per_crossing_and_a_rule_notifies_the_manager(two_tenants, in_tenant,
                                                                                           system_db, app):
    from storecrm import events
    from storecrm.rules.engine import save

    alpha, _ = two_tenants
    heard = []
    subscribers = app.extensions[events.EXTENSION]
    app.extensions[events.EXTENSION] = subscribers + (
        lambda e: heard.append(e.level.on_hand) if isinstance(e, events.StockBelowReorderLevel) else None,)
    try:
        with in_tenant(alpha):
            save(None, {"enabled": True, "run_hour": 0, "name": "Reorder", "entity": "stock_level",
                        "trigger": {"type": "event", "event": "below_reorder_level"}, "conditions": {},
                        "actions": [{"type": "notify", "channel": "in_app", "to": "role:manager",
                                     "subject": "Reorder {name}", "body": "{name}"}]})
            item, shelf = _item(), _shelf(alpha)
            stock.receive(item, shelf, 10)
            stock.set_reorder_level(item, shelf, 3)
        for _n in range(4):  # 9, 8, 7, 6: above the level
            with in_tenant(alpha):
                stock.issue(catalog.item_by_sku("AMP-1"), _shelf(alpha), 1)
        assert heard == []
        with in_tenant(alpha):
            stock.issue(catalog.item_by_sku("AMP-1"), _shelf(alpha), 3)  # 3: crossed
        with in_tenant(alpha):
            stock.issue(catalog.item_by_sku("AMP-1"), _shelf(alpha), 1)  # 2: still below, no second event
        assert heard == [3]
        with in_tenant(alpha):
            stock.receive(catalog.item_by_sku("AMP-1"), _shelf(alpha), 10)  # 12: above again
            stock.issue(catalog.item_by_sku("AMP-1"), _shelf(alpha), 10)  # 2: a new crossing
        assert heard == [3, 2]
    finally:
        app.extensions[events.EXTENSION] = subscribers
    with system_db.connect() as conn:
        titles = conn.execute(text("SELECT title FROM notifications WHERE user_id = :u"),
                              {"u": alpha.users["manager"]}).scalars().all()
    assert titles == ["Reorder AMP-1 功放 DSP-8 @ ALPHA Store One"] * 2


def test_negative_stock_only_when_the_tenant_allows_it(two_tenants, in_tenant):
    from storecrm.tenancy.models import current_tenant_row

    alpha, _ = two_tenants
    with in_tenant(alpha):
        item, shelf = _item(), _shelf(alpha)
        with pytest.raises(stock.InsufficientStock):
            stock.issue(item, shelf, 2)
        current_tenant_row().settings = {**current_tenant_row().settings, "stock_allow_negative": True}
        db.session.flush()
        stock.issue(item, shelf, 2)
        assert stock.level_of(item, shelf).on_hand == -2


def test_returned_serials_come_back_and_reservations_expire(two_tenants, in_tenant):
    from datetime import timedelta

    from storecrm.tenancy.models import utcnow

    alpha, _ = two_tenants
    with in_tenant(alpha):
        item, shelf = _item(serial_tracked=True), _shelf(alpha)
        stock.receive(item, shelf, 2, serials=["A1", "A2"])
        stock.issue(item, shelf, 1, serials=["A1"])
        stock.return_to_stock(item, shelf, 1, serials=["A1"], reference=("refund", 1))
        assert {s.serial: s.state for s in stock.serials_of(item, states=None)} == {"A1": "returned", "A2": "in_stock"}
        stock.reserve(item, shelf, 1, reference=("quote", 9), serials=["A2"], expires_at=utcnow() - timedelta(minutes=1))
        with pytest.raises(ValidationError):
            stock.issue(item, shelf, 1, serials=["A2"])  # held for the quote
        assert stock.expire_reservations() == 1
        assert stock.level_of(item, shelf).reserved == 0
        stock.issue(item, shelf, 1, serials=["A2"])
