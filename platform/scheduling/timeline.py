"""Appointments on the customer's timeline and the scheduling KPIs (waiting time, no-show rate)."""
from __future__ import annotations

from datetime import datetime, time

from flask_babel import gettext as _
from sqlalchemy import func, select

from ..calendar import tenant_today, tenant_zone
from ..extensions import db
from ..hooks.contrib import TimelineEntry
from .booking import status_label
from .models import Appointment, ServiceType


def timeline_entries(customer, before, limit) -> list[TimelineEntry]:
    query = (select(Appointment, ServiceType.name)
             .join(ServiceType, (ServiceType.tenant_id == Appointment.tenant_id)
                   & (ServiceType.id == Appointment.service_type_id))
             .where(Appointment.customer_id == customer.id).order_by(Appointment.starts_at.desc()).limit(limit))
    if before is not None:
        query = query.where(Appointment.starts_at < before)
    return [TimelineEntry(a.starts_at, "appointment", _("Appointment: %(service)s", service=name),
                          status_label(a.status), f"/scheduling/appointments/{a.id}", None)
            for a, name in db.session.execute(query)]


def _month_start() -> datetime:
    return datetime.combine(tenant_today().replace(day=1), time(0), tzinfo=tenant_zone())


def _visible(query, user):
    if not user.sees_all_stores:
        query = query.where(Appointment.store_id.in_(user.store_ids))
    return query


def average_wait(user, walk_in: bool) -> int | None:
    """Average minutes from arrival to done this month (tenant zone), for appointments or walk-ins."""
    minutes = func.avg(func.extract("epoch", Appointment.completed_at - Appointment.arrived_at) / 60)
    value = db.session.scalar(_visible(select(minutes).where(
        Appointment.status == "done", Appointment.walk_in.is_(walk_in), Appointment.arrived_at.is_not(None),
        Appointment.completed_at >= _month_start()), user))
    return None if value is None else round(float(value))


def no_show_rate(user) -> str:
    """No-shows among this month's booked appointments whose time has come (done, no-show), as a percentage."""
    row = db.session.execute(_visible(select(
        func.count().filter(Appointment.status == "no_show"),
        func.count().filter(Appointment.status.in_(("done", "no_show", "arrived", "in_service"))))
        .where(Appointment.walk_in.is_(False), Appointment.starts_at >= _month_start()), user)).one()
    no_show, due = row
    return "—" if not due else f"{100 * no_show / due:.0f}%"


