"""Task reminders: the timer of a task tells its assignee, in the bell and by email, in their language."""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, format_datetime

from ..activities.models import Task
from ..customers.models import Customer
from ..notifications.templates import params_of, render
from ..tenancy.context import current_tenant
from ..tenancy.models import current_tenant_row, get_scoped
from ..timers import handler
from ..users.models import User
from .services import notify_user


@handler("task.reminder")
def remind(timer) -> None:
    task = get_scoped(Task, timer.payload.get("task_id"))
    if task is None or task.status != "open":
        return
    assignee = get_scoped(User, task.assignee_id)
    if assignee is None or not assignee.active:
        return

    tenant = current_tenant()
    url = f"{current_app.config['STORECRM'].base_url}/t/{tenant.slug}/tasks/"
    customer = get_scoped(Customer, task.customer_id) if task.customer_id else None
    locale = assignee.locale or current_tenant_row().locale
    with force_locale(locale):
        due = format_datetime(task.due_at, "short") if task.due_at else "—"
        variables = {"task_title": task.title, "due": due, "link": url,
                     "customer_name": customer.name if customer else "—"}
        title, body = render("task.reminder", locale, variables)
        notify_user(assignee, title, body, url, dedupe_key=f"{timer.key}:{timer.due_at.isoformat()}",
                    template="task.reminder", params=params_of("task.reminder", variables))
