"""Hourly jobs, one message per tenant: threshold alerts and the weekly digest (computed inside each tenant)."""
from __future__ import annotations

from periodiq import cron
from sqlalchemy import select

from ..extensions import db
from ..jobs import actor
from ..tenancy.context import tenant_context
from ..tenancy.models import Tenant
from .digest import send_digests
from .services import check_thresholds


@actor(periodic=cron("7 * * * *"))
def fan_out_threshold_checks() -> None:
    for tenant in list(db.session.scalars(select(Tenant).where(Tenant.status == "active"))):
        with tenant_context(tenant):
            check_tenant_thresholds.send()


@actor
def check_tenant_thresholds() -> None:
    check_thresholds()


@actor(periodic=cron("23 * * * *"))
def fan_out_weekly_digests() -> None:
    """Hourly: each tenant sends last week's digest to subscribers it has not yet sent this week (once per week per
    user, however many times and on how many schedulers this runs)."""
    for tenant in list(db.session.scalars(select(Tenant).where(Tenant.status == "active"))):
        with tenant_context(tenant):
            send_tenant_digests.send()


@actor
def send_tenant_digests() -> None:
    send_digests()
