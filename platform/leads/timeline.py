"""Leads on the customer's timeline, and the leads KPIs for the home page and reports."""
from __future__ import annotations

from datetime import datetime, time

from flask import g
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..calendar import tenant_today, tenant_zone
from ..extensions import db
from ..hooks.contrib import TimelineEntry, TimelineSource
from .models import Lead, LeadHistory
from .services import HISTORY_LABELS, STATUS_LABELS, label, visible


def _history(customer_id):
    """The history of the customer's leads (captured, enquiries, status changes, follow-ups, conversion)."""
    return (select(LeadHistory.at.label("at"), func.jsonb_build_object(
        "lead", LeadHistory.lead_id, "kind", LeadHistory.kind, "to", LeadHistory.data["to"], "body", LeadHistory.body,
        "interest", Lead.interest, "name", Lead.name).label("data"))
        .join(Lead, (Lead.tenant_id == LeadHistory.tenant_id) & (Lead.id == LeadHistory.lead_id))
        .where(Lead.customer_id == customer_id))


def _entry(at, data) -> TimelineEntry:
    title = _("Lead: %(what)s", what=label(HISTORY_LABELS, data["kind"]))
    to = data["to"]
    detail = " · ".join(p for p in (data["interest"] or data["name"], label(STATUS_LABELS, to) if to else None,
                                    data["body"]) if p)
    return TimelineEntry(at, "lead", title, detail or None, f"/leads/{data['lead']}", None)


SOURCES = [TimelineSource("leads.history", "lead", _history, _entry)]


def _month_start() -> datetime:
    return datetime.combine(tenant_today().replace(day=1), time(0), tzinfo=tenant_zone())


def _this_month(user) -> tuple[int, int, float | None]:
    """(leads captured, won, average minutes to first contact) this month: one query per request for all three
    KPIs (the home page shows them together)."""
    cache = g.setdefault("_lead_kpis", {})
    if user.id not in cache:
        minutes = func.avg(func.extract("epoch", Lead.first_contacted_at - Lead.created_at) / 60)
        cache[user.id] = tuple(db.session.execute(visible(user, select(
            func.count(), func.count().filter(Lead.status == "won"), minutes)
            .select_from(Lead).where(Lead.created_at >= _month_start()))).one())
    return cache[user.id]


def new_this_month(user) -> int:
    return _this_month(user)[0] or 0


def conversion_this_month(user) -> str:
    total, won, _avg = _this_month(user)
    return "—" if not total else f"{100 * won / total:.0f}%"


def average_first_contact(user) -> int | None:
    value = _this_month(user)[2]
    return None if value is None else round(float(value))
