"""The core's own home-page widget: the signed-in person's day (tasks due today and overdue), in one query."""
from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

from sqlalchemy import and_, select

from ..activities.models import Task
from .periods import report_today, report_zone
from ..customers.models import Customer
from ..extensions import db
from ..tenancy.models import utcnow

LIMIT = 8


def my_day(user) -> dict:
    """Open tasks of `user` due before tomorrow (local midnight), soonest first, with their customer's name; and how
    many of them are overdue."""
    tomorrow = datetime.combine(report_today() + timedelta(days=1), time(), report_zone()).astimezone(timezone.utc)
    rows = db.session.execute(
        select(Task, Customer.name)
        .outerjoin(Customer, and_(Customer.tenant_id == Task.tenant_id, Customer.id == Task.customer_id))
        .where(Task.assignee_id == user.id, Task.status == "open", Task.due_at < tomorrow)
        .order_by(Task.due_at, Task.id).limit(LIMIT + 1)).all()
    now = utcnow()
    tasks = [(task, name) for task, name in rows[:LIMIT]]
    return {"tasks": tasks, "more": len(rows) > LIMIT, "overdue": sum(1 for t, _n in tasks if t.due_at < now)}
