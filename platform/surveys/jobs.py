"""Survey reminders: an hourly sweep, one message per tenant (each tenant's reminders are sent inside its scope)."""
from __future__ import annotations

from periodiq import cron
from sqlalchemy import select

from ..extensions import db
from ..jobs import actor
from ..tenancy.context import tenant_context
from ..tenancy.models import Tenant
from .services import send_reminders


@actor(periodic=cron("23 * * * *"))
def fan_out_survey_reminders() -> None:
    for tenant in list(db.session.scalars(select(Tenant).where(Tenant.status == "active"))):
        with tenant_context(tenant):
            send_tenant_survey_reminders.send()


@actor
def send_tenant_survey_reminders() -> None:
    send_reminders()
