"""REST API under /api/v1/wechat-pay: payments (list with keyset paging, one), a Native (QR) payment for an order's
balance or a quote's deposit, refund, query, close. Thin: the same services as the pages, the same permissions
(collect: create, see, query; manage: refund, close). Errors are problem+json with the field and the reason."""
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select

from flask import request
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort

from storecrm.sdk import (PageArgs, api_requires as requires, api_user, db, get_order, get_quote, keyset_page,
                          page_schema, paged, quote_deposit_due, unprocessable)

from . import payments
from .client import PayError
from .models import Payment

blp = Blueprint("api_wechat_pay", __name__, url_prefix="/wechat-pay", description="WeChat Pay")

FIELD_OF = {"amount": "amount", "state": "status", "openid": "openid", "config": "settings", "refused": "amount"}


class RefundOut(Schema):
    id = fields.Integer()
    out_refund_no = fields.String()
    amount = fields.Method("_amount", metadata={"description": "yuan, as a string"})
    reason = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "processing | success | closed | abnormal"})
    refund_id = fields.String(allow_none=True)
    created_at = fields.DateTime()
    done_at = fields.DateTime(allow_none=True)

    def _amount(self, row):
        return str(payments.to_yuan(row.amount_fen))


class PaymentOut(Schema):
    id = fields.Integer()
    out_trade_no = fields.String()
    purpose = fields.String(metadata={"description": "order | sales.quote_deposit | retail.topup | test"})
    reference_id = fields.Integer(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    description = fields.String()
    amount = fields.Method("_amount", metadata={"description": "yuan, as a string"})
    refunded = fields.Method("_refunded")
    trade_type = fields.String(metadata={"description": "jsapi | native"})
    code_url = fields.String(allow_none=True, metadata={"description": "for a QR code while unpaid (Native)"})
    status = fields.String(metadata={"description": "created | paid | failed | refunded | closed"})
    transaction_id = fields.String(allow_none=True)
    error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    paid_at = fields.DateTime(allow_none=True)

    def _amount(self, row):
        return str(payments.to_yuan(row.amount_fen))

    def _refunded(self, row):
        return str(payments.to_yuan(row.refunded_fen))


class PaymentDetailOut(PaymentOut):
    refunds = fields.Method("_refunds")

    def _refunds(self, row):
        return RefundOut(many=True).dump(payments.refunds_of(row.id))


class PaymentArgs(PageArgs):
    after_id = fields.Integer(load_default=None, allow_none=True,
                              metadata={"description": "keyset: the last id of the previous page"})
    status = fields.String(load_default=None, validate=validate.OneOf(
        ("created", "paid", "failed", "refunded", "closed")))
    purpose = fields.String(load_default=None, validate=validate.Length(max=40))
    customer_id = fields.Integer(load_default=None, allow_none=True)
    reference_id = fields.Integer(load_default=None, allow_none=True)


class NativeIn(Schema):
    purpose = fields.String(required=True, validate=validate.OneOf(("order", "sales.quote_deposit")))
    reference_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**62),
                                  metadata={"description": "the order's id, or the quote's"})
    amount = fields.Decimal(load_default=None, allow_none=True, as_string=True, places=2,
                            validate=validate.Range(min=0.01, max=1_000_000),
                            metadata={"description": "default: the order's balance due / the deposit still due"})


class RefundIn(Schema):
    amount = fields.Decimal(load_default=None, allow_none=True, as_string=True, places=2,
                            validate=validate.Range(min=0.01, max=1_000_000),
                            metadata={"description": "default: all that is not refunded yet"})
    reason = fields.String(load_default="", validate=validate.Length(max=80))


def _problem(err: PayError):
    status = 409 if err.code in ("state",) else 502 if err.code in ("network", "verify", "SYSTEM_ERROR") else 422
    abort(status, message=err.message, messages={"json": {FIELD_OF.get(err.code, "wechat_pay"): [err.message]}})


def _payment(payment_id) -> Payment:
    row = payments.get_payment(payment_id)
    if row is None:
        abort(404)
    return row


def _body(schema):
    try:
        return schema.load(request.get_json(silent=True) or {})
    except ValidationError as err:
        unprocessable(err)


@blp.route("/payments")
@blp.arguments(PaymentArgs, location="query")
@blp.response(200, page_schema(PaymentOut))
@requires("wechat_pay.collect")
def list_payments(args):
    """Payments, newest first; filters status, purpose, customer_id, reference_id; keyset paging with `after_id`."""
    query = select(Payment)
    for key in ("status", "purpose", "customer_id", "reference_id"):
        if args.get(key) is not None:
            query = query.where(getattr(Payment, key) == args[key])
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    items = list(db.session.scalars(keyset_page(query, Payment, Payment.id, True, args.get("after_id"))
                                    .limit(args["per_page"])))
    return paged(items, total, args)


@blp.route("/payments/<int:payment_id>")
@blp.response(200, PaymentDetailOut)
@requires("wechat_pay.collect")
def get_payment(payment_id):
    return _payment(payment_id)


@blp.route("/payments", methods=["POST"])
@blp.arguments(NativeIn)
@blp.response(201, PaymentOut)
@requires("wechat_pay.collect")
def create_native(data):
    """A Native (QR code) payment for an order's balance or a quote's deposit: show `code_url` as a QR code."""
    amount = payments.to_fen(data["amount"]) if data.get("amount") is not None else None
    try:
        if data["purpose"] == "order":
            order = get_order(api_user(), data["reference_id"])
            if order is None:
                abort(422, messages={"json": {"reference_id": [_("Choose an order you can see.")]}})
            due = payments.order_balance_fen(order)
            amount = due if amount is None else amount
            if amount > due:
                raise PayError(_("Collect at most the balance due."), "amount")
            return payments.create(purpose="order", reference_id=order.id, customer_id=order.customer_id,
                                   amount_fen=amount, trade_type="native",
                                   description=_("Order %(no)s", no=order.number or order.id))
        quote = get_quote(api_user(), data["reference_id"])
        if quote is None:
            abort(422, messages={"json": {"reference_id": [_("Choose a quote you can see.")]}})
        amount = payments.to_fen(quote_deposit_due(quote)) if amount is None else amount
        return payments.create_quote_deposit(quote, amount, trade_type="native")
    except PayError as err:
        _problem(err)


@blp.route("/payments/<int:payment_id>/refunds", methods=["POST"])
@blp.arguments(RefundIn)
@blp.response(201, RefundOut)
@requires("wechat_pay.manage")
def refund(data, payment_id):
    """Refund (part of) a paid payment; a quote's deposit whole, once its quote is declined or expired."""
    row = _payment(payment_id)
    try:
        amount = payments.to_fen(data["amount"]) if data["amount"] is not None else row.amount_fen - row.refunded_fen
        return payments.refund(row, amount, data["reason"], user=api_user())
    except PayError as err:
        _problem(err)


@blp.route("/payments/<int:payment_id>/query", methods=["POST"])
@blp.response(200, PaymentOut)
@requires("wechat_pay.collect")
def query(payment_id):
    """Ask WeChat Pay how an unpaid payment stands; a success is booked as its notification would be."""
    row = _payment(payment_id)
    try:
        payments.query(row)
    except PayError as err:
        _problem(err)
    return row


@blp.route("/payments/<int:payment_id>/close", methods=["POST"])
@blp.response(200, PaymentOut)
@requires("wechat_pay.manage")
def close(payment_id):
    """Close an unpaid payment at WeChat Pay so it can no longer be paid."""
    row = _payment(payment_id)
    try:
        payments.close(row)
    except PayError as err:
        _problem(err)
    return row
