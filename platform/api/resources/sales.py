"""Quotes and orders under /api/v1 (thin: the same storecrm.sales.services the pages call)."""
from __future__ import annotations

from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate

from flask import request

from ...sales import deposits, services
from ...sales.schemas import (AcceptSchema, DepositRefundSchema, DepositSchema, DocumentSchema, FulfilSchema,
                              HeaderSchema, OrderInvoiceSchema, LineSchema, PaymentSchema, RefundSchema)
from ..auth import api_user, requires
from ..common import unprocessable

quotes_blp = Blueprint("api_quotes", __name__, url_prefix="/quotes", description="Quotes (报价单)")
orders_blp = Blueprint("api_orders", __name__, url_prefix="/orders", description="Orders (订单), payments, refunds")

_OUT = DocumentSchema()


class ListArgs(Schema):
    state = fields.String(load_default=None, validate=validate.Length(max=20))
    customer_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    store_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    q = fields.String(load_default="", validate=validate.Length(max=30))
    after_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class DocumentPage(Schema):
    items = fields.List(fields.Nested(DocumentSchema))
    next_after_id = fields.Integer(allow_none=True)


class ReasonSchema(Schema):
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ConfirmSchema(Schema):
    location_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                                 validate=validate.Range(min=1, max=2**63 - 1))


class PaymentList(Schema):
    items = fields.List(fields.Nested(PaymentSchema))


class DepositList(Schema):
    items = fields.List(fields.Nested(DepositSchema))


def _out(document) -> dict:
    data = {name: getattr(document, name, None) for name in _OUT.fields
            if name not in ("lines", "deposits", "deposit_paid", "deposit_due")}
    data["lines"] = services.lines_of(document)
    if document.kind == "quote":
        data["deposits"] = deposits.deposits_of(document)
        data["deposit_paid"], data["deposit_due"] = deposits.deposit_paid(document), deposits.deposit_due(document)
    else:
        data["deposits"] = deposits.deposits_for_order(document)
    return data


def _call(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValidationError as err:
        unprocessable(err)


def _list(kind: str, args: dict) -> dict:
    rows = services.list_documents(api_user(), kind, state=args["state"], customer_id=args["customer_id"],
                                   store_id=args["store_id"], q=args["q"], after_id=args["after_id"],
                                   limit=args["per_page"])
    more = len(rows) == args["per_page"]
    return {"items": [_out(d) for d in rows], "next_after_id": rows[-1].id if more else None}


def _quote(quote_id):
    quote = services.get_quote(api_user(), quote_id)
    if quote is None:
        abort(404)
    return quote


def _order(order_id):
    order = services.get_order(api_user(), order_id)
    if order is None:
        abort(404)
    return order


# --- quotes -------------------------------------------------------------------------------------------------------

@quotes_blp.route("")
@quotes_blp.arguments(ListArgs, location="query")
@quotes_blp.response(200, DocumentPage)
@requires("sales.view")
def list_quotes(args):
    """Newest first, keyset-paged: pass the previous page's `next_after_id` as `after_id`."""
    return _list("quote", args)


@quotes_blp.route("", methods=["POST"])
@quotes_blp.arguments(DocumentSchema)
@quotes_blp.response(201, DocumentSchema)
@requires("sales.manage")
def create_quote(data):
    """A draft quote with its lines (a package item expands into its components)."""
    return _out(_call(services.create_quote, api_user(), data))


@quotes_blp.route("/<int:quote_id>")
@quotes_blp.response(200, DocumentSchema)
@requires("sales.view")
def get_quote(quote_id):
    return _out(_quote(quote_id))


@quotes_blp.route("/<int:quote_id>", methods=["PATCH"])
@quotes_blp.arguments(HeaderSchema(partial=True))
@quotes_blp.response(200, DocumentSchema)
@requires("sales.manage")
def update_quote(data, quote_id):
    return _out(_call(services.update_header, api_user(), _quote(quote_id), data))


@quotes_blp.route("/<int:quote_id>/lines", methods=["POST"])
@quotes_blp.arguments(LineSchema)
@quotes_blp.response(201, DocumentSchema)
@requires("sales.manage")
def add_quote_line(data, quote_id):
    quote = _quote(quote_id)
    _call(services.add_line, api_user(), quote, data)
    return _out(quote)


@quotes_blp.route("/<int:quote_id>/approval", methods=["POST"])
@quotes_blp.response(200, DocumentSchema)
@requires("sales.manage")
def submit_quote(quote_id):
    """Submit for the tenant's approval workflow on quotes (tiers on `total`)."""
    quote = _quote(quote_id)
    _call(services.submit_for_approval, api_user(), quote)
    return _out(quote)


@quotes_blp.route("/<int:quote_id>/send", methods=["POST"])
@quotes_blp.response(200, DocumentSchema)
@requires("sales.manage")
def send_quote(quote_id):
    """Draft -> sent; the share link works from now on."""
    return _out(_call(services.send_quote, api_user(), _quote(quote_id)))


@quotes_blp.route("/<int:quote_id>/revise", methods=["POST"])
@quotes_blp.response(200, DocumentSchema)
@requires("sales.manage")
def revise_quote(quote_id):
    """Back to draft; the quote as it stood is kept as a revision."""
    return _out(_call(services.revise_quote, api_user(), _quote(quote_id)))


@quotes_blp.route("/<int:quote_id>/accept", methods=["POST"])
@quotes_blp.arguments(AcceptSchema)
@quotes_blp.response(201, DocumentSchema, description="The order the quote became.")
@requires("sales.manage")
def accept_quote(data, quote_id):
    """Staff record the customer's acceptance (name; signature optional here); returns the new order."""
    return _out(_call(services.accept_quote, _quote(quote_id), data, user=api_user()))


# --- orders -------------------------------------------------------------------------------------------------------

@quotes_blp.route("/<int:quote_id>/deposits")
@quotes_blp.response(200, DepositList)
@requires("sales.view")
def list_deposits(quote_id):
    """Deposits (定金) of the quote, oldest first: held, carried to the order (applied), refunding, refunded."""
    return {"items": deposits.deposits_of(_quote(quote_id))}


@quotes_blp.route("/<int:quote_id>/deposits", methods=["POST"])
@quotes_blp.arguments(DepositSchema)
@quotes_blp.response(201, DepositSchema)
@requires("sales.manage")
def record_deposit(data, quote_id):
    """Record a deposit taken at the till on a draft or sent quote (at most the total less deposits paid); it
    becomes a payment of the order when the quote is accepted. Send an `Idempotency-Key`: a retry records nothing."""
    key = (request.headers.get("Idempotency-Key") or "").strip()[:80] or None
    return _call(deposits.record_deposit, api_user(), _quote(quote_id), data,
                 request_key=f"api:{key}" if key else None)


@quotes_blp.route("/<int:quote_id>/deposits/<int:deposit_id>/refund", methods=["POST"])
@quotes_blp.arguments(DepositRefundSchema)
@quotes_blp.response(200, DepositSchema)
@requires("sales.refund")
def refund_deposit(data, quote_id, deposit_id):
    """Give back a held deposit of a declined or expired quote (one paid by WeChat Pay is refunded through WeChat
    Pay: state "refunding" until WeChat Pay confirms)."""
    quote = _quote(quote_id)
    deposit = deposits.get_deposit(quote, deposit_id)
    if deposit is None:
        abort(404)
    return _call(deposits.refund_deposit, api_user(), quote, deposit, data.get("reason"))


@orders_blp.route("")
@orders_blp.arguments(ListArgs, location="query")
@orders_blp.response(200, DocumentPage)
@requires("sales.view")
def list_orders(args):
    """Newest first, keyset-paged: pass the previous page's `next_after_id` as `after_id`."""
    return _list("order", args)


@orders_blp.route("", methods=["POST"])
@orders_blp.arguments(DocumentSchema)
@orders_blp.response(201, DocumentSchema)
@requires("sales.manage")
def create_order(data):
    """A draft order (a sale at the till, parts and labour of a job)."""
    return _out(_call(services.create_order, api_user(), data))


@orders_blp.route("/<int:order_id>")
@orders_blp.response(200, DocumentSchema)
@requires("sales.view")
def get_order(order_id):
    return _out(_order(order_id))


@orders_blp.route("/<int:order_id>/lines", methods=["POST"])
@orders_blp.arguments(LineSchema)
@orders_blp.response(201, DocumentSchema)
@requires("sales.manage")
def add_order_line(data, order_id):
    order = _order(order_id)
    _call(services.add_line, api_user(), order, data)
    return _out(order)


@orders_blp.route("/<int:order_id>/confirm", methods=["POST"])
@orders_blp.arguments(ConfirmSchema)
@orders_blp.response(200, DocumentSchema)
@requires("sales.manage")
def confirm_order(data, order_id):
    """Draft -> confirmed: stock reserved for the item lines."""
    return _out(_call(services.confirm_order, api_user(), _order(order_id), location_id=data.get("location_id")))


@orders_blp.route("/<int:order_id>/fulfil", methods=["POST"])
@orders_blp.arguments(FulfilSchema)
@orders_blp.response(200, DocumentSchema)
@requires("sales.manage")
def fulfil_order(data, order_id):
    """Confirmed -> fulfilled: stock issued; serials (by line id) become assets of the customer."""
    return _out(_call(services.fulfil_order, api_user(), _order(order_id), data))


@orders_blp.route("/<int:order_id>/cancel", methods=["POST"])
@orders_blp.arguments(ReasonSchema)
@orders_blp.response(200, DocumentSchema)
@requires("sales.manage")
def cancel_order(data, order_id):
    """Draft or confirmed -> cancelled: reservations released (refund payments first)."""
    return _out(_call(services.cancel_order, api_user(), _order(order_id), data.get("reason")))


@orders_blp.route("/<int:order_id>/payments")
@orders_blp.response(200, PaymentList)
@requires("sales.view")
def list_payments(order_id):
    """Payments and refunds of the order, oldest first."""
    return {"items": services.payments_of(_order(order_id))}


@orders_blp.route("/<int:order_id>/payments", methods=["POST"])
@orders_blp.arguments(PaymentSchema)
@orders_blp.response(201, PaymentSchema)
@requires("sales.manage")
def record_payment(data, order_id):
    """Record money received (never above the balance due). Send an `Idempotency-Key`: a retry records nothing."""
    return _call(services.record_payment, api_user(), _order(order_id), data)


@orders_blp.route("/<int:order_id>/refunds", methods=["POST"])
@orders_blp.arguments(RefundSchema)
@orders_blp.response(201, PaymentSchema)
@requires("sales.refund")
def record_refund(data, order_id):
    """Give money back (never more than was paid), optionally with stock returned against order lines."""
    return _call(services.record_refund, api_user(), _order(order_id), data)


@orders_blp.route("/<int:order_id>/invoice", methods=["PUT"])
@orders_blp.arguments(OrderInvoiceSchema)
@orders_blp.response(200, DocumentSchema)
@requires("sales.refund")
def put_invoice(data, order_id):
    """The 发票 number and state."""
    return _out(_call(services.set_invoice, api_user(), _order(order_id), data))
