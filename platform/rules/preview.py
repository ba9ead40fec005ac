"""The dry run an admin reads before switching a rule on: who it would have fired for (today and the last 90 days),
who it will fire for in the next 30 days (date, usage and inactivity rules: which record on which day), and for
every firing who its messages would reach — marking the recipients who would be skipped (no consent for the
channel, no address, nobody holding the role) or held by quiet hours, with the reason.

Nothing is written: the recipients are worked out with the same rules the actions and the outbox apply."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta

from flask_babel import format_time
from flask_babel import gettext as _
from sqlalchemy import func, select

from .. import conditions
from ..calendar import tenant_zone
from ..customers.models import Customer
from ..extensions import db
from ..tenancy.models import current_tenant_row
from ..notifications.outbox import holds_for_quiet_hours, lacks_consent
from ..users.services import default_assignee, staff_with_role
from ..workflow.cards import record_titles
from . import engine
from .models import Rule
from .spec import CHANNELS, SWEPT

FORECAST_DAYS = 30


@dataclass(frozen=True)
class Recipient:
    """One person a notify action would reach: `skipped` says why it would not be sent, `held` when it would wait."""

    name: str
    channel: str  # label
    skipped: str | None = None
    held: str | None = None


def run(rule: Rule, *, today: date | None = None, days: int = 90, limit: int = 500) -> dict:
    """engine.preview (the past `days`: "rows", "total", "note") plus
    "past" [(record, day, fired, [Recipient])], "forecast" [(record, day, [Recipient])] for the next 30 days soonest
    first, "forecast_total", "forecast_note", "quiet_note" and "titles" {record id: title}."""
    today = today or engine.local_today()
    result = engine.preview(rule, days=days, today=today, limit=limit)
    forecast, forecast_total, forecast_note = [], 0, None
    if rule.trigger.get("type") in SWEPT:
        forecast, forecast_total = _forecast(rule, today, limit)
    else:
        forecast_note = _("This rule reacts to events as they happen, so there are no dates to forecast.")
    records = [row[0] for row in result["rows"]] + [row[0] for row in forecast]
    who = _Recipients(rule, records)
    past = [(record, day, fired, who.of(record, day)) for record, day, fired in result["rows"]]
    ahead = [(record, day, who.of(record, day)) for record, day in forecast]
    return {**result, "past": past, "forecast": ahead, "forecast_total": forecast_total,
            "forecast_note": forecast_note, "quiet_note": _quiet_note(rule),
            "titles": record_titles(rule.entity, _unique(records)), "forecast_days": FORECAST_DAYS}


def _quiet_note(rule: Rule) -> str | None:
    """For event rules texting customers: quiet hours may hold their messages, depending on when the event comes."""
    texts_customers = any(a.get("type") == "notify" and a.get("to") == "customer" and a.get("channel") == "sms"
                          for a in rule.actions)
    hours = (current_tenant_row().settings or {}).get("quiet_hours")
    if texts_customers and hours and rule.trigger.get("type") not in SWEPT:
        return _("Texts to customers during quiet hours (%(hours)s) wait until they end.", hours=hours)
    return None


def _unique(records):
    seen, out = set(), []
    for r in records:
        if r.id not in seen:
            seen.add(r.id)
            out.append(r)
    return out


def _forecast(rule: Rule, today: date, limit: int):
    """[(record, due day)] due tomorrow through today + 30, soonest first, meeting the conditions."""
    ent = conditions.entity(rule.entity)
    sub = engine.due_query(rule, today + timedelta(days=1), today + timedelta(days=FORECAST_DAYS)).subquery()
    total = db.session.scalar(select(func.count()).select_from(sub)) or 0
    rows = db.session.execute(select(sub.c.record_id, sub.c.due).order_by(sub.c.due, sub.c.record_id)
                              .limit(limit)).all()
    found = {r.id: r for r in db.session.scalars(select(ent.model).where(ent.model.id.in_([r[0] for r in rows])))}
    out = [(found[rid], due) for rid, due in rows if rid in found]
    if conditions.needs_python(rule.conditions):
        out = [row for row in out if conditions.evaluate(rule.entity, rule.conditions, row[0])]
    return out, total


def _send_time(rule: Rule, day) -> datetime | None:
    """When a swept rule's messages for a record due on `day` are written: the rule's hour that day, tenant time.
    Event rules fire when the event happens: no time to judge quiet hours by."""
    if rule.trigger.get("type") not in SWEPT or day is None:
        return None
    if isinstance(day, datetime):
        day = day.date()
    return datetime.combine(day, time(hour=rule.run_hour or 0), tzinfo=tenant_zone())


class _Recipients:
    """Who each firing's notify actions would reach; staff looked up once per (recipient, store, owner)."""

    def __init__(self, rule: Rule, records):
        self.rule, self.ent = rule, conditions.entity(rule.entity)
        self.notifies = [a for a in rule.actions if a.get("type") == "notify"]
        self.staff_cache: dict = {}
        if self.notifies and rule.entity != "customer":  # their customers in one query, into the identity map
            owners = {self.ent.customer_id(record) for record in records} - {None}
            if owners:
                list(db.session.scalars(select(Customer).where(Customer.id.in_(owners))))

    def of(self, record, day) -> list[Recipient]:
        at = _send_time(self.rule, day)
        return [person for action in self.notifies
                for person in _for_action(self.ent, record, action, at, self.staff_cache)]


def _customer(ent, record):
    if ent.code == "customer":
        return record
    customer_id = ent.customer_id(record)
    return db.session.get(Customer, (record.tenant_id, customer_id)) if customer_id else None


def _for_action(ent, record, action, at, staff_cache) -> list[Recipient]:
    channel = action.get("channel") or "in_app"
    label = str(CHANNELS.get(channel, channel))
    if action.get("to") == "customer":
        customer = _customer(ent, record)
        if customer is None:
            return [Recipient(_("no customer"), label, _("This record belongs to no customer."))]
        address = customer.mobile if channel == "sms" else customer.email
        if not address:
            why = _("No mobile number.") if channel == "sms" else _("No email address.")
            return [Recipient(customer.name, label, why)]
        if lacks_consent(channel, customer):
            return [Recipient(customer.name, label, _("No consent to marketing by %(channel)s.", channel=label))]
        later = holds_for_quiet_hours(channel, "customer", at) if at is not None else None
        held = _("Quiet hours: sent at %(time)s.", time=format_time(later, "short")) if later is not None else None
        return [Recipient(customer.name, label, None, held)]
    store_id = ent.store_id(record)
    to = action.get("to") or "owner"
    owner_id = None
    if not to.startswith("role:"):
        customer = _customer(ent, record)
        owner_id = getattr(record, "owner_id", None) or (customer.owner_id if customer is not None else None)
    key = (to, store_id, owner_id)
    if key not in staff_cache:
        if to.startswith("role:"):
            staff_cache[key] = staff_with_role(to[5:], store_id)
        else:
            found = default_assignee(owner_id, store_id)
            staff_cache[key] = [found] if found is not None else []
    people = staff_cache[key]
    if not people:
        return [Recipient(_("nobody"), label, _("Nobody holds this role in the record's store.")
                          if to.startswith("role:") else _("No owner and no store manager."))]
    out = []
    for person in people:
        skipped = None
        if channel == "email" and not person.email:
            skipped = _("No email address.")
        elif channel == "sms" and not person.mobile:
            skipped = _("No mobile number.")
        out.append(Recipient(person.display_name, label, skipped))
    return out
