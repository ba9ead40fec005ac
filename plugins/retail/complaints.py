"""Complaints (投诉): intake by staff or from the member page, routing by kind (quality → the chain's QC lead, i.e.
an admin who sees every store; attitude and the rest → the store's manager), a first response due 2 hours after
intake through the core's timers (escalated to the store's manager and marked overdue when missed), transfer with
history, resolution, and a satisfaction SMS once resolved."""
from datetime import timedelta

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from storecrm.sdk import (AUTOMATION, Customer, Store, Trimmed, db, get_scoped, get_user, notify_user, record_audit,
                          schedule_timer, cancel_timer, send_template, staff_with_role, timer_handler, utcnow)

from .models import Complaint, ComplaintEvent

KINDS = {"quality": _l("Product quality"), "attitude": _l("Service attitude"), "other": _l("Other")}
STATUSES = {"open": _l("Waiting for a response"), "responded": _l("Responded"), "resolved": _l("Resolved")}
EVENTS = {"created": _l("Received"), "responded": _l("First response"), "transferred": _l("Transferred"),
          "overdue": _l("First response overdue"), "resolved": _l("Resolved")}
FIRST_RESPONSE = timedelta(hours=2)
TIMER = "retail.complaint_first_response"


class ComplaintIn(Schema):
    customer_id = fields.Integer(required=True, strict=False)
    store_id = fields.Integer(required=True, strict=False)
    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS), error=_l("Choose one of the listed options.")))
    description = Trimmed(required=True, validate=validate.Length(min=1, max=2000))


def route(kind: str, store_id):
    """The person a complaint goes to first."""
    people = (staff_with_role("admin") if kind == "quality" else []) or staff_with_role("manager", store_id) \
        or staff_with_role("owner")
    return people[0] if people else None


def intake(user, data: dict, *, source: str = "staff", now=None) -> Complaint:
    data = ComplaintIn().load(data)
    customer = get_scoped(Customer, data["customer_id"])
    if customer is None or customer.deleted_at is not None:
        raise ValidationError({"customer_id": [_("Choose one of the listed options.")]})
    if get_scoped(Store, data["store_id"]) is None:
        raise ValidationError({"store_id": [_("Choose one of the listed options.")]})
    now = now or utcnow()
    assignee = route(data["kind"], data["store_id"])
    complaint = Complaint(customer_id=customer.id, store_id=data["store_id"], kind=data["kind"],
                          description=data["description"], source=source, status="open",
                          assignee_id=assignee.id if assignee else None, first_response_due=now + FIRST_RESPONSE,
                          created_at=now)
    db.session.add(complaint)
    db.session.flush()
    actor = None if user in (None, AUTOMATION) else user.id
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="created", user_id=actor, to_user_id=complaint.assignee_id, at=now))
    schedule_timer(f"retail-complaint-{complaint.id}", TIMER, complaint.first_response_due, {"complaint_id": complaint.id})
    if assignee is not None:
        notify_user(assignee, _("New complaint: %(name)s", name=customer.name),
                    _("First response due within 2 hours."), f"/retail/complaints/{complaint.id}")
    record_audit("create", "retail_complaint", complaint.id, customer.name)
    return complaint


def _lock(complaint_id) -> Complaint:
    return db.session.scalar(select(Complaint).where(Complaint.id == complaint_id).with_for_update()
                             .execution_options(populate_existing=True))


def respond(user, complaint: Complaint, note: str, *, now=None) -> Complaint:
    if not (note or "").strip():
        raise ValidationError({"note": [_("Write what was said to the customer.")]})
    complaint = _lock(complaint.id)
    if complaint.status == "resolved":
        raise ValidationError({"note": [_("This complaint is resolved.")]})
    now = now or utcnow()
    if complaint.first_responded_at is None:
        complaint.first_responded_at, complaint.status = now, "responded"
        cancel_timer(f"retail-complaint-{complaint.id}")
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="responded", user_id=getattr(user, "id", None),
                                  note=note.strip()[:2000], at=now))
    db.session.flush()
    return complaint


def transfer(user, complaint: Complaint, to_user_id, note: str | None = None) -> Complaint:
    target = get_user(to_user_id) if to_user_id else None
    if target is None or not target.active:
        raise ValidationError({"to_user_id": [_("Choose one of the listed options.")]})
    complaint = _lock(complaint.id)
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="transferred", user_id=getattr(user, "id", None),
                                  to_user_id=target.id, note=(note or "")[:2000] or None))
    complaint.assignee_id = target.id
    notify_user(target, _("A complaint was transferred to you"), (note or "")[:200], f"/retail/complaints/{complaint.id}")
    db.session.flush()
    return complaint


def resolve(user, complaint: Complaint, resolution: str) -> Complaint:
    if not (resolution or "").strip():
        raise ValidationError({"resolution": [_("Write how it was resolved.")]})
    complaint = _lock(complaint.id)
    if complaint.status == "resolved":
        raise ValidationError({"resolution": [_("This complaint is resolved.")]})
    complaint.status, complaint.resolution, complaint.resolved_at = "resolved", resolution.strip(), utcnow()
    if complaint.first_responded_at is None:
        complaint.first_responded_at = complaint.resolved_at
        cancel_timer(f"retail-complaint-{complaint.id}")
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="resolved", user_id=getattr(user, "id", None),
                                  note=complaint.resolution[:2000]))
    customer = get_scoped(Customer, complaint.customer_id)
    if customer is not None and customer.mobile:
        send_template("sms", customer.mobile, "retail.complaint_resolved", {}, customer=customer,
                      dedupe_key=f"retail-complaint-survey-{complaint.id}")
    db.session.flush()
    record_audit("update", "retail_complaint", complaint.id, "resolved")
    return complaint


@timer_handler(TIMER)
def first_response_missed(timer) -> None:
    complaint = _lock(timer.payload.get("complaint_id"))
    if complaint is None or complaint.first_responded_at is not None:
        return
    complaint.overdue = True
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="overdue"))
    for manager in staff_with_role("manager", complaint.store_id)[:1] or staff_with_role("owner")[:1]:
        notify_user(manager, _("Complaint without a first response for 2 hours"),
                    complaint.description[:200], f"/retail/complaints/{complaint.id}")
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
