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


def _ids(world):
    with_ids = {}
    return with_ids


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
