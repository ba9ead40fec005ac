"""Firing automation rules.

Event and threshold rules run in the transaction of the change that triggered them: `listen` hears the change from
`storecrm.events` and calls `on_event`.
Date, usage and inactivity rules are found by an hourly sweep per tenant: one set-based INSERT … SELECT … ON CONFLICT
DO NOTHING claims every record due, so a date rule over a million assets is one indexed query, and the unique key
(rule, record, occurrence) makes each firing happen once however often the sweep runs.

Loops are cut two ways: an event rule fires at most once per record per transaction (its occurrence is the
transaction id), and a chain of rules triggering rules stops at MAX_DEPTH.
"""
from __future__ import annotations

import contextvars
import logging
from datetime import date, datetime, timedelta

from flask import g
from sqlalchemy import Date, Integer, String, and_, case, cast, extract, func, literal, literal_column, select, text
from sqlalchemy.dialects.postgresql import insert

from .. import conditions
from .. import events as ev
from ..activities.models import Interaction
from ..assets.models import AssetReading as R
from ..audit.models import AuditEntry
from ..audit.services import Actor, acting_as, record, record_changes, snapshot
from ..calendar import tenant_today, tenant_zone
from ..customers.models import Customer
from ..extensions import db
from ..fields.services import ensure_presets
from ..hooks.contrib import FieldPreset
from ..tenancy.context import require_tenant_id
from ..tenancy.models import get_scoped, utcnow
from ..workflow import engine as workflows
from ..workflow.models import WorkflowItem, WorkflowStep
from . import actions
from .builtins import TEMPLATES, materialise
from .models import Rule, RuleFiring
from .spec import SWEPT, check

log = logging.getLogger("storecrm.rules")
MAX_DEPTH = 4
CATCH_UP_DAYS = 6  # a sweep also fires what fell due in the last week (downtime), never before the rule was enabled
BATCH = 1000
_depth: contextvars.ContextVar[int] = contextvars.ContextVar("storecrm_rule_depth", default=0)


def rules_for(entity: str) -> list[Rule]:
    """Enabled rules of the entity, read once per request or job (an import fires thousands of events)."""
    cache = g.setdefault("_storecrm_rules", {})
    key = (require_tenant_id(), entity)
    if key not in cache:
        cache[key] = list(db.session.scalars(select(Rule).where(Rule.entity == entity, Rule.enabled.is_(True))
                                             .order_by(Rule.id)))
    return cache[key]


def forget_rules() -> None:
    g.pop("_storecrm_rules", None)


def _number(value):
    try:
        return float(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def _changed(changes: dict, field: str):
    """(before, after) of `field` in a change set, for custom.<code> too; None if it did not change."""
    if field.startswith("custom."):
        if "custom" not in changes:
            return None
        before, after = ((changes["custom"][0] or {}), (changes["custom"][1] or {}))
        code = field.removeprefix("custom.")
        return None if before.get(code) == after.get(code) else (before.get(code), after.get(code))
    return tuple(changes[field]) if field in changes else None


def matches(rule: Rule, event: str, changes: dict) -> bool:
    t = rule.trigger
    if t["type"] == "threshold":
        if event not in ("created", "changed"):
            return False
        pair = _changed(changes, t["field"])
        before, after = (_number(pair[0]), _number(pair[1])) if pair else (None, None)
        return after is not None and after >= t["value"] and (before is None or before < t["value"])
    if t["type"] != "event":
        return False
    if t["event"] == "field_changed":
        pair = _changed(changes, t["field"]) if event in ("created", "changed") else None
        if pair is None:
            return False
        return "to" not in t or pair[1] == t["to"] or str(pair[1]) == str(t["to"])
    if t["event"] != event:
        return False
    if t["event"] == "state_entered":
        return (changes.get("workflow") or [None, None])[1] == t["workflow"] and \
            (changes.get("state") or [None, None])[1] == t["state"]
    return True


def on_event(entity: str, record, event: str, changes: dict | None = None) -> int:
    """Run the tenant's rules listening for `event` on `record` ("created", "changed", "state_entered", or a
    plugin's RuleTrigger code) in the current transaction; returns how many fired. Called by `listen` only: others
    emit an event (`storecrm.events`)."""
    changes = changes or {}
    depth = _depth.get()
    if depth >= MAX_DEPTH:
        log.warning("rule chain cut at depth %s (%s %s %s)", depth, entity, getattr(record, "id", None), event)
        return 0
    fired = 0
    for rule in rules_for(entity):
        if not matches(rule, event, changes):
            continue
        if not conditions.evaluate(entity, rule.conditions, record):
            continue
        occurrence = f"crossed:{rule.trigger['value']}" if rule.trigger["type"] == "threshold" else \
            f"{event}:tx{_txid()}"
        if fire(rule, entity, record, occurrence):
            fired += 1
    return fired


def listen(event) -> None:
    """The rules' subscriber to `storecrm.events`: record events (a plugin's trigger code, "created", "changed"),
    the core's customer and asset events, workflow states entered and survey answers ("survey_answered",
    "survey_low_score" on the customer). Merges and tasks trigger no rule."""
    match event:
        case ev.RecordEvent(entity=entity, record=record, code=code, changes=changes):
            on_event(entity, record, code, changes)
        case ev.CustomerCreated(customer=customer):
            on_event("customer", customer, "created")
        case ev.CustomersImported(customer_ids=ids) if ids and rules_for("customer"):
            for customer in db.session.scalars(select(Customer).where(Customer.id.in_(ids)).order_by(Customer.id)):
                on_event("customer", customer, "created")
        case ev.CustomerChanged(customer=customer, changes=changes):
            on_event("customer", customer, "changed", changes)
        case ev.AssetCreated(asset=asset):
            # every value counts as changed from nothing, so a threshold met on creation fires
            on_event("asset", asset, "created", {k: [None, v] for k, v in snapshot(asset).items()})
        case ev.AssetChanged(asset=asset, changes=changes):
            on_event("asset", asset, "changed", changes)
        case ev.StockBelowReorderLevel(level=level):
            on_event("stock_level", level, "below_reorder_level",
                     {"on_hand": [None, level.on_hand], "reserved": [None, level.reserved]})
        case ev.AppointmentEvent(appointment=appointment):
            # rules on customers may start from appointment events (triggers registered by the core plugin)
            customer = get_scoped(Customer, appointment.customer_id)
            if customer is not None:
                on_event("customer", customer, event.code)
        case ev.LeadEvent(lead=lead) if lead.customer_id:
            # rules on customers may start from lead events of their leads (triggers registered by the core plugin)
            customer = get_scoped(Customer, lead.customer_id)
            if customer is not None:
                on_event("customer", customer, event.code)
        case ev.WorkflowStateEntered(item=item, record=record):
            on_event(item.entity, record, "state_entered",
                     {"workflow": [None, item.code], "state": [None, item.state]})
        case ev.SurveyAnswered(customer=customer, low=low):
            on_event("customer", customer, "survey_low_score" if low else "survey_answered",
                     {"survey_score": [None, event.response.score]})


def _txid() -> int:
    info = db.session.info
    if "_txid" not in info:
        info["_txid"] = db.session.scalar(text("SELECT txid_current()"))
        from sqlalchemy import event as sa_event

        sa_event.listen(db.session(), "after_transaction_end", lambda s, t: s.info.pop("_txid", None), once=True)
    return info["_txid"]


def fire(rule: Rule, entity: str, record, occurrence: str) -> RuleFiring | None:
    """Claim (rule, record, occurrence) and run the actions; None if it had fired already."""
    ent = conditions.entity(entity)
    claimed = db.session.execute(
        insert(RuleFiring).values(tenant_id=rule.tenant_id, rule_id=rule.id, entity=entity, record_id=record.id,
                                  customer_id=ent.customer_id(record), occurrence=occurrence[:80], status="claimed",
                                  outcome=[], fired_at=utcnow())
        .on_conflict_do_nothing(index_elements=["tenant_id", "rule_id", "record_id", "occurrence"])
        .returning(RuleFiring.id)).scalar()
    if claimed is None:
        return None
    return _run_claimed(rule, entity, record, claimed, occurrence)


def _run_claimed(rule, entity, record, firing_id: int, occurrence: str) -> RuleFiring:
    token = _depth.set(_depth.get() + 1)
    try:
        with acting_as(Actor(None, f"rule: {rule.name}"[:80])):
            outcome = actions.run(rule, entity, record, occurrence)
    finally:
        _depth.reset(token)
    firing = db.session.get(RuleFiring, (rule.tenant_id, firing_id))
    firing.outcome = outcome
    firing.status = "done" if all(o["ok"] for o in outcome) else "failed"
    db.session.flush()
    return firing


# --- sweeps -----------------------------------------------------------------------------------------------------

def _md(column):
    return cast(extract("month", column) * 100 + extract("day", column), Integer)


def _field_date(model, field: str):
    if field.startswith("custom."):
        raw = model.custom[field.removeprefix("custom.")].astext
        return case((raw.op("~")(r"^\d{4}-\d{2}-\d{2}$"), cast(raw, Date)), else_=None)
    column = getattr(model, field)
    return cast(column, Date) if isinstance(column.type, db.DateTime) else column


def due_query(rule: Rule, start: date, end: date):
    """SELECT record id, customer id, occurrence of every record due in [start, end] (inclusive) and meeting the
    rule's conditions, as one SQL statement over the entity's table."""
    ent = conditions.entity(rule.entity)
    model, t = ent.model, rule.trigger
    customer_col = model.id if rule.entity == "customer" else getattr(model, "customer_id", literal(None))
    where = [conditions.compile(rule.entity, rule.conditions)]
    if "deleted_at" in model.__table__.c:
        where.append(model.deleted_at.is_(None))
    if t["type"] == "date":
        field = _field_date(model, t["field"])
        offset = timedelta(days=t["offset_days"])
        if not t.get("annual"):
            where.append(field.between(start - offset, end - offset))
            due = field + t["offset_days"]
        else:
            days = [start + timedelta(days=i) for i in range((end - start).days + 1)]
            whens = [(_md(field).in_(_md_keys(day - offset)), literal(day)) for day in days]
            where.append(_md(field).in_(sorted({k for day in days for k in _md_keys(day - offset)})))
            due = case(*whens, else_=None)
        occurrence = cast(due, String)
    elif t["type"] == "inactivity":
        last = select(func.max(Interaction.occurred_at)).where(Interaction.customer_id == model.id)
        if t.get("kinds"):
            last = last.where(Interaction.kind.in_(t["kinds"]))
        last_day = cast(func.coalesce(last.scalar_subquery(), model.created_at), Date)
        due = last_day + t["days"]
        where.append(due.between(start, end))
        occurrence = cast(due, String)
    elif t["type"] == "usage":
        due = _usage_due(model, t) + t.get("offset_days", 0)
        where.append(due.between(start, end))
        occurrence = cast(due, String)
    else:
        raise ValueError(f"{t['type']} rules are not swept")
    return select(model.id.label("record_id"), customer_col.label("customer_id"),
                  occurrence.label("occurrence"), due.label("due")).where(and_(*where))


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


def _md_keys(day: date) -> list[int]:
    keys = [day.month * 100 + day.day]
    if day.month == 2 and day.day == 28 and not _leap(day.year):
        keys.append(229)
    return keys


def _usage_due(model, t: dict):
    """The day an asset falls due: `months` after its last service, or the day its estimated odometer reaches
    `km` more than at that service (average daily distance from its readings of the last year), whichever first."""
    service = select(R.read_on, R.value).where(R.asset_id == model.id, R.service.is_(True)) \
        .order_by(R.read_on.desc(), R.id.desc()).limit(1)
    since_day = func.coalesce(service.with_only_columns(R.read_on).scalar_subquery(), model.installed_on,
                              model.purchased_on, cast(model.created_at, Date))
    candidates = []
    if t.get("months"):
        candidates.append(cast(since_day + func.make_interval(0, t["months"]), Date))
    if t.get("km"):
        since_km = func.coalesce(service.with_only_columns(R.value).scalar_subquery(), 0)
        latest = select(R.read_on, R.value).where(R.asset_id == model.id).order_by(R.read_on.desc(), R.id.desc()).limit(1)
        first = select(R.read_on, R.value).where(R.asset_id == model.id, R.read_on >= func.current_date() - 365) \
            .order_by(R.read_on.asc(), R.id.asc()).limit(1)
        latest_day, latest_km = (latest.with_only_columns(R.read_on).scalar_subquery(),
                                 latest.with_only_columns(R.value).scalar_subquery())
        first_day, first_km = (first.with_only_columns(R.read_on).scalar_subquery(),
                               first.with_only_columns(R.value).scalar_subquery())
        per_day = (latest_km - first_km) / func.nullif(cast(latest_day - first_day, Integer), 0)
        remaining = since_km + t["km"] - latest_km
        candidates.append(latest_day + cast(func.ceil(remaining / func.nullif(per_day, 0)), Integer))
    return candidates[0] if len(candidates) == 1 else func.least(*candidates)


def local_today() -> date:
    return tenant_today()


def claim_statement(rule: Rule, start: date, end: date):
    """The sweep's one statement: insert a claimed firing for every record due in [start, end] (up to BATCH) and
    return them; records that fired for that occurrence already are skipped by the unique key."""
    due = due_query(rule, start, end).subquery()
    return (insert(RuleFiring).from_select(
        ["tenant_id", "rule_id", "entity", "record_id", "customer_id", "occurrence", "status", "outcome", "fired_at"],
        select(literal(rule.tenant_id), literal(rule.id), literal(rule.entity), due.c.record_id, due.c.customer_id,
               due.c.occurrence, literal("claimed"), literal_column("'[]'::jsonb"), func.now())
        .where(~select(RuleFiring.id).where(RuleFiring.rule_id == rule.id, RuleFiring.record_id == due.c.record_id,
                                            RuleFiring.occurrence == due.c.occurrence).exists())
        .limit(BATCH))
        .on_conflict_do_nothing(index_elements=["tenant_id", "rule_id", "record_id", "occurrence"])
        .returning(RuleFiring.id, RuleFiring.record_id, RuleFiring.occurrence))


def sweep(rule: Rule, today: date | None = None) -> int:
    """Claim every record due for `rule` (set-based) and run its actions; returns how many fired. Work beyond
    BATCH records is left for the next call (the job re-enqueues itself)."""
    today = today or local_today()
    start = today - timedelta(days=CATCH_UP_DAYS)
    if rule.enabled_at is not None:  # the day it was switched on, in the tenant's calendar
        start = max(start, rule.enabled_at.astimezone(tenant_zone()).date())
    claim = claim_statement(rule, start, today)
    claimed = db.session.execute(claim).all()
    if not claimed:
        return 0
    model = conditions.entity(rule.entity).model
    records = {r.id: r for r in db.session.scalars(select(model).where(model.id.in_([c[1] for c in claimed])))}
    python_only = conditions.needs_python(rule.conditions)
    for firing_id, record_id, occurrence in claimed:
        record = records.get(record_id)
        if record is None or (python_only and not conditions.evaluate(rule.entity, rule.conditions, record)):
            firing = db.session.get(RuleFiring, (rule.tenant_id, firing_id))
            firing.status, firing.outcome = "skipped", [{"type": "conditions", "ok": True, "detail": "not met"}]
            continue
        _run_claimed(rule, rule.entity, record, firing_id, occurrence)
    return len(claimed)


def sweep_tenant(now: datetime | None = None) -> dict[int, int]:
    """Every swept rule of the current tenant whose hour has come (tenant time); {rule id: fired}."""
    local = (now or utcnow()).astimezone(tenant_zone())
    out = {}
    for rule in db.session.scalars(select(Rule).where(Rule.enabled.is_(True)).order_by(Rule.id)):
        if rule.trigger.get("type") in SWEPT and local.hour >= rule.run_hour:
            out[rule.id] = sweep(rule, local.date())
    return out


# --- preview ----------------------------------------------------------------------------------------------------

def preview(rule: Rule, *, days: int = 90, today: date | None = None, limit: int = 500) -> dict:
    """Which records would fire today and over the last `days` days — run before a rule is enabled.
    Returns {"rows": [(record, due date or None, already fired)], "total": n, "note": text or None}."""
    from flask_babel import gettext as _

    today = today or local_today()
    ent = conditions.entity(rule.entity)
    t = rule.trigger
    note = None
    if t["type"] in SWEPT:
        query = due_query(rule, today - timedelta(days=days), today)
    elif t["type"] == "threshold":
        query = select(ent.model.id.label("record_id"), literal(None).label("due")).where(
            conditions.compile(rule.entity, rule.conditions),
            conditions.compile(rule.entity, {"field": t["field"], "op": "gte", "value": t["value"]}))
        note = _("Records at or above the value now; each fires once, when it crosses the value.")
    else:
        query = _event_history(rule, today - timedelta(days=days))
        note = _("Records that had this event in the period and meet the conditions now.")
    sub = query.subquery()
    total = db.session.scalar(select(func.count()).select_from(sub)) or 0
    rows = db.session.execute(select(sub.c.record_id, sub.c.due).order_by(sub.c.due.desc().nulls_last(),
                                                                           sub.c.record_id).limit(limit)).all()
    records = {r.id: r for r in db.session.scalars(select(ent.model).where(ent.model.id.in_([r[0] for r in rows])))}
    fired = set(db.session.scalars(select(RuleFiring.record_id).where(
        RuleFiring.rule_id == rule.id, RuleFiring.record_id.in_([r[0] for r in rows])))) if rule.id else set()
    out = [(records[rid], due, rid in fired) for rid, due in rows if rid in records]
    if conditions.needs_python(rule.conditions):
        out = [row for row in out if conditions.evaluate(rule.entity, rule.conditions, row[0])]
    return {"rows": out, "total": total, "note": note}


def _event_history(rule: Rule, since: date):
    model, t = conditions.entity(rule.entity).model, rule.trigger
    if t["event"] == "state_entered":
        hits = select(WorkflowItem.record_id, func.max(WorkflowStep.at).label("at")).join(
            WorkflowItem, (WorkflowItem.tenant_id == WorkflowStep.tenant_id) & (WorkflowItem.id == WorkflowStep.item_id)
        ).where(WorkflowItem.entity == rule.entity, WorkflowItem.code == t["workflow"],
                WorkflowStep.to_state == t["state"], WorkflowStep.at >= since).group_by(WorkflowItem.record_id)
    else:
        hits = select(AuditEntry.entity_id.label("record_id"), func.max(AuditEntry.at).label("at")).where(
            AuditEntry.entity_type == rule.entity, AuditEntry.at >= since,
            AuditEntry.action == ("create" if t["event"] == "created" else "update"))
        if t["event"] == "field_changed":
            key = "custom" if t["field"].startswith("custom.") else t["field"]
            hits = hits.where(AuditEntry.after.has_key(key))
        hits = hits.group_by(AuditEntry.entity_id)
        if t["event"] not in ("created", "changed", "field_changed"):
            hits = hits.where(literal(False))  # a plugin's own event: nothing recorded to look back on
    hits = hits.subquery()
    where = [conditions.compile(rule.entity, rule.conditions)]
    if t["event"] == "field_changed" and "to" in t:
        where.append(conditions.compile(rule.entity, {"field": t["field"], "op": "eq", "value": t["to"]}))
    return select(model.id.label("record_id"), cast(hits.c.at, Date).label("due")).join(
        hits, hits.c.record_id == model.id).where(*where)


# --- saving -----------------------------------------------------------------------------------------------------

def save(rule: Rule | None, data: dict) -> Rule:
    cleaned = check(data)
    if rule is None:
        rule = Rule(**cleaned)
        rule.enabled_at = utcnow() if rule.enabled else None
        db.session.add(rule)
        db.session.flush()
        record("create", "rule", rule.id, rule.name, after=snapshot(rule))
    else:
        before = snapshot(rule)
        was_enabled = rule.enabled
        for key, value in cleaned.items():
            setattr(rule, key, value)
        if rule.enabled and not was_enabled:
            rule.enabled_at = utcnow()
        db.session.flush()
        record_changes("rule", rule, before, rule.name)
    forget_rules()
    return rule


def firings(rule_id: int | None = None, *, customer_id: int | None = None, limit: int = 100) -> list[RuleFiring]:
    query = select(RuleFiring)
    if rule_id is not None:
        query = query.where(RuleFiring.rule_id == rule_id)
    if customer_id is not None:
        query = query.where(RuleFiring.customer_id == customer_id)
    return list(db.session.scalars(query.order_by(RuleFiring.id.desc()).limit(limit)))


def copy_template(code: str) -> Rule:
    """A disabled rule made from a built-in template, to preview and then enable."""
    from marshmallow import ValidationError

    template = TEMPLATES.get(code)
    if template is None:
        raise ValidationError({"template": ["unknown template"]})

    ensure_presets(FieldPreset(*f) for f in template.get("fields", ()))
    if template.get("workflow"):
        if workflows.current_definition(template["workflow"]) is None:
            workflows.copy_template(None, template["workflow"])
    data = materialise(template["rule"])
    rule = save(None, {**data, "enabled": False})
    rule.template = code
    return rule
