"""A customer's timeline: their record's changes (here) and what the other modules and plugins contribute through
the `customer_timeline` hook — interactions and tasks (activities), automation (rules), plugins' events — newest
first, keyset-paged by time. Each source is asked for one page older than the cursor in one query; the pages are
merged, so a page costs a fixed number of queries, however long the history.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import or_, select

from flask_babel import gettext as _

from ..audit.models import AuditEntry
from ..extensions import db
from ..hooks.contrib import TimelineEntry
from ..hooks.runtime import tenant_hook
from .identities import kinds


def _changes(customer, before, limit):
    query = (select(AuditEntry).where(or_(
        (AuditEntry.entity_type == "customer") & (AuditEntry.entity_id == customer.id),
        (AuditEntry.entity_type == "identity") & (AuditEntry.after["customer_id"].as_integer() == customer.id)))
        .order_by(AuditEntry.at.desc()).limit(limit))
    if before is not None:
        query = query.where(AuditEntry.at < before)
    return [TimelineEntry(e.at, "change", e.action, _summary(e), None, actor_label(e.actor_label))
            for e in db.session.scalars(query)]


def actor_label(label: str | None) -> str | None:
    """Who did it, in the reader's words: the system's own actions are stored as `system`."""
    return _("System") if label == "system" else label


def _summary(entry) -> str | None:
    """An identity's entry is stored as "<customer>: <kind code>": the kind is shown by its label."""
    if entry.entity_type != "identity" or not entry.summary:
        return entry.summary
    name, sep, kind = entry.summary.rpartition(": ")
    found = kinds().get(kind)
    return f"{name}{sep}{found.label}" if sep and found else entry.summary


def timeline(customer, *, kinds: set[str] | None = None, before: datetime | None = None,
             limit: int = 20) -> tuple[list[TimelineEntry], datetime | None]:
    """Entries of the chosen kinds (None: all), newest first; returns (page, cursor for the next page)."""
    entries: list[TimelineEntry] = []
    if kinds is None or "change" in kinds:
        entries += _changes(customer, before, limit + 1)
    if kinds is None or kinds - {"change"}:
        for batch in tenant_hook("customer_timeline")(customer=customer, before=before, limit=limit + 1):
            entries += [e for e in batch or [] if kinds is None or e.kind in kinds or e.kind.split(":")[0] in kinds]
    entries.sort(key=lambda e: e.at, reverse=True)
    page = entries[:limit]
    return page, (page[-1].at if len(entries) > limit else None)
