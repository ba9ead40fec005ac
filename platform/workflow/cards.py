"""What a workflow item's card shows: the record by its title (a customer's name, never "客户 #289") and the
facts its definition chose (`card_fields`), each formatted for its type — an amount in the tenant's currency, a store
by its name, a date in the user's locale.

Used by the item page, the queue (the inbox) and the notifications the engine sends, so an approver sees the amount
and the customer wherever the item reaches them."""
from __future__ import annotations

from datetime import date, datetime

from flask import g
from flask_babel import format_currency, format_date, format_datetime, format_decimal
from flask_babel import gettext as _
from sqlalchemy import select

from .. import conditions
from ..calendar import money, tenant_currency
from ..customers.models import Customer
from ..extensions import db
from ..fields.engine import definitions
from ..stores.models import Store
from ..tenancy.context import require_tenant_id
from .models import WorkflowDefinition, WorkflowItem

MAX_CARD_FIELDS = 8


def default_card_fields(entity: str, spec: dict) -> list[str]:
    """What a definition without its own `card_fields` shows: the amounts its approvals look at, the customer's
    name on records that belong to a customer, and the store."""
    catalog = conditions.field_catalog(entity)
    out = []
    for t in spec.get("transitions") or []:
        amount = (t.get("approval") or {}).get("amount_field")
        if amount and amount in catalog and amount not in out:
            out.append(amount)
    for name in ("customer.name", "store_id"):
        if name in catalog:
            out.append(name)
    return out[:MAX_CARD_FIELDS]


def card_fields(definition: WorkflowDefinition) -> list[str]:
    chosen = definition.spec.get("card_fields")
    return list(chosen) if chosen is not None else default_card_fields(definition.entity, definition.spec)


def record_titles(entity: str, records) -> dict[int, str]:
    """{record id: title} through the entity's `titles` (one query for many) or its `title`."""
    ent = conditions.entities().get(entity)
    records = [r for r in records if r is not None]
    if ent is None:
        return {}
    if ent.titles is not None:
        return dict(ent.titles(records))
    return {r.id: ent.title(r) for r in records}


def record_title(entity: str, record, fallback: str = "") -> str:
    if record is None:
        return fallback
    return record_titles(entity, [record]).get(record.id) or fallback


def _money_fields(entity: str) -> set[str]:
    out = {f"custom.{d.code}" for d in definitions(entity) if d.type == "money"}
    if entity != "customer":
        out |= {f"customer.custom.{d.code}" for d in definitions("customer") if d.type == "money"}
    return out


def _stores() -> dict[int, str]:
    """Store names, read once per request or job."""
    cache = g.setdefault("_workflow_card_stores", {})
    key = require_tenant_id()
    if key not in cache:
        cache[key] = dict(db.session.execute(select(Store.id, Store.name)).all())
    return cache[key]


def format_value(value, type_: str, *, money_field: bool = False) -> str:
    """One value as a person reads it; "" for nothing."""
    if value is None or value == "" or value == []:
        return ""
    if money_field:
        try:
            return format_currency(money(value), tenant_currency())
        except (ArithmeticError, TypeError, ValueError):
            return str(value)
    if type_ == "store":
        return _stores().get(value, "") if isinstance(value, int) else str(value)
    if type_ == "bool":
        return _("Yes") if value in (True, "true", "1") else _("No")
    if type_ == "tags" or isinstance(value, list):
        return "、".join(str(v) for v in value)
    if isinstance(value, datetime):
        return format_datetime(value, "short")
    if isinstance(value, date):
        return format_date(value, "medium")
    if type_ == "date":
        try:
            return format_date(date.fromisoformat(str(value)[:10]), "medium")
        except ValueError:
            return str(value)
    if type_ == "number":
        try:
            return format_decimal(money(value))
        except (ArithmeticError, TypeError, ValueError):
            return str(value)
    return str(value)


def facts(definition: WorkflowDefinition, record) -> list[tuple[str, str]]:
    """[(label, value)] of the definition's card fields on `record`; empty values are left out."""
    if record is None:
        return []
    catalog = conditions.field_catalog(definition.entity)
    money_fields = _money_fields(definition.entity)
    out = []
    for name in card_fields(definition):
        if name not in catalog:
            continue  # a custom field archived since the definition was saved
        label, type_ = catalog[name]
        shown = format_value(conditions.value_of(record, name), type_, money_field=name in money_fields)
        if shown:
            out.append((str(label), shown))
    return out


def records_of(items: list[WorkflowItem]) -> dict[tuple[str, int], object]:
    """The live records of many items, one query per entity (plus their customers, for customer.* facts)."""
    wanted: dict[str, set[int]] = {}
    for item in items:
        wanted.setdefault(item.entity, set()).add(item.record_id)
    out = {}
    entities = conditions.entities()
    for entity, ids in wanted.items():
        ent = entities.get(entity)
        if ent is None:
            continue
        rows = list(db.session.scalars(select(ent.model).where(ent.model.id.in_(ids))))
        owners = {getattr(r, "customer_id", None) for r in rows} - {None}
        if entity != "customer" and owners:
            list(db.session.scalars(select(Customer).where(Customer.id.in_(owners))))  # into the identity map
        out.update({(entity, r.id): r for r in rows})
    return out


def cards(items: list[WorkflowItem], definitions_by_id: dict[int, WorkflowDefinition]) -> dict[int, dict]:
    """{item id: {"title", "facts"}} for a list of items (the queue), without a query per item."""
    records = records_of(items)
    titles: dict[tuple[str, int], str] = {}
    by_entity: dict[str, list] = {}
    for (entity, _rid), rec in records.items():
        by_entity.setdefault(entity, []).append(rec)
    for entity, recs in by_entity.items():
        titles.update({(entity, rid): t for rid, t in record_titles(entity, recs).items()})
    out = {}
    for item in items:
        rec = records.get((item.entity, item.record_id))
        out[item.id] = {"title": titles.get((item.entity, item.record_id)) or item.title,
                        "facts": facts(definitions_by_id[item.definition_id], rec), "record": rec}
    return out


def facts_text(definition: WorkflowDefinition, record) -> str:
    """The facts as one line for a notification: "报价金额: ¥12,000.00 · 门店: 徐汇店"."""
    return " · ".join(f"{label}: {value}" for label, value in facts(definition, record))
