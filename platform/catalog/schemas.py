"""Marshmallow schemas of the catalog, shared by the API, the forms and the import."""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from ..validation import BoundedDecimal, Trimmed
from .models import ITEM_KINDS

SKU_RE = r"^[A-Za-z0-9][A-Za-z0-9._/-]*$"
NOT_NEGATIVE = _l("Cannot be negative.")


def money(**kwargs):
    """A price: 0 or more, at most two decimal places (the tenant currency's smallest unit)."""
    return BoundedDecimal(places=None, as_string=True, validate=[
        validate.Range(min=0, max=10**12, error=NOT_NEGATIVE),
        _places(2)], **kwargs)


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
        validate.Range(min=0, error=NOT_NEGATIVE), _places(4)])
    tax_rate = BoundedDecimal(as_string=True, load_default=Decimal("0"), validate=[
        validate.Range(min=0, max=1, error=_l("Give a rate between 0 and 1 (0.13 = 13 %).")),
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
        validate.Range(min=0, min_inclusive=False, error=_l("Give a quantity above 0.")), _places(3)])


ItemSchema = CatalogItemSchema  # the short name the catalog's own code uses
