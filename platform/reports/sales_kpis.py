"""The commerce KPIs: revenue, paid orders, average order value, repurchase rate, customer lifetime value, refunds.

Each is one SELECT of the records it counts (engine.py). The words the definitions use:

- **money received** is a payment (`payments.kind = 'payment'`) and money given back a refund, both dated by
  `received_at` (when the till recorded it), in the tenant's zone;
- a **paid order** is an order with money on it: paid − refunded > 0 today (the rule the customer's `order_count`
  follows, storecrm.sales `_spend`). A fully refunded order is no paid order, in any period. It is dated by its
  **first payment**.

Store and staff filters apply to the order (its store, its salesperson); store staff see the orders of their stores.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import and_, case, func, literal, select

from ..customers.models import Customer
from ..hooks.contrib import Kpi
from ..sales.labels import METHOD_LABELS
from ..sales.models import Payment, SalesDocument
from ..stores.models import Store
from .engine import case_bool

MANAGERS = ("owner", "admin", "manager")
SELLERS = MANAGERS + ("advisor",)  # whose home shows the sales figures by default (technicians' does not)
BY_STORE = {"store_id": _l("Store")}


def _labels(column, labels: dict):
    """`<code>_name`: the label of a stored code, so a drill-down never shows a raw code."""
    return case({code: str(label) for code, label in labels.items()}, value=column, else_=column)


def _order_filters(scope, order=SalesDocument):
    clauses = [order.kind == "order", scope.stores(order.store_id)]
    if scope.staff_id is not None:
        clauses.append(order.staff_id == scope.staff_id)
    return clauses


def _money(scope, kind: str | None):
    """Payments and/or refunds recorded in the period, with the order's number, customer and store."""
    signed = case((Payment.kind == "refund", -Payment.amount), else_=Payment.amount)
    query = (select(Payment.id.label("id"), SalesDocument.number.label("number"), Customer.name.label("customer"),
                    SalesDocument.store_id.label("store_id"), Store.name.label("store_id_name"),
                    Payment.kind.label("kind"),
                    _labels(Payment.kind, {"payment": _l("Payment"), "refund": _l("Refund")}).label("kind_name"),
                    Payment.method.label("method"), _labels(Payment.method, METHOD_LABELS).label("method_name"),
                    (Payment.amount if kind == "refund" else signed).label("amount"),
                    Payment.received_at.label("at"), SalesDocument.id.label("order_id"))
             .join(SalesDocument, and_(SalesDocument.tenant_id == Payment.tenant_id,
                                       SalesDocument.id == Payment.document_id))
             .join(Customer, and_(Customer.tenant_id == SalesDocument.tenant_id,
                                  Customer.id == SalesDocument.customer_id))
             .join(Store, and_(Store.tenant_id == SalesDocument.tenant_id, Store.id == SalesDocument.store_id))
             .where(Payment.received_at >= scope.start, Payment.received_at < scope.end, *_order_filters(scope)))
    if kind is not None:
        query = query.where(Payment.kind == kind)
    if scope.channel is not None:
        query = query.where(Payment.method == scope.channel)
    return query


def revenue(scope):
    """Payments (+) and refunds (−) recorded in the period: net money received."""
    return _money(scope, None)


def refunds(scope):
    return _money(scope, "refund")


def _first_payment():
    return (select(Payment.document_id.label("order_id"), func.min(Payment.received_at).label("paid_at"))
            .where(Payment.kind == "payment").group_by(Payment.document_id).subquery("first_payment"))


def paid_orders(scope, *, until=None):
    """Paid orders whose first payment falls in the period (or before `until` when given)."""
    first = _first_payment()
    net = (SalesDocument.paid_total - SalesDocument.refunded_total)
    query = (select(SalesDocument.id.label("id"), SalesDocument.number.label("number"),
                    SalesDocument.customer_id.label("customer_id"), Customer.name.label("customer"),
                    SalesDocument.store_id.label("store_id"), Store.name.label("store_id_name"),
                    SalesDocument.total.label("total"), net.label("net_paid"), first.c.paid_at.label("at"))
             .join(first, first.c.order_id == SalesDocument.id)
             .join(Customer, and_(Customer.tenant_id == SalesDocument.tenant_id,
                                  Customer.id == SalesDocument.customer_id))
             .join(Store, and_(Store.tenant_id == SalesDocument.tenant_id, Store.id == SalesDocument.store_id))
             .where(net > 0, first.c.paid_at < (until or scope.end), *_order_filters(scope)))
    if until is None:
        query = query.where(first.c.paid_at >= scope.start)
    return query


def _buyers(scope):
    """One row per customer with at least one paid order in the period: how many, and when the last one."""
    orders = paid_orders(scope).subquery("o")
    return (select(orders.c.customer_id, func.count().label("orders"), func.max(orders.c.at).label("at"))
            .group_by(orders.c.customer_id).subquery("buyers"))


def _customer_rows(buyers):
    return (select(Customer.id.label("id"), Customer.name.label("name"), Customer.store_id.label("store_id"),
                   Store.name.label("store_id_name"), buyers.c.orders.label("orders"), buyers.c.at.label("at"))
            .join(buyers, buyers.c.customer_id == Customer.id)
            .join(Store, and_(Store.tenant_id == Customer.tenant_id, Store.id == Customer.store_id)))


def repurchase(scope):
    """Customers with a paid order in the period; `repeat`: two or more."""
    buyers = _buyers(scope)
    return _customer_rows(buyers).add_columns(case_bool(buyers.c.orders >= 2).label("repeat"))


def lifetime_value(scope):
    """Customers with a paid order in the period, with the net money they paid (payments − refunds, orders of the
    viewer's stores) from their first order up to the end of the period."""
    buyers = _buyers(scope)
    signed = case((Payment.kind == "refund", -Payment.amount), else_=Payment.amount)
    paid = (select(func.coalesce(func.sum(signed), literal(0)))
            .join(SalesDocument, and_(SalesDocument.tenant_id == Payment.tenant_id,
                                      SalesDocument.id == Payment.document_id))
            .where(Payment.customer_id == buyers.c.customer_id, Payment.received_at < scope.end,
                   *_order_filters(scope))
            .correlate(buyers).scalar_subquery())
    return _customer_rows(buyers).add_columns(paid.label("lifetime_spend"))


MONEY_COLUMNS = {"id": _l("ID"), "number": _l("Order no."), "customer": _l("Customer"), "store_id": _l("Store"),
                 "kind": _l("Type"), "method": _l("Method"), "amount": _l("Amount"), "at": _l("Date")}
ORDER_COLUMNS = {"id": _l("ID"), "number": _l("Order no."), "customer": _l("Customer"), "store_id": _l("Store"),
                 "total": _l("Total"), "net_paid": _l("Paid"), "at": _l("First payment")}
BUYER_COLUMNS = {"id": _l("ID"), "name": _l("Name"), "store_id": _l("Store"), "orders": _l("Orders"),
                 "at": _l("Last order")}


def kpis() -> list[Kpi]:
    order_link = lambda r: f"/sales/orders/{r['order_id']}"  # noqa: E731
    return [
        Kpi("sales.revenue", _l("Revenue"),
            _l("Net money received in the period: payments minus refunds recorded in it (tenant time zone). "
               "Store and staff: the order's; channel: the payment method."),
            permission="sales.view", records=revenue, measure="sum:amount", unit="money",
            filters=("store", "staff", "channel"), channels=METHOD_LABELS, columns=MONEY_COLUMNS,
            group_by={**BY_STORE, "method": _l("Method")}, roles=SELLERS, link=order_link),
        Kpi("sales.orders", _l("Paid orders"),
            _l("Orders whose first payment was recorded in the period and that still have money on them (paid "
               "minus refunded above zero; a fully refunded order does not count)."),
            permission="sales.view", records=paid_orders, filters=("store", "staff"), columns=ORDER_COLUMNS,
            group_by=BY_STORE, roles=SELLERS, link=lambda r: f"/sales/orders/{r['id']}"),
        Kpi("sales.average_order_value", _l("Average order value"),
            _l("Average net amount paid (paid minus refunded) of the paid orders of the period (客单价)."),
            permission="sales.view", records=paid_orders, measure="avg:net_paid", unit="money",
            filters=("store", "staff"), columns=ORDER_COLUMNS, group_by=BY_STORE, roles=SELLERS,
            link=lambda r: f"/sales/orders/{r['id']}"),
        Kpi("sales.repurchase_rate", _l("Repurchase rate"),
            _l("Of the customers with at least one paid order in the period, the share with two or more (复购率)."),
            permission="sales.view", records=repurchase, measure="rate:repeat", unit="%",
            filters=("store", "staff"), columns={**BUYER_COLUMNS, "repeat": _l("Repeat")}, group_by=BY_STORE,
            roles=MANAGERS, link=lambda r: f"/customers/{r['id']}"),
        Kpi("sales.customer_lifetime_value", _l("Customer lifetime value"),
            _l("Historical CLV: the average, over the customers with a paid order in the period, of the net amount "
               "each paid (payments minus refunds) from the first order to the end of the period."),
            permission="sales.view", records=lifetime_value, measure="avg:lifetime_spend", unit="money",
            filters=("store", "staff"), columns={**BUYER_COLUMNS, "lifetime_spend": _l("Spend to date")},
            group_by=BY_STORE, roles=MANAGERS, link=lambda r: f"/customers/{r['id']}"),
        Kpi("sales.refunds", _l("Refunds"),
            _l("Money given back in the period: the refunds recorded in it. Channel: the refund method."),
            permission="sales.view", records=refunds, measure="sum:amount", unit="money",
            filters=("store", "staff", "channel"), channels=METHOD_LABELS, columns=MONEY_COLUMNS,
            group_by=BY_STORE, higher_is_better=False, roles=MANAGERS, link=order_link),
    ]
