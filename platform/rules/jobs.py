"""Hourly: each tenant with enabled date, usage or inactivity rules sweeps them in one job (its own transaction)."""
from __future__ import annotations

from periodiq import cron
from sqlalchemy import text

from ..jobs import actor
from ..tenancy.context import TenantRef, tenant_context
from ..tenancy.scoping import unscoped
from .engine import BATCH, sweep_tenant
from .spec import SWEPT


def fan_out() -> int:
    with unscoped(reason="rule sweep finds tenants with swept rules", routine=True) as system:
        tenants = system.execute(text(
            "SELECT t.id, t.slug FROM tenants t WHERE t.status <> 'deleted' AND EXISTS (SELECT 1 FROM rules r "
            "WHERE r.tenant_id = t.id AND r.enabled AND r.trigger->>'type' = ANY(:types))"),
            {"types": list(SWEPT)}).all()
    for tenant_id, slug in tenants:
        with tenant_context(TenantRef(tenant_id, slug)):
            sweep_rules.send()
    return len(tenants)


@actor(periodic=cron("5 * * * *"), max_retries=0)
def sweep_all_tenants() -> None:
    fan_out()


@actor(max_retries=3)
def sweep_rules() -> None:
    """This tenant's due rules; if a rule had more than a batch due, run again for the rest."""
    if any(count >= BATCH for count in sweep_tenant().values()):
        sweep_rules.send_with_options(delay=1000)
