"""The weekly e-mail digest: users who opted in get, once a week, their role's KPIs over the last full week
(Monday–Sunday in the tenant's zone) against the week before, through the outbox.

The job may run every hour and on two schedulers at once: each subscriber's week is claimed with a conditional
UPDATE (`last_week < this week`), so exactly one run sends it, and the outbox's dedupe key guards a second time.
The KPIs are the ones of the user's home workbench, computed for that user (their stores, inside the SQL).
"""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy import or_, select, update

from ..extensions import db
from ..notifications.outbox import send
from ..tenancy.models import current_tenant_row, get_scoped
from ..users.models import User
from . import engine, services
from .models import ReportDigest
from .periods import period_of, report_today


def subscribed(user) -> bool:
    return db.session.scalar(select(ReportDigest.id).where(ReportDigest.user_id == user.id)) is not None


def subscribe(user, on: bool) -> None:
    """Opt in or out of the weekly digest (needs an e-mail address to arrive; staff without one get nothing)."""
    row = db.session.scalar(select(ReportDigest).where(ReportDigest.user_id == user.id))
    if on and row is None:
        # the running week counts as sent: the first digest is the one after the week the user opted in
        db.session.add(ReportDigest(user_id=user.id, last_week=_monday(report_today())))
    elif not on and row is not None:
        db.session.delete(row)
    db.session.flush()


def _monday(day: date) -> date:
    return day - timedelta(days=day.weekday())


def send_digests(today: date | None = None) -> int:
    """Send last week's digest to every subscriber not yet sent this week; returns how many were sent."""
    this_week = _monday(today or report_today())
    last_week = period_of("week", this_week - timedelta(days=7))
    sent = 0
    claimed = db.session.scalars(
        update(ReportDigest).where(or_(ReportDigest.last_week.is_(None), ReportDigest.last_week < this_week))
        .values(last_week=this_week).returning(ReportDigest.user_id)).all()
    for user_id in claimed:
        user = get_scoped(User, user_id)
        if user is None or not user.active or not user.email or not user.has_permission("reports.view"):
            continue
        with force_locale(user.locale or current_tenant_row().locale or "zh_CN"):
            subject, body = _compose(user, last_week)
        if send("email", user.email, subject, body, dedupe_key=f"digest:{user.id}:{this_week.isoformat()}"):
            sent += 1
    return sent


def _compose(user, week) -> tuple[str, str]:
    board = services.home_dashboard(user)
    items = board.items if board is not None else services.default_items(user)
    wanted = {i["code"] for i in items if i["kind"] == "kpi"}
    kpis = [k for k in engine.kpis_for(user, engine_only=True) if k.code in wanted]
    results = engine.evaluate(kpis, engine.scope_for(user, week)) if kpis else {}
    lines = [_("Your KPIs for the week %(first)s – %(last)s, against the week before:",
               first=week.first.isoformat(), last=week.last.isoformat()), ""]
    before = _("week before")
    for kpi in kpis:
        r = results[kpi.code]
        lines.append(f"· {kpi.label}: {_show(r.value)} ({before}: {_show(r.previous)})")
    if not kpis:
        lines.append(_("No KPIs are set for your role."))
    return _("Weekly report %(first)s – %(last)s", first=week.first.isoformat(), last=week.last.isoformat()), \
        "\n".join(lines)


def _show(value) -> str:
    return "–" if value is None else str(value)
