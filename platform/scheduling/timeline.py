"""Appointments on the customer's timeline and the scheduling KPIs (waiting time, no-show rate)."""
from __future__ import annotations

from datetime import datetime, time

from flask import g, has_request_context
from flask_babel import gettext as _
from sqlalchemy import func, select

from ..calendar import tenant_zone
from ..extensions import db
from ..hooks.contrib import TimelineEntry, TimelineSource
from .booking import status_label
from .models import Appointment, ServiceType


def _appointments(customer_id):
    return (select(Appointment.starts_at.label("at"), func.jsonb_build_object(
        "id", Appointment.id, "service", ServiceType.name, "status", Appointment.status).label("data"))
        .join(ServiceType, (ServiceType.tenant_id == Appointment.tenant_id)
              & (ServiceType.id == Appointment.service_type_id))
        .where(Appointment.customer_id == customer_id))


def _appointment(at, data) -> TimelineEntry:
    return TimelineEntry(at, "appointment", _("Appointment: %(service)s", service=data["service"]),
                         status_label(data["status"]), f"/scheduling/appointments/{data['id']}", None)


SOURCES = [TimelineSource("scheduling.appointments", "appointment", _appointments, _appointment)]


def month_figures(user) -> dict:
    """This month's waiting times (booked, walk-in; minutes) and no-show rate, in one query, once per request."""
    cache = g.setdefault("_scheduling_kpis", {}) if has_request_context() else {}
    if user.id in cache:
        return cache[user.id]
    zone = tenant_zone()
    month_start = datetime.combine(datetime.now(zone).date().replace(day=1), time(0), tzinfo=zone)
    wait = func.extract("epoch", Appointment.completed_at - Appointment.arrived_at) / 60
    finished = (Appointment.status == "done") & Appointment.arrived_at.is_not(None) & (
        Appointment.completed_at >= month_start)
    booked_this_month = Appointment.walk_in.is_(False) & (Appointment.starts_at >= month_start)
    query = select(func.avg(wait).filter(finished & Appointment.walk_in.is_(False)),
                   func.avg(wait).filter(finished & Appointment.walk_in.is_(True)),
                   func.count().filter(booked_this_month & (Appointment.status == "no_show")),
                   func.count().filter(booked_this_month & Appointment.status.in_(
                       ("done", "no_show", "arrived", "in_service"))))
    if not user.sees_all_stores:
        query = query.where(Appointment.store_id.in_(user.store_ids))
    booked, walk_in, no_show, due = db.session.execute(query).one()
    cache[user.id] = {"wait_booked": None if booked is None else round(float(booked)),
                      "wait_walk_in": None if walk_in is None else round(float(walk_in)),
                      "no_show_rate": "—" if not due else f"{100 * no_show / due:.0f}%"}
    return cache[user.id]


def average_wait(user, walk_in: bool) -> int | None:
    """Average minutes from arrival to done this month (tenant zone), for appointments or walk-ins."""
    return month_figures(user)["wait_walk_in" if walk_in else "wait_booked"]


def no_show_rate(user) -> str:
    """No-shows among this month's booked appointments whose time has come (came or did not), as a percentage."""
    return month_figures(user)["no_show_rate"]
