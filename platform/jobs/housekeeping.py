"""Periodic housekeeping. Periodic jobs fan out: one message per tenant, run inside its scope."""
from __future__ import annotations

from datetime import timedelta

from periodiq import cron
from sqlalchemy import delete, or_, select

from ..extensions import db
from ..tenancy.context import tenant_context
from ..tenancy.models import Tenant, utcnow
from . import actor

SESSION_RETENTION = timedelta(days=30)


@actor(periodic=cron("17 * * * *"))
def fan_out_session_purge() -> None:
    tenant_ids = list(db.session.scalars(select(Tenant.id).where(Tenant.status != "deleted")))
    for tid in tenant_ids:
        tenant = db.session.get(Tenant, tid)
        with tenant_context(tenant):
            purge_sessions.send()


@actor(periodic=cron("43 3 * * *"))
def fan_out_file_purge() -> None:
    """Nightly: uploads no record points at (abandoned forms), per tenant."""
    for tid in list(db.session.scalars(select(Tenant.id).where(Tenant.status != "deleted"))):
        with tenant_context(db.session.get(Tenant, tid)):
            purge_files.send()


@actor
def purge_files() -> None:
    from ..files.services import purge_unreferenced

    purge_unreferenced()


@actor
def purge_sessions() -> None:
    """Delete sessions of the job's tenant that were revoked or idle for longer than the retention."""
    from ..auth.models import UserSession

    cutoff = utcnow() - SESSION_RETENTION
    db.session.execute(delete(UserSession).where(
        or_(UserSession.revoked_at < cutoff, UserSession.last_seen_at < cutoff)))
