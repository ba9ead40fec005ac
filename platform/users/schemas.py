from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..validation import LowerEmail, Phone, Trimmed


class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    display_name = Trimmed(required=True, validate=validate.Length(max=80, error=_l("At most {max} characters.")))
    email = LowerEmail(load_default=None, allow_none=True)
    mobile = Phone(load_default=None, allow_none=True)
    role_id = fields.Integer(required=True, strict=False, error_messages={
        "required": _l("Choose a role."), "null": _l("Choose a role."), "invalid": _l("Choose a role.")})
    store_ids = fields.List(fields.Integer(), load_default=list)
    active = fields.Boolean(load_default=True)
    locale = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(["zh_CN", "en"]))
    password = fields.String(load_only=True, load_default=None, allow_none=True)

    @validates_schema(skip_on_field_errors=False)
    def _login_name(self, data, **kwargs):
        if not data.get("email") and not data.get("mobile") and not self.partial:
            raise ValidationError(_l("Give an email or a mobile number to sign in with."), "email")


class UserOutSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()
    email = fields.String(allow_none=True)
    mobile = fields.String(allow_none=True)
    role = fields.Function(lambda u: u.role.code)
    store_ids = fields.List(fields.Integer())
    active = fields.Boolean()
    locale = fields.String(allow_none=True)
    last_login_at = fields.DateTime(allow_none=True)
