"""The public booking page of a store (no login, phone-first, zh_CN by default) and the customer's manage page.

A store's page is opened by a signed link (`tokens.store_token`); a booking answers with a signed manage link. The
pages show nothing about any customer: the same confirmation follows whether the mobile was known or new, and the
manage page shows the service, store and time only. POSTs are rate limited per address, and a honeypot field
catches simple bots."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from ..calendar import tenant_today
from ..extensions import limiter
from ..stores.models import Store
from ..tenancy.models import as_id, get_scoped
from ..web.forms import flatten_errors
from ..web.transactions import refuse
from . import booking, setup
from .availability import availability
from .models import Appointment, ServiceType
from .tokens import appointment_from_token, manage_token, store_from_token
from .views import WEEKDAYS

bp = Blueprint("booking", __name__, url_prefix="/book")
bp.context_processor(lambda: {"weekday_labels": WEEKDAYS, "status_label": booking.status_label})
LIMIT = "10 per minute;60 per hour"
DAYS_SHOWN = 7


def _store(token: str) -> Store:
    store = get_scoped(Store, store_from_token(token))
    if store is None or not store.active:
        abort(404)
    return store


def _day() -> date:
    today = tenant_today()
    try:
        chosen = date.fromisoformat(request.values.get("date", ""))
    except ValueError:
        return today
    return chosen if today <= chosen <= today + timedelta(days=90) else today


@bp.route("/<token>", methods=["GET", "POST"])
@limiter.limit(LIMIT, methods=["POST"])
def page(token):
    store = _store(token)
    services = setup.list_service_types(active_only=True, public_only=True)
    service = next((s for s in services if s.id == as_id(request.values.get("service_type_id"))), None)
    the_day = _day()
    values, errors = request.form.to_dict(), {}
    if request.method == "POST":
        if request.form.get("website"):  # the honeypot: people never see this field
            refuse()
            abort(400)
        try:
            start = _start(request.form.get("starts_at"))
            if service is None:
                raise ValidationError({"service_type_id": [_("Choose a service.")]})
            if start is None:
                raise ValidationError({"starts_at": [_("Choose a free time.")]})
            customer = booking.customer_for_booking(None, store, request.form.get("name", ""),
                                                    request.form.get("mobile", ""))
            appointment = booking.book(None, {"store_id": store.id, "service_type_id": service.id,
                                              "customer_id": customer.id, "starts_at": start,
                                              "notes": (request.form.get("notes") or "")[:500] or None},
                                       source="public")
            booking.message_customer(appointment, "appointment.booked", f"appointment:{appointment.id}:booked")
        except ValidationError as err:
            refuse()
            errors = flatten_errors(err.messages)
        else:
            return redirect(url_for("booking.manage", token=manage_token(appointment.id), new=1))
    slots = availability(store, service, the_day) if service is not None else []
    today = tenant_today()
    return render_template("scheduling/public_book.html", store=store, token=token, services=services,
                           service=service, day=the_day, slots=slots, values=values, errors=errors,
                           days=[today + timedelta(days=n) for n in range(DAYS_SHOWN)]), 422 if errors else 200


def _start(raw: str | None) -> datetime | None:
    try:
        value = datetime.fromisoformat(raw or "")
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


def _appointment(token: str) -> Appointment:
    appointment = get_scoped(Appointment, appointment_from_token(token))
    if appointment is None:
        abort(404)
    return appointment


@bp.get("/manage/<token>")
def manage(token):
    appointment = _appointment(token)
    return render_template("scheduling/public_manage.html", appt=appointment, token=token,
                           store=get_scoped(Store, appointment.store_id),
                           service=get_scoped(ServiceType, appointment.service_type_id),
                           new=request.args.get("new") == "1", can_cancel=appointment.status in ("booked", "confirmed"))


@bp.post("/manage/<token>/cancel")
@limiter.limit(LIMIT)
def cancel(token):
    appointment = _appointment(token)
    if appointment.status in ("booked", "confirmed"):
        booking.act(None, appointment, "cancel", reason=_("Cancelled by the customer"))
    return redirect(url_for("booking.manage", token=token))
