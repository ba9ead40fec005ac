from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from ..validation import Trimmed


class AssetSchema(Schema):
    id = fields.Integer(dump_only=True)
    customer_id = fields.Integer(dump_only=True)
    type = fields.String(required=True, validate=validate.Length(max=40))
    name = Trimmed(required=True, validate=validate.Length(max=120, error=_l("At most {max} characters.")))
    store_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                              validate=validate.Range(min=1, max=2**63 - 1))
    purchased_on = fields.Date(load_default=None, allow_none=True)
    installed_on = fields.Date(load_default=None, allow_none=True)
    warranty_until = fields.Date(load_default=None, allow_none=True)
    attributes = fields.Dict(load_default=dict)
    identifiers = fields.Dict(keys=fields.String(), values=fields.String(allow_none=True), load_default=dict,
                              metadata={"description": "identity kind -> value, e.g. {\"vin\": \"…\", \"plate\": \"沪A12345\"}"})
    notes = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    custom = fields.Dict(keys=fields.String(), load_default=None, allow_none=True,
                         metadata={"description": "custom field values by field code"})
    move_identifiers = fields.List(fields.String(validate=validate.Length(max=40)), load_default=list, load_only=True,
                                   validate=validate.Length(max=10), metadata={
        "description": "identity kinds (e.g. [\"plate\"]) whose value may be moved here from another asset of the "
                       "same customer; without it such a move is refused with the asset it would leave"})
    created_at = fields.DateTime(dump_only=True)


class TransferSchema(Schema):
    customer_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=2**63 - 1))
    note = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))


class ReadingSchema(Schema):
    """An odometer reading: kilometres on a day; `service` when it was taken at a service."""

    id = fields.Integer(dump_only=True)
    read_on = fields.Date(load_default=None)
    value = fields.Integer(required=True, strict=False, metadata={"description": "kilometres"})
    service = fields.Boolean(load_default=False, truthy={True, "on", "1", "true"}, falsy={False, "", "0", "false"})
