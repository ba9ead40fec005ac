"""Payments: create (JSAPI inside WeChat, Native QR at the till), apply the verified notification once, refund.

A notification is trusted only after wechatpayv3 verified its signature against the WeChat Pay public key and the
APIv3 key decrypted it; it must be fresh (five minutes, as WeChat Pay advises against replays), name this tenant's
merchant and an out_trade_no of this tenant, for the amount asked. It is stored once per transaction id (a unique
key), and what it pays for is applied in the same transaction: an order's payment of the commerce core (by
`request_key`, so applying twice records one payment), a quote's deposit (`record_quote_deposit`, by the same key),
or an `OnlinePaymentReceived` event for the plugin owning the purpose (retail's stored-value top-up). A payment whose
notification never came is found by `query` (the periodic `sweep`), which applies it through the same path."""
from __future__ import annotations

import secrets
import time
from datetime import datetime, timedelta
from decimal import Decimal

from flask import url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from storecrm.sdk import (AUTOMATION, OnlinePaymentReceived, OnlinePaymentRefunded, OnlinePaymentRefundRequested,
                          current_tenant_id, db, document_totals, emit_event, get_quote, get_sales_order, get_scoped,
                          money, plugin_settings, quote_deposit_by_key, quote_deposit_refunded, record_audit,
                          record_order_refund, record_payment, record_quote_deposit, refund_quote_deposit, tenant_now,
                          utcnow)

from .client import PayError, call, client
from .models import Notification, Payment, Refund

MAX_AGE = 300
QUOTE_DEPOSIT = "sales.quote_deposit"
QUERY_AFTER = timedelta(minutes=5)    # an unpaid payment is asked about after this
EXPIRE_AFTER = timedelta(hours=2)     # … and closed after this, so it cannot be paid any more


class Refused(Exception):
    """A notification that is not WeChat Pay's, not fresh, or not this tenant's: answered 4xx, nothing stored."""


def to_fen(amount) -> int:
    return int((money(amount) * 100).to_integral_value())


def to_yuan(fen: int) -> Decimal:
    return money(Decimal(fen) / 100)


def _out_no(prefix: str) -> str:
    # at most 32 of [A-Za-z0-9_-]; the tenant id inside keeps numbers apart when tenants share a merchant
    return f"{prefix}{current_tenant_id()}x{tenant_now():%y%m%d%H%M%S}{secrets.token_hex(4)}"[:32]


def notify_url() -> str:
    return url_for("wechat_pay_public.notify", _external=True)


def create(*, purpose: str, amount_fen: int, description: str, trade_type: str, reference_id=None, customer_id=None,
           openid: str | None = None) -> Payment:
    """Ask WeChat Pay for a payment: JSAPI (prepay_id, for the customer's WeChat) or Native (a code_url for a QR)."""
    if amount_fen < 1:
        raise PayError(_("Enter an amount of at least 0.01."), "amount")
    if trade_type == "jsapi" and not openid:
        raise PayError(_("Open this page in WeChat to pay with WeChat Pay."), "openid")
    payment = Payment(out_trade_no=_out_no("P"), purpose=purpose, reference_id=reference_id, customer_id=customer_id,
                      description=description[:127], amount_fen=amount_fen, trade_type=trade_type, openid=openid)
    db.session.add(payment)
    db.session.flush()
    pay = client(notify_url())
    from wechatpayv3 import WeChatPayType

    data = call(pay.pay, description=payment.description, out_trade_no=payment.out_trade_no,
                amount={"total": amount_fen, "currency": "CNY"},
                payer={"openid": openid} if trade_type == "jsapi" else None,
                pay_type=WeChatPayType.JSAPI if trade_type == "jsapi" else WeChatPayType.NATIVE)
    payment.prepay_id, payment.code_url = data.get("prepay_id"), data.get("code_url")
    record_audit("create", "wechat_payment", payment.id, f"{payment.out_trade_no} {to_yuan(amount_fen)}")
    return payment


def create_quote_deposit(quote, amount_fen: int, *, trade_type: str, openid: str | None = None) -> Payment:
    """A payment of a deposit (定金) on a sent quote: at most the quote's total less the deposits paid."""
    from storecrm.sdk import quote_deposits

    if quote.state not in ("draft", "sent"):
        raise PayError(_("A deposit is taken on a draft or sent quote only."), "state")
    paid = sum((d.amount for d in quote_deposits(quote) if d.state != "refunded"), Decimal(0))
    room = to_fen(max(quote.total - paid, Decimal(0)))
    if amount_fen > room:
        raise PayError(_("Collect at most the quote's total less the deposits paid (%(n)s).", n=to_yuan(room)), "amount")
    return create(purpose=QUOTE_DEPOSIT, reference_id=quote.id, customer_id=quote.customer_id, amount_fen=amount_fen,
                  trade_type=trade_type, openid=openid,
                  description=_("Deposit on quote %(no)s", no=quote.number or quote.id))


def jsapi_params(payment: Payment) -> dict:
    """What the page hands WeixinJSBridge's getBrandWCPayRequest, signed with the merchant key."""
    pay = client()
    app_id = plugin_settings("wechat_pay")["app_id"]
    stamp, nonce, package = str(int(time.time())), secrets.token_hex(16), f"prepay_id={payment.prepay_id}"
    return {"appId": app_id, "timeStamp": stamp, "nonceStr": nonce, "package": package, "signType": "RSA",
            "paySign": pay.sign([app_id, stamp, nonce, package])}


def _fresh(headers) -> bool:
    try:
        return abs(time.time() - int(headers.get("Wechatpay-Timestamp", ""))) <= MAX_AGE
    except ValueError:
        return False


def receive(headers, body: bytes) -> str:
    """Verify, decrypt, store once and apply a notification; returns "applied" or "duplicate"; raises Refused."""
    if not _fresh(headers):
        raise Refused("stale or missing timestamp")
    try:
        data = client().callback(headers, body)
    except PayError as err:
        raise Refused(err.message) from err
    except Exception as exc:  # a resource the APIv3 key does not decrypt, an unknown algorithm
        raise Refused(type(exc).__name__) from exc
    if not data or not isinstance(data.get("resource"), dict):
        raise Refused("signature or resource")
    resource, event = data["resource"], data.get("event_type", "")
    if resource.get("mchid") not in (None, plugin_settings("wechat_pay")["mchid"]):
        raise Refused("another merchant")
    payment = db.session.scalar(select(Payment).where(Payment.out_trade_no == resource.get("out_trade_no", ""))
                                .with_for_update())
    if payment is None:
        raise Refused("not this tenant's payment")
    if event == "TRANSACTION.SUCCESS":
        return _paid(data, resource, payment)
    if event.startswith("REFUND."):
        return _refunded(data, resource, payment)
    raise Refused(f"event {event}")


def _store(data, event: str, key: str, payment: Payment, amount_fen: int) -> bool:
    row = db.session.execute(insert(Notification).values(
        tenant_id=current_tenant_id(), notify_id=str(data.get("id", ""))[:64], event_type=event, resource_key=key,
        out_trade_no=payment.out_trade_no, amount_fen=amount_fen, received_at=utcnow())
        .on_conflict_do_nothing().returning(Notification.id)).scalar()
    return row is not None


def _paid(data, resource, payment: Payment) -> str:
    """A verified success (a notification, or the answer to our own query of the order): stored once per
    transaction id, then applied; a second report of the same transaction is a "duplicate"."""
    txid, total = resource.get("transaction_id", ""), int((resource.get("amount") or {}).get("total", -1))
    if resource.get("trade_state") != "SUCCESS" or not txid or total != payment.amount_fen:
        raise Refused("not a success for the amount asked")
    if not _store(data, "TRANSACTION.SUCCESS", txid, payment, total):
        return "duplicate"
    payment.error = None
    if payment.transaction_id not in (None, txid):
        raise Refused("a second transaction for one out_trade_no")
    payment.status, payment.transaction_id, payment.paid_at = "paid", txid, _when(resource.get("success_time"))
    record_audit("update", "wechat_payment", payment.id, f"{payment.out_trade_no} paid {to_yuan(total)} ({txid})")
    try:
        with db.session.begin_nested():   # the money is taken whatever happens: keep the payment, show the problem
            apply(payment)
    except ValidationError as err:
        payment.error = _("Paid, but not booked: %(why)s", why="; ".join(
            str(m) for messages in err.messages.values() for m in (messages if isinstance(messages, list) else [messages])))[:300]
    return "applied"


def apply(payment: Payment) -> None:
    """Book what the payment was for; idempotent by the transaction id."""
    key, amount = f"wechatpay:{payment.transaction_id}", to_yuan(payment.amount_fen)
    if payment.purpose == "order":
        order = get_sales_order(payment.reference_id)
        if order is not None:
            record_payment(AUTOMATION, order, {"method": "wechat_pay", "amount": str(amount),
                                               "reference": payment.transaction_id}, request_key=key)
    elif payment.purpose == QUOTE_DEPOSIT:
        quote = get_quote(None, payment.reference_id)
        if quote is not None:
            record_quote_deposit(AUTOMATION, quote, "wechat_pay", amount, reference=payment.transaction_id,
                                 request_key=key)
    elif payment.purpose != "test":
        emit_event(OnlinePaymentReceived(purpose=payment.purpose, reference_id=payment.reference_id, amount=amount,
                                         method="wechat_pay", transaction_id=payment.transaction_id, request_key=key))


def _when(value) -> datetime:
    try:
        return datetime.fromisoformat(value) if value else utcnow()
    except ValueError:
        return utcnow()


def refund(payment: Payment, amount_fen: int, reason: str = "", *, user=AUTOMATION, _for_deposit: bool = False) -> Refund:
    """Ask WeChat Pay to give back `amount_fen` of a paid payment (at most what is not yet refunded).

    A quote's deposit is given back whole and only through the commerce core (its quote declined or expired, the
    deposit not carried to an order): the core then asks us through `online_payment_refund`. Any other purpose is
    announced first (`OnlinePaymentRefundRequested`): its owner may refuse (retail: more than is left on the card)
    before WeChat Pay is called."""
    if payment.status not in ("paid", "refunded") or not payment.transaction_id:
        raise PayError(_("Only a paid payment can be refunded."), "state")
    if amount_fen < 1 or amount_fen > payment.amount_fen - payment.refunded_fen:
        raise PayError(_("Refund at most %(n)s.", n=to_yuan(payment.amount_fen - payment.refunded_fen)), "amount")
    if payment.purpose == QUOTE_DEPOSIT and not _for_deposit:
        return _refund_deposit(payment, amount_fen, reason, user)
    if payment.purpose not in ("order", "test", QUOTE_DEPOSIT):
        try:
            emit_event(OnlinePaymentRefundRequested(purpose=payment.purpose, reference_id=payment.reference_id,
                                                    amount=to_yuan(amount_fen), method="wechat_pay",
                                                    transaction_id=payment.transaction_id,
                                                    payment_request_key=f"wechatpay:{payment.transaction_id}"))
        except ValidationError as err:
            raise PayError(_messages(err), "refused") from err
    row = Refund(payment_id=payment.id, out_refund_no=_out_no("R"), amount_fen=amount_fen, reason=reason[:80] or None)
    db.session.add(row)
    payment.refunded_fen += amount_fen   # held while WeChat Pay works on it; a closed refund gives it back
    db.session.flush()
    data = call(client().refund, out_refund_no=row.out_refund_no, out_trade_no=payment.out_trade_no,
                amount={"refund": amount_fen, "total": payment.amount_fen, "currency": "CNY"},
                reason=reason or None, notify_url=notify_url())
    row.refund_id = data.get("refund_id")
    record_audit("create", "wechat_refund", row.id, f"{payment.out_trade_no} -{to_yuan(amount_fen)}")
    if data.get("status") == "SUCCESS":
        _refund_done(row, payment)
    return row


def _messages(err: ValidationError) -> str:
    messages = err.messages if isinstance(err.messages, dict) else {"": err.messages}
    return "; ".join(str(m) for value in messages.values() for m in (value if isinstance(value, list) else [value]))


def _refund_deposit(payment: Payment, amount_fen: int, reason: str, user) -> Refund:
    deposit = quote_deposit_by_key(f"wechatpay:{payment.transaction_id}")
    quote = get_quote(None if user is AUTOMATION else user, deposit.quote_id) if deposit is not None else None
    if quote is None:
        raise PayError(_("This deposit is not booked on a quote you can see."), "state")
    if amount_fen != payment.amount_fen - payment.refunded_fen:
        raise PayError(_("A deposit is given back whole (%(n)s).", n=to_yuan(payment.amount_fen)), "amount")
    try:
        refund_quote_deposit(user, quote, deposit, reason)   # asks us back through online_payment_refund
    except ValidationError as err:
        raise PayError(_messages(err), "refused") from err
    return db.session.scalar(select(Refund).where(Refund.payment_id == payment.id).order_by(Refund.id.desc()).limit(1))


def refund_by_transaction(transaction_id: str, amount, reason: str) -> bool:
    """The core's `online_payment_refund` for a quote deposit: refund the payment of `transaction_id` whole."""
    payment = db.session.scalar(select(Payment).where(Payment.transaction_id == transaction_id).with_for_update())
    if payment is None:
        return False
    try:
        refund(payment, to_fen(amount), reason, _for_deposit=True)
    except PayError as err:
        raise ValidationError({"amount": [err.message]}) from err
    return True


def _refunded(data, resource, payment: Payment) -> str:
    row = db.session.scalar(select(Refund).where(Refund.out_refund_no == resource.get("out_refund_no", ""),
                                                 Refund.payment_id == payment.id).with_for_update())
    if row is None:
        raise Refused("unknown refund")
    if not _store(data, data.get("event_type"), resource.get("refund_id") or row.out_refund_no, payment, row.amount_fen):
        return "duplicate"
    row.refund_id = resource.get("refund_id") or row.refund_id
    state = resource.get("refund_status")
    if state == "SUCCESS":
        _refund_done(row, payment)
    elif state in ("CLOSED", "ABNORMAL") and row.status == "processing":
        row.status, row.done_at = state.lower(), utcnow()
        payment.refunded_fen -= row.amount_fen
        if payment.purpose == QUOTE_DEPOSIT:
            quote_deposit_refunded(f"wechatpay:{payment.transaction_id}", done=False)
    return "applied"


def _refund_done(row: Refund, payment: Payment) -> None:
    if row.status == "success":
        return
    row.status, row.done_at = "success", utcnow()
    if payment.refunded_fen >= payment.amount_fen:
        payment.status = "refunded"
    if payment.purpose == "order":
        order = get_sales_order(payment.reference_id)
        if order is not None:
            record_order_refund(AUTOMATION, order, "wechat_pay", to_yuan(row.amount_fen),
                                _("WeChat Pay refund %(no)s", no=row.out_refund_no), request_key=f"wechatrefund:{row.out_refund_no}")
    elif payment.purpose == QUOTE_DEPOSIT:
        quote_deposit_refunded(f"wechatpay:{payment.transaction_id}")
    elif payment.purpose != "test":
        emit_event(OnlinePaymentRefunded(purpose=payment.purpose, reference_id=payment.reference_id,
                                         amount=to_yuan(row.amount_fen), method="wechat_pay",
                                         transaction_id=payment.transaction_id, refund_id=row.refund_id or "",
                                         payment_request_key=f"wechatpay:{payment.transaction_id}",
                                         request_key=f"wechatrefund:{row.out_refund_no}"))


def get_payment(payment_id) -> Payment | None:
    return get_scoped(Payment, payment_id)


def recent(limit: int = 30) -> list[Payment]:
    return list(db.session.scalars(select(Payment).order_by(Payment.id.desc()).limit(limit)))


def refunds_of(payment_id) -> list[Refund]:
    return list(db.session.scalars(select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id)))


def order_balance_fen(order) -> int:
    return to_fen(document_totals(order)["balance_due"])


# --- unpaid payments: query, close, the periodic sweep ------------------------------------------------------------

def query(payment: Payment) -> str:
    """Ask WeChat Pay how an unpaid payment stands (查询订单 by out_trade_no). SUCCESS is applied exactly as its
    notification would be (stored once per transaction id: whichever comes first books it, the other is a duplicate);
    CLOSED and PAYERROR are marked. Returns WeChat Pay's trade_state."""
    data = call(client().query, out_trade_no=payment.out_trade_no)
    state = data.get("trade_state", "")
    if data.get("out_trade_no") not in (None, payment.out_trade_no) or data.get("mchid") not in (
            None, plugin_settings("wechat_pay")["mchid"]):
        raise PayError(_("WeChat Pay answered about another payment."), "query")
    if state == "SUCCESS" and payment.status == "created":
        try:
            _paid({"id": f"query:{payment.out_trade_no}"}, data, payment)
        except Refused as err:
            raise PayError(_("WeChat Pay reports a payment that does not match: %(why)s", why=str(err)), "query") from err
    elif state in ("CLOSED", "REVOKED") and payment.status == "created":
        payment.status = "closed"
        record_audit("update", "wechat_payment", payment.id, f"{payment.out_trade_no} closed")
    elif state == "PAYERROR" and payment.status == "created":
        payment.status, payment.error = "failed", (data.get("trade_state_desc") or state)[:300]
        record_audit("update", "wechat_payment", payment.id, f"{payment.out_trade_no} failed")
    return state


def close(payment: Payment) -> Payment:
    """Close an unpaid payment at WeChat Pay (关闭订单) so it can no longer be paid. WeChat Pay answers ORDERPAID
    when the customer paid meanwhile: the payment is then queried and booked instead."""
    if payment.status != "created":
        raise PayError(_("Only an unpaid payment can be closed."), "state")
    try:
        call(client().close, out_trade_no=payment.out_trade_no)
    except PayError as err:
        if err.code != "ORDERPAID":
            raise
        query(payment)
        return payment
    payment.status = "closed"
    record_audit("update", "wechat_payment", payment.id, f"{payment.out_trade_no} closed")
    return payment


def sweep(now: datetime | None = None) -> dict:
    """The periodic job, inside one tenant: every payment unpaid for more than five minutes is queried (a lost
    notification is booked this way); one older than the expiry (two hours) still unpaid is closed. Each payment is
    its own savepoint, so one that WeChat Pay refuses leaves the others done."""
    from .client import configured

    if not configured():
        return {"queried": 0, "closed": 0, "errors": 0}
    now = now or utcnow()
    due = list(db.session.scalars(select(Payment).where(Payment.status == "created",
                                                        Payment.created_at < now - QUERY_AFTER)
                                  .order_by(Payment.id).limit(200).with_for_update(skip_locked=True)))
    counts = {"queried": 0, "closed": 0, "errors": 0}
    for payment in due:
        try:
            with db.session.begin_nested():
                state = query(payment)
                counts["queried"] += 1
                if payment.status == "created" and state in ("NOTPAY", "USERPAYING", "") \
                        and payment.created_at < now - EXPIRE_AFTER:
                    close(payment)
                    counts["closed"] += payment.status == "closed"
        except PayError:
            counts["errors"] += 1
    return counts
