"""The sales lines of a customer's timeline: quotes sent and answered, orders confirmed, payments and refunds."""
from __future__ import annotations

from flask_babel import gettext as _
from sqlalchemy import select

from ..extensions import db
from ..hooks.contrib import TimelineEntry
from .models import Payment, SalesDocument
from .labels import method_label


def timeline_entries(customer, before, limit) -> list[TimelineEntry]:
    """Up to `limit` sales entries about the customer older than `before` (two indexed queries)."""
    pay_q = (select(Payment, SalesDocument.number).join(SalesDocument, (SalesDocument.tenant_id == Payment.tenant_id)
                                                        & (SalesDocument.id == Payment.document_id))
             .where(Payment.customer_id == customer.id).order_by(Payment.received_at.desc()).limit(limit))
    if before is not None:
        pay_q = pay_q.where(Payment.received_at < before)
    out = []
    for payment, number in db.session.execute(pay_q):
        title = (_("Payment %(amount)s on %(number)s", amount=payment.amount, number=number)
                 if payment.kind == "payment" else
                 _("Refund %(amount)s on %(number)s", amount=payment.amount, number=number))
        out.append(TimelineEntry(payment.received_at, "sales", title, method_label(payment.method),
                                 f"/sales/orders/{payment.document_id}"))
    doc_q = (select(SalesDocument).where(SalesDocument.customer_id == customer.id)
             .order_by(SalesDocument.id.desc()).limit(limit))
    for doc in db.session.scalars(doc_q):
        events = []
        if doc.kind == "quote":
            if doc.sent_at:
                events.append((doc.sent_at, _("Quote %(number)s sent (%(total)s)", number=doc.number, total=doc.total)))
            if doc.accepted_at:
                events.append((doc.accepted_at, _("Quote %(number)s accepted by %(name)s", number=doc.number,
                                                  name=doc.accepted_name or "")))
            url = f"/sales/quotes/{doc.id}"
        else:
            if doc.confirmed_at:
                events.append((doc.confirmed_at, _("Order %(number)s confirmed (%(total)s)", number=doc.number,
                                                   total=doc.total)))
            if doc.fulfilled_at:
                events.append((doc.fulfilled_at, _("Order %(number)s fulfilled", number=doc.number)))
            url = f"/sales/orders/{doc.id}"
        for at, title in events:
            if before is None or at < before:
                out.append(TimelineEntry(at, "sales", title, None, url))
    out.sort(key=lambda e: e.at, reverse=True)
    return out[:limit]
