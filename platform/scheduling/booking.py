"""Booking and the appointment's life: book, reschedule, confirm, arrive, start, complete, no-show, cancel.

Availability (`Board`) decides what to try; the database decides who wins. Each candidate (staff member, resource
unit) is tried in a savepoint; an exclusion violation (SQLSTATE 23P01) means someone else just took it, so the next
candidate is tried, and when none is left the caller gets `SlotTaken` with the next free slots — never a 500."""
from __future__ import annotations

from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError, OperationalError

from .. import events as ev
from .. import timers
from ..assets.models import Asset
from ..audit.services import record
from ..calendar import tenant_zone
from ..customers import identities
from ..customers.models import Customer
from ..customers.services import create_customer
from ..events import emit
from ..extensions import db
from ..hooks.runtime import tenant_hook
from ..notifications.templates import send_template
from ..stores.models import Store
from ..tenancy.context import current_tenant
from ..tenancy.models import current_tenant_row, get_scoped, utcnow
from ..users.models import User
from .availability import Board, Slot, next_slots
from .models import Appointment, Resource, ServiceType
from .roster import day_bounds
from .tokens import manage_token

EXCLUSION_VIOLATION = "23P01"
DEADLOCK_DETECTED = "40P01"
DEADLOCK_RETRIES = 3
REMINDERS = (("24h", timedelta(hours=24)), ("2h", timedelta(hours=2)))

# action -> (statuses it may start from, status it leads to, event)
TRANSITIONS = {
    "confirm": (("booked",), "confirmed", ev.AppointmentConfirmed),
    "arrive": (("booked", "confirmed"), "arrived", ev.AppointmentArrived),
    "start": (("arrived",), "in_service", ev.AppointmentStarted),
    "complete": (("arrived", "in_service"), "done", ev.AppointmentCompleted),
    "no_show": (("booked", "confirmed"), "no_show", ev.AppointmentNoShow),
    "cancel": (("booked", "confirmed"), "cancelled", ev.AppointmentCancelled),
}


class SlotTaken(ValidationError):
    """The chosen time is not free (any more); `next_slots` are the first free ones after it."""

    def __init__(self, next_free: list[Slot]):
        super().__init__({"starts_at": [_("This time was just taken. Please choose another time.")]})
        self.next_slots = next_free


def _store_for(user, store_id) -> Store | None:
    store = get_scoped(Store, store_id)
    if store is None or not store.active:
        return None
    if user is not None and not (user.sees_all_stores or store.id in user.store_ids):
        return None
    return store


def _references(user, data: dict) -> dict:
    """Every id in `data` looked up in this tenant; errors by field (another tenant's ids do not exist)."""
    errors, found = {}, {}
    found["store"] = _store_for(user, data.get("store_id"))
    if found["store"] is None:
        errors["store_id"] = [_("Choose one of your stores.")]
    service = get_scoped(ServiceType, data.get("service_type_id"))
    if service is None or not service.active:
        errors["service_type_id"] = [_("Choose an active service.")]
    found["service"] = service
    customer = get_scoped(Customer, data.get("customer_id"))
    if customer is None or customer.deleted_at is not None:
        errors["customer_id"] = [_("Choose an existing customer.")]
    found["customer"] = customer
    if data.get("asset_id") is not None:
        asset = get_scoped(Asset, data["asset_id"])
        if asset is None or asset.deleted_at is not None or customer is None or asset.customer_id != customer.id:
            errors["asset_id"] = [_("Choose one of this customer's assets.")]
    if data.get("staff_id") is not None:
        staff = get_scoped(User, data["staff_id"])
        if staff is None or not staff.active:
            errors["staff_id"] = [_("Choose an active staff member.")]
    if data.get("resource_id") is not None:
        resource = get_scoped(Resource, data["resource_id"])
        if (resource is None or not resource.active or found["store"] is None
                or resource.store_id != found["store"].id
                or (service is not None and resource.kind != service.resource_kind)):
            errors["resource_id"] = [_("Choose a resource of this store that the service uses.")]
    if errors:
        raise ValidationError(errors)
    return found


def _day_load(staff_ids: list[int], start: datetime) -> dict[int, int]:
    """Live appointments of each staff member on the tenant day of `start` (fewest first when choosing)."""
    if not staff_ids:
        return {}
    day = start.astimezone(tenant_zone()).date()
    lo, hi = day_bounds(day, tenant_zone())
    rows = db.session.execute(select(Appointment.staff_id, func.count()).where(
        Appointment.staff_id.in_(staff_ids), Appointment.starts_at >= lo, Appointment.starts_at < hi,
        Appointment.status.notin_(("cancelled", "no_show"))).group_by(Appointment.staff_id))
    return dict(rows.all())


def _candidates(options, staff_id, needs_staff, start):
    staff, units = options
    if staff_id is not None:
        staff = [staff_id] if staff_id in staff else []
    elif needs_staff:
        load = _day_load(staff, start)
        staff = sorted(staff, key=lambda u: (load.get(u, 0), u))
    return (staff if needs_staff else [None]), (units or [(None, None)])


def _place(appointment: Appointment, staff_ids, units, values: dict) -> bool:
    """Give the appointment `values` and the first (staff, unit) the database accepts; False if every one is taken.
    A failed attempt's savepoint rollback expires a persistent appointment's changes, so each attempt sets them.
    Concurrent inserters checking the same exclusion index can deadlock (40P01): PostgreSQL aborts one statement,
    the savepoint is rolled back and the same candidate is tried again (the winner has committed or is waited for)."""
    new = appointment not in db.session
    for staff in staff_ids:
        for resource, unit in units:
            outcome = None
            for _attempt in range(DEADLOCK_RETRIES):
                outcome = _attempt_place(appointment, staff, resource, unit, values, new)
                if outcome != "deadlock":
                    break
            if outcome == "placed":
                return True
            if outcome == "staff_taken":
                break  # this person is taken; other units will not help
    return False


def _attempt_place(appointment, staff, resource, unit, values, new) -> str:
    try:
        # changes are made inside the savepoint: begin_nested() flushes what is pending first, and a refused
        # UPDATE flushed there would fail the whole transaction instead of this attempt
        with db.session.begin_nested():
            for key, value in values.items():
                setattr(appointment, key, value)
            appointment.staff_id, appointment.resource_id, appointment.resource_unit = staff, resource, unit
            db.session.add(appointment)
            db.session.flush()
        return "placed"
    except (IntegrityError, OperationalError) as err:
        code = getattr(err.orig, "pgcode", None)
        if code not in (EXCLUSION_VIOLATION, DEADLOCK_DETECTED):
            raise
        if new and appointment in db.session:
            db.session.expunge(appointment)
        if code == DEADLOCK_DETECTED:
            return "deadlock"
        return "staff_taken" if "staff_no_overlap" in str(err.orig) else "unit_taken"


def _rules_errors(board: Board, start: datetime, walk_in: bool) -> None:
    if walk_in:
        return
    if start < board.now + timedelta(minutes=board.service.min_notice_minutes):
        raise ValidationError({"starts_at": [_("Book at least %(minutes)d minutes ahead.",
                                               minutes=board.service.min_notice_minutes)]})
    if start > board.now + timedelta(days=board.service.max_days_ahead):
        raise ValidationError({"starts_at": [_("This service can be booked at most %(days)d days ahead.",
                                               days=board.service.max_days_ahead)]})


def book(user, data: dict, *, source: str = "staff", now: datetime | None = None) -> Appointment:
    """Book `data` (store_id, service_type_id, customer_id, starts_at; optional asset_id, staff_id, resource_id,
    walk_in, notes, answers). `user` None is the public page. A walk-in starts now and is arrived at once."""
    found = _references(user, data)
    store, service = found["store"], found["service"]
    now = now or utcnow()
    walk_in = bool(data.get("walk_in"))
    start = now if walk_in else data.get("starts_at")
    if not isinstance(start, datetime) or start.tzinfo is None:
        raise ValidationError({"starts_at": [_("Give a date and time.")]})
    day = start.astimezone(tenant_zone()).date()
    board = Board(store, service, day, day, staff_id=data.get("staff_id"), now=now)
    _rules_errors(board, start, walk_in)
    options = board.options(start, resource_id=data.get("resource_id"), walk_in=walk_in)
    appointment = None
    if options is not None:
        staff_ids, units = _candidates(options, data.get("staff_id"), service.needs_staff, start)
        end = start + timedelta(minutes=service.duration_minutes)
        appointment = Appointment(
            store_id=store.id, customer_id=found["customer"].id, asset_id=data.get("asset_id"),
            service_type_id=service.id, starts_at=start, ends_at=end,
            blocked_until=end + timedelta(minutes=service.buffer_minutes),
            status="arrived" if walk_in else "booked", source=source, walk_in=walk_in,
            arrived_at=now if walk_in else None, notes=data.get("notes"), answers=data.get("answers") or {},
            created_by_id=user.id if user is not None else None)
        if not _place(appointment, staff_ids, units, {}):
            appointment = None
    if appointment is None:
        raise SlotTaken(next_slots(store, service, start, now=now))
    record("create", "appointment", appointment.id, f"{service.name} {start.isoformat()}")
    _schedule_reminders(appointment)
    emit(ev.AppointmentBooked(appointment))
    return appointment


def reschedule(user, appointment: Appointment, data: dict, *, now: datetime | None = None) -> Appointment:
    """Move a booked or confirmed appointment to `data["starts_at"]` (optionally another staff member or resource);
    the database judges again. SlotTaken if the new time is not free."""
    if appointment.status not in ("booked", "confirmed"):
        raise ValidationError({"status": [_("Only booked or confirmed appointments can be moved.")]})
    found = _references(user, {"store_id": appointment.store_id, "service_type_id": appointment.service_type_id,
                               "customer_id": appointment.customer_id, "staff_id": data.get("staff_id"),
                               "resource_id": data.get("resource_id")})
    store, service, now = found["store"], found["service"], now or utcnow()
    start = data.get("starts_at")
    if not isinstance(start, datetime) or start.tzinfo is None:
        raise ValidationError({"starts_at": [_("Give a date and time.")]})
    day = start.astimezone(tenant_zone()).date()
    board = Board(store, service, day, day, staff_id=data.get("staff_id"), ignore_appointment_id=appointment.id,
                  now=now)
    _rules_errors(board, start, False)
    options = board.options(start, resource_id=data.get("resource_id"))
    placed = False
    if options is not None:
        staff_ids, units = _candidates(options, data.get("staff_id"), service.needs_staff, start)
        end = start + timedelta(minutes=service.duration_minutes)
        placed = _place(appointment, staff_ids, units, {
            "starts_at": start, "ends_at": end, "blocked_until": end + timedelta(minutes=service.buffer_minutes)})
        if not placed:
            db.session.refresh(appointment)  # back to what the database holds
    if not placed:
        raise SlotTaken(next_slots(store, service, start, now=now))
    record("update", "appointment", appointment.id, f"→ {start.isoformat()}")
    _schedule_reminders(appointment)
    emit(ev.AppointmentRescheduled(appointment))
    return appointment


def act(user, appointment: Appointment, action: str, *, reason: str | None = None,
        now: datetime | None = None) -> Appointment:
    """Apply a state action (confirm, arrive, start, complete, no_show, cancel); refuses one the status forbids."""
    if action not in TRANSITIONS:
        raise ValidationError({"action": [_("Unknown action.")]})
    allowed, target, event = TRANSITIONS[action]
    if appointment.status not in allowed:
        raise ValidationError({"status": [_("This cannot be done to an appointment that is %(status)s.",
                                            status=status_label(appointment.status))]})
    now = now or utcnow()
    before = appointment.status
    appointment.status = target
    if action == "arrive":
        appointment.arrived_at = now
    elif action == "start":
        appointment.started_at = now
    elif action == "complete":
        appointment.completed_at = now
        appointment.arrived_at = appointment.arrived_at or now
    elif action == "cancel":
        appointment.cancelled_at, appointment.cancel_reason = now, (reason or "")[:200] or None
    db.session.flush()
    if target in ("cancelled", "no_show", "done", "in_service", "arrived"):
        _cancel_reminders(appointment)
    record("update", "appointment", appointment.id, f"{before} → {target}")
    emit(event(appointment))
    return appointment


STATUS_LABELS = {
    "booked": lambda: _("Booked"), "confirmed": lambda: _("Confirmed"), "arrived": lambda: _("Arrived"),
    "in_service": lambda: _("In service"), "done": lambda: _("Done"), "no_show": lambda: _("No-show"),
    "cancelled": lambda: _("Cancelled"),
}
ACTION_LABELS = {
    "confirm": lambda: _("Confirm"), "arrive": lambda: _("Mark arrived"), "start": lambda: _("Start service"),
    "complete": lambda: _("Complete"), "no_show": lambda: _("No-show"), "cancel": lambda: _("Cancel"),
}


def status_label(status: str) -> str:
    return STATUS_LABELS[status]() if status in STATUS_LABELS else status


def actions_for(appointment: Appointment) -> list[tuple[str, str]]:
    """(action, label) the appointment's status allows, in the order a store works."""
    return [(a, ACTION_LABELS[a]()) for a, (allowed, _t, _e) in TRANSITIONS.items() if appointment.status in allowed]


# reminders: exact-time timers, SMS through the outbox


def _timer_key(appointment: Appointment, name: str) -> str:
    return f"appointment:{appointment.id}:{name}"


def _schedule_reminders(appointment: Appointment) -> None:
    now = utcnow()
    for name, ahead in REMINDERS:
        due = appointment.starts_at - ahead
        if due > now and not appointment.walk_in:
            timers.schedule(_timer_key(appointment, name), "appointment.reminder", due,
                            {"appointment_id": appointment.id, "starts_at": appointment.starts_at.isoformat()})
        else:
            timers.cancel(_timer_key(appointment, name))


def _cancel_reminders(appointment: Appointment) -> None:
    for name, _ahead in REMINDERS:
        timers.cancel(_timer_key(appointment, name))


def manage_url(appointment: Appointment) -> str:
    base = current_app.config["STORECRM"].base_url
    return f"{base}/t/{current_tenant().slug}/book/manage/{manage_token(appointment.id)}"


def message_customer(appointment: Appointment, code: str, dedupe_key: str) -> None:
    """The customer's message in the tenant's language, through the outbox: an SMS to their mobile, and the same
    template on WeChat when a plugin knows their address there (`customer_address` hook: the openid bound when they
    booked inside WeChat). Each channel is queued once per `dedupe_key`, so calling again after the customer was
    bound sends only what is new."""
    customer = get_scoped(Customer, appointment.customer_id)
    if customer is None:
        return
    openid = tenant_hook("customer_address")(customer=customer, channel="wechat")
    if not customer.mobile and not openid:
        return
    store = get_scoped(Store, appointment.store_id)
    service = get_scoped(ServiceType, appointment.service_type_id)
    locale = current_tenant_row().locale or "zh_CN"
    when = appointment.starts_at.astimezone(tenant_zone()).strftime("%Y-%m-%d %H:%M")
    variables = {"customer_name": customer.name, "service": service.name if service else "", "store": store.name,
                 "when": when, "link": manage_url(appointment)}
    if customer.mobile:
        send_template("sms", customer.mobile, code, variables, locale=locale, dedupe_key=dedupe_key,
                      payload={"appointment_id": appointment.id})
    if openid:
        send_template("wechat", openid, code, variables, locale=locale, dedupe_key=f"{dedupe_key}:wechat",
                      payload={"appointment_id": appointment.id, "link": variables["link"]})


@timers.handler("appointment.reminder")
def remind(timer) -> None:
    appointment = get_scoped(Appointment, timer.payload.get("appointment_id"))
    if (appointment is None or appointment.status not in ("booked", "confirmed")
            or appointment.starts_at.isoformat() != timer.payload.get("starts_at")):
        return
    message_customer(appointment, "appointment.reminder", f"{timer.key}:{timer.payload.get('starts_at')}")


def customer_for_booking(user, store: Store, name: str, mobile: str) -> Customer:
    """One-ID: the customer this mobile belongs to, or a new one (name, mobile, store). The caller must not tell
    a public visitor which of the two happened."""
    try:
        value = identities.normalize("mobile", mobile)
    except ValidationError:
        raise ValidationError({"mobile": [_("Enter a valid mobile number.")]}) from None
    owner = identities.owners([("mobile", value)]).get(("mobile", value))
    if owner is not None:
        customer = get_scoped(Customer, owner)
        if customer is not None and customer.deleted_at is None:
            return customer
    if not (name or "").strip():
        raise ValidationError({"name": [_("Enter your name.")]})
    return create_customer(user, {"name": name.strip()[:80], "mobile": value, "store_id": store.id})
