"""Merging two leads of one person by hand, and handing an advisor's open leads over when they leave.

Both move rows in one statement each (history, follow-up tasks, enquiries, deliveries) inside the caller's
transaction, so a refused step leaves everything as it was, and both are written to the audit log."""
from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from flask_babel import force_locale, ngettext
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select, update

from .. import timers
from ..activities.models import Task
from ..audit.services import record
from ..extensions import db
from ..notifications.services import notify_user
from ..tenancy.models import current_tenant_row, get_scoped, utcnow
from ..users.models import User
from . import assignment
from .models import OPEN, Lead, LeadDelivery, LeadHistory
from .services import _enter, _give, _history, _pool_key, _sla_key, lead_url


def merge(user, survivor: Lead, merged: Lead, *, now: datetime | None = None) -> Lead:
    """Fold `merged` into `survivor`: its history, follow-up tasks, enquiries and webhook deliveries move over; it
    is closed (lost, reason "merged") and points at the survivor. Refused for the same lead, a lead of another
    tenant (not found, like a wrong id) and two leads of different customers."""
    if merged is None or survivor is None:
        raise ValidationError({"other_id": [_("Choose a lead of this company.")]})
    if merged.id == survivor.id:
        raise ValidationError({"other_id": [_("Choose another lead: a lead cannot be merged into itself.")]})
    if merged.tenant_id != survivor.tenant_id:  # get_scoped already refuses; a belt for callers passing rows
        raise ValidationError({"other_id": [_("Choose a lead of this company.")]})
    if merged.customer_id and survivor.customer_id and merged.customer_id != survivor.customer_id:
        raise ValidationError({"other_id": [_("These leads belong to different customers and cannot be merged.")]})
    if merged.merged_into_id is not None:
        raise ValidationError({"other_id": [_("That lead has already been merged into another one.")]})
    now = now or utcnow()
    moved = db.session.execute(update(LeadHistory).where(LeadHistory.lead_id == merged.id)
                               .values(lead_id=survivor.id).execution_options(synchronize_session=False)).rowcount
    tasks = db.session.execute(update(Task).where(Task.related_type == "lead", Task.related_id == merged.id)
                               .values(related_id=survivor.id).execution_options(synchronize_session=False)).rowcount
    db.session.execute(update(LeadDelivery).where(LeadDelivery.lead_id == merged.id)
                       .values(lead_id=survivor.id).execution_options(synchronize_session=False))
    survivor.enquiries += merged.enquiries
    survivor.last_enquiry_at = max(survivor.last_enquiry_at, merged.last_enquiry_at)
    survivor.customer_id = survivor.customer_id or merged.customer_id
    survivor.interest = survivor.interest or merged.interest
    survivor.region = survivor.region or merged.region
    if survivor.first_contacted_at is None and merged.first_contacted_at is not None:
        survivor.first_contacted_at = merged.first_contacted_at
    before = merged.status
    merged.status, merged.lost_reason, merged.closed_at, merged.stage_id = "lost", "merged", now, None
    merged.pooled_at = merged.pool = merged.pool_reason = None
    merged.merged_into_id = survivor.id
    timers.cancel(_sla_key(merged))
    timers.cancel(_pool_key(merged))
    db.session.flush()
    if before in OPEN:
        _enter(merged, now)
    _history(survivor, "merged", user, at=now, merged_id=merged.id, merged_name=merged.name,
             merged_mobile=merged.mobile, history=moved, tasks=tasks, **{"from": before})
    record("merge", "lead", survivor.id, f"lead #{merged.id} ({merged.name}) → #{survivor.id} ({survivor.name}): "
                                         f"{moved} history lines, {tasks} tasks")
    db.session.flush()
    return survivor


def handover(user, from_user_id, to_user_id=None, *, now: datetime | None = None) -> dict:
    """All open leads of one person (an advisor who leaves) to another active person, or — `to_user_id` None —
    through the assignment rules (round robin …) lead by lead. Their open follow-up tasks go with them. Each new
    owner gets one bell + email (outbox) naming how many leads they received. Returns {new owner id: count}."""
    leaving = get_scoped(User, from_user_id)
    if leaving is None:
        raise ValidationError({"from_user_id": [_("Choose an active staff member.")]})
    target = None
    if to_user_id is not None:
        target = get_scoped(User, to_user_id)
        if target is None or not target.active:
            raise ValidationError({"to_user_id": [_("Choose an active staff member.")]})
        if target.id == leaving.id:
            raise ValidationError({"to_user_id": [_("Choose somebody else than the person leaving.")]})
    now = now or utcnow()
    leads = list(db.session.scalars(select(Lead).where(Lead.owner_id == leaving.id, Lead.status.in_(OPEN))
                                    .order_by(Lead.id).with_for_update()))
    given: dict[int, list[Lead]] = defaultdict(list)
    for lead in leads:
        owner = target
        if owner is None:
            chosen, _rule, _how = assignment.choose(lead, now, exclude=frozenset({leaving.id}))
            owner = chosen
        if owner is None:
            raise ValidationError({"to_user_id": [_("Nobody is available to take over lead %(name)s; choose a "
                                                    "person.", name=lead.name)]})
        _give(lead, owner, user, now, how="handover", notify=False)
        _history(lead, "handed_over", user, at=now, from_user_id=leaving.id, owner_id=owner.id)
        db.session.execute(update(Task).where(Task.related_type == "lead", Task.related_id == lead.id,
                                              Task.assignee_id == leaving.id, Task.status == "open")
                           .values(assignee_id=owner.id).execution_options(synchronize_session=False))
        given[owner.id].append(lead)
    for owner_id, theirs in given.items():
        _tell_new_owner(get_scoped(User, owner_id), leaving, theirs, now)
    record("update", "user", leaving.id, f"leads handed over: {len(leads)} → "
                                         + ", ".join(f"#{k} ×{len(v)}" for k, v in given.items()))
    db.session.flush()
    return {k: len(v) for k, v in given.items()}


def _tell_new_owner(owner: User | None, leaving: User, leads: list[Lead], now: datetime) -> None:
    """One bell + email (through the outbox) per new owner, in their language: how many leads, from whom."""
    if owner is None or not owner.active:
        return
    with force_locale(owner.locale or current_tenant_row().locale or "zh_CN"):
        title = ngettext("%(num)s lead handed over to you from %(name)s",
                         "%(num)s leads handed over to you from %(name)s", len(leads), name=leaving.display_name)
        body = ", ".join(lead.name for lead in leads[:10]) + (" …" if len(leads) > 10 else "")
    link = lead_url(leads[0]) if len(leads) == 1 else lead_url(leads[0]).rsplit("/", 1)[0] + "/mine"
    notify_user(owner, title, body, link, dedupe_key=f"lead-handover:{leaving.id}:{owner.id}:{now.isoformat()}")
