"""Logging interactions and managing tasks; times are stored in UTC, entered in the tenant's zone."""
from __future__ import annotations

from datetime import datetime, timezone

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from ..audit.services import record, record_changes, snapshot
from ..customers.models import Customer
from ..customers.services import get_customer
from ..events import TaskCreated, emit
from ..extensions import db
from ..tenancy.models import get_scoped, utcnow
from ..timers import cancel, schedule
from ..users.models import User
from ..web.i18n import tenant_zone
from .models import Interaction, Task


def _aware(value: datetime | None) -> datetime | None:
    """A time typed without zone means the tenant's local time."""
    if value is None or value.tzinfo is not None:
        return value
    return value.replace(tzinfo=tenant_zone()).astimezone(timezone.utc)


def log_interaction(user, customer, data: dict) -> Interaction:
    """Record a call, visit, message or note with `customer` by `user`; it shows on the customer's timeline."""
    item = Interaction(customer_id=customer.id, user_id=user.id if user else None, kind=data["kind"],
                       body=data["body"], occurred_at=_aware(data.get("occurred_at")) or utcnow())
    db.session.add(item)
    db.session.flush()
    record("create", "interaction", item.id, f"{customer.name}: {data['kind']}")
    return item


def interactions_of(customer_id: int, limit: int = 50) -> list[Interaction]:
    return list(db.session.scalars(select(Interaction).where(Interaction.customer_id == customer_id)
                                   .order_by(Interaction.occurred_at.desc()).limit(limit)))


def _check_task(user, data: dict) -> None:
    errors = {}
    assignee = get_scoped(User, data.get("assignee_id")) if data.get("assignee_id") else None
    if data.get("assignee_id") and (assignee is None or not assignee.active):
        errors["assignee_id"] = [_("Choose an active staff member.")]
    if data.get("customer_id") and get_customer(user, data["customer_id"]) is None:
        errors["customer_id"] = [_("No such customer among the ones you may see.")]
    if errors:
        raise ValidationError(errors)


def create_task(user, data: dict, *, related: tuple[str, int] | None = None) -> Task:
    """Create a task (title, due_at, assignee_id, customer_id …) for staff; `related=(kind, id)` links it to a record. Notifies the assignee through the outbox."""
    _check_task(user, data)
    task = Task(title=data["title"], notes=data.get("notes"), due_at=_aware(data.get("due_at")),
                remind_at=_aware(data.get("remind_at")),
                assignee_id=data.get("assignee_id") or user.id, customer_id=data.get("customer_id"),
                priority=data.get("priority", "normal"), status="open", created_by_id=user.id if user else None)
    if related:
        task.related_type, task.related_id = related
    db.session.add(task)
    db.session.flush()
    record("create", "task", task.id, task.title, after=snapshot(task))
    _sync_reminder(task)
    emit(TaskCreated(task))
    return task


def _sync_reminder(task: Task) -> None:
    """One timer per task, moved with its reminder time; none once the task is done or cancelled."""
    key = f"task:{task.id}:reminder"
    if task.status == "open" and task.remind_at is not None:
        schedule(key, "task.reminder", task.remind_at, {"task_id": task.id})
    else:
        cancel(key)


def update_task(user, task: Task, data: dict) -> Task:
    """Change a task (status, due date, assignee …) as `user`; validated and audited."""
    _check_task(user, data)
    before = snapshot(task)
    for key in ("title", "notes", "priority", "assignee_id", "customer_id"):
        if key in data and data[key] is not None:
            setattr(task, key, data[key])
    if "due_at" in data:
        task.due_at = _aware(data["due_at"])
    if "remind_at" in data:
        task.remind_at = _aware(data["remind_at"])
    if data.get("status") and data["status"] != task.status:
        task.status = data["status"]
        task.done_at = utcnow() if task.status == "done" else None
    record_changes("task", task, before, task.title)
    _sync_reminder(task)
    return task


def visible_task(user, task_id) -> Task | None:
    """A task its assignee or creator may see, or anyone who may see its customer."""
    task = get_scoped(Task, task_id)
    if task is None:
        return None
    if user.sees_all_stores or user.id in (task.assignee_id, task.created_by_id):
        return task
    if task.customer_id and get_customer(user, task.customer_id) is not None:
        return task
    return None


def my_tasks(user, *, include_done: bool = False, limit: int = 200) -> list[Task]:
    query = select(Task).where(Task.assignee_id == user.id)
    if not include_done:
        query = query.where(Task.status == "open")
    # open tasks by due time (those without a due time last), newest first among the rest
    return list(db.session.scalars(query.order_by(Task.due_at.asc().nulls_last(), Task.id.desc()).limit(limit)))


def open_tasks_query(customer_id):
    """The select of `open_tasks_of_customer` (`customer_id`: a value or a bound parameter)."""
    return (select(Task).where(Task.customer_id == customer_id, Task.status == "open")
            .order_by(Task.due_at.asc().nulls_last()))


def open_tasks_of_customer(customer_id: int) -> list[Task]:
    return list(db.session.scalars(open_tasks_query(customer_id)))


def customer_names(ids: set[int]) -> dict[int, str]:
    """Names for a list of tasks, in one query."""
    if not ids:
        return {}
    return dict(db.session.execute(select(Customer.id, Customer.name).where(Customer.id.in_(ids))).all())
