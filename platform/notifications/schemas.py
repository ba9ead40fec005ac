from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from ..validation import Trimmed
from .webhooks import EVENTS


class Events(fields.List):
    def _deserialize(self, value, attr, data, **kwargs):
        items = super()._deserialize(value, attr, data, **kwargs)
        unknown = [e for e in items if e not in EVENTS]
        if unknown:
            raise ValidationError(_l("Unknown event: %(names)s", names=", ".join(unknown)))
        return list(dict.fromkeys(items))


class WebhookEndpointSchema(Schema):
    id = fields.Integer(dump_only=True)
    url = Trimmed(required=True, validate=validate.Length(min=8, max=500))
    description = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))
    events = Events(fields.String(), load_default=list,
                    metadata={"description": "empty: every event; else some of " + ", ".join(EVENTS)})
    active = fields.Boolean(load_default=True)
    secret = fields.String(dump_only=True, metadata={"description": "verifies the StoreCRM-Signature header"})
    created_at = fields.DateTime(dump_only=True)


class DeliverySchema(Schema):
    id = fields.Integer()
    event = fields.Function(lambda m: (m.payload.get("event") or {}).get("type"))
    status = fields.String()
    attempts = fields.Integer()
    response_status = fields.Function(lambda m: m.payload.get("response_status"))
    last_error = fields.String(allow_none=True)
    created_at = fields.DateTime()
    sent_at = fields.DateTime(allow_none=True)
    next_attempt_at = fields.DateTime()
