"""Payments: create (JSAPI inside WeChat, Native QR at the till), apply the verified notification once, refund.

A notification is trusted only after wechatpayv3 verified its signature against the WeChat Pay public key and the
APIv3 key decrypted it; it must be fresh (five minutes, as WeChat Pay advises against replays), name this tenant's
merchant and an out_trade_no of this tenant, for the amount asked. It is stored once per transaction id (a unique
key), and what it pays for is applied in the same transaction: an order's payment of the commerce core (by
`request_key`, so applying twice records one payment) or an `OnlinePaymentReceived` event for the plugin owning
the purpose (retail's stored-value top-up)."""
from __future__ import annotations

import secrets
import time
from datetime import datetime
from decimal import Decimal

from flask import url_for
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert

from storecrm.sdk import (AUTOMATION, OnlinePaymentReceived, current_tenant_id, db, document_totals, emit_event,
                          get_sales_order, get_scoped, money, plugin_settings, record_audit, record_order_refund,
                          record_payment, tenant_now, utcnow)

from .client import PayError, call, client
from .models import Notification, Payment, Refund

MAX_AGE = 300


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
    txid, total = resource.get("transaction_id", ""), int((resource.get("amount") or {}).get("total", -1))
    if resource.get("trade_state") != "SUCCESS" or not txid or total != payment.amount_fen:
        raise Refused("not a success for the amount asked")
    if not _store(data, "TRANSACTION.SUCCESS", txid, payment, total):
        return "duplicate"
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
    elif payment.purpose != "test":
        emit_event(OnlinePaymentReceived(purpose=payment.purpose, reference_id=payment.reference_id, amount=amount,
                                         method="wechat_pay", transaction_id=payment.transaction_id, request_key=key))


def _when(value) -> datetime:
    try:
        return datetime.fromisoformat(value) if value else utcnow()
    except ValueError:
        return utcnow()


def refund(payment: Payment, amount_fen: int, reason: str = "") -> Refund:
    """Ask WeChat Pay to give back `amount_fen` of a paid payment (at most what is not yet refunded)."""
    if payment.status not in ("paid", "refunded") or not payment.transaction_id:
        raise PayError(_("Only a paid payment can be refunded."), "state")
    if amount_fen < 1 or amount_fen > payment.amount_fen - payment.refunded_fen:
        raise PayError(_("Refund at most %(n)s.", n=to_yuan(payment.amount_fen - payment.refunded_fen)), "amount")
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


def get_payment(payment_id) -> Payment | None:
    return get_scoped(Payment, payment_id)


def recent(limit: int = 30) -> list[Payment]:
    return list(db.session.scalars(select(Payment).order_by(Payment.id.desc()).limit(limit)))


def refunds_of(payment_id) -> list[Refund]:
    return list(db.session.scalars(select(Refund).where(Refund.payment_id == payment_id).order_by(Refund.id)))


def order_balance_fen(order) -> int:
    return to_fen(document_totals(order)["balance_due"])
