import zoneinfo

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from ..validation import Trimmed

TIMEZONES = sorted(zoneinfo.available_timezones())
CURRENCIES = ["CNY", "HKD", "TWD", "USD", "EUR", "JPY", "SGD"]


class TenantSettingsSchema(Schema):
    slug = fields.String(dump_only=True)
    name = Trimmed(required=True, validate=validate.Length(max=200, error=_l("At most {max} characters.")))
    locale = fields.String(required=True, validate=validate.OneOf(["zh_CN", "en"], error=_l("Choose one of the listed options.")))
    timezone = fields.String(required=True, validate=validate.OneOf(TIMEZONES, error=_l("Choose one of the listed options.")))
    currency = fields.String(required=True, validate=validate.OneOf(CURRENCIES, error=_l("Choose one of the listed options.")))
    duplicate_policy = fields.String(load_default="propose", validate=validate.OneOf(
        ["propose", "merge"], error=_l("Choose one of the listed options.")))
