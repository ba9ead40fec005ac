"""A customer's timeline: what every module and plugin registered as a `TimelineSource` — the record's changes
(here), interactions and tasks (activities), automation (rules), appointments, sales, leads, surveys, plugins'
records — newest first, keyset-paged by time.

A page is ONE statement: each source's select, limited to the page and older than the cursor, in a `UNION ALL`
ordered by time. It is compiled once per set of sources (`tenancy.scoping.Precompiled`, the tenant criteria compiled
in) and run with the customer, the cursor and the page size bound, so a page costs the same however many sources
there are or how long the history is. Plugins that still implement the `customer_timeline` hook are merged in after
(a statement each).
"""
from __future__ import annotations

from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import DateTime, Integer, Text, bindparam, cast, func, literal, or_, select, union_all

from ..audit.models import AuditEntry
from ..extensions import db
from ..hooks.contrib import TimelineEntry, TimelineSource
from ..hooks.runtime import enabled_plugins, host, tenant_hook
from ..tenancy.scoping import Precompiled
from .identities import kinds as identity_kinds


def _changes_rows(customer_id):
    return select(AuditEntry.at.label("at"), func.jsonb_build_object(
        "action", AuditEntry.action, "summary", AuditEntry.summary, "entity", AuditEntry.entity_type,
        "actor", AuditEntry.actor_label).label("data")).where(or_(
            (AuditEntry.entity_type == "customer") & (AuditEntry.entity_id == customer_id),
            (AuditEntry.entity_type == "identity") & (AuditEntry.after["customer_id"].as_integer() == customer_id)))


def _change_entry(at, data) -> TimelineEntry:
    return TimelineEntry(at, "change", data["action"], _summary(data["entity"], data["summary"]), None,
                         actor_label(data["actor"]))


SOURCES = [TimelineSource("customers.changes", "change", _changes_rows, _change_entry)]


def actor_label(label: str | None) -> str | None:
    """Who did it, in the reader's words: the system's own actions are stored as `system`."""
    return _("System") if label == "system" else label


def _summary(entity_type: str, summary: str | None) -> str | None:
    """An identity's entry is stored as "<customer>: <kind code>": the kind is shown by its label."""
    if entity_type != "identity" or not summary:
        return summary
    name, sep, kind = summary.rpartition(": ")
    found = identity_kinds().get(kind)
    return f"{name}{sep}{found.label}" if sep and found else summary


def sources(wanted: set[str] | None = None) -> list[TimelineSource]:
    """The sources of the tenant's enabled plugins and the core whose kind is among `wanted` ("interaction" also
    for "interaction:call"; None: all)."""
    registered = host().items("register_timeline_sources", enabled_plugins())
    if wanted is None:
        return registered
    groups = {k.split(":")[0] for k in wanted}
    return [s for s in registered if s.kind in groups]


_PAGES: dict[tuple, Precompiled] = {}


def page_select(chosen: list[TimelineSource], with_before: bool):
    """The select of a page from these sources: parameters `customer_id`, `limit` and (with_before) `before`; rows
    (source code, at, data), newest first."""
    customer_id = bindparam("customer_id", type_=Integer)
    limit = bindparam("limit", type_=Integer)
    members = []
    for source in chosen:
        rows = source.rows(customer_id).subquery()
        member = select(cast(literal(source.code), Text).label("source"), rows.c.at, rows.c.data)
        if with_before:
            member = member.where(rows.c.at < bindparam("before", type_=DateTime(timezone=True)))
        members.append(member.order_by(rows.c.at.desc()).limit(limit))
    merged = union_all(*members).subquery()
    return select(merged.c.source, merged.c.at, merged.c.data).order_by(merged.c.at.desc()).limit(limit)


def page_statement(chosen: list[TimelineSource], with_before: bool) -> Precompiled:
    """`page_select` compiled once."""
    key = (tuple(chosen), with_before)
    statement = _PAGES.get(key)
    if statement is None:
        statement = _PAGES[key] = Precompiled(page_select(chosen, with_before), db.engine.dialect)
    return statement


def entries(chosen: list[TimelineSource], rows) -> list[TimelineEntry]:
    """Rows of a page (source code, at, data) as entries, in the reader's language."""
    by_code = {s.code: s for s in chosen}
    return [by_code[code].entry(at, data) for code, at, data in rows]


def timeline(customer, *, kinds: set[str] | None = None, before: datetime | None = None,
             limit: int = 20) -> tuple[list[TimelineEntry], datetime | None]:
    """Entries of the chosen kinds (None: all), newest first; returns (page, cursor for the next page)."""
    chosen = sources(kinds)
    found: list[TimelineEntry] = []
    if chosen:
        params = {"customer_id": customer.id, "limit": limit + 1}
        if before is not None:
            params["before"] = before
        found += entries(chosen, page_statement(chosen, before is not None).execute(db.session, params))
    return merged(customer, found, kinds=kinds, before=before, limit=limit)


def merged(customer, found: list[TimelineEntry], *, kinds: set[str] | None, before: datetime | None,
           limit: int) -> tuple[list[TimelineEntry], datetime | None]:
    """A page of the sources' entries (`found`, up to limit + 1) with the `customer_timeline` hook's merged in."""
    lines = list(found)
    for batch in tenant_hook("customer_timeline")(customer=customer, before=before, limit=limit + 1):
        lines += batch or []
    if kinds is not None:
        lines = [e for e in lines if e.kind in kinds or e.kind.split(":")[0] in kinds]
    lines.sort(key=lambda e: e.at, reverse=True)
    page = lines[:limit]
    return page, (page[-1].at if len(lines) > limit else None)
