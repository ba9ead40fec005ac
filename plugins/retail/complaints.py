"""Complaints (投诉): intake by staff or from the member page, routing by kind (quality → the chain's QC lead, i.e.
an admin who sees every store; attitude and the rest → the store's manager), two clocks on the store's opening hours
(closures and holidays skipped: the core's `store_deadline`, the clock of the leads' first-contact promise) — a first
response (2 store hours by default) and a resolution target (48 store hours by default, tenant settings) — each a core
timer whose breach marks the complaint and escalates to the store's manager through the outbox. While the complaint
waits for the customer the resolution clock stops; what was left of it resumes with the customer's answer. Transfer
with history, remedies (remedies.py), resolution, and the customer's satisfaction (1-5) once resolved."""
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from storecrm.sdk import (AUTOMATION, Customer, Store, Trimmed, cancel_timer, db, get_scoped, get_user, notify_user,
                          plugin_settings, record_audit, schedule_timer, send_template, staff_with_role,
                          store_deadline, store_working_minutes, timer_handler, utcnow)

from .models import Complaint, ComplaintEvent

KINDS = {"quality": _l("Product quality"), "attitude": _l("Service attitude"), "other": _l("Other")}
STATUSES = {"open": _l("Waiting for a response"), "responded": _l("Responded"),
            "waiting": _l("Waiting for the customer"), "resolved": _l("Resolved")}
EVENTS = {"created": _l("Received"), "responded": _l("First response"), "transferred": _l("Transferred"),
          "overdue": _l("First response overdue"), "waiting": _l("Waiting for the customer"),
          "resumed": _l("The customer answered"), "resolution_overdue": _l("Resolution overdue"),
          "remedy": _l("Remedy issued"), "resolved": _l("Resolved"), "rated": _l("Satisfaction recorded")}
TIMER = "retail.complaint_first_response"
RESOLUTION_TIMER = "retail.complaint_resolution"


class ComplaintIn(Schema):
    customer_id = fields.Integer(required=True, strict=False)
    store_id = fields.Integer(required=True, strict=False)
    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS), error=_l("Choose one of the listed options.")))
    description = Trimmed(required=True, validate=validate.Length(min=1, max=2000))


def _hours(name: str) -> int:
    return int(plugin_settings("retail")[name])


def _keys(complaint_id):
    return f"retail-complaint-{complaint_id}", f"retail-complaint-resolution-{complaint_id}"


def route(kind: str, store_id):
    """The person a complaint goes to first."""
    people = (staff_with_role("admin") if kind == "quality" else []) or staff_with_role("manager", store_id) \
        or staff_with_role("owner")
    return people[0] if people else None


def _actor(user):
    return None if user in (None, AUTOMATION) else getattr(user, "id", None)


def intake(user, data: dict, *, source: str = "staff", now=None) -> Complaint:
    data = ComplaintIn().load(data)
    customer = get_scoped(Customer, data["customer_id"])
    if customer is None or customer.deleted_at is not None:
        raise ValidationError({"customer_id": [_("Choose one of the listed options.")]})
    store = get_scoped(Store, data["store_id"])
    if store is None:
        raise ValidationError({"store_id": [_("Choose one of the listed options.")]})
    now = now or utcnow()
    assignee = route(data["kind"], data["store_id"])
    complaint = Complaint(customer_id=customer.id, store_id=store.id, kind=data["kind"],
                          description=data["description"], source=source, status="open",
                          assignee_id=assignee.id if assignee else None, created_at=now,
                          first_response_due=store_deadline(store, now, _hours("complaint_first_response_hours") * 60),
                          resolution_due=store_deadline(store, now, _hours("complaint_resolution_hours") * 60),
                          waited_minutes=0)
    db.session.add(complaint)
    db.session.flush()
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="created", user_id=_actor(user),
                                  to_user_id=complaint.assignee_id, at=now))
    response_key, resolution_key = _keys(complaint.id)
    schedule_timer(response_key, TIMER, complaint.first_response_due, {"complaint_id": complaint.id})
    schedule_timer(resolution_key, RESOLUTION_TIMER, complaint.resolution_due, {"complaint_id": complaint.id})
    if assignee is not None:
        notify_user(assignee, _("New complaint: %(name)s", name=customer.name),
                    _("First response due within %(n)s store hours.", n=_hours("complaint_first_response_hours")),
                    f"/retail/complaints/{complaint.id}")
    record_audit("create", "retail_complaint", complaint.id, customer.name)
    return complaint


def lock(complaint_id) -> Complaint:
    return db.session.scalar(select(Complaint).where(Complaint.id == complaint_id).with_for_update()
                             .execution_options(populate_existing=True))


def _store(complaint) -> Store:
    return get_scoped(Store, complaint.store_id)


def _first_response(complaint, now) -> None:
    if complaint.first_responded_at is None:
        complaint.first_responded_at = now
        complaint.response_minutes = store_working_minutes(_store(complaint), complaint.created_at, now)
        cancel_timer(_keys(complaint.id)[0])


def respond(user, complaint: Complaint, note: str, *, now=None) -> Complaint:
    if not (note or "").strip():
        raise ValidationError({"note": [_("Write what was said to the customer.")]})
    complaint = lock(complaint.id)
    if complaint.status == "resolved":
        raise ValidationError({"note": [_("This complaint is resolved.")]})
    now = now or utcnow()
    _first_response(complaint, now)
    if complaint.status == "open":
        complaint.status = "responded"
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="responded", user_id=_actor(user),
                                  note=note.strip()[:2000], at=now))
    db.session.flush()
    return complaint


def wait_for_customer(user, complaint: Complaint, note: str, *, now=None) -> Complaint:
    """Staff asked the customer for something (a photo, the receipt, a time to come in): the resolution clock stops
    and keeps the store-hour minutes it had left. Asking is a response, so it also ends the first-response clock."""
    if not (note or "").strip():
        raise ValidationError({"note": [_("Write what the customer was asked for.")]})
    complaint = lock(complaint.id)
    if complaint.status in ("resolved", "waiting"):
        raise ValidationError({"note": [_("This complaint is resolved.") if complaint.status == "resolved"
                                        else _("This complaint is already waiting for the customer.")]})
    now = now or utcnow()
    _first_response(complaint, now)
    complaint.resolution_left = store_working_minutes(_store(complaint), now, complaint.resolution_due) \
        if complaint.resolution_due is not None else 0
    complaint.status, complaint.waiting_since, complaint.resolution_due = "waiting", now, None
    cancel_timer(_keys(complaint.id)[1])
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="waiting", user_id=_actor(user),
                                  note=note.strip()[:2000], at=now))
    db.session.flush()
    return complaint


def _end_wait(complaint, now) -> None:
    store = _store(complaint)
    complaint.waited_minutes = (complaint.waited_minutes or 0) + store_working_minutes(store, complaint.waiting_since, now)
    complaint.resolution_due = store_deadline(store, now, complaint.resolution_left or 0)
    complaint.waiting_since = complaint.resolution_left = None


def resume(user, complaint: Complaint, note: str | None = None, *, now=None) -> Complaint:
    """The customer answered: the resolution clock runs again with the minutes it had left."""
    complaint = lock(complaint.id)
    if complaint.status != "waiting":
        raise ValidationError({"note": [_("This complaint is not waiting for the customer.")]})
    now = now or utcnow()
    _end_wait(complaint, now)
    complaint.status = "responded"
    if not complaint.resolution_overdue:
        schedule_timer(_keys(complaint.id)[1], RESOLUTION_TIMER, complaint.resolution_due, {"complaint_id": complaint.id})
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="resumed", user_id=_actor(user),
                                  note=(note or "").strip()[:2000] or None, at=now))
    db.session.flush()
    return complaint


def transfer(user, complaint: Complaint, to_user_id, note: str | None = None) -> Complaint:
    target = get_user(to_user_id) if to_user_id else None
    if target is None or not target.active:
        raise ValidationError({"to_user_id": [_("Choose one of the listed options.")]})
    complaint = lock(complaint.id)
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="transferred", user_id=_actor(user),
                                  to_user_id=target.id, note=(note or "")[:2000] or None))
    complaint.assignee_id = target.id
    notify_user(target, _("A complaint was transferred to you"), (note or "")[:200], f"/retail/complaints/{complaint.id}")
    db.session.flush()
    return complaint


def resolve(user, complaint: Complaint, resolution: str, *, now=None) -> Complaint:
    if not (resolution or "").strip():
        raise ValidationError({"resolution": [_("Write how it was resolved.")]})
    complaint = lock(complaint.id)
    if complaint.status == "resolved":
        raise ValidationError({"resolution": [_("This complaint is resolved.")]})
    now = now or utcnow()
    if complaint.status == "waiting":
        _end_wait(complaint, now)
    _first_response(complaint, now)
    complaint.status, complaint.resolution, complaint.resolved_at = "resolved", resolution.strip(), now
    complaint.resolution_minutes = max(store_working_minutes(_store(complaint), complaint.created_at, now)
                                       - (complaint.waited_minutes or 0), 0)
    cancel_timer(_keys(complaint.id)[1])
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="resolved", user_id=_actor(user),
                                  note=complaint.resolution[:2000], at=now))
    customer = get_scoped(Customer, complaint.customer_id)
    if customer is not None and customer.mobile:
        send_template("sms", customer.mobile, "retail.complaint_resolved", {}, customer=customer,
                      dedupe_key=f"retail-complaint-survey-{complaint.id}")
    db.session.flush()
    record_audit("update", "retail_complaint", complaint.id, "resolved")
    return complaint


def rate(user, complaint: Complaint, score) -> Complaint:
    """The customer's satisfaction with the resolution, 1-5 (their SMS reply, or the member page); once."""
    raw = str(score if score is not None else "").strip()
    value = int(raw) if raw.isdigit() and len(raw) == 1 else 0
    if not 1 <= value <= 5:
        raise ValidationError({"score": [_("Choose a score from 1 to 5.")]})
    complaint = lock(complaint.id)
    if complaint.status != "resolved":
        raise ValidationError({"score": [_("A complaint is rated once it is resolved.")]})
    if complaint.satisfaction is not None:
        raise ValidationError({"score": [_("This complaint has already been rated.")]})
    complaint.satisfaction = value
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="rated", user_id=_actor(user), note=str(value)))
    db.session.flush()
    record_audit("update", "retail_complaint", complaint.id, f"satisfaction {value}")
    return complaint


def _escalate(complaint, title: str, kind: str) -> None:
    """A breach: the store's manager (the owner where the store has none) hears of it in the bell and by email,
    both through the outbox in this transaction; the dedupe key makes a re-fired timer tell them once."""
    for manager in staff_with_role("manager", complaint.store_id)[:1] or staff_with_role("owner")[:1]:
        notify_user(manager, title, complaint.description[:200], f"/retail/complaints/{complaint.id}",
                    dedupe_key=f"retail-complaint-{kind}-{complaint.id}")


@timer_handler(TIMER)
def first_response_missed(timer) -> None:
    complaint = lock(timer.payload.get("complaint_id"))
    if complaint is None or complaint.first_responded_at is not None:
        return
    complaint.overdue = True
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="overdue"))
    _escalate(complaint, _("Complaint without a first response for %(n)s store hours",
                           n=_hours("complaint_first_response_hours")), "overdue")
    db.session.flush()


@timer_handler(RESOLUTION_TIMER)
def resolution_missed(timer) -> None:
    complaint = lock(timer.payload.get("complaint_id"))
    if complaint is None or complaint.status in ("resolved", "waiting") or complaint.resolution_overdue:
        return
    complaint.resolution_overdue = True
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="resolution_overdue"))
    _escalate(complaint, _("Complaint not resolved within %(n)s store hours",
                           n=_hours("complaint_resolution_hours")), "resolution")
    db.session.flush()


def get(complaint_id):
    return get_scoped(Complaint, complaint_id)


def listing(status=None):
    query = select(Complaint).order_by(Complaint.status == "resolved", Complaint.first_response_due).limit(100)
    if status:
        query = query.where(Complaint.status == status)
    return list(db.session.scalars(query))


def events_of(complaint_id):
    return list(db.session.scalars(select(ComplaintEvent).where(ComplaintEvent.complaint_id == complaint_id)
                                   .order_by(ComplaintEvent.id)))
