"""The ambient tenant: set per request, per job and per CLI command; read by the ORM scope and RLS.

With no tenant in context, queries on tenant tables raise (`TenantContextMissing`) and the
database returns no rows: scoping fails closed.
"""
from __future__ import annotations

import contextlib
import contextvars
import logging
from dataclasses import dataclass

from ..extensions import db

log = logging.getLogger("storecrm.tenancy")


class TenantContextMissing(RuntimeError):
    """A tenant-scoped table was queried with no tenant in context."""


@dataclass(frozen=True)
class TenantRef:
    id: int
    slug: str


_current: contextvars.ContextVar[TenantRef | None] = contextvars.ContextVar("storecrm_tenant", default=None)


def current_tenant() -> TenantRef | None:
    return _current.get()


def current_tenant_id() -> int | None:
    """The id of the tenant this request or job works in, or None outside any tenant."""
    ref = _current.get()
    return ref.id if ref else None


def require_tenant_id() -> int:
    tid = current_tenant_id()
    if tid is None:
        raise TenantContextMissing("no tenant in context: use tenant_context(tenant) or unscoped(reason)")
    return tid


def set_tenant(ref: TenantRef | None) -> contextvars.Token:
    return _current.set(ref)


def reset_tenant(token: contextvars.Token) -> None:
    _current.reset(token)


@contextlib.contextmanager
def tenant_context(tenant):
    """Run a block as `tenant` (a Tenant, a TenantRef or anything with .id and .slug).

    The database session is ended at entry and exit because RLS is bound to the transaction:
    a transaction begun for one tenant must never carry on under another.
    """
    ref = TenantRef(tenant.id, tenant.slug)
    session = db.session
    if session.new or session.dirty or session.deleted:
        raise RuntimeError("commit or roll back pending changes before switching tenant")
    session.rollback()
    token = _current.set(ref)
    try:
        yield ref
    finally:
        try:
            session.rollback()  # work not committed inside the block is discarded
        finally:
            _current.reset(token)
