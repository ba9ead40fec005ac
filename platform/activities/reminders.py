"""Task reminders: the timer of a task tells its assignee, in the bell and by email, in their language."""
from __future__ import annotations

from flask import current_app
from flask_babel import force_locale, format_datetime, gettext as _

from ..notifications.services import notify_user
from ..notifications.timers import handler
from ..tenancy.context import current_tenant
from ..tenancy.models import get_scoped
from .models import Task


@handler("task.reminder")
def remind(timer) -> None:
    from ..tenancy.services import current_tenant_row
    from ..users.models import User

    task = get_scoped(Task, timer.payload.get("task_id"))
    if task is None or task.status != "open":
        return
    assignee = get_scoped(User, task.assignee_id)
    if assignee is None or not assignee.active:
        return
    tenant = current_tenant()
    url = f"{current_app.config['STORECRM'].base_url}/t/{tenant.slug}/tasks/"
    with force_locale(assignee.locale or current_tenant_row().locale):
        title = _("Reminder: %(title)s", title=task.title)
        body = _("Due %(when)s", when=format_datetime(task.due_at, "short")) if task.due_at else None
        notify_user(assignee, title, body, url, dedupe_key=f"{timer.key}:{timer.due_at.isoformat()}")
