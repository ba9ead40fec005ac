"""Staff pages of scheduling: the store's day and week, booking, an appointment and its actions, my day, dispatch,
and the set-up pages (resources, services, working patterns and exceptions, staff skills). Thin: parse, call the
services, render. A server-rendered grid, not a JavaScript calendar: docs/scheduling.md says why."""
from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from marshmallow import ValidationError
from sqlalchemy import select

from ..calendar import tenant_today, tenant_zone
from ..customers.models import Customer
from ..customers.services import get_customer
from ..extensions import db
from ..stores.services import get_store, stores_visible_to
from ..tenancy.models import as_id, get_scoped, utcnow
from ..users.models import User
from ..web.forms import flash_errors, flatten_errors, load_form, requires
from ..web.i18n import tenant_zone as request_zone
from ..web.transactions import refuse
from . import booking, setup
from .availability import availability
from .dispatch import rank_for_jobs, rank_technicians
from .models import EXCEPTION_KINDS, RESOURCE_KINDS, Appointment, Resource, ServiceType
from .roster import Roster, day_bounds
from .schemas import (ResourceSchema, ScheduleExceptionSchema, ServiceTypeSchema, StaffProfileSchema,
                      WorkingPatternSchema)
from .tokens import store_token

bp = Blueprint("scheduling", __name__, url_prefix="/scheduling")

WEEKDAYS = [_l("Monday"), _l("Tuesday"), _l("Wednesday"), _l("Thursday"), _l("Friday"), _l("Saturday"),
            _l("Sunday")]
RESOURCE_LABELS = {"bay": _l("Bay (工位)"), "lift": _l("Lift"), "van": _l("Van"), "room": _l("Room"), "demo_car": _l("Demo car")}
EXCEPTION_LABELS = {"leave": _l("Leave"), "extra_shift": _l("Extra shift"), "closure": _l("Store closed")}
SOURCE_LABELS = {"staff": _l("Staff"), "public": _l("Online booking"), "api": _l("API")}


@bp.app_template_filter("local_time")
def local_time(value: datetime | None) -> str:
    # the request's zone (Babel's, from the tenant in g): no query per call, unlike storecrm.calendar's
    return value.astimezone(request_zone()).strftime("%H:%M") if value else ""


@bp.app_template_filter("local_datetime")
def local_datetime(value: datetime | None) -> str:
    return value.astimezone(request_zone()).strftime("%Y-%m-%d %H:%M") if value else ""


@bp.app_template_filter("local_datetime_iso")
def local_datetime_iso(value: str | None) -> str:
    """An ISO time kept as text (a pending public booking) in the request's zone."""
    try:
        return local_datetime(datetime.fromisoformat(value or ""))
    except ValueError:
        return ""


@bp.context_processor
def _labels():
    return {"weekday_labels": WEEKDAYS, "weekday_options": list(enumerate(WEEKDAYS)), "resource_labels_": RESOURCE_LABELS, "exception_labels": EXCEPTION_LABELS,
            "source_labels": SOURCE_LABELS, "status_label": booking.status_label}


def _day_arg(name: str = "date") -> date:
    try:
        return date.fromisoformat(request.args.get(name, ""))
    except ValueError:
        return tenant_today()


def _chosen_store():
    """The store named by ?store_id= (one the user may see), else their first; 404 if they see none."""
    stores = stores_visible_to(current_user)
    wanted = as_id(request.values.get("store_id"))
    store = next((s for s in stores if s.id == wanted), None) or next((s for s in stores if s.active), None)
    if store is None:
        abort(404)
    return store, stores


def _store_appointments(store, first: date, last: date) -> list[Appointment]:
    lo, hi = day_bounds(first, tenant_zone())[0], day_bounds(last, tenant_zone())[1]
    return list(db.session.scalars(select(Appointment).where(
        Appointment.store_id == store.id, Appointment.starts_at >= lo, Appointment.starts_at < hi)
        .order_by(Appointment.starts_at, Appointment.id)))


def _names(appointments) -> dict:
    """Customer, staff, service and resource names for these appointments in four queries (no N+1)."""
    def load(model, ids, column):
        ids = {i for i in ids if i is not None}
        return dict(db.session.execute(select(model.id, column).where(model.id.in_(ids))).all()) if ids else {}

    return {"customers": load(Customer, [a.customer_id for a in appointments], Customer.name),
            "staff": load(User, [a.staff_id for a in appointments], User.display_name),
            "services": load(ServiceType, [a.service_type_id for a in appointments], ServiceType.name),
            "resources": load(Resource, [a.resource_id for a in appointments], Resource.name)}


@bp.get("/")
@requires("scheduling.view")
def day():
    """The store's day: a column per staff member working that day (and one for unassigned), a row per half hour."""
    store, stores = _chosen_store()
    the_day = _day_arg()
    appointments = _store_appointments(store, the_day, the_day)
    names = _names(appointments)
    roster = Roster(the_day, the_day, store_ids=[store.id])
    staff_ids = sorted({u for (u, s) in roster.windows if s == store.id} | {a.staff_id for a in appointments
                                                                           if a.staff_id})
    staff = {u.id: u.display_name for u in db.session.scalars(select(User).where(User.id.in_(staff_ids)))} \
        if staff_ids else {}
    columns = [(u, staff.get(u, "?")) for u in staff_ids] + [(None, _("Unassigned"))]
    zone = tenant_zone()
    hours = [a.starts_at.astimezone(zone).hour for a in appointments]
    hours += [t.astimezone(zone).hour for spans in roster.windows.values() for span in spans for t in span]
    first_hour, last_hour = (min(hours), max(hours)) if hours else (9, 18)
    rows = []
    for hour in range(max(0, min(first_hour, 9)), min(24, max(last_hour + 1, 18))):
        for minute in (0, 30):
            cells = {col: [a for a in appointments if a.staff_id == col
                           and (a.starts_at.astimezone(zone).hour, a.starts_at.astimezone(zone).minute // 30 * 30)
                           == (hour, minute)] for col, _n in columns}
            rows.append((f"{hour:02d}:{minute:02d}", cells))
    return render_template("scheduling/day.html", store=store, stores=stores, day=the_day, rows=rows,
                           columns=columns, appointments=appointments, names=names,
                           prev_day=the_day - timedelta(days=1), next_day=the_day + timedelta(days=1),
                           booking_link=url_for("booking.page", token=store_token(store.id), _external=True))


@bp.get("/week")
@requires("scheduling.view")
def week():
    store, stores = _chosen_store()
    start = _day_arg()
    start -= timedelta(days=start.weekday())
    appointments = _store_appointments(store, start, start + timedelta(days=6))
    names = _names(appointments)
    zone = tenant_zone()
    days = [(start + timedelta(days=n), [a for a in appointments
                                         if a.starts_at.astimezone(zone).date() == start + timedelta(days=n)])
            for n in range(7)]
    return render_template("scheduling/week.html", store=store, stores=stores, days=days, names=names,
                           start=start, prev_week=start - timedelta(days=7), next_week=start + timedelta(days=7))


@bp.get("/my-day")
@requires("scheduling.view")
def my_day():
    the_day = _day_arg()
    lo, hi = day_bounds(the_day, tenant_zone())
    appointments = list(db.session.scalars(select(Appointment).where(
        Appointment.staff_id == current_user.id, Appointment.starts_at >= lo, Appointment.starts_at < hi,
        Appointment.status.notin_(("cancelled",))).order_by(Appointment.starts_at)))
    return render_template("scheduling/my_day.html", appointments=appointments, names=_names(appointments),
                           day=the_day, actions={a.id: booking.actions_for(a) for a in appointments})


@bp.get("/slots")
@requires("scheduling.view")
def slots():
    """The free slots of a service at a store on a day (htmx fragment of the booking and move forms)."""
    store = get_store(current_user, request.args.get("store_id"))
    service = get_scoped(ServiceType, request.args.get("service_type_id"))
    found = []
    if store is not None and service is not None and service.active:
        found = availability(store, service, _day_arg())
    return render_template("scheduling/_slots.html", slots=found, chosen=request.args.get("starts_at"))


def _parse_start(raw: str | None):
    try:
        value = datetime.fromisoformat(raw or "")
    except ValueError:
        return None
    return value if value.tzinfo is not None else None


@bp.route("/book", methods=["GET", "POST"])
@requires("scheduling.book")
def book():
    store, stores = _chosen_store()
    services = setup.list_service_types(active_only=True)
    customer = get_customer(current_user, request.values.get("customer_id")) if request.values.get(
        "customer_id") else None
    values = {"store_id": store.id, "service_type_id": request.values.get("service_type_id") or (
        services[0].id if services else None), "date": _day_arg().isoformat(), **request.form.to_dict()}
    errors = {}
    if request.method == "POST":
        walk_in = "walk_in" in request.form
        try:
            if customer is None and request.values.get("customer_id"):
                raise ValidationError({"customer_id": [_("Choose an existing customer.")]})
            if customer is None:
                customer = booking.customer_for_booking(current_user, store, request.form.get("name", ""),
                                                        request.form.get("mobile", ""))
            start = _parse_start(request.form.get("starts_at"))
            if start is None and not walk_in:
                raise ValidationError({"starts_at": [_("Choose a free time.")]})
            appointment = booking.book(current_user, {
                "store_id": store.id, "service_type_id": as_id(request.form.get("service_type_id")),
                "customer_id": customer.id, "starts_at": start, "walk_in": walk_in,
                "staff_id": as_id(request.form.get("staff_id")), "notes": request.form.get("notes") or None})
        except booking.SlotTaken as err:
            refuse()
            errors = flatten_errors(err.messages)
            values["next_slots"] = err.next_slots
        except ValidationError as err:
            refuse()
            errors = flatten_errors(err.messages)
        else:
            flash(_("Appointment booked."), "success")
            return redirect(url_for("scheduling.appointment", appointment_id=appointment.id))
    day_slots = []
    service = get_scoped(ServiceType, values.get("service_type_id"))
    if service is not None and service.active:
        day_slots = availability(store, service, date.fromisoformat(values["date"]) if _is_date(values["date"])
                                 else tenant_today())
    return render_template("scheduling/book.html", store=store, stores=stores, services=services, values=values,
                           errors=errors, customer=customer, slots=day_slots), 422 if errors else 200


def _is_date(value) -> bool:
    try:
        date.fromisoformat(value)
        return True
    except (TypeError, ValueError):
        return False


def _appointment_or_404(appointment_id) -> Appointment:
    appointment = get_scoped(Appointment, appointment_id)
    if appointment is None or get_store(current_user, appointment.store_id) is None:
        abort(404)
    return appointment


@bp.get("/appointments/<int:appointment_id>")
@requires("scheduling.view")
def appointment(appointment_id):
    appt = _appointment_or_404(appointment_id)
    names = _names([appt])
    service = get_scoped(ServiceType, appt.service_type_id)
    move_day = _day_arg() if request.args.get("date") else appt.starts_at.astimezone(tenant_zone()).date()
    move_slots = availability(get_store(current_user, appt.store_id), service, move_day) \
        if appt.status in ("booked", "confirmed") and service.active else []
    return render_template("scheduling/appointment.html", appt=appt, names=names, actions=booking.actions_for(appt),
                           move_slots=move_slots, move_day=move_day,
                           staff=rank_technicians(get_store(current_user, appt.store_id),
                                                  skills=service.required_skills, at=appt.starts_at,
                                                  customer_id=appt.customer_id))


@bp.post("/appointments/<int:appointment_id>/act/<action>")
@requires("scheduling.book")
def act(appointment_id, action):
    appt = _appointment_or_404(appointment_id)
    if action not in booking.TRANSITIONS:
        abort(404)
    try:
        booking.act(current_user, appt, action, reason=request.form.get("reason"))
    except ValidationError as err:
        flash_errors(err)
    else:
        flash(_("Appointment is now: %(status)s.", status=booking.status_label(appt.status)), "success")
    return redirect(request.form.get("back") == "my_day" and url_for("scheduling.my_day")
                    or url_for("scheduling.appointment", appointment_id=appt.id))


@bp.post("/appointments/<int:appointment_id>/move")
@requires("scheduling.book")
def move(appointment_id):
    appt = _appointment_or_404(appointment_id)
    try:
        booking.reschedule(current_user, appt, {"starts_at": _parse_start(request.form.get("starts_at")),
                                                "staff_id": as_id(request.form.get("staff_id"))})
    except ValidationError as err:
        flash_errors(err)
    else:
        flash(_("Appointment moved."), "success")
    return redirect(url_for("scheduling.appointment", appointment_id=appt.id))


@bp.get("/dispatch")
@requires("scheduling.view")
def dispatch():
    """Today's jobs of the store with the technicians recommended for each."""
    store, stores = _chosen_store()
    the_day = _day_arg()
    appointments = [a for a in _store_appointments(store, the_day, the_day)
                    if a.status in ("booked", "confirmed", "arrived")]
    names = _names(appointments)
    services = {s.id: s for s in setup.list_service_types()}
    ranked = dict(zip([a.id for a in appointments], [r[:3] for r in rank_for_jobs(store, [
        {"skills": services[a.service_type_id].required_skills, "at": a.starts_at, "customer_id": a.customer_id}
        for a in appointments])]))
    return render_template("scheduling/dispatch.html", store=store, stores=stores, day=the_day,
                           appointments=appointments, names=names, ranked=ranked)


# set-up


@bp.route("/resources", methods=["GET", "POST"])
@requires("scheduling.manage")
def resources():
    store, stores = _chosen_store()
    values, errors = {"store_id": store.id, "kind": "bay", "capacity": 1, "active": True}, {}
    if request.method == "POST":
        data, errors = load_form(ResourceSchema())
        values = {**request.form.to_dict(), "active": "active" in request.form}
        if data is not None:
            try:
                setup.save_resource(current_user, None, data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Resource saved."), "success")
                return redirect(url_for("scheduling.resources", store_id=data["store_id"]))
        refuse()
    return render_template("scheduling/resources.html", store=store, stores=stores,
                           resources=setup.list_resources(current_user, store.id), values=values, errors=errors,
                           kinds=RESOURCE_KINDS), 422 if errors else 200


@bp.route("/resources/<int:resource_id>", methods=["GET", "POST"])
@requires("scheduling.manage")
def edit_resource(resource_id):
    resource = setup.get_resource(current_user, resource_id)
    if resource is None:
        abort(404)
    values, errors = ResourceSchema().dump(resource), {}
    if request.method == "POST":
        data, errors = load_form(ResourceSchema())
        values = {**request.form.to_dict(), "active": "active" in request.form}
        if data is not None:
            try:
                setup.save_resource(current_user, resource, data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Resource saved."), "success")
                return redirect(url_for("scheduling.resources", store_id=resource.store_id))
        refuse()
    return render_template("scheduling/resource_form.html", resource=resource, values=values, errors=errors,
                           kinds=RESOURCE_KINDS, stores=stores_visible_to(current_user)), 422 if errors else 200


@bp.route("/services", methods=["GET", "POST"])
@bp.route("/services/<int:service_id>", methods=["GET", "POST"])
@requires("scheduling.manage")
def services(service_id=None):
    service = None
    if service_id is not None:
        service = get_scoped(ServiceType, service_id)
        if service is None:
            abort(404)
    values = ServiceTypeSchema().dump(service) if service else {
        "duration_minutes": 60, "buffer_minutes": 0, "min_notice_minutes": 60, "max_days_ahead": 30,
        "needs_staff": True, "public": True, "active": True}
    values["required_skills"] = ", ".join(f"{k}:{v}" for k, v in (values.get("required_skills") or {}).items())
    errors = {}
    if request.method == "POST":
        values = {**request.form.to_dict(), **{k: k in request.form for k in ("needs_staff", "public", "active")}}
        raw = {**values, "required_skills": _skills_input(values.get("required_skills", ""))}
        raw = {k: (None if v == "" else v) for k, v in raw.items() if k != "csrf_token"}
        try:
            data = ServiceTypeSchema().load(raw)
            setup.save_service_type(service, data)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
            refuse()
        else:
            flash(_("Service saved."), "success")
            return redirect(url_for("scheduling.services"))
    return render_template("scheduling/services.html", service=service, services=setup.list_service_types(),
                           values=values, errors=errors, kinds=RESOURCE_KINDS), 422 if errors else 200


@bp.route("/patterns", methods=["GET", "POST"])
@requires("scheduling.manage")
def patterns():
    store, stores = _chosen_store()
    values, errors = {"store_id": store.id, "weekday": 0, "starts_at": "09:00", "ends_at": "18:00"}, {}
    ex_values, ex_errors = {"kind": "leave", "store_id": store.id}, {}
    if request.method == "POST" and request.form.get("form") == "exception":
        ex_values = request.form.to_dict()
        raw = {k: v for k, v in ex_values.items() if k in ("kind", "user_id", "store_id", "note") and v != ""}
        for key in ("starts_at", "ends_at"):
            local = _local_input(ex_values.get(key))
            if local is not None:
                raw[key] = local.isoformat()
        if raw.get("kind") == "leave":
            raw.pop("store_id", None)
        try:
            data = ScheduleExceptionSchema().load(raw)
            setup.add_exception(current_user, data)
        except ValidationError as err:
            ex_errors = flatten_errors(err.messages)
            refuse()
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("scheduling.patterns", store_id=store.id))
    elif request.method == "POST":
        data, errors = load_form(WorkingPatternSchema())
        values = request.form.to_dict()
        if data is not None:
            try:
                setup.add_pattern(current_user, data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Shift added."), "success")
                return redirect(url_for("scheduling.patterns", store_id=store.id))
        refuse()
    staff = list(db.session.scalars(select(User).where(User.active.is_(True)).order_by(User.display_name)))
    return render_template("scheduling/patterns.html", store=store, stores=stores, values=values, errors=errors,
                           ex_values=ex_values, ex_errors=ex_errors, staff=staff,
                           names={u.id: u.display_name for u in staff},
                           patterns=setup.list_patterns(current_user, store.id),
                           exceptions=setup.list_exceptions(current_user, store.id, utcnow() - timedelta(days=1)),
                           kinds=EXCEPTION_KINDS), 422 if (errors or ex_errors) else 200


def _local_input(raw: str | None):
    """A datetime-local input (tenant wall-clock time) as an aware datetime."""
    try:
        value = datetime.fromisoformat(raw or "")
    except ValueError:
        return None
    return value.replace(tzinfo=tenant_zone()) if value.tzinfo is None else value


@bp.post("/patterns/<int:pattern_id>/delete")
@requires("scheduling.manage")
def delete_pattern(pattern_id):
    pattern = setup.get_pattern(current_user, pattern_id)
    if pattern is None:
        abort(404)
    store_id = pattern.store_id
    setup.delete_pattern(pattern)
    flash(_("Shift removed."), "success")
    return redirect(url_for("scheduling.patterns", store_id=store_id))


@bp.post("/exceptions/<int:exception_id>/delete")
@requires("scheduling.manage")
def delete_exception(exception_id):
    exception = setup.get_exception(current_user, exception_id)
    if exception is None:
        abort(404)
    store_id = exception.store_id
    setup.delete_exception(exception)
    flash(_("Removed."), "success")
    return redirect(url_for("scheduling.patterns", store_id=store_id) if store_id else url_for("scheduling.day"))


@bp.route("/staff/<int:user_id>", methods=["GET", "POST"])
@requires("scheduling.manage")
def staff_profile(user_id):
    staff = get_scoped(User, user_id)
    if staff is None:
        abort(404)
    errors = {}
    profile = setup.staff_profile(staff.id)
    values = {"skills": ", ".join(f"{k}:{v}" for k, v in profile["skills"].items()),
              "regions": ", ".join(profile["regions"])}
    if request.method == "POST":
        values = request.form.to_dict()
        skills = _skills_input(values.get("skills", ""))
        regions = [r.strip() for r in values.get("regions", "").replace("，", ",").split(",") if r.strip()]
        try:
            setup.set_staff_profile(staff, StaffProfileSchema().load({"skills": skills, "regions": regions}))
        except ValidationError as err:
            errors = flatten_errors(err.messages)
            refuse()
        else:
            flash(_("Saved."), "success")
            return redirect(url_for("scheduling.staff_profile", user_id=staff.id))
    return render_template("scheduling/staff.html", staff=staff, values=values, errors=errors), \
        422 if errors else 200


def _skills_input(text: str) -> dict:
    """'安装:3, 调音:2' as {skill: level}; a level that is not 1–5 is kept as -1 for the schema to refuse."""
    skills = {}
    for item in text.replace("，", ",").split(","):
        if item.strip():
            name, _sep, level = item.strip().partition(":")
            skills[name.strip()] = int(level) if level.strip().isdigit() and len(level.strip()) < 3 else -1
    return skills
