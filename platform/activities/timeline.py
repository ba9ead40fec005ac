"""What activities put on a customer's timeline (`TimelineSource`s the core unions): interactions, tasks."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from ..hooks.contrib import TimelineEntry, TimelineSource
from ..users.models import User
from .models import Interaction, Task

# a task's status, shown where an entry names its actor
STATUS = {"open": _l("Task open"), "done": _l("Task done"), "cancelled": _l("Task cancelled")}


def _interactions(customer_id):
    return (select(Interaction.occurred_at.label("at"), func.jsonb_build_object(
        "kind", Interaction.kind, "body", Interaction.body, "by", User.display_name).label("data"))
        .outerjoin(User, (User.tenant_id == Interaction.tenant_id) & (User.id == Interaction.user_id))
        .where(Interaction.customer_id == customer_id))


def _interaction(at, data) -> TimelineEntry:
    return TimelineEntry(at, f"interaction:{data['kind']}", data["kind"], data["body"], None, data["by"])


def _tasks(customer_id):
    return (select(Task.created_at.label("at"), func.jsonb_build_object(
        "title", Task.title, "notes", Task.notes, "status", Task.status).label("data"))
        .where(Task.customer_id == customer_id))


def _task(at, data) -> TimelineEntry:
    return TimelineEntry(at, "task", data["title"], data["notes"], None,
                         str(STATUS.get(data["status"], data["status"])))


SOURCES = [TimelineSource("activities.interactions", "interaction", _interactions, _interaction),
           TimelineSource("activities.tasks", "task", _tasks, _task)]
