"""The public booking page of a store (no login, phone-first, zh_CN by default) and the customer's manage page.

A store's page is opened by a signed link (`tokens.store_token`). Choosing a time and giving a mobile sends a
six-digit code by SMS (the outbox; the log provider by default); the booking is made only with that code, so nobody
books in another person's name. The pending booking waits in the visitor's own signed session, with the code only as
an HMAC, for ten minutes and five tries. A booking answers with a signed manage link. The pages show nothing about
any customer: the same steps follow whether the mobile was known or new, and the manage page shows the service,
store and time only. POSTs are rate limited per address, and a honeypot field catches simple bots."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from datetime import date, datetime, timedelta

from flask import Blueprint, abort, current_app, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from ..calendar import tenant_today
from ..calendar import tenant_zone as store_zone
from ..customers import identities
from ..customers.models import Customer
from ..extensions import limiter
from ..notifications.templates import send_template
from ..tenancy.context import require_tenant_id
from ..tenancy.models import current_tenant_row, utcnow
from ..validation import mask_phone
from ..stores.models import Store
from ..tenancy.models import as_id, get_scoped
from ..web.forms import flatten_errors
from ..web.transactions import refuse
from ..web.visitors import public_visitor_response
from . import booking, setup
from .availability import Board, availability, next_slots
from .models import Appointment, ServiceType
from .tokens import appointment_from_token, manage_token, store_from_token
from .views import WEEKDAYS

bp = Blueprint("booking", __name__, url_prefix="/book")
bp.context_processor(lambda: {"weekday_labels": WEEKDAYS, "status_label": booking.status_label})
LIMIT = "10 per minute;60 per hour"
DAYS_SHOWN = 7
PENDING = "storecrm.booking.pending"
JUST_BOOKED = "storecrm.booking.just_booked"   # the appointment this browser booked: its page may bind the visitor
CODE_TTL = timedelta(minutes=10)
CODE_TRIES = 5


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
            if "code" in request.form:
                appointment = _confirm(store, request.form.get("code", ""))
                return redirect(url_for("booking.manage", token=manage_token(appointment.id), new=1))
            return _ask_for_code(store, service)
        except booking.SlotTaken as err:
            refuse()
            session.pop(PENDING, None)
            errors = flatten_errors(err.messages)
            values["next_slots"] = err.next_slots
        except CodeRefused as err:
            refuse()
            pending = session.get(PENDING)
            return render_template("scheduling/public_code.html", store=store, token=token, service=service,
                                   pending=pending, masked=mask_phone(pending["mobile"]) if pending else "",
                                   errors={"code": [str(err)]}), 422
        except ValidationError as err:
            refuse()
            errors = flatten_errors(err.messages)
    slots = availability(store, service, the_day) if service is not None else []
    today = tenant_today()
    return render_template("scheduling/public_book.html", store=store, token=token, services=services,
                           service=service, day=the_day, slots=slots, values=values, errors=errors,
                           days=[today + timedelta(days=n) for n in range(DAYS_SHOWN)]), 422 if errors else 200


class CodeRefused(Exception):
    """The code is wrong, expired or tried too often (the message says which, in the visitor's language)."""


def _digest(mobile: str, code: str) -> str:
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{require_tenant_id()}:{mobile}:{code}".encode(), hashlib.sha256).hexdigest()


def _ask_for_code(store, service):
    """Check the choice (the time must be free now), keep it in the session and text a code to the mobile."""
    start = _start(request.form.get("starts_at"))
    errors = {}
    if service is None:
        errors["service_type_id"] = [_("Choose a service.")]
    if start is None:
        errors["starts_at"] = [_("Choose a free time.")]
    try:
        mobile = identities.normalize("mobile", request.form.get("mobile", ""))
    except ValidationError:
        errors["mobile"], mobile = [_("Enter a valid mobile number.")], None
    name = (request.form.get("name") or "").strip()[:80]
    if not name:
        errors["name"] = [_("Enter your name.")]
    if errors:
        raise ValidationError(errors)
    day = start.astimezone(store_zone()).date()
    board = Board(store, service, day, day)
    if not board.bookable(start) or board.options(start) is None:
        raise booking.SlotTaken(next_slots(store, service, start))
    code = f"{secrets.randbelow(10**6):06d}"
    session[PENDING] = {"tenant": require_tenant_id(), "store": store.id, "service": service.id,
                        "starts_at": start.isoformat(), "mobile": mobile, "name": name,
                        "notes": (request.form.get("notes") or "")[:500], "code": _digest(mobile, code),
                        "expires": (utcnow() + CODE_TTL).timestamp(), "tries": 0}
    locale = current_tenant_row().locale or "zh_CN"
    # the body holds a credential (erased once sent); a person waits for it on the page (never held)
    send_template("sms", mobile, "appointment.code", {"code": code, "store": store.name}, locale=locale,
                  payload={"scrub": True, "verification": True})
    return render_template("scheduling/public_code.html", store=store, token=request.view_args["token"],
                           service=service, pending=session[PENDING], masked=mask_phone(mobile), errors={})


def _confirm(store, code: str) -> Appointment:
    pending = session.get(PENDING)
    if (not pending or pending.get("tenant") != require_tenant_id() or pending.get("store") != store.id
            or pending.get("expires", 0) < utcnow().timestamp() or pending.get("tries", 0) >= CODE_TRIES):
        session.pop(PENDING, None)
        raise CodeRefused(_("The code has expired. Please choose a time again."))
    if not hmac.compare_digest(pending["code"], _digest(pending["mobile"], code.strip())):
        pending["tries"] = pending.get("tries", 0) + 1
        session[PENDING] = pending
        raise CodeRefused(_("This code is not right. Check the SMS and try again."))
    service = get_scoped(ServiceType, pending["service"])
    customer = booking.customer_for_booking(None, store, pending["name"], pending["mobile"])
    appointment = booking.book(None, {"store_id": store.id, "service_type_id": service.id if service else None,
                                      "customer_id": customer.id,
                                      "starts_at": datetime.fromisoformat(pending["starts_at"]),
                                      "notes": pending.get("notes") or None}, source="public")
    booking.message_customer(appointment, "appointment.booked", f"appointment:{appointment.id}:booked")
    session.pop(PENDING, None)
    session[JUST_BOOKED] = [require_tenant_id(), appointment.id]
    return appointment


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
    if session.get(JUST_BOOKED) == [require_tenant_id(), appointment.id]:
        # booked in this browser a moment ago: inside WeChat the visitor signs in once (the `public_visitor` hook,
        # a state signed for the customer the booking created or matched) and is bound, so the confirmation and the
        # reminders also go by WeChat. A forwarded manage link binds nobody: only the browser that booked.
        customer = get_scoped(Customer, appointment.customer_id)
        if (response := public_visitor_response(customer)) is not None:
            return response
        session.pop(JUST_BOOKED, None)
        booking.message_customer(appointment, "appointment.booked", f"appointment:{appointment.id}:booked")
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
