"""Leads as a record type of the condition trees (storecrm.conditions): assignment rules test a new lead with the
same trees, operators and checks as workflows and automation rules, and automation rules may watch leads too."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..hooks.contrib import EngineEntity
from .models import Lead

FIELDS = {
    "channel_id": (_l("Channel (id)"), "number"), "campaign_id": (_l("Campaign (id)"), "number"),
    "interest": (_l("Model or product of interest"), "text"), "region": (_l("Region"), "text"),
    "store_id": (_l("Store"), "store"), "source": (_l("Source"), "text"), "status": (_l("Status"), "text"),
    "enquiries": (_l("Enquiries"), "number"), "created_at": (_l("Created"), "datetime"),
}

LEAD = EngineEntity("lead", _l("Leads"), Lead, FIELDS, lambda lead: lead.name, lambda lead: f"/leads/{lead.id}",
                    customer_id=lambda lead: lead.customer_id, workflow=False, view_permission="leads.view")
