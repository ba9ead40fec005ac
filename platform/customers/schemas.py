from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from ..validation import LowerEmail, Phone, Trimmed


class CustomerSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Trimmed(required=True, validate=validate.Length(max=80, error=_l("At most {max} characters.")))
    mobile = Phone(load_default=None, allow_none=True)
    email = LowerEmail(load_default=None, allow_none=True)
    gender = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(["M", "F"], error=_l("Choose one of the listed options.")))
    birthday = fields.Date(load_default=None, allow_none=True)
    city = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=40))
    address = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=300))
    source = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=40))
    notes = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    store_id = fields.Integer(required=True, strict=False)
    created_at = fields.DateTime(dump_only=True)
