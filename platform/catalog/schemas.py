"""Marshmallow schemas of the catalog, shared by the API, the forms and the import."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from ..validation import BoundedDecimal, Trimmed
from .models import ITEM_KINDS

SKU_RE = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
# within the NUMERIC columns, with room for sums: a bigger number is a field error, not a database error
MAX_PRICE = 999_999_999
MAX_QUANTITY = 1_000_000_000


def money(**kwargs):
    """A price: 0 or more, at most two decimal places (the tenant currency's smallest unit)."""
    return BoundedDecimal(places=None, as_string=True, validate=[
        _between(0, MAX_PRICE, _l("Give an amount from 0 to {max}.")),
        _places(2)], **kwargs)


def _between(low, high, message, *, low_inclusive: bool = True):
    """A range check apispec does not turn into `minimum`/`maximum` (it would write them as strings for Decimal
    fields dumped as text, which OpenAPI refuses)."""
    def check(value: Decimal):
        if (value < low if low_inclusive else value <= low) or (high is not None and value > high):
            raise ValidationError(str(message).format(min=low, max=high))
    return check


def _places(n: int):
    def check(value: Decimal):
        if value.as_tuple().exponent < -n:
            raise ValidationError(_l("At most %(n)s decimal places.", n=n))
    return check


class CatalogItemSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(ITEM_KINDS, error=_l("Choose one of the listed options.")))
    sku = Trimmed(required=True, validate=[validate.Length(max=64, error=_l("At most {max} characters.")),
                                           validate.Regexp(SKU_RE, error=_l("Use letters, digits and . _ / - only."))])
    name = Trimmed(required=True, validate=validate.Length(max=200, error=_l("At most {max} characters.")))
    brand_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    brand = Trimmed(load_default=None, allow_none=True, load_only=True,
                    validate=validate.Length(max=80, error=_l("At most {max} characters.")))  # by name (import, API)
    category_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    unit = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=20))
    list_price = money(load_default=Decimal("0"))
    cost = BoundedDecimal(as_string=True, load_default=Decimal("0"), validate=[
        _between(0, MAX_PRICE, _l("Give an amount from 0 to {max}.")), _places(4)])
    tax_rate = BoundedDecimal(as_string=True, load_default=Decimal("0"), validate=[
        _between(0, 1, _l("Give a rate between 0 and 1 (0.13 = 13 %).")),
        _places(4)])
    serial_tracked = fields.Boolean(load_default=False)
    description = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    custom = fields.Dict(load_default=None, allow_none=True)
    active = fields.Boolean(load_default=True)


class CategorySchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Trimmed(required=True, validate=validate.Length(max=80, error=_l("At most {max} characters.")))
    parent_id = fields.Integer(load_default=None, allow_none=True, strict=True)
    position = fields.Integer(load_default=0, validate=validate.Range(min=0, max=100000))
    active = fields.Boolean(load_default=True)


class PackageLineSchema(Schema):
    component_id = fields.Integer(required=True, strict=True)
    quantity = BoundedDecimal(as_string=True, required=True, validate=[
        _between(0, None, _l("Give a quantity above 0."), low_inclusive=False),
        _between(0, MAX_QUANTITY, _l("At most {max}.")), _places(3)])


ItemSchema = CatalogItemSchema  # the short name the catalog's own code uses
