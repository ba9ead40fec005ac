"""What activities put on a customer's timeline (through the core's `customer_timeline` hook): interactions, tasks."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from ..extensions import db
from ..hooks.contrib import TimelineEntry
from ..users.models import User
from .models import Interaction, Task

# a task's status, shown where an entry names its actor
STATUS = {"open": _l("Task open"), "done": _l("Task done"), "cancelled": _l("Task cancelled")}


def timeline_entries(customer, before, limit) -> list[TimelineEntry]:
    """Up to `limit` interactions and `limit` tasks of the customer older than `before`, as timeline entries."""
    return _interactions(customer, before, limit) + _tasks(customer, before, limit)


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
    return [TimelineEntry(t.created_at, "task", t.title, t.notes, None, str(STATUS.get(t.status, t.status)))
            for t in db.session.scalars(query)]
