"""Threshold alerts run hourly, one message per tenant (the KPI values are computed inside each tenant's scope)."""
from __future__ import annotations

from periodiq import cron
from sqlalchemy import select

from ..extensions import db
from ..jobs import actor
from ..tenancy.context import tenant_context
from ..tenancy.models import Tenant
from .services import check_thresholds


@actor(periodic=cron("7 * * * *"))
def fan_out_threshold_checks() -> None:
    for tenant in list(db.session.scalars(select(Tenant).where(Tenant.status == "active"))):
        with tenant_context(tenant):
            check_tenant_thresholds.send()


@actor
def check_tenant_thresholds() -> None:
    check_thresholds()
