"""Every minute: relay outbox messages that are due in any tenant (one job per tenant that has some)."""
from __future__ import annotations

from periodiq import cron
from sqlalchemy import text

from ..jobs import actor
from ..tenancy.context import TenantRef, tenant_context
from ..tenancy.scoping import unscoped
from .outbox import relay_due


def relay_all_due() -> int:
    """One relay job per tenant that has due messages; returns how many tenants."""
    with unscoped(reason="outbox sweep finds tenants with due messages", routine=True) as system:
        tenants = system.execute(text(
            "SELECT t.id, t.slug FROM tenants t WHERE EXISTS (SELECT 1 FROM outbox_messages m WHERE "
            "m.tenant_id = t.id AND m.status = 'pending' AND m.next_attempt_at <= now())")).all()
    for tenant_id, slug in tenants:
        with tenant_context(TenantRef(tenant_id, slug)):
            relay_due.send()
    return len(tenants)


@actor(periodic=cron("* * * * *"), max_retries=0)
def sweep_outbox() -> None:
    relay_all_due()
