"""The sales lines of a customer's timeline (`TimelineSource`s the core unions): quotes sent and answered, orders
confirmed and fulfilled, payments and refunds."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import Text, cast, func, select

from ..hooks.contrib import TimelineEntry, TimelineSource
from .labels import method_label
from .models import Payment, SalesDocument


def _payments(customer_id):
    return (select(Payment.received_at.label("at"), func.jsonb_build_object(
        "kind", Payment.kind, "amount", cast(Payment.amount, Text), "method", Payment.method,
        "document", Payment.document_id, "number", SalesDocument.number).label("data"))
        .join(SalesDocument, (SalesDocument.tenant_id == Payment.tenant_id) & (SalesDocument.id == Payment.document_id))
        .where(Payment.customer_id == customer_id))


def _payment(at, data) -> TimelineEntry:
    title = (_("Payment %(amount)s on %(number)s", amount=data["amount"], number=data["number"])
             if data["kind"] == "payment" else
             _("Refund %(amount)s on %(number)s", amount=data["amount"], number=data["number"]))
    return TimelineEntry(at, "sales", title, method_label(data["method"]), f"/sales/orders/{data['document']}")


def _document_event(kind: str, column):
    """A select of one moment in the life of the customer's quotes or orders (`column`: when it happened)."""
    def rows(customer_id):
        return (select(column.label("at"), func.jsonb_build_object(
            "id", SalesDocument.id, "number", SalesDocument.number, "total", cast(SalesDocument.total, Text),
            "name", SalesDocument.accepted_name).label("data"))
            .where(SalesDocument.customer_id == customer_id, SalesDocument.kind == kind, column.is_not(None)))
    return rows


def _line(title, kind: str):
    def entry(at, data) -> TimelineEntry:
        path = "quotes" if kind == "quote" else "orders"
        return TimelineEntry(at, "sales", title(data), None, f"/sales/{path}/{data['id']}")
    return entry


SOURCES = [
    TimelineSource("sales.payments", "sales", _payments, _payment),
    TimelineSource("sales.quote_sent", "sales", _document_event("quote", SalesDocument.sent_at), _line(
        lambda d: _("Quote %(number)s sent (%(total)s)", number=d["number"], total=d["total"]), "quote")),
    TimelineSource("sales.quote_accepted", "sales", _document_event("quote", SalesDocument.accepted_at), _line(
        lambda d: _("Quote %(number)s accepted by %(name)s", number=d["number"], name=d["name"] or ""), "quote")),
    TimelineSource("sales.order_confirmed", "sales", _document_event("order", SalesDocument.confirmed_at), _line(
        lambda d: _("Order %(number)s confirmed (%(total)s)", number=d["number"], total=d["total"]), "order")),
    TimelineSource("sales.order_fulfilled", "sales", _document_event("order", SalesDocument.fulfilled_at), _line(
        lambda d: _("Order %(number)s fulfilled", number=d["number"]), "order")),
]
