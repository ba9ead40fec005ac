"""Leads under /api/v1: leads (keyset-paged list with filters, get, create with Idempotency-Key, update, assign,
status actions, follow-ups, convert, history), the funnel, channels, campaigns and assignment rules. Thin: the same
services as the pages (storecrm.leads)."""
from __future__ import annotations

from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select

from ...extensions import db
from ...leads import merging, services, setup
from ...leads.funnel import GROUPS, funnel
from ...leads.funnel import stage_funnel as stage_funnel_rows
from ...leads.models import POOLS, STATUSES, LeadAssignmentRule, LeadCampaign, LeadChannel
from ...leads.models import LeadStage
from ...leads.schemas import (LeadAssignSchema, LeadCampaignSchema, LeadChannelCreatedSchema, LeadChannelSchema, LeadFollowUpSchema,
                              LeadConvertSchema, LeadCreateSchema, LeadHandoverSchema, LeadHistorySchema,
                              LeadMergeSchema, LeadPoolReturnSchema, LeadSchema,
                              LeadSettingsSchema, LeadStageMoveSchema, LeadStageSchema, LeadUpdateSchema,
                              LeadRuleSchema, LeadStatusSchema, asset_data)
from ...validation import mask_phone
from ...tenancy.models import get_scoped
from ...web.idempotency import withhold_from_replay
from ..auth import api_user, requires
from ..common import patch_load, unprocessable

MAX_ID = 2**63 - 1
leads_blp = Blueprint("api_leads", __name__, url_prefix="/leads",
                      description="Leads (线索): capture with One-ID dedupe, assignment, status, follow-ups, funnel")
channels_blp = Blueprint("api_lead_channels", __name__, url_prefix="/lead-channels",
                         description="Lead channels: signing secret (shown once), cost per month, first-contact SLA")
campaigns_blp = Blueprint("api_lead_campaigns", __name__, url_prefix="/lead-campaigns",
                          description="Lead campaigns (an auto show, a poster run) with their cost")
rules_blp = Blueprint("api_lead_rules", __name__, url_prefix="/lead-rules",
                      description="Ordered assignment rules; only staff on shift are chosen")
stages_blp = Blueprint("api_lead_stages", __name__, url_prefix="/lead-stages",
                       description="The tenant's own pipeline stages between contacted and won (已邀约, 已试驾 …)")
settings_blp = Blueprint("api_lead_settings", __name__, url_prefix="/lead-settings",
                         description="Public pool settings: hours before an unfollowed lead returns, claims per day")
BLUEPRINTS = [leads_blp, channels_blp, campaigns_blp, rules_blp, stages_blp, settings_blp]


class LeadListArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(STATUSES))
    channel_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))
    campaign_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))
    owner_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))
    store_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))
    q = fields.String(load_default=None, validate=validate.Length(max=80))
    overdue = fields.Boolean(load_default=False)
    after_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID),
                              metadata={"description": "keyset cursor: the last id of the previous page"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class LeadPageSchema(Schema):
    items = fields.List(fields.Nested(LeadSchema))
    total = fields.Integer()
    next_after_id = fields.Integer(allow_none=True, metadata={"description": "pass as after_id for the next page"})


class LeadCreatedSchema(LeadSchema):
    created = fields.Boolean(metadata={"description": "false: the mobile had an open lead; the enquiry was added "
                                                      "to its history (One-ID)"})


class ConvertedSchema(Schema):
    lead = fields.Nested(LeadSchema)
    customer_id = fields.Integer()
    asset_id = fields.Integer(allow_none=True)
    quote_id = fields.Integer(allow_none=True)


class PoolLeadSchema(Schema):
    """A lead in the public pool: the mobile is masked (the full number only once claimed)."""

    id = fields.Integer()
    name = fields.String()
    mobile_masked = fields.Function(lambda lead: mask_phone(lead.mobile))
    channel_id = fields.Integer()
    store_id = fields.Integer(allow_none=True)
    status = fields.String()
    interest = fields.String(allow_none=True)
    pooled_at = fields.DateTime()
    pool_reason = fields.String(allow_none=True)
    pool = fields.String(metadata={"enum": list(POOLS)})
    lost_reason = fields.String(allow_none=True)


class PoolArgs(Schema):
    pool = fields.String(load_default="open", validate=validate.OneOf(POOLS),
                         metadata={"description": "open: leads nobody owns; lost: lost leads to revisit (战败线索池)"})
    after_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class PoolPageSchema(Schema):
    items = fields.List(fields.Nested(PoolLeadSchema))
    next_after_id = fields.Integer(allow_none=True)
    claimed_today = fields.Integer()
    claims_per_day = fields.Integer()


class FunnelArgs(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)
    by = fields.String(load_default="channel", validate=validate.OneOf(GROUPS))


class FunnelRowSchema(Schema):
    key = fields.Integer(allow_none=True)
    name = fields.String()
    leads = fields.Integer()
    contacted = fields.Integer()
    qualified = fields.Integer()
    won = fields.Integer()
    lost = fields.Integer()
    conversion = fields.Float(allow_none=True)
    avg_first_contact_minutes = fields.Float(allow_none=True)
    cost = fields.Decimal(as_string=True, allow_none=True)
    cost_per_lead = fields.Decimal(as_string=True, allow_none=True)
    cost_per_won = fields.Decimal(as_string=True, allow_none=True)


def _run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except ValidationError as err:
        unprocessable(err)


def _lead(lead_id):
    lead = services.get_lead(api_user(), lead_id)
    if lead is None:
        abort(404)
    return lead


@leads_blp.route("")
@leads_blp.arguments(LeadListArgs, location="query")
@leads_blp.response(200, LeadPageSchema)
@requires("leads.view")
def list_leads(args):
    """Leads you may see, newest first, by keyset: pass `next_after_id` back as `after_id`."""
    per_page = args.pop("per_page")
    filters = {k: v for k, v in args.items() if k != "after_id"}
    items = services.list_leads(api_user(), **filters, after_id=args["after_id"], limit=per_page)
    total = db.session.scalar(services.visible(api_user(), select(func.count()).select_from(services.Lead)))
    return {"items": items, "total": total,
            "next_after_id": items[-1].id if len(items) == per_page else None}


@leads_blp.route("", methods=["POST"])
@leads_blp.arguments(LeadCreateSchema)
@leads_blp.response(201, LeadCreatedSchema)
@requires("leads.work")
def create_lead(data):
    """Capture a lead into a channel. Send `Idempotency-Key` to make retries safe. A mobile with an open lead adds an
    enquiry to that lead (`created: false`) instead of a second lead."""
    lead, created = _run(services.create_lead, api_user(), data, source="api")
    lead.created = created  # not a column: only this answer carries it
    return lead


@leads_blp.route("/<int:lead_id>")
@leads_blp.response(200, LeadSchema)
@requires("leads.view")
def get_lead(lead_id):
    return _lead(lead_id)


@leads_blp.route("/<int:lead_id>", methods=["PATCH"])
@leads_blp.arguments(LeadUpdateSchema)
@leads_blp.response(200, LeadSchema)
@requires("leads.work")
def update_lead(data, lead_id):
    return _run(services.update_lead, api_user(), _lead(lead_id), data)


@leads_blp.route("/<int:lead_id>/assign", methods=["POST"])
@leads_blp.arguments(LeadAssignSchema)
@leads_blp.response(200, LeadSchema)
@requires("leads.work")
def assign_lead(data, lead_id):
    return _run(services.assign, api_user(), _lead(lead_id), data["owner_id"])


@leads_blp.route("/<int:lead_id>/status", methods=["POST"])
@leads_blp.arguments(LeadStatusSchema)
@leads_blp.response(200, LeadSchema)
@requires("leads.work")
def change_status(data, lead_id):
    """`contact`, `qualify` or `lose` (with `lost_reason`)."""
    return _run(services.act, api_user(), _lead(lead_id), data["action"], reason=data["lost_reason"],
                note=data["note"])


@leads_blp.route("/<int:lead_id>/convert", methods=["POST"])
@leads_blp.arguments(LeadConvertSchema)
@leads_blp.response(200, ConvertedSchema)
@requires("leads.work")
def convert_lead(data, lead_id):
    """Win the lead: link it to its customer (by mobile) or create one; with `asset` also the vehicle of interest
    (linked by VIN/plate when the customer has it), with `quote: true` a draft quote whose lines are the lead's
    interests (catalog items by name or SKU, else free text at 0)."""
    lead = _lead(lead_id)
    customer = _run(services.convert, api_user(), lead, asset=asset_data(data.get("asset")), quote=data["quote"])
    return {"lead": lead, "customer_id": customer.id, "asset_id": lead.asset_id, "quote_id": lead.quote_id}


@leads_blp.route("/<int:lead_id>/stage", methods=["POST"])
@leads_blp.arguments(LeadStageMoveSchema)
@leads_blp.response(200, LeadSchema)
@requires("leads.work")
def move_stage(data, lead_id):
    """Put an open lead into one of the tenant's stages (its status becomes `qualified`; time in stage starts)."""
    return _run(services.move_to_stage, api_user(), _lead(lead_id), data["stage_id"])


@leads_blp.route("/pool")
@leads_blp.arguments(PoolArgs, location="query")
@leads_blp.response(200, PoolPageSchema)
@requires("leads.view")
def pool(args):
    """A pool (公海 `open`, or the lost leads `lost`): masked mobiles, oldest id first (keyset by `after_id`)."""
    items = services.pool_leads(api_user(), pool=args["pool"], after_id=args["after_id"], limit=args["per_page"])
    return {"items": items, "next_after_id": items[-1].id if len(items) == args["per_page"] else None,
            "claimed_today": services.claims_today(api_user()),
            "claims_per_day": services.lead_settings().claims_per_day}


@leads_blp.route("/<int:lead_id>/claim", methods=["POST"])
@leads_blp.response(200, LeadSchema)
@requires("leads.work")
def claim_lead(lead_id):
    """Claim a pool lead (within today's limit; a lost lead is reopened). Two claims at once: one gets it, the
    other a 422 on `lead_id`."""
    return _run(services.claim, api_user(), _lead(lead_id))


@leads_blp.route("/<int:lead_id>/merge", methods=["POST"])
@leads_blp.arguments(LeadMergeSchema)
@leads_blp.response(200, LeadSchema)
@requires("leads.work")
def merge_lead(data, lead_id):
    """Fold lead `other_id` into this one: history, follow-up tasks and enquiries move; the other is closed as
    merged. Leads of different customers are refused (422); another tenant's id is refused like an unknown one."""
    survivor = _lead(lead_id)
    other = services.get_lead(api_user(), data["other_id"])
    return _run(merging.merge, api_user(), survivor, other)


class HandoverResultSchema(Schema):
    handed_over = fields.Integer()
    owners = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "{new owner id: leads received}"})


@leads_blp.route("/handover", methods=["POST"])
@leads_blp.arguments(LeadHandoverSchema)
@leads_blp.response(200, HandoverResultSchema)
@requires("leads.setup")
def handover(data):
    """An advisor leaves: all their open leads (and open follow-up tasks) to `to_user_id`, or through the
    assignment rules when it is empty; each new owner is notified once."""
    given = _run(merging.handover, api_user(), data["from_user_id"], data["to_user_id"])
    return {"handed_over": sum(given.values()), "owners": {str(k): v for k, v in given.items()}}


@leads_blp.route("/<int:lead_id>/release", methods=["POST"])
@leads_blp.arguments(LeadPoolReturnSchema)
@leads_blp.response(200, LeadSchema)
@requires("leads.work")
def release_lead(data, lead_id):
    """Give the lead back to the public pool with a reason (no_answer, not_my_area, not_ready, other)."""
    return _run(services.to_pool, api_user(), _lead(lead_id), data["reason"], note=data["note"])


@leads_blp.route("/<int:lead_id>/follow-ups", methods=["POST"])
@leads_blp.arguments(LeadFollowUpSchema)
@leads_blp.response(201, LeadHistorySchema)
@requires("leads.work")
def add_follow_up(data, lead_id):
    """A follow-up (method, summary; a next step with `due_at` becomes a task with a reminder)."""
    return _run(services.follow_up, api_user(), _lead(lead_id), data)


@leads_blp.route("/<int:lead_id>/history")
@leads_blp.response(200, LeadHistorySchema(many=True))
@requires("leads.view")
def lead_history(lead_id):
    return services.history_of(_lead(lead_id))


@leads_blp.route("/funnel")
@leads_blp.arguments(FunnelArgs, location="query")
@leads_blp.response(200, FunnelRowSchema(many=True))
@requires("leads.view")
def lead_funnel(args):
    """Funnel per channel, campaign or owner for the tenant days start..end (captured in the period)."""
    if args["end"] < args["start"] or (args["end"] - args["start"]).days > 366:
        unprocessable(ValidationError({"end": ["Give an end on or after the start, at most a year later."]}))
    return funnel(api_user(), args["start"], args["end"], args["by"])


class StageArgs(Schema):
    start = fields.Date(required=True)
    end = fields.Date(required=True)


class StageRowSchema(Schema):
    key = fields.String(metadata={"description": "new, contacted, qualified, stage:<id>, won"})
    name = fields.String()
    reached = fields.Integer(metadata={"description": "leads of the period that entered this step"})
    now = fields.Integer(metadata={"description": "of them, still there"})
    avg_hours = fields.Float(allow_none=True, metadata={"description": "average time spent in the step"})
    conversion = fields.Float(allow_none=True, metadata={"description": "reached / reached of the previous step"})


@leads_blp.route("/stage-funnel")
@leads_blp.arguments(StageArgs, location="query")
@leads_blp.response(200, StageRowSchema(many=True))
@requires("leads.view")
def stage_funnel(args):
    """The pipeline's steps in order (the tenant's stages included) for leads captured on the tenant days
    start..end: how many entered each, how many are still there, average time in stage."""
    if args["end"] < args["start"] or (args["end"] - args["start"]).days > 366:
        unprocessable(ValidationError({"end": ["Give an end on or after the start, at most a year later."]}))
    return stage_funnel_rows(api_user(), args["start"], args["end"])


# channels


def _channel(channel_id) -> LeadChannel:
    channel = get_scoped(LeadChannel, channel_id)
    if channel is None:
        abort(404)
    return channel


@channels_blp.route("")
@channels_blp.response(200, LeadChannelSchema(many=True))
@requires("leads.view")
def list_channels():
    return setup.list_channels()


@channels_blp.route("", methods=["POST"])
@channels_blp.arguments(LeadChannelSchema)
@channels_blp.response(201, LeadChannelCreatedSchema)
@requires("leads.setup")
def create_channel(data):
    """The answer carries the webhook signing `secret`, shown this once."""
    withhold_from_replay("secret")
    return _run(setup.save_channel, None, data)


@channels_blp.route("/<int:channel_id>")
@channels_blp.response(200, LeadChannelSchema)
@requires("leads.view")
def get_channel(channel_id):
    return _channel(channel_id)


@channels_blp.route("/<int:channel_id>", methods=["PATCH"])
@channels_blp.arguments(LeadChannelSchema(partial=True))
@channels_blp.response(200, LeadChannelSchema)
@requires("leads.setup")
def update_channel(data, channel_id):
    channel = _channel(channel_id)
    return _run(setup.save_channel, channel, patch_load(LeadChannelSchema(), LeadChannelSchema().dump(channel)))


@channels_blp.route("/<int:channel_id>/secret", methods=["POST"])
@channels_blp.response(200, LeadChannelCreatedSchema)
@requires("leads.setup")
def regenerate_channel_secret(channel_id):
    """A new signing secret, shown this once; the old one stops working."""
    channel = _channel(channel_id)
    withhold_from_replay("secret")
    setup.regenerate_secret(channel)
    return channel


# campaigns


def _campaign(campaign_id) -> LeadCampaign:
    campaign = get_scoped(LeadCampaign, campaign_id)
    if campaign is None:
        abort(404)
    return campaign


@campaigns_blp.route("")
@campaigns_blp.response(200, LeadCampaignSchema(many=True))
@requires("leads.view")
def list_campaigns():
    return setup.list_campaigns()


@campaigns_blp.route("", methods=["POST"])
@campaigns_blp.arguments(LeadCampaignSchema)
@campaigns_blp.response(201, LeadCampaignSchema)
@requires("leads.setup")
def create_campaign(data):
    return _run(setup.save_campaign, None, data)


@campaigns_blp.route("/<int:campaign_id>")
@campaigns_blp.response(200, LeadCampaignSchema)
@requires("leads.view")
def get_campaign(campaign_id):
    return _campaign(campaign_id)


@campaigns_blp.route("/<int:campaign_id>", methods=["PATCH"])
@campaigns_blp.arguments(LeadCampaignSchema(partial=True))
@campaigns_blp.response(200, LeadCampaignSchema)
@requires("leads.setup")
def update_campaign(data, campaign_id):
    campaign = _campaign(campaign_id)
    return _run(setup.save_campaign, campaign, patch_load(LeadCampaignSchema(), LeadCampaignSchema().dump(campaign)))


# assignment rules


def _rule(rule_id) -> LeadAssignmentRule:
    rule = get_scoped(LeadAssignmentRule, rule_id)
    if rule is None:
        abort(404)
    return rule


@rules_blp.route("")
@rules_blp.response(200, LeadRuleSchema(many=True))
@requires("leads.view")
def list_rules():
    return setup.list_rules()


@rules_blp.route("", methods=["POST"])
@rules_blp.arguments(LeadRuleSchema)
@rules_blp.response(201, LeadRuleSchema)
@requires("leads.setup")
def create_rule(data):
    return _run(setup.save_rule, None, data)


@rules_blp.route("/<int:rule_id>")
@rules_blp.response(200, LeadRuleSchema)
@requires("leads.view")
def get_rule(rule_id):
    return _rule(rule_id)


@rules_blp.route("/<int:rule_id>", methods=["PATCH"])
@rules_blp.arguments(LeadRuleSchema(partial=True))
@rules_blp.response(200, LeadRuleSchema)
@requires("leads.setup")
def update_rule(data, rule_id):
    rule = _rule(rule_id)
    return _run(setup.save_rule, rule, patch_load(LeadRuleSchema(), LeadRuleSchema().dump(rule)))


@rules_blp.route("/<int:rule_id>", methods=["DELETE"])
@rules_blp.response(204)
@requires("leads.setup")
def delete_rule(rule_id):
    setup.delete_rule(_rule(rule_id))


# stages and pool settings


def _stage(stage_id) -> LeadStage:
    stage = get_scoped(LeadStage, stage_id)
    if stage is None:
        abort(404)
    return stage


@stages_blp.route("")
@stages_blp.response(200, LeadStageSchema(many=True))
@requires("leads.view")
def list_stages():
    return services.list_stages()


@stages_blp.route("", methods=["POST"])
@stages_blp.arguments(LeadStageSchema)
@stages_blp.response(201, LeadStageSchema)
@requires("leads.setup")
def create_stage(data):
    return _run(services.save_stage, None, data)


@stages_blp.route("/<int:stage_id>")
@stages_blp.response(200, LeadStageSchema)
@requires("leads.view")
def get_stage(stage_id):
    return _stage(stage_id)


@stages_blp.route("/<int:stage_id>", methods=["PATCH"])
@stages_blp.arguments(LeadStageSchema(partial=True))
@stages_blp.response(200, LeadStageSchema)
@requires("leads.setup")
def update_stage(data, stage_id):
    stage = _stage(stage_id)
    return _run(services.save_stage, stage, patch_load(LeadStageSchema(), LeadStageSchema().dump(stage)))


@settings_blp.route("")
@settings_blp.response(200, LeadSettingsSchema)
@requires("leads.view")
def get_settings():
    return services.lead_settings()


@settings_blp.route("", methods=["PUT"])
@settings_blp.arguments(LeadSettingsSchema)
@settings_blp.response(200, LeadSettingsSchema)
@requires("leads.setup")
def put_settings(data):
    return services.save_settings(data)
