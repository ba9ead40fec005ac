"""Paid orders dated in the past, for the commerce KPIs and RFM: written through storecrm.sales (totals, spend
columns), then dated by SQL as if the till had recorded them then."""
from __future__ import annotations

from datetime import datetime, timezone
from decimal import Decimal

from sqlalchemy import text

from storecrm.customers.models import Customer
from storecrm.extensions import db
from storecrm.sales import services as sales
from storecrm.users.models import User

UTC = timezone.utc


def at(y, m, d, h=4, minute=0):
    """04:00 UTC is noon in Shanghai: the same local day."""
    return datetime(y, m, d, h, minute, tzinfo=UTC)


def customer(world, name, store=0):
    c = Customer(name=name, store_id=world.stores[store])
    db.session.add(c)
    db.session.flush()
    return c.id


def order(world, customer_id, total, *, store=0, payments=(), refunds=(), staff="owner"):
    """An order of one free-text line worth `total`; `payments` / `refunds`: [(amount, when, method)]."""
    user = db.session.get(User, (world.id, world.users[staff]))
    o = sales.create_order(user, {"customer_id": customer_id, "store_id": world.stores[store], "lines": [
        {"description": "安装服务", "unit_price": Decimal(total), "quantity": Decimal(1)}]})
    for amount, when, method in payments:
        p = sales.record_payment(user, o, {"method": method, "amount": Decimal(amount)})
        _date(p.id, when)
    for amount, when, method in refunds:
        r = sales.record_refund(user, o, {"method": method, "amount": Decimal(amount), "note": "退款"})
        _date(r.id, when)
    return o.id


def _date(payment_id, when):
    db.session.execute(text("UPDATE payments SET received_at = :t WHERE id = :id"), {"t": when, "id": payment_id})


def redate_spend():
    """The spend columns' purchase dates as the payments (now back-dated) give them."""
    db.session.execute(text(
        "UPDATE customers c SET last_purchase_at = p.last, first_purchase_at = p.first FROM "
        "(SELECT customer_id, max(received_at) AS last, min(received_at) AS first FROM payments "
        " WHERE kind = 'payment' GROUP BY customer_id) p WHERE p.customer_id = c.id"))
    db.session.expire_all()
