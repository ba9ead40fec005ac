"""Periodic housekeeping of the whole app (expired sessions, abandoned uploads). Periodic jobs fan out: one message
per tenant, run inside its scope."""
from __future__ import annotations

from datetime import timedelta

from periodiq import cron
from sqlalchemy import delete, func, or_, select

from .assets.models import Asset
from .auth.models import UserSession
from .customers.models import Customer
from .extensions import db
from .fields.engine import definitions
from .fields.models import FILE_TYPES
from .files.models import StoredFile
from .files.storage import storage
from .hooks.runtime import enabled_plugins, host
from .jobs import actor
from .tenancy.context import tenant_context
from .tenancy.models import Tenant, utcnow
from .workflow.models import WorkflowStep

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


def files_in_use() -> set[int] | None:
    """Ids of uploads some record points at, in the current tenant; None when a plugin cannot tell us."""
    used: set[int] = set()
    for entity, model in (("customer", Customer), ("asset", Asset)):
        for d in definitions(entity, include_archived=True):  # archived fields keep their values, and their files
            if d.type in FILE_TYPES:
                values = func.jsonb_array_elements_text(model.custom[d.code])
                used.update(int(v) for v in db.session.scalars(
                    select(values).where(model.custom.has_key(d.code),
                                          func.jsonb_typeof(model.custom[d.code]) == "array")) if v.isdigit())
    # photos taken at a workflow step (e.g. before QC)
    used.update(db.session.scalars(select(func.unnest(WorkflowStep.files)).where(func.cardinality(WorkflowStep.files) > 0)))
    for entity in host().items("register_extensible_entities", enabled_plugins()):
        if entity.files_in_use is None:
            return None
        used.update(int(i) for i in entity.files_in_use())
    return used


def purge_unreferenced(older_than=None) -> int:
    """Delete uploads no record points at and older than `older_than` (a form abandoned after its photos were
    taken leaves such files); returns how many. Nothing is deleted if a plugin cannot list its references."""
    used = files_in_use()
    if used is None:
        return 0
    cutoff = utcnow() - (older_than or timedelta(days=2))
    stale = [f for f in db.session.scalars(select(StoredFile).where(StoredFile.created_at < cutoff))
             if f.id not in used]
    for f in stale:
        for key in (f.key, f.thumbnail_key):
            if key:
                storage().delete_prefix(key)
    if stale:
        db.session.execute(delete(StoredFile).where(StoredFile.id.in_([f.id for f in stale])))
    return len(stale)
