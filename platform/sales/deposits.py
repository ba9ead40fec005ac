"""Deposits (定金) on quotes: the only place that writes them (quote page, API, the WeChat Pay plugin through the SDK).

A deposit is held while its quote is open. When the quote is accepted, each held deposit becomes a payment of the new
order, once (request key "deposit:<id>"), so the order page, the balance due and the customer's spend see it as
money received then. A deposit on a declined or expired quote can be given back: a cash/card deposit at once; one
paid online (WeChat Pay) through its provider (the `online_payment_refund` hook), "refunding" until the provider
confirms with `deposit_refunded`. Every function runs in the caller's tenant and transaction, locks the quote row
first, and raises marshmallow.ValidationError (field -> messages in the user's language) before writing anything
it refuses."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import force_locale, gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select

from ..audit.services import record, snapshot
from ..extensions import db
from ..hooks.runtime import tenant_hook
from ..tenancy.models import current_tenant_row, get_scoped, utcnow
from .models import Payment, Quote, QuoteDeposit, SalesDocument

OPEN_STATES = ("draft", "sent")
REFUNDABLE_QUOTE_STATES = ("declined", "expired")
ONLINE_METHODS = ("wechat_pay",)


def _err(field: str, message: str):
    raise ValidationError({field: [message]})


def _lock(quote: SalesDocument) -> SalesDocument:
    return db.session.scalar(select(SalesDocument).where(SalesDocument.id == quote.id)
                             .with_for_update().execution_options(populate_existing=True))


def deposits_of(quote: SalesDocument) -> list[QuoteDeposit]:
    return list(db.session.scalars(select(QuoteDeposit).where(QuoteDeposit.quote_id == quote.id)
                                   .order_by(QuoteDeposit.id)))


def deposits_for_order(order: SalesDocument) -> list[QuoteDeposit]:
    """The deposits of the quote this order came from (shown on the order page)."""
    if not order.quote_id:
        return []
    return list(db.session.scalars(select(QuoteDeposit).where(QuoteDeposit.quote_id == order.quote_id)
                                   .order_by(QuoteDeposit.id)))


def deposit_paid(quote: SalesDocument) -> Decimal:
    """What the customer has paid as deposit and not had back (held, carried over, or being refunded)."""
    total = db.session.scalar(select(func.coalesce(func.sum(QuoteDeposit.amount), 0)).where(
        QuoteDeposit.quote_id == quote.id, QuoteDeposit.state != "refunded"))
    return Decimal(total).quantize(Decimal("0.01"))


def deposit_asked(quote: SalesDocument) -> Decimal:
    """The deposit the quote asks for (its `deposit_pct` of the total), 0 when it asks none."""
    if not quote.deposit_pct or not quote.total:
        return Decimal("0.00")
    return (quote.total * quote.deposit_pct / 100).quantize(Decimal("0.01"))


def deposit_due(quote: SalesDocument) -> Decimal:
    """What is still to pay of the deposit asked (the amount the share page offers to pay online)."""
    return max(deposit_asked(quote) - deposit_paid(quote), Decimal("0.00"))


def get_deposit(quote: SalesDocument, deposit_id) -> QuoteDeposit | None:
    deposit = get_scoped(QuoteDeposit, deposit_id)
    return deposit if deposit is not None and deposit.quote_id == quote.id else None


def deposit_by_key(request_key: str) -> QuoteDeposit | None:
    return db.session.scalar(select(QuoteDeposit).where(QuoteDeposit.request_key == request_key)) \
        if request_key else None


def record_deposit(user, quote: Quote, data: dict, *, request_key: str | None = None) -> QuoteDeposit:
    """Record a deposit on a quote (DepositSchema-loaded `data`: method, amount, reference, note). Staff take it on
    a draft or sent quote, at most the quote's total less deposits already paid. The same `request_key` twice
    returns the first deposit and records nothing. With `user` None (a provider's verified notification: the money is
    taken whatever state the quote is in) it is always recorded, and carried to the order at once when the quote has
    been accepted meanwhile."""
    quote = _lock(quote)
    if request_key:
        again = deposit_by_key(request_key)
        if again is not None:
            if again.quote_id != quote.id:
                _err("request_key", _("This key was used for a different request."))
            return again
    amount = data["amount"]
    if user is not None:
        if quote.state not in OPEN_STATES:
            _err("state", _("A deposit is taken on a draft or sent quote only."))
        room = max(quote.total - deposit_paid(quote), Decimal("0.00"))
        if amount > room:
            _err("amount", _("That is more than the quote's total less the deposits paid (%(room)s).", room=room))
    deposit = QuoteDeposit(quote_id=quote.id, customer_id=quote.customer_id, method=data["method"], amount=amount,
                           reference=data.get("reference"), note=data.get("note"),
                           staff_id=getattr(user, "id", None), request_key=request_key, state="held")
    db.session.add(deposit)
    db.session.flush()
    record("create", "quote_deposit", deposit.id, f"{quote.number}: {amount}", after=snapshot(deposit))
    if quote.state == "accepted":
        from .services import order_of_quote  # imported here: services imports this module (a cycle)

        order = order_of_quote(quote)
        if order is not None:
            carry_deposits(quote, order)
    return deposit


def carry_deposits(quote: SalesDocument, order: SalesDocument) -> list[Payment]:
    """Each held deposit of `quote` becomes a payment of `order` (request key "deposit:<id>", so once). A deposit
    larger than the order's balance (optional lines left out) is carried whole: the order shows the overpayment,
    which staff refund from the order."""
    from .services import _add_payment  # imported here: services imports this module (a cycle)

    with force_locale(current_tenant_row().locale or "zh_CN"):   # a note stored for everyone: the tenant's language
        note = _("Deposit on quote %(no)s", no=quote.number)
    carried = []
    for deposit in deposits_of(quote):
        if deposit.state != "held":
            continue
        payment = _add_payment(None, order, {"method": deposit.method, "amount": deposit.amount,
                                             "reference": deposit.reference, "note": note},
                               request_key=f"deposit:{deposit.id}", cap=False)
        deposit.state, deposit.order_payment_id = "applied", payment.id
        carried.append(payment)
    db.session.flush()
    return carried


def refund_deposit(user, quote: Quote, deposit: QuoteDeposit, reason: str | None = None) -> QuoteDeposit:
    """Give back a held deposit of a declined or expired quote: at once for cash/card; through its provider for a
    deposit paid online (state "refunding" until the provider confirms)."""
    quote = _lock(quote)
    deposit = db.session.scalar(select(QuoteDeposit).where(QuoteDeposit.id == deposit.id)
                                .with_for_update().execution_options(populate_existing=True))
    if quote.state not in REFUNDABLE_QUOTE_STATES:
        _err("state", _("A deposit is given back only when the quote was declined or has expired."))
    if deposit.state != "held":
        _err("state", _("This deposit has already been carried over or given back."))
    reason = (reason or "").strip()[:200] or None
    deposit.refund_reason = reason
    if deposit.method in ONLINE_METHODS:
        asked = tenant_hook("online_payment_refund")(method=deposit.method, reference=deposit.reference,
                                                     amount=deposit.amount, reason=reason or "")
        if not asked:
            _err("method", _("The online payment provider of this deposit is not switched on."))
        deposit.state = "refunding"
    else:
        deposit.state, deposit.refunded_at = "refunded", utcnow()
    db.session.flush()
    record("update", "quote_deposit", deposit.id, f"{quote.number}: -{deposit.amount}",
           before={"state": "held"}, after={"state": deposit.state, "reason": reason})
    return deposit


def deposit_refunded(request_key: str, *, done: bool = True) -> QuoteDeposit | None:
    """The provider confirmed (done) or gave up (not done) the refund of the deposit recorded with `request_key`:
    refunded, or held again. Idempotent; None when no deposit has that key."""
    deposit = deposit_by_key(request_key)
    if deposit is None:
        return None
    deposit = db.session.scalar(select(QuoteDeposit).where(QuoteDeposit.id == deposit.id)
                                .with_for_update().execution_options(populate_existing=True))
    if deposit.state in ("held", "refunding") and done:
        before = deposit.state
        deposit.state, deposit.refunded_at = "refunded", utcnow()
        record("update", "quote_deposit", deposit.id, f"-{deposit.amount}", before={"state": before},
               after={"state": "refunded"})
    elif deposit.state == "refunding" and not done:
        deposit.state = "held"
    db.session.flush()
    return deposit
