"""Periodic housekeeping of the whole app (expired sessions, abandoned uploads). Periodic jobs fan out: one message
per tenant, run inside its scope."""
from __future__ import annotations

from datetime import timedelta

from periodiq import cron
from sqlalchemy import delete, or_, select

from .auth.models import UserSession
from .extensions import db
from .files.services import purge_unreferenced
from .jobs import actor
from .tenancy.context import tenant_context
from .tenancy.models import Tenant, utcnow

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
    purge_unreferenced()


@actor
def purge_sessions() -> None:
    """Delete sessions of the job's tenant that were revoked or idle for longer than the retention."""
    cutoff = utcnow() - SESSION_RETENTION
    db.session.execute(delete(UserSession).where(
        or_(UserSession.revoked_at < cutoff, UserSession.last_seen_at < cutoff)))
