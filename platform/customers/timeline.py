"""A customer's timeline: interactions, tasks, changes and plugins' events, newest first, keyset-paged by time.

Each source is asked for one page older than the cursor in one query; the pages are merged.
So a page costs a fixed number of queries, however long the history.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from ..activities.models import Interaction, Task
from ..audit.models import AuditEntry
from ..extensions import db
from ..hooks.contrib import TimelineEntry
from ..hooks.runtime import tenant_hook
from ..users.models import User

CORE_KINDS = ("interaction", "task", "change", "rule")


def _interactions(customer, before, limit):
    query = (select(Interaction, User.display_name)
             .outerjoin(User, (User.tenant_id == Interaction.tenant_id) & (User.id == Interaction.user_id))
             .where(Interaction.customer_id == customer.id).order_by(Interaction.occurred_at.desc()).limit(limit))
    if before is not None:
        query = query.where(Interaction.occurred_at < before)
    return [TimelineEntry(i.occurred_at, f"interaction:{i.kind}", i.kind, i.body, None, name)
            for i, name in db.session.execute(query)]


def _tasks(customer, before, limit):
    query = select(Task).where(Task.customer_id == customer.id).order_by(Task.created_at.desc()).limit(limit)
    if before is not None:
        query = query.where(Task.created_at < before)
    return [TimelineEntry(t.created_at, "task", t.title, t.notes, None, t.status) for t in db.session.scalars(query)]


def _changes(customer, before, limit):
    query = (select(AuditEntry).where(or_(
        (AuditEntry.entity_type == "customer") & (AuditEntry.entity_id == customer.id),
        (AuditEntry.entity_type == "identity") & (AuditEntry.after["customer_id"].as_integer() == customer.id)))
        .order_by(AuditEntry.at.desc()).limit(limit))
    if before is not None:
        query = query.where(AuditEntry.at < before)
    return [TimelineEntry(e.at, "change", e.action, e.summary, None, e.actor_label) for e in db.session.scalars(query)]


def _rule_firings(customer, before, limit):
    from ..rules.models import Rule, RuleFiring

    query = (select(RuleFiring, Rule.name)
             .join(Rule, (Rule.tenant_id == RuleFiring.tenant_id) & (Rule.id == RuleFiring.rule_id))
             .where(RuleFiring.customer_id == customer.id, RuleFiring.status != "skipped")
             .order_by(RuleFiring.fired_at.desc()).limit(limit))
    if before is not None:
        query = query.where(RuleFiring.fired_at < before)
    return [TimelineEntry(f.fired_at, "rule", name, "; ".join(
        f"{o['type']}: {o['detail']}" if o["ok"] else f"{o['type']} ✗ {o['detail']}" for o in f.outcome) or None,
        None, f.status) for f, name in db.session.execute(query)]


def timeline(customer, *, kinds: set[str] | None = None, before: datetime | None = None,
             limit: int = 20) -> tuple[list[TimelineEntry], datetime | None]:
    """Entries of the chosen kinds (None: all), newest first; returns (page, cursor for the next page)."""
    entries: list[TimelineEntry] = []
    sources = {"interaction": _interactions, "task": _tasks, "change": _changes, "rule": _rule_firings}
    for kind, source in sources.items():
        if kinds is None or kind in kinds:
            entries += source(customer, before, limit + 1)
    if kinds is None or kinds - set(CORE_KINDS):
        for batch in tenant_hook("customer_timeline")(customer=customer, before=before, limit=limit + 1):
            entries += [e for e in batch or [] if kinds is None or e.kind in kinds or e.kind.split(":")[0] in kinds]
    entries.sort(key=lambda e: e.at, reverse=True)
    page = entries[:limit]
    return page, (page[-1].at if len(entries) > limit else None)
