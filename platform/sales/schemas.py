"""Marshmallow schemas shared by the staff pages, the API and the SDK: every figure a Decimal, checked here."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..validation import BoundedDecimal, Trimmed
from .models import INVOICE_STATES, PAYMENT_METHODS

ID = dict(strict=False, validate=validate.Range(min=1, max=2**63 - 1))
BOOL = dict(truthy={True, "on", "1", "true", "yes"}, falsy={False, "", "0", "false", "no", "off"})


def _places(limit: int, message):
    def check(value: Decimal) -> None:
        if value is not None and value.as_tuple().exponent < -limit:
            raise ValidationError(message)
    return check


def _between(low: int, high: int, message, *, above: bool = False):
    """`low` <= value <= `high` (or `low` < value when `above`), compared as Decimals. A plain function, not
    validate.Range: apispec would write Range's bounds as strings on these as_string fields (invalid OpenAPI)."""
    def check(value: Decimal) -> None:
        if value is not None and (value > high or value < low or (above and value == low)):
            raise ValidationError(message)
    return check


class Money(BoundedDecimal):
    """An amount in the tenant's currency: 0 or more, at most two decimals ("12.5" and "12.50" are fine)."""

    def __init__(self, *, positive: bool = False, **kwargs):
        checks = [_places(2, _l("Use at most two decimals.")),
                  _between(0, 999_999_999_999, _l("Enter an amount above zero.") if positive else
                           _l("Enter an amount of zero or more."), above=positive)]
        super().__init__(as_string=True, validate=checks, **kwargs)


class Quantity(BoundedDecimal):
    def __init__(self, **kwargs):
        super().__init__(as_string=True, validate=[
            _places(3, _l("Use at most three decimals.")),
            _between(0, 999_999, _l("Enter a quantity above zero."), above=True)], **kwargs)


class Percent(BoundedDecimal):
    def __init__(self, **kwargs):
        super().__init__(as_string=True, validate=[
            _places(2, _l("Use at most two decimals.")),
            _between(0, 100, _l("Enter a percentage from 0 to 100."))], **kwargs)


class LineSchema(Schema):
    """A line to add: a catalog item (price, tax and name from the catalog unless given) or free text."""

    id = fields.Integer(dump_only=True)
    item_id = fields.Integer(load_default=None, allow_none=True, **ID)
    description = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=300))
    quantity = Quantity(load_default=Decimal(1))
    unit_price = Money(load_default=None, allow_none=True)
    discount_pct = Percent(load_default=Decimal(0))
    tax_rate = Percent(load_default=None, allow_none=True)
    unit = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=20))
    optional = fields.Boolean(load_default=False, **BOOL)
    advisor_id = fields.Integer(load_default=None, allow_none=True, **ID)
    technician_id = fields.Integer(load_default=None, allow_none=True, **ID)
    technician_share_pct = Percent(load_default=Decimal(0))
    # dumped figures (storecrm.sales.totals)
    sku = fields.String(dump_only=True)
    item_kind = fields.String(dump_only=True)
    package_name = fields.String(dump_only=True)
    selected = fields.Boolean(dump_only=True)
    amount = fields.Decimal(as_string=True, dump_only=True)
    header_discount = fields.Decimal(as_string=True, dump_only=True)
    tax = fields.Decimal(as_string=True, dump_only=True)
    fulfilled_quantity = fields.Decimal(as_string=True, dump_only=True)

    @validates_schema
    def _item_or_text(self, data, **kwargs):
        if kwargs.get("partial") or self.partial:  # changing a line that exists: it has its item or text
            return
        if not data.get("item_id") and not data.get("description"):
            raise ValidationError(_l("Choose an item or describe the line."), "description")
        if not data.get("item_id") and data.get("unit_price") is None:
            raise ValidationError(_l("Enter a price for a line without an item."), "unit_price")


class DocumentSchema(Schema):
    """Header of a quote or order. Totals are read-only: they follow from the lines."""

    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    number = fields.String(dump_only=True)
    state = fields.String(dump_only=True)
    revision = fields.Integer(dump_only=True)
    customer_id = fields.Integer(required=True, **ID)
    store_id = fields.Integer(load_default=None, allow_none=True, **ID)
    asset_id = fields.Integer(load_default=None, allow_none=True, **ID)
    staff_id = fields.Integer(dump_only=True)
    source_type = Trimmed(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^[a-z][a-z0-9_.]{0,39}$", error=_l("Use lower-case letters, digits, dots and underscores.")))
    source_id = fields.Integer(load_default=None, allow_none=True, **ID)
    header_discount_pct = Percent(load_default=Decimal(0))
    valid_until = fields.Date(load_default=None, allow_none=True)
    deposit_pct = Percent(load_default=None, allow_none=True)
    notes = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    lines = fields.List(fields.Nested(LineSchema), load_default=list, validate=validate.Length(max=200))
    currency = fields.String(dump_only=True)
    subtotal = fields.Decimal(as_string=True, dump_only=True)
    discount_total = fields.Decimal(as_string=True, dump_only=True)
    tax_total = fields.Decimal(as_string=True, dump_only=True)
    total = fields.Decimal(as_string=True, dump_only=True)
    paid_total = fields.Decimal(as_string=True, dump_only=True)
    refunded_total = fields.Decimal(as_string=True, dump_only=True)
    balance_due = fields.Decimal(as_string=True, dump_only=True)
    deposit_paid = fields.Decimal(as_string=True, dump_only=True, metadata={
        "description": "quotes: deposits (定金) paid and not given back"})
    deposit_due = fields.Decimal(as_string=True, dump_only=True, metadata={
        "description": "quotes: what is still to pay of the deposit asked (deposit_pct of the total)"})
    deposits = fields.List(fields.Nested(lambda: DepositSchema()), dump_only=True, metadata={
        "description": "quotes: their deposits; orders: the deposits of the quote they came from"})
    quote_id = fields.Integer(dump_only=True)
    invoice_number = fields.String(dump_only=True)
    invoice_state = fields.String(dump_only=True)
    accepted_name = fields.String(dump_only=True)
    accepted_at = fields.DateTime(dump_only=True)
    sent_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class HeaderSchema(Schema):
    """What may change on a draft's header (the staff editor and PATCH)."""

    asset_id = fields.Integer(load_default=None, allow_none=True, **ID)
    header_discount_pct = Percent(load_default=Decimal(0))
    valid_until = fields.Date(load_default=None, allow_none=True)
    deposit_pct = Percent(load_default=None, allow_none=True)
    notes = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=5000))


class PaymentSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    method = fields.String(required=True, validate=validate.OneOf(PAYMENT_METHODS, error=_l(
        "Choose one of the listed options.")))
    amount = Money(required=True, positive=True)
    reference = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=80))
    note = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))
    received_at = fields.DateTime(dump_only=True)
    document_id = fields.Integer(dump_only=True)


class ReturnSchema(Schema):
    line_id = fields.Integer(required=True, **ID)
    quantity = Quantity(required=True)
    serials = fields.List(Trimmed(validate=validate.Length(max=100)), load_default=list,
                          validate=validate.Length(max=200))


class RefundSchema(PaymentSchema):
    note = Trimmed(required=True, validate=validate.Length(max=200),
                   metadata={"description": "why the money goes back"})
    location_id = fields.Integer(load_default=None, allow_none=True, **ID)
    returns = fields.List(fields.Nested(ReturnSchema), load_default=list, validate=validate.Length(max=200),
                          metadata={"description": "stock coming back with the refund (optional)"})


class OrderInvoiceSchema(Schema):
    invoice_number = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=40))
    invoice_state = fields.String(required=True, validate=validate.OneOf(INVOICE_STATES, error=_l(
        "Choose one of the listed options.")))


class AcceptSchema(Schema):
    """A customer's (or staff member's) acceptance: typed name, drawn signature, optional lines chosen."""

    name = Trimmed(required=True, validate=validate.Length(min=1, max=80))
    signature = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^data:image/png;base64,[A-Za-z0-9+/=]{20,400000}$", error=_l("Draw your signature in the box.")))
    optional_line_ids = fields.List(fields.Integer(**ID), load_default=list, validate=validate.Length(max=200))


class FulfilSchema(Schema):
    location_id = fields.Integer(load_default=None, allow_none=True, **ID)
    serials = fields.Dict(keys=fields.String(), values=fields.List(Trimmed(validate=validate.Length(max=100))),
                          load_default=dict, metadata={"description": "line id -> serial numbers issued"})


class DepositSchema(Schema):
    """A deposit (定金) on a quote: taken by staff (cash, card …) or paid online (WeChat Pay)."""

    id = fields.Integer(dump_only=True)
    quote_id = fields.Integer(dump_only=True)
    method = fields.String(required=True, validate=validate.OneOf(PAYMENT_METHODS, error=_l(
        "Choose one of the listed options.")))
    amount = Money(required=True, positive=True)
    reference = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=80))
    note = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))
    state = fields.String(dump_only=True, metadata={"description": "held | applied (carried over to the order) | "
                                                                   "refunding | refunded"})
    received_at = fields.DateTime(dump_only=True)
    order_payment_id = fields.Integer(dump_only=True, allow_none=True,
                                      metadata={"description": "the order's payment it became on acceptance"})
    refund_reason = fields.String(dump_only=True, allow_none=True)
    refunded_at = fields.DateTime(dump_only=True, allow_none=True)


class DepositRefundSchema(Schema):
    reason = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))
