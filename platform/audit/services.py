"""Recording audit entries. Services call `record`; the web, API and CLI layers set the actor."""
from __future__ import annotations

import contextlib
import contextvars
import datetime as dt
import decimal
from dataclasses import dataclass

from sqlalchemy import inspect

from ..extensions import db
from ..tenancy.bulk import insert_rows
from ..tenancy.context import require_tenant_id
from ..tenancy.models import utcnow
from .models import AuditEntry


@dataclass(frozen=True)
class Actor:
    id: int | None
    label: str
    ip: str | None = None
    request_id: str | None = None


SYSTEM = Actor(None, "system")
_actor: contextvars.ContextVar[Actor] = contextvars.ContextVar("storecrm_actor", default=SYSTEM)


def set_actor(actor: Actor) -> contextvars.Token:
    return _actor.set(actor)


@contextlib.contextmanager
def acting_as(actor: Actor):
    token = _actor.set(actor)
    try:
        yield
    finally:
        _actor.reset(token)


def current_actor() -> Actor:
    return _actor.get()


def _jsonable(value):
    if isinstance(value, (dt.date, dt.datetime, dt.time)):
        return value.isoformat()
    if isinstance(value, decimal.Decimal):
        return str(value)
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    return value


SECRET_COLUMNS = {"password_hash", "secret_hash"}


def snapshot(obj) -> dict:
    """Column values of a mapped object, secrets left out, JSON-ready."""
    return {
        attr.key: _jsonable(getattr(obj, attr.key))
        for attr in inspect(obj).mapper.column_attrs
        if attr.key not in SECRET_COLUMNS and attr.key != "tenant_id"
    }


def changed_only(before: dict, after: dict) -> tuple[dict, dict]:
    keys = [k for k in after if before.get(k) != after.get(k) and k != "updated_at"]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def record(action: str, entity_type: str, entity_id: int | None, summary: str = "", *,
           before: dict | None = None, after: dict | None = None) -> AuditEntry:
    """Write one audit-log entry (who: the current actor; what: action, entity type and id, summary, optional before/after) in the current transaction."""
    actor = current_actor()
    entry = AuditEntry(
        actor_id=actor.id, actor_label=actor.label[:120], action=action, entity_type=entity_type,
        entity_id=entity_id, summary=summary[:300], before=before, after=after,
        request_id=actor.request_id, ip=actor.ip,
    )
    db.session.add(entry)
    return entry


def record_many(entries: list[tuple]) -> None:
    """Audit many events in one INSERT (bulk work such as imports): (action, entity_type, entity_id, summary,
    before, after) each, all by the current actor. `before` and `after` may hold dates, times and Decimals: they are
    written as `snapshot` writes them (ISO text, the amount as text)."""
    if not entries:
        return
    actor, now, tenant_id = current_actor(), utcnow(), require_tenant_id()
    insert_rows(AuditEntry.__table__, [
        {"tenant_id": tenant_id, "at": now, "actor_id": actor.id, "actor_label": actor.label[:120], "action": action,
         "entity_type": entity_type, "entity_id": entity_id, "summary": summary[:300], "before": before,
         "after": after, "request_id": actor.request_id, "ip": actor.ip}
        for action, entity_type, entity_id, summary, before, after in entries])


def record_changes(entity_type: str, obj, before: dict, summary: str) -> dict:
    """Audit an update of `obj` against the `before` snapshot; only changed fields are kept. Returns the changes."""
    db.session.flush()
    old, new = changed_only(before, snapshot(obj))
    if new:
        record("update", entity_type, obj.id, summary, before=old, after=new)
    return {k: [old.get(k), new[k]] for k in new}
