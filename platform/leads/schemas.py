"""Schemas shared by the pages, the API, the public form, the webhook and the import (one set of rules)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from ..validation import BoundedDecimal, Phone, Trimmed
from .models import CHANNEL_KINDS, LOST_REASONS, POOL_REASONS, REPEAT_MODES, ROUTING_FIELDS, STATUSES, STRATEGIES

MAX_ID = 2**63 - 1
Id = lambda **kw: fields.Integer(validate=validate.Range(min=1, max=MAX_ID), **kw)  # noqa: E731
FOLLOW_UP_METHODS = ("call", "wechat", "visit", "sms", "note")
CHOICE = _l("Choose one of the listed options.")


def money_range(value) -> None:
    """0 to one billion (a function, not validate.Range: apispec would print the bounds as strings)."""
    if not 0 <= value <= 10**9:
        raise ValidationError(_l("Enter an amount from 0 to 1,000,000,000."))


class Mobile(Phone):
    """A mobile number, required: loads to E.164; empty is "enter a valid mobile number", not a silent None."""

    def _deserialize(self, value, attr, data, **kwargs):
        if value is None or not str(value).strip():
            raise ValidationError(_l("Enter a valid mobile number."))
        if len(str(value)) > 40:
            raise ValidationError(_l("Not a valid phone number."))
        return super()._deserialize(value, attr, data, **kwargs)


class CaptureSchema(Schema):
    """One enquiry: who (name, mobile), what they want (interest), where from (store, campaign), consent."""

    name = Trimmed(required=True, validate=validate.Length(max=80))
    mobile = Mobile(required=True)
    interest = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=120))
    notes = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=1000))
    store_id = Id(load_default=None, allow_none=True)
    campaign_id = Id(load_default=None, allow_none=True)
    region = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=60),
                     metadata={"description": "地区 the person gave; empty: the store's city"})
    consent = fields.Boolean(load_default=False)


class LeadCreateSchema(CaptureSchema):
    channel_id = Id(required=True)


class LeadUpdateSchema(Schema):
    name = Trimmed(validate=validate.Length(max=80))
    interest = Trimmed(allow_none=True, validate=validate.Length(max=120))
    notes = Trimmed(allow_none=True, validate=validate.Length(max=1000))
    store_id = Id(allow_none=True)
    campaign_id = Id(allow_none=True)


class LeadSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String()
    mobile = fields.String()
    channel_id = fields.Integer()
    campaign_id = fields.Integer(allow_none=True)
    store_id = fields.Integer(allow_none=True)
    owner_id = fields.Integer(allow_none=True)
    rule_id = fields.Integer(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    status = fields.String(metadata={"enum": list(STATUSES)})
    lost_reason = fields.String(allow_none=True)
    lost_note = fields.String(allow_none=True)
    interest = fields.String(allow_none=True)
    notes = fields.String(allow_none=True)
    source = fields.String()
    enquiries = fields.Integer()
    consent_at = fields.DateTime(allow_none=True)
    last_enquiry_at = fields.DateTime()
    assigned_at = fields.DateTime(allow_none=True)
    first_contact_deadline = fields.DateTime(allow_none=True)
    first_contacted_at = fields.DateTime(allow_none=True)
    escalated_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()
    stage_id = fields.Integer(allow_none=True, metadata={"description": "the tenant stage of a qualified lead"})
    stage_entered_at = fields.DateTime(allow_none=True, metadata={"description": "when it entered its current step"})
    pooled_at = fields.DateTime(allow_none=True, metadata={"description": "in the public pool since (no owner)"})
    pool_reason = fields.String(allow_none=True, metadata={"enum": list(POOL_REASONS)})
    pool = fields.String(allow_none=True, metadata={"enum": ["open", "lost"], "description": "which pool it waits in"})
    region = fields.String(allow_none=True)
    merged_into_id = fields.Integer(allow_none=True, metadata={"description": "merged by hand into that lead"})
    asset_id = fields.Integer(allow_none=True, metadata={"description": "the asset the conversion made or linked"})
    quote_id = fields.Integer(allow_none=True, metadata={"description": "the draft quote the conversion made"})


class LeadHistorySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    user_id = fields.Integer(allow_none=True)
    body = fields.String(allow_none=True)
    data = fields.Dict()
    at = fields.DateTime()


class LeadAssignSchema(Schema):
    owner_id = Id(required=True)


class LeadStatusSchema(Schema):
    action = fields.String(required=True, validate=validate.OneOf(("contact", "qualify", "lose"), error=CHOICE))
    lost_reason = fields.String(load_default=None, allow_none=True,
                                validate=validate.OneOf(LOST_REASONS, error=CHOICE))
    note = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=300))


class LeadFollowUpSchema(Schema):
    method = fields.String(required=True, validate=validate.OneOf(FOLLOW_UP_METHODS, error=CHOICE))
    summary = Trimmed(required=True, validate=validate.Length(max=1000))
    next_step = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))
    due_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None)


class LeadChannelSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Trimmed(required=True, validate=validate.Length(max=80))
    kind = fields.String(load_default="web_form", validate=validate.OneOf(CHANNEL_KINDS, error=CHOICE))
    cost_per_month = BoundedDecimal(load_default=0, places=2, as_string=True, validate=money_range)
    first_contact_minutes = fields.Integer(load_default=24 * 60, validate=validate.Range(min=1, max=20160))
    store_id = Id(load_default=None, allow_none=True)
    active = fields.Boolean(load_default=True)


class LeadChannelCreatedSchema(LeadChannelSchema):
    secret = fields.String(dump_only=True, metadata={"description": "the webhook signing secret, shown once"})


class LeadCampaignSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Trimmed(required=True, validate=validate.Length(max=120))
    channel_id = Id(load_default=None, allow_none=True)
    starts_on = fields.Date(load_default=None, allow_none=True)
    ends_on = fields.Date(load_default=None, allow_none=True)
    cost = BoundedDecimal(load_default=0, places=2, as_string=True, validate=money_range)
    active = fields.Boolean(load_default=True)


class LeadRuleSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Trimmed(required=True, validate=validate.Length(max=80))
    position = fields.Integer(load_default=100, validate=validate.Range(min=0, max=10000))
    active = fields.Boolean(load_default=True)
    channel_id = Id(load_default=None, allow_none=True)
    store_id = Id(load_default=None, allow_none=True)
    strategy = fields.String(load_default="round_robin", validate=validate.OneOf(STRATEGIES, error=CHOICE))
    staff_ids = fields.List(Id(), load_default=list, validate=validate.Length(max=200))
    fallback_user_id = Id(load_default=None, allow_none=True)
    first_contact_minutes = fields.Integer(load_default=None, allow_none=True,
                                           validate=validate.Range(min=1, max=20160))
    conditions = fields.Dict(load_default=None, allow_none=True,
                             metadata={"description": "condition tree (docs/rules.md) over the lead: channel_id, "
                                                      "campaign_id, interest, region, store_id, source …"})
    weights = fields.Dict(keys=fields.String(validate=validate.Regexp(r"^[0-9]{1,18}$")),
                          values=fields.Integer(validate=validate.Range(min=0, max=100)), load_default=dict,
                          metadata={"description": "weighted: {user id: weight 0..100}; unlisted people weigh 1"})
    field = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(ROUTING_FIELDS, error=CHOICE),
                          metadata={"description": "by_field: the lead field whose value picks the person"})
    field_map = fields.Dict(keys=Trimmed(validate=validate.Length(min=1, max=120)), values=Id(), load_default=dict,
                            validate=validate.Length(max=100),
                            metadata={"description": "by_field: {value: user id}, e.g. {\"Model Y\": 12}"})


class LeadStageSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Trimmed(required=True, validate=validate.Length(min=1, max=40))
    position = fields.Integer(load_default=100, validate=validate.Range(min=0, max=10000))
    active = fields.Boolean(load_default=True)


class LeadStageMoveSchema(Schema):
    stage_id = Id(required=True)


class LeadSettingsSchema(Schema):
    pool_after_hours = fields.Integer(required=True, validate=validate.Range(min=1, max=720),
                                      metadata={"description": "hours an owner has to follow a lead up before it "
                                                               "returns to the public pool"})
    claims_per_day = fields.Integer(required=True, validate=validate.Range(min=1, max=500),
                                    metadata={"description": "pool leads one person may claim per tenant day"})
    repeat_mode = fields.String(load_default="reopen", validate=validate.OneOf(REPEAT_MODES, error=CHOICE),
                                metadata={"description": "a repeat enquiry on a closed lead: reopen it or start anew"})
    won_repeat_days = fields.Integer(load_default=30, validate=validate.Range(min=0, max=3650),
                                     metadata={"description": "a won lead's repeat enquiries within these days stay "
                                                              "in its history; later ones follow repeat_mode"})


class LeadMergeSchema(Schema):
    other_id = Id(required=True, metadata={"description": "the lead folded into this one (closed as merged)"})


class LeadHandoverSchema(Schema):
    from_user_id = Id(required=True, metadata={"description": "whose open leads are handed over"})
    to_user_id = Id(load_default=None, allow_none=True,
                    metadata={"description": "the new owner; empty: the assignment rules (round robin …)"})


class LeadPoolReturnSchema(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(POOL_REASONS[:4], error=CHOICE))
    note = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=300))


class ConvertAssetSchema(Schema):
    name = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=120))
    type = fields.String(load_default="vehicle", validate=validate.Length(max=40))
    vin = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=40))
    plate = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=20))


class LeadConvertSchema(Schema):
    """What the conversion makes besides the customer: `asset` (the car of interest) and a draft `quote`."""

    asset = fields.Nested(ConvertAssetSchema, load_default=None, allow_none=True)
    quote = fields.Boolean(load_default=False)


def asset_data(asset: dict | None) -> dict | None:
    """ConvertAssetSchema data as services.convert wants it."""
    if asset is None:
        return None
    return {"name": asset.get("name"), "type": asset.get("type") or "vehicle",
            "identifiers": {k: asset[k] for k in ("vin", "plate") if asset.get(k)}}
