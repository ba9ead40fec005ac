"""The customer 360° overview's lists — identities, assets, open tasks and the newest page of the timeline — in ONE
statement that PostgreSQL turns into JSON: the hot path of `GET /api/v1/customers/{id}/overview` (bench B2).

Each list is the select its own module reads it with (`identities_query`, `assets_query`, `open_tasks_query`,
the timeline's `page_select`), aggregated with `json_agg`; the statement is compiled once per shape (the tenant's
timeline sources, whether the user may see contact details) with the tenant criteria compiled in
(`tenancy.scoping.Precompiled`). JSON carries dates and times as ISO text: they are read back into `date` and
`datetime` here, so the response is what the ORM objects gave.
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Integer, bindparam, func, literal, null, select

from ..activities.models import Task
from ..activities.services import open_tasks_query
from ..assets.models import Asset
from ..assets.services import assets_query
from ..customers import timeline
from ..customers.identities import identities_query
from ..customers.models import CustomerIdentity
from ..extensions import db
from ..tenancy.models import utcnow
from ..tenancy.scoping import Precompiled

TASK_COLUMNS = ("id", "title", "notes", "due_at", "remind_at", "assignee_id", "customer_id", "related_type",
                "related_id", "priority", "status", "done_at")
_TIMES = ("due_at", "remind_at", "done_at")
_STATEMENTS: dict[tuple, Precompiled] = {}


def _aggregated(query, columns: dict):
    """`[{name: column …} …]` of the query's rows in its order, as one JSON value (null for none)."""
    rows = query.with_only_columns(*[c.label(name) for name, c in columns.items()]).subquery()
    pairs = [part for name in columns for part in (literal(name), rows.c[name])]
    return select(func.json_agg(func.json_build_object(*pairs))).scalar_subquery()


def _statement(chosen: tuple, contact: bool) -> Precompiled:
    key = (chosen, contact)
    statement = _STATEMENTS.get(key)
    if statement is None:
        customer_id = bindparam("customer_id", type_=Integer)
        identities = (_aggregated(identities_query(customer_id), {
            "id": CustomerIdentity.id, "kind": CustomerIdentity.kind, "value": CustomerIdentity.value,
            "asset_id": CustomerIdentity.asset_id}) if contact else null())
        assets = _aggregated(assets_query(customer_id), {name: getattr(Asset, name) for name in (
            "id", "type", "name", "store_id", "installed_on", "warranty_until", "custom")})
        tasks = _aggregated(open_tasks_query(customer_id), {name: getattr(Task, name) for name in TASK_COLUMNS})
        lines = null()
        if chosen:
            page = timeline.page_select(list(chosen), False).subquery()
            lines = select(func.json_agg(func.json_build_array(page.c.source, page.c.at, page.c.data))) \
                .scalar_subquery()
        statement = _STATEMENTS[key] = Precompiled(
            select(identities.label("identities"), assets.label("assets"), tasks.label("tasks"),
                   lines.label("timeline")), db.engine.dialect)
    return statement


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


def _moment(value: str | None) -> datetime | None:
    return None if value is None else datetime.fromisoformat(value)


def overview_lists(customer, *, contact: bool, visible_asset_fields: set[str], limit: int = 20) -> dict:
    """identities (empty without `contact`), assets (with their identifiers and the custom fields in
    `visible_asset_fields`), open tasks and the newest `limit` timeline entries of `customer`, as plain values for the
    overview's response schema."""
    chosen = tuple(timeline.sources())
    row = _statement(chosen, contact).execute(db.session, {"customer_id": customer.id, "limit": limit + 1}).one()
    identities = row.identities or []
    by_asset: dict[int, dict] = {}
    for identity in identities:
        if identity["asset_id"]:
            by_asset.setdefault(identity["asset_id"], {})[identity["kind"]] = identity["value"]
    assets = [{**a, "installed_on": _day(a["installed_on"]), "warranty_until": _day(a["warranty_until"]),
               "identifiers": by_asset.get(a["id"], {}),
               "custom": {k: v for k, v in (a["custom"] or {}).items() if k in visible_asset_fields}}
              for a in row.assets or []]
    now = utcnow()
    tasks = []
    for task in row.tasks or []:
        task.update({name: _moment(task[name]) for name in _TIMES})
        task["overdue"] = task["status"] == "open" and task["due_at"] is not None and task["due_at"] < now
        tasks.append(task)
    found = timeline.entries(list(chosen), ((code, _moment(at), data) for code, at, data in row.timeline or []))
    page, _cursor = timeline.merged(customer, found, kinds=None, before=None, limit=limit)
    return {"identities": identities, "assets": assets, "open_tasks": tasks, "timeline": page}
