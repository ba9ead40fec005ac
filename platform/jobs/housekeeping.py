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


def _for_each_tenant(job) -> None:
    """Enqueue `job` once per live tenant, each message carrying its tenant."""
    for tenant in list(db.session.scalars(select(Tenant).where(Tenant.status != "deleted"))):
        with tenant_context(tenant):
            job.send()


@actor(periodic=cron("17 * * * *"))
def fan_out_session_purge() -> None:
    _for_each_tenant(purge_sessions)


@actor(periodic=cron("43 3 * * *"))
def fan_out_file_purge() -> None:
    """Nightly: uploads no record points at (abandoned forms), per tenant."""
    _for_each_tenant(purge_files)


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
