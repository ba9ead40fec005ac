from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, post_dump

from ..validation import LenientDate, LowerEmail, Phone, Trimmed


class Tags(fields.Field):
    """Tags from a list or from text separated by commas (also ，、;) — as typed on a phone."""

    def _deserialize(self, value, attr, data, **kwargs):
        import re

        items = value if isinstance(value, list) else re.split(r"[,，、;；\n]", value) if isinstance(value, str) else None
        if items is None or not all(isinstance(i, str) for i in items):
            raise ValidationError(_l("Give tags as a list or separated by commas."))
        tags = []
        for item in (i.strip() for i in items):
            if item and item not in tags:
                if len(item) > 40:
                    raise ValidationError(_l("A tag has at most 40 characters."))
                tags.append(item)
        if len(tags) > 30:
            raise ValidationError(_l("At most 30 tags."))
        return tags

    def _serialize(self, value, attr, obj, **kwargs):
        return list(value or [])


CHANNELS = ("sms", "wechat")


class CustomerSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(load_default="person", validate=validate.OneOf(
        ["person", "company"], error=_l("Choose one of the listed options.")))
    contact_name = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=80))
    status = fields.String(load_default="active", validate=validate.OneOf(
        ["active", "inactive", "lost"], error=_l("Choose one of the listed options.")))
    level = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=20))
    tags = Tags(load_default=list)
    owner_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                              validate=validate.Range(min=1, max=2**63 - 1))
    consent_sms = fields.Boolean(load_default=False)
    consent_wechat = fields.Boolean(load_default=False)
    consent_source = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=60))
    name = Trimmed(required=True, validate=validate.Length(max=80, error=_l("At most {max} characters.")))
    mobile = Phone(load_default=None, allow_none=True)
    email = LowerEmail(load_default=None, allow_none=True)
    gender = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(["M", "F"], error=_l("Choose one of the listed options.")))
    birthday = LenientDate(load_default=None, allow_none=True)
    city = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=40))
    address = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=300))
    source = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=40))
    notes = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    store_id = fields.Integer(required=True, strict=False, error_messages={
        "required": _l("Choose a store."), "null": _l("Choose a store."), "invalid": _l("Choose a store.")})
    custom = fields.Dict(keys=fields.String(), load_default=None, allow_none=True,
                         metadata={"description": "custom field values by field code"})
    created_at = fields.DateTime(dump_only=True)

    @post_dump(pass_original=True)
    def _consents_out(self, data, original, **kwargs):
        if isinstance(original, dict):  # already flattened (API responses re-dump plain dicts)
            return data
        data.update(consent_flags(original))
        return data


def consent_flags(customer) -> dict:
    """The consents record as the schema's flat `consent_sms`, `consent_wechat` and `consent_source`."""
    consents = getattr(customer, "consents", None) or {}
    out = {f"consent_{channel}": bool((consents.get(channel) or {}).get("granted")) for channel in CHANNELS}
    out["consent_source"] = next((consents[c].get("source") for c in CHANNELS if consents.get(c)), None)
    return out
