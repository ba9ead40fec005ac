from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates

from ..users.passwords import MIN_LENGTH
from ..workspace.schemas import TIMEZONES
from ..validation import LowerEmail, Phone, Trimmed
from .signup import slug_available


class SignupSchema(Schema):
    chain_name = Trimmed(required=True, validate=validate.Length(min=1, max=200))
    slug = Trimmed(required=True, validate=validate.Length(min=2, max=63))
    admin_name = Trimmed(required=True, validate=validate.Length(min=1, max=80))
    email = LowerEmail(required=True)
    mobile = Phone(required=True)
    password = fields.String(required=True, load_only=True)
    locale = fields.String(load_default="zh_CN", validate=validate.OneOf(["zh_CN", "en"], error=_l("Choose one of the listed options.")))
    timezone = fields.String(load_default="Asia/Shanghai", validate=validate.OneOf(TIMEZONES, error=_l("Choose one of the listed options.")))
    website = fields.String(load_default="", load_only=True)  # a honeypot: people leave it empty, bots do not

    @validates("slug")
    def _slug(self, value, **kwargs):
        ok, reason = slug_available(value)
        if not ok:
            raise ValidationError(reason)

    @validates("password")
    def _password(self, value, **kwargs):
        if len(value) < MIN_LENGTH:
            raise ValidationError(_l("Use at least %(n)d characters.", n=MIN_LENGTH))


class UsageSchema(Schema):
    resource = fields.String()
    used = fields.Integer()
    limit = fields.Integer(allow_none=True)


class AccountSchema(Schema):
    plan = fields.String(allow_none=True)
    plan_name = fields.String(allow_none=True)
    billing_status = fields.String()
    read_only = fields.Boolean()
    grace_until = fields.DateTime(allow_none=True)
    seats = fields.Integer()
    api = fields.Boolean()
    plugins = fields.List(fields.String())
    usage = fields.List(fields.Nested(UsageSchema))
