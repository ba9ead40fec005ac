"""Leads from a spreadsheet after an event (车展登记表): an `ImportMapping` for the core's import wizard, registered
by the core plugin like a plugin's. Each row is captured through `services.capture` (source "import") into the
channel its 渠道 column names, so dedupe, assignment and the SLA are the same as for the form; a row of a mobile
with an open lead is counted as updated (its enquiry is appended)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, validate
from sqlalchemy import select

from ..extensions import db
from ..hooks.contrib import ImportMapping
from ..validation import Trimmed
from . import services
from .models import LeadCampaign, LeadChannel
from .schemas import Mobile


class LeadImportRow(Schema):
    name = Trimmed(required=True, validate=validate.Length(max=80))
    mobile = Mobile(required=True)
    channel = Trimmed(required=True, validate=validate.Length(max=80))
    campaign = Trimmed(load_default=None, validate=validate.Length(max=120))
    interest = Trimmed(load_default=None, validate=validate.Length(max=120))
    notes = Trimmed(load_default=None, validate=validate.Length(max=1000))


def import_lead(user, data: dict) -> str:
    channel = db.session.scalar(select(LeadChannel).where(LeadChannel.name == data["channel"]))
    if channel is None:
        raise ValidationError({"channel": [_("No lead channel has this name.")]})
    campaign_id = None
    if data.get("campaign"):
        campaign = db.session.scalar(select(LeadCampaign).where(LeadCampaign.name == data["campaign"]))
        if campaign is None:
            raise ValidationError({"campaign": [_("No campaign has this name.")]})
        campaign_id = campaign.id
    _lead, created = services.capture(channel, {"name": data["name"], "mobile": data["mobile"],
                                                "interest": data.get("interest"), "notes": data.get("notes"),
                                                "campaign_id": campaign_id}, source="import", user=user)
    return "created" if created else "updated"


MAPPING = ImportMapping(
    "leads", _l("Leads (e.g. an auto show's sign-up sheet)"),
    columns={"姓名": "name", "客户姓名": "name", "name": "name", "手机": "mobile", "手机号": "mobile",
             "电话": "mobile", "mobile": "mobile", "渠道": "channel", "来源": "channel", "channel": "channel",
             "活动": "campaign", "campaign": "campaign", "意向": "interest", "意向车型": "interest",
             "interest": "interest", "备注": "notes", "notes": "notes"},
    fields={"name": _l("Name"), "mobile": _l("Mobile"), "channel": _l("Channel"), "campaign": _l("Campaign"),
            "interest": _l("Interested in"), "notes": _l("Notes")},
    schema=LeadImportRow, upsert=import_lead, customer_by=(), permission="leads.work")
