from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..validation import Phone, Trimmed

CODE_RE = r"^[A-Za-z0-9_-]+$"


class StoreSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = Trimmed(required=True, validate=[validate.Length(max=32, error=_l("At most {max} characters.")),
                                            validate.Regexp(CODE_RE, error=_l("Use letters, digits, - and _ only."))])
    name = Trimmed(required=True, validate=validate.Length(max=120, error=_l("At most {max} characters.")))
    phone = Phone(load_default=None, allow_none=True)
    province = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=40))
    city = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=40))
    address = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=300))
    opens_at = fields.Time(load_default=None, allow_none=True, format="%H:%M")
    closes_at = fields.Time(load_default=None, allow_none=True, format="%H:%M")
    active = fields.Boolean(load_default=True)

    @validates_schema(skip_on_field_errors=False)
    def _hours(self, data, **kwargs):
        opens, closes = data.get("opens_at"), data.get("closes_at")
        if (opens is None) != (closes is None):
            raise ValidationError(_l("Give both opening and closing time, or neither."), "closes_at")
        if opens and closes and closes <= opens:
            raise ValidationError(_l("Closing time must be after opening time."), "closes_at")
