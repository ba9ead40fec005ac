"""Tenant settings of the retail plugin (a settings page and API come from this schema).

Prepaid-card defaults follow 《单用途商业预付卡管理办法（试行）》 (商务部令2012年第9号, amended 2016): a registered
(记名) card holds at most 5,000 yuan (art. 18) and has no expiry (art. 21); one purchase of 50,000 yuan or more by a
person, 5,000 or more by a company, must be paid by bank transfer, not cash (art. 20)."""
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate


class RetailSettings(Schema):
    points_per_yuan = fields.Decimal(load_default="1", as_string=True, places=2,
                                     validate=validate.Range(min=0, max=100),
                                     metadata={"label": _l("Points per yuan spent")})
    points_valid_months = fields.Integer(load_default=12, validate=validate.Range(min=1, max=60),
                                         metadata={"label": _l("Points expire after (months)")})
    tier_window_days = fields.Integer(load_default=365, validate=validate.Range(min=30, max=1095),
                                      metadata={"label": _l("Tier window (days)")})
    tier_grace_days = fields.Integer(load_default=30, validate=validate.Range(min=0, max=365),
                                     metadata={"label": _l("Grace before a downgrade (days)")})
    stored_value_max_balance = fields.Decimal(load_default="5000", as_string=True, places=2,
                                              validate=validate.Range(min=0, max=1_000_000),
                                              metadata={"label": _l("Stored value: most a card may hold")})
    stored_value_cash_limit = fields.Decimal(load_default="50000", as_string=True, places=2,
                                             validate=validate.Range(min=0, max=1_000_000),
                                             metadata={"label": _l("Stored value: largest top-up paid in cash")})
    topup_bonus_steps = fields.String(load_default="500:50,1000:120,2000:300", validate=validate.Regexp(
        r"^\s*(\d+(\.\d+)?\s*:\s*\d+(\.\d+)?\s*(,\s*\d+(\.\d+)?\s*:\s*\d+(\.\d+)?\s*)*)?$",
        error=_l("Write steps as amount:bonus, separated by commas (500:50,1000:120).")),
        metadata={"label": _l("Top-up bonus steps (amount:bonus, …)")})
    complaint_first_response_hours = fields.Integer(load_default=2, validate=validate.Range(min=1, max=72),
                                                    metadata={"label": _l("Complaints: first response within (store hours)")})
    complaint_resolution_hours = fields.Integer(load_default=48, validate=validate.Range(min=1, max=720),
                                                metadata={"label": _l("Complaints: resolved within (store hours)")})
    offline_qr_minutes = fields.Integer(load_default=5, validate=validate.Range(min=1, max=30),
                                        metadata={"label": _l("Offline till: member QR valid for (minutes)")})
    offline_points_cap = fields.Integer(load_default=500, validate=validate.Range(min=0, max=100000),
                                        metadata={"label": _l("Offline till: most points redeemed per sale")})
    offline_key_version = fields.Integer(load_default=1, validate=validate.Range(min=1, max=10000),
                                         metadata={"label": _l("Offline till: key version (raise to rotate the key)")})
