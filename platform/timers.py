"""Exact-time timers: a durable table in PostgreSQL, swept every minute by the scheduler.

Any number of schedulers may sweep at once: due timers are claimed with FOR UPDATE SKIP LOCKED and leased for
five minutes; the handler runs in its tenant's transaction, which also sets `fired_at`, so a timer fires once.
If a worker dies mid-handler the lease expires and the next sweep claims the timer again."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Callable

from periodiq import cron
from sqlalchemy import DateTime, Index, String, UniqueConstraint, select, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from .extensions import db
from .jobs import actor
from .tenancy.context import TenantRef, tenant_context
from .tenancy.models import TenantScoped, utcnow
from .tenancy.scoping import unscoped

log = logging.getLogger("storecrm.timers")


class Timer(TenantScoped):
    """Something to do at a given time (a reminder, a deadline); `key` makes scheduling idempotent."""

    __tablename__ = "timers"
    __table_args__ = (
        UniqueConstraint("tenant_id", "key"),
        Index("ix_timers_tenant_due", "tenant_id", "due_at", postgresql_where=text("fired_at IS NULL")),
    )

    key: Mapped[str] = mapped_column(String(160))
    kind: Mapped[str] = mapped_column(String(60))
    due_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    payload: Mapped[dict] = mapped_column(JSONB, default=dict)
    claimed_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    fired_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
LEASE = timedelta(minutes=5)
HANDLERS: dict[str, Callable[[Timer], None]] = {}


def handler(kind: str):
    """Register the function run when a timer of `kind` is due: `@handler("task.reminder")`."""

    def register(fn):
        HANDLERS[kind] = fn
        return fn

    return register


def schedule(key: str, kind: str, due_at: datetime, payload: dict | None = None) -> Timer:
    """Set (or move) the timer named `key` in the current tenant; a fired timer moved to a new time fires again."""
    timer = db.session.scalar(select(Timer).where(Timer.key == key))
    if timer is None:
        timer = Timer(key=key, kind=kind, due_at=due_at, payload=payload or {})
        db.session.add(timer)
    elif timer.due_at != due_at or timer.payload != (payload or {}):
        timer.kind, timer.due_at, timer.payload = kind, due_at, payload or {}
        timer.fired_at = timer.claimed_until = None
    db.session.flush()
    return timer


def cancel(key: str) -> None:
    """Cancel the pending timer with this key (nothing happens if there is none or it fired)."""
    timer = db.session.scalar(select(Timer).where(Timer.key == key, Timer.fired_at.is_(None)))
    if timer is not None:
        db.session.delete(timer)


def claim_due(limit: int = 500) -> list[tuple[int, str, int]]:
    """(tenant id, slug, timer id) of due timers of every tenant, leased to this sweep."""
    with unscoped(reason="scheduler claims due timers", routine=True) as system:
        rows = system.execute(text(
            "UPDATE timers SET claimed_until = now() + make_interval(secs => :lease) "
            "WHERE (tenant_id, id) IN (SELECT tenant_id, id FROM timers WHERE fired_at IS NULL AND due_at <= now() "
            " AND (claimed_until IS NULL OR claimed_until < now()) ORDER BY due_at LIMIT :limit "
            " FOR UPDATE SKIP LOCKED) "
            "RETURNING tenant_id, id, (SELECT slug FROM tenants WHERE tenants.id = timers.tenant_id)"),
            {"lease": LEASE.total_seconds(), "limit": limit}).all()
    return [(tenant_id, slug, timer_id) for tenant_id, timer_id, slug in rows]


def dispatch_due() -> int:
    """Hand each due timer to a job in its tenant; returns how many."""
    claimed = claim_due()
    for tenant_id, slug, timer_id in claimed:
        try:
            with tenant_context(TenantRef(tenant_id, slug)):
                fire.send(timer_id)
        except Exception:  # the broker is down: give the claim back so the next sweep tries again, not in 5 min
            log.warning("could not enqueue timer %s of tenant %s; released for the next sweep", timer_id, tenant_id,
                        exc_info=True)
            with unscoped(reason="scheduler releases a timer it could not enqueue", routine=True) as system:
                system.execute(text("UPDATE timers SET claimed_until = NULL WHERE tenant_id = :t AND id = :i"),
                               {"t": tenant_id, "i": timer_id})
    return len(claimed)


@actor(periodic=cron("* * * * *"), max_retries=0)
def sweep_timers() -> None:
    """Every minute (the scheduler process)."""
    dispatch_due()


@actor(max_retries=3)
def fire(timer_id: int) -> None:
    """Run the handler in this transaction and mark the timer fired with it (once, whoever else tries)."""
    timer = db.session.scalar(select(Timer).where(Timer.id == timer_id).with_for_update(skip_locked=True))
    if timer is None or timer.fired_at is not None or timer.due_at > utcnow():
        return
    run = HANDLERS.get(timer.kind)
    if run is None:
        log.warning("no handler for timer kind %s (timer %s)", timer.kind, timer.id)
    else:
        run(timer)
    timer.fired_at = utcnow()
