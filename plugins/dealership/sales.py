"""Sales extensions on the core leads: the car model a lead is interested in, test drives (试驾) on demo cars booked
through the scheduling core (a clash is refused there), the lead moved to the 已试驾 stage, and the sales funnel and
advisor leaderboard of the home page."""
from __future__ import annotations

from datetime import datetime, time, timedelta

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import func, select

from storecrm.sdk import (Appointment, Customer, Lead, Resource, ServiceType, Store, User, appointment_action,
                          book_appointment, utcnow,
                          customer_for_public_request, db, ensure_lead_stage, get_lead, get_scoped,
                          move_lead_to_stage, record_audit, save_resource, save_service_type, set_lead_interest,
                          tenant_today, tenant_zone)

from .models import TestDrive

DEMO_CAR_KIND = "demo_car"
DRIVE_STATE_LABELS = {"booked": _l("Booked (test drive)"), "completed": _l("Driven"),
                      "cancelled": _l("Cancelled (test drive)")}
TEST_DRIVE_MINUTES = 45


def stage_name() -> str:
    with force_locale("zh_CN"):
        return _("Test drive taken (lead stage)")


def service_name() -> str:
    with force_locale("zh_CN"):
        return _("Test drive (sales)")


def seed_sales():
    """First enable only: the 试驾 service type on demo cars, two demo cars per store, the 已试驾 lead stage."""
    with force_locale("zh_CN"):
        if db.session.scalar(select(ServiceType.id).where(ServiceType.name == service_name())) is None:
            save_service_type({"name": service_name(), "duration_minutes": TEST_DRIVE_MINUTES, "buffer_minutes": 15,
                               "required_skills": {}, "needs_staff": False, "resource_kind": DEMO_CAR_KIND,
                               "min_notice_minutes": 0, "max_days_ahead": 30, "public": False})
        for store in db.session.scalars(select(Store).where(Store.active.is_(True))):
            seed_demo_cars(store)
        ensure_lead_stage(stage_name(), 30)


def seed_demo_cars(store):
    """Two demo cars in `store`, unless it has some already (an upgrade runs this again)."""
    if db.session.scalar(select(Resource.id).where(Resource.kind == DEMO_CAR_KIND, Resource.store_id == store.id)
                         .limit(1)) is not None:
        return
    with force_locale("zh_CN"):
        for n in (1, 2):
            save_resource(None, {"store_id": store.id, "name": _("Demo car %(n)s", n=n), "kind": DEMO_CAR_KIND,
                                 "capacity": 1})


def demo_cars(user) -> list[Resource]:
    query = select(Resource).where(Resource.kind == DEMO_CAR_KIND, Resource.active.is_(True)).order_by(Resource.id)
    if not user.sees_all_stores:
        query = query.where(Resource.store_id.in_(user.store_ids or [-1]))
    return list(db.session.scalars(query))


def open_leads(user, limit: int = 200) -> list[Lead]:
    query = select(Lead).where(Lead.status.in_(("new", "contacted", "qualified"))).order_by(Lead.id.desc()).limit(limit)
    if not user.sees_all_stores:
        query = query.where((Lead.owner_id == user.id) | Lead.store_id.in_(user.store_ids or [-1]))
    return [lead for lead in db.session.scalars(query) if get_lead(user, lead.id) is not None]


def set_model(user, lead: Lead, model: str) -> Lead:
    """The car model the lead is interested in (a catalog item's name or free text): the lead's interest."""
    return set_lead_interest(user, lead, model)


def _service():
    return db.session.scalar(select(ServiceType).where(ServiceType.resource_kind == DEMO_CAR_KIND)
                             .order_by(ServiceType.id))


def book_test_drive(user, lead: Lead, data: dict, *, now: datetime | None = None) -> TestDrive:
    """Book demo car `resource_id` at `starts_at` with advisor `advisor_id` for the lead (optional `model`). The
    scheduling core places the appointment; a clash raises its field error on `starts_at`. The lead moves to the
    已试驾 stage and its interest becomes the model."""
    errors = {}
    car = get_scoped(Resource, data.get("resource_id"))
    if car is None or car.kind != DEMO_CAR_KIND or car not in demo_cars(user):
        errors["resource_id"] = [_("Choose one of the listed demo cars.")]
    advisor = get_scoped(User, data.get("advisor_id")) if data.get("advisor_id") else user
    if advisor is None or not advisor.active:
        errors["advisor_id"] = [_("Choose one of the listed advisors.")]
    start = data.get("starts_at")
    if not isinstance(start, datetime) or start.tzinfo is None:
        errors["starts_at"] = [_("Give a date and time.")]
    service = _service()
    if service is None:
        errors["resource_id"] = [_("No test-drive service is set up.")]
    model = (data.get("model") or lead.interest or "").strip()[:120]
    if not model:
        errors["model"] = [_("Give the car model.")]
    if not lead.is_open:
        errors["lead_id"] = [_("This lead is closed.")]
    if errors:
        raise ValidationError(errors)
    store = get_scoped(Store, car.store_id)
    customer = (get_scoped(Customer, lead.customer_id) if lead.customer_id
                else customer_for_public_request(store, lead.name, lead.mobile))
    with db.session.begin_nested():
        appointment = book_appointment(user, {"store_id": store.id, "service_type_id": service.id,
                                              "customer_id": customer.id, "resource_id": car.id, "starts_at": start,
                                              "notes": model}, now=now)
    if lead.interest != model:
        set_model(user, lead, model)
    stage = ensure_lead_stage(stage_name(), 30)
    move_lead_to_stage(user, lead, stage.id, now=now)
    drive = TestDrive(lead_id=lead.id, store_id=store.id, appointment_id=appointment.id, resource_id=car.id,
                      advisor_id=advisor.id, model=model, starts_at=start)
    db.session.add(drive)
    db.session.flush()
    record_audit("create", "dealer_test_drive", drive.id, f"{lead.name} {model}")
    return drive


def get_test_drive(user, drive_id) -> TestDrive | None:
    """A test drive of a store `user` may see (None for other stores', other tenants' and unknown ids)."""
    drive = get_scoped(TestDrive, drive_id)
    if drive is None or not (user.sees_all_stores or drive.store_id in (user.store_ids or [])):
        return None
    return drive


def list_test_drives(user, *, state: str | None = None, lead_id: int | None = None, after_id: int | None = None,
                     limit: int = 51) -> list[TestDrive]:
    """Test drives of the stores `user` may see, newest first (keyset on id)."""
    query = select(TestDrive).order_by(TestDrive.id.desc()).limit(limit)
    if state:
        query = query.where(TestDrive.state == state)
    if lead_id:
        query = query.where(TestDrive.lead_id == lead_id)
    if after_id:
        query = query.where(TestDrive.id < after_id)
    if not user.sees_all_stores:
        query = query.where(TestDrive.store_id.in_(user.store_ids or [-1]))
    return list(db.session.scalars(query))


def test_drives_of_lead(lead_id: int) -> list[TestDrive]:
    return list(db.session.scalars(select(TestDrive).where(TestDrive.lead_id == lead_id)
                                   .order_by(TestDrive.starts_at.desc())))


def close_test_drive(user, drive: TestDrive, outcome: str, note: str | None = None, *,
                     now: datetime | None = None) -> TestDrive:
    """A booked test drive is `completed` (the demo car's appointment is done) or `cancelled` (the appointment is
    cancelled, so the car is free again). ValidationError on `state` when it is already closed."""
    if outcome not in ("completed", "cancelled"):
        raise ValidationError({"outcome": [_("Choose complete or cancel.")]})
    if drive.state != "booked":
        raise ValidationError({"state": [_("This test drive is already closed.")]})
    appointment = get_scoped(Appointment, drive.appointment_id) if drive.appointment_id else None
    if appointment is not None:
        if outcome == "cancelled" and appointment.status in ("booked", "confirmed"):
            appointment_action(user, appointment, "cancel", reason=note, now=now)
        elif outcome == "completed":
            if appointment.status in ("booked", "confirmed"):
                appointment_action(user, appointment, "arrive", now=now)
            if appointment.status in ("arrived", "in_service"):
                appointment_action(user, appointment, "complete", now=now)
    drive.state, drive.note, drive.closed_at = outcome, (note or "").strip()[:300] or None, now or utcnow()
    db.session.flush()
    record_audit("update", "dealer_test_drive", drive.id, f"{drive.model}: {outcome}")
    return drive


def day_bounds(day=None):
    start = datetime.combine(day or tenant_today(), time(), tzinfo=tenant_zone())
    return start, start + timedelta(days=1)


def test_drives_on(user, day=None, days: int = 1) -> list[dict]:
    """Test drives starting on `day` (default today) and the `days` − 1 days after it, in the user's stores."""
    start, end = day_bounds(day)
    end = start + timedelta(days=days)
    query = (select(TestDrive, Lead.name, Resource.name, User.display_name)
             .join(Lead, Lead.id == TestDrive.lead_id)
             .outerjoin(Resource, Resource.id == TestDrive.resource_id)
             .outerjoin(User, User.id == TestDrive.advisor_id)
             .where(TestDrive.starts_at >= start, TestDrive.starts_at < end).order_by(TestDrive.starts_at))
    if not user.sees_all_stores:
        query = query.where(TestDrive.store_id.in_(user.store_ids or [-1]))
    return [{"drive": d, "lead": lead, "car": car, "advisor": advisor}
            for d, lead, car, advisor in db.session.execute(query).all()]


def _month_start():
    today = tenant_today()
    return datetime.combine(today.replace(day=1), time(), tzinfo=tenant_zone())


def sales_widget(user):
    """The home-page card: this month's leads by step (funnel) and the advisors' won leads and test drives."""
    since = _month_start()
    leads = select(Lead).where(Lead.created_at >= since)
    if not user.sees_all_stores:
        leads = leads.where(Lead.store_id.in_(user.store_ids or [-1]))
    sub = leads.subquery()
    total = db.session.scalar(select(func.count()).select_from(sub)) or 0
    by_status = dict(db.session.execute(select(sub.c.status, func.count()).group_by(sub.c.status)).all())
    drives = select(TestDrive).where(TestDrive.created_at >= since)
    if not user.sees_all_stores:
        drives = drives.where(TestDrive.store_id.in_(user.store_ids or [-1]))
    dsub = drives.subquery()
    driven_leads = db.session.scalar(select(func.count(func.distinct(dsub.c.lead_id)))) or 0
    funnel = [(_("Leads"), total), (_("Contacted"), total - by_status.get("new", 0)),
              (_("Test driven"), driven_leads), (_("Won"), by_status.get("won", 0))]
    won_query = select(Lead.owner_id, func.count()).where(Lead.status == "won", Lead.closed_at >= since)
    if not user.sees_all_stores:
        won_query = won_query.where(Lead.store_id.in_(user.store_ids or [-1]))
    won = dict(db.session.execute(won_query.group_by(Lead.owner_id)).all())
    driven = dict(db.session.execute(select(dsub.c.advisor_id, func.count()).group_by(dsub.c.advisor_id)).all())
    ids = [i for i in set(won) | set(driven) if i is not None]
    names = dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids or [-1]))).all())
    board = sorted(({"name": names.get(i, "—"), "won": won.get(i, 0), "drives": driven.get(i, 0)} for i in ids),
                   key=lambda row: (-row["won"], -row["drives"], row["name"]))[:5]
    return {"funnel": funnel, "board": board}
