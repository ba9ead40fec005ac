"""Repair orders (工单): reception, service items, dispatch, the technician's work, QC, delivery and settlement,
follow-up surveys and complaints. The only place that writes the dealership's tables; pages, API, jobs and the demo
all call these functions."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation

from flask_babel import force_locale
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import and_, func, or_, select

from storecrm.sdk import (AUTOMATION, Appointment, Asset, Customer, RecordEvent, ServiceType, Store, SurveyAnswered,
                          SurveyInvitation, User, add_odometer_reading, appointment_action, as_id,
                          book_appointment, confirm_order, create_asset, create_sales_document, create_task,
                          current_tenant_id, db, default_assignee, document_totals, emit_event,
                          find_customer_by_identity, fulfil_order, get_catalog_item, get_customer, get_scoped,
                          identities_of, log_interaction, money, normalize_identity, notify_user, plugin_settings,
                          price_for, rank_technicians, record_audit, record_payment, send_survey, tenant_today,
                          tenant_locale, tenant_zone, utcnow,
                          find_item_by_sku, release_stock, reserve_stock, stock_location_for_store, InsufficientStock)

from .labels import CATEGORY_LABELS, GRIEVANCE_LABELS, PAYMENT_METHOD_LABELS, label
from .models import (COMPLAINT_CATEGORIES, GRIEVANCES, LINE_KINDS, OPEN, PAYERS, AddOn, Campaign, CampaignVehicle,
                     Complaint, QcCheck, RepairLine, RepairOrder, ServiceKind)

ENTITY = "dealer_repair_order"  # audit entries, survey invitations and stock references name repair orders so
HISTORY_POINTS, HISTORY_MAX, OPEN_JOB_POINTS = 4, 3, -6


def _messages(err: ValidationError) -> list[str]:
    """The plain messages of an error, whatever shape (a list, or {field: [...]}) it came in."""
    found = err.messages
    if isinstance(found, dict):
        return [str(m) for value in found.values() for m in (value if isinstance(value, list) else [value])]
    return [str(m) for m in found] if isinstance(found, list) else [str(found)]


def progress_token(ro: RepairOrder) -> str:
    """The signed token of the customer's live progress link (tenant and order inside; nothing to guess)."""
    from flask import current_app
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="dealership.progress").dumps(
        [current_tenant_id(), ro.id])


PHOTO_LINK_MINUTES = 30  # a photo link outlives the page view, not the repair: the page signs fresh ones each time


def _photo_signer():
    from flask import current_app
    from itsdangerous import URLSafeSerializer

    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt="dealership.progress-photo")


def progress_photo_ids(ro: RepairOrder) -> list[int]:
    """The photos the customer sees on the progress page: the car at reception and the add-on work's."""
    ids = list(ro.photos or [])
    for add_on in add_ons_of(ro):
        ids.extend(add_on.photos or [])
    return list(dict.fromkeys(int(i) for i in ids))


def photo_signature(ro: RepairOrder, file_id: int, *, now: datetime | None = None) -> str:
    """A signature for one photo of one repair order in this tenant, valid PHOTO_LINK_MINUTES from `now`: the
    public page's photo URLs, never a general file URL (those need a staff login)."""
    expires = int(((now or utcnow()) + timedelta(minutes=PHOTO_LINK_MINUTES)).timestamp())
    return _photo_signer().dumps([current_tenant_id(), ro.id, int(file_id), expires])


def photo_from_signature(ro: RepairOrder, signature: str, *, now: datetime | None = None) -> int | None:
    """The file id a signature grants for this order, or None: forged, expired, of another order, tenant or a
    photo no longer on the order."""
    from itsdangerous import BadSignature

    try:
        tenant_id, ro_id, file_id, expires = _photo_signer().loads(signature)
    except (BadSignature, ValueError, TypeError):
        return None
    if (tenant_id, ro_id) != (current_tenant_id(), ro.id) or not isinstance(expires, int):
        return None
    if (now or utcnow()).timestamp() > expires or file_id not in progress_photo_ids(ro):
        return None
    return file_id


def order_from_progress_token(token: str) -> RepairOrder | None:
    from flask import current_app
    from itsdangerous import BadSignature, URLSafeSerializer

    try:
        tenant_id, ro_id = URLSafeSerializer(current_app.config["SECRET_KEY"],
                                             salt="dealership.progress").loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if tenant_id != current_tenant_id():
        return None
    return get_scoped(RepairOrder, as_id(ro_id))


def _err(field: str, message: str):
    raise ValidationError({field: [message]})


# --- reading ---------------------------------------------------------------------------------------------------

def sees(user, ro: RepairOrder | None) -> bool:
    """Staff of the order's store (HQ: every store), and the technician it was dispatched to."""
    return ro is not None and (user is AUTOMATION or user.sees_all_stores or ro.store_id in (user.store_ids or [])
                               or (ro.technician_id is not None and ro.technician_id == user.id))


def get_repair_order(user, ro_id) -> RepairOrder | None:
    ro = get_scoped(RepairOrder, as_id(ro_id))
    return ro if sees(user, ro) else None


def _visible(user, query):
    if user is AUTOMATION or user.sees_all_stores:
        return query
    return query.where(RepairOrder.store_id.in_(user.store_ids or [-1]))


def list_repair_orders(user, *, state: str | None = None, technician_id: int | None = None,
                       after_id: int | None = None, limit: int = 50) -> list[RepairOrder]:
    query = _visible(user, select(RepairOrder))
    if state == "open":
        query = query.where(RepairOrder.state.in_(OPEN))
    elif state:
        query = query.where(RepairOrder.state == state)
    if technician_id is not None:
        query = query.where(RepairOrder.technician_id == technician_id)
    if after_id is not None:
        query = query.where(RepairOrder.id < after_id)
    return list(db.session.scalars(query.order_by(RepairOrder.id.desc()).limit(limit)))


def my_jobs(user) -> list[RepairOrder]:
    """The technician's queue: dispatched and in-progress orders first, oldest arrival first."""
    return list(db.session.scalars(select(RepairOrder).where(
        RepairOrder.technician_id == user.id, RepairOrder.state.in_(("dispatched", "in_progress")))
        .order_by(RepairOrder.state.desc(), RepairOrder.arrived_at)))


def lines_of(ro: RepairOrder) -> list[RepairLine]:
    return list(db.session.scalars(select(RepairLine).where(RepairLine.repair_order_id == ro.id)
                                   .order_by(RepairLine.id)))


def qc_checks_of(ro: RepairOrder) -> list[QcCheck]:
    return list(db.session.scalars(select(QcCheck).where(QcCheck.repair_order_id == ro.id)
                                   .order_by(QcCheck.id.desc())))


def complaints_of(ro: RepairOrder) -> list[Complaint]:
    return list(db.session.scalars(select(Complaint).where(Complaint.repair_order_id == ro.id)
                                   .order_by(Complaint.id)))


def repeat_repairs(ro: RepairOrder) -> int:
    """How many repair orders this car has had for the same fault category (this one included): the 三包 count."""
    return db.session.scalar(select(func.count()).select_from(RepairOrder).where(
        RepairOrder.asset_id == ro.asset_id, RepairOrder.complaint_category == ro.complaint_category,
        RepairOrder.state != "cancelled")) or 0


def service_kinds() -> list[ServiceKind]:
    return list(db.session.scalars(select(ServiceKind).order_by(ServiceKind.id)))


def service_kind(code: str) -> ServiceKind | None:
    return db.session.scalar(select(ServiceKind).where(ServiceKind.code == code))


def names_of(user_ids) -> dict[int, str]:
    ids = [i for i in set(user_ids) if i]
    if not ids:
        return {}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(ids))).all())


def orders_of_customer(customer_id: int) -> list[RepairOrder]:
    return list(db.session.scalars(select(RepairOrder).where(RepairOrder.customer_id == customer_id)
                                   .order_by(RepairOrder.id.desc()).limit(20)))


def orders_of_vehicle(asset_id: int) -> list[RepairOrder]:
    return list(db.session.scalars(select(RepairOrder).where(RepairOrder.asset_id == asset_id)
                                   .order_by(RepairOrder.id.desc()).limit(20)))


def vehicle_marks(asset_ids) -> dict[int, dict[str, str]]:
    """{asset id: {"plate": …, "vin": …}} for the vehicles of repair orders (one query per customer at most)."""
    out: dict[int, dict[str, str]] = {}
    assets = {a.id: a for a in db.session.scalars(select(Asset).where(Asset.id.in_(list(set(asset_ids)) or [0])))}
    for customer_id in {a.customer_id for a in assets.values()}:
        for identity in identities_of(customer_id):
            if identity.asset_id in assets and identity.kind in ("plate", "vin"):
                out.setdefault(identity.asset_id, {})[identity.kind] = identity.value
    return out


def list_vehicles(user, *, after_id: int | None = None, limit: int = 50) -> list[Asset]:
    query = select(Asset).where(Asset.type == "vehicle", Asset.deleted_at.is_(None))
    if user is not AUTOMATION and not user.sees_all_stores:
        query = query.join(Customer, and_(Customer.tenant_id == Asset.tenant_id, Customer.id == Asset.customer_id)) \
            .where(or_(Customer.store_id.in_(user.store_ids or [-1]), Asset.store_id.in_(user.store_ids or [-1])))
    if after_id is not None:
        query = query.where(Asset.id < after_id)
    return list(db.session.scalars(query.order_by(Asset.id.desc()).limit(limit)))


def get_vehicle(user, asset_id) -> Asset | None:
    asset = get_scoped(Asset, as_id(asset_id))
    if asset is None or asset.type != "vehicle" or asset.deleted_at is not None:
        return None
    return asset if get_customer(user, asset.customer_id) is not None else None


def todays_appointments(user, day_start: datetime, day_end: datetime) -> list[Appointment]:
    """Appointments of the dealer's services that have not arrived yet, in the user's stores, for the reception."""
    kinds = select(ServiceKind.service_type_id)
    query = select(Appointment).where(Appointment.service_type_id.in_(kinds),
                                      Appointment.status.in_(("booked", "confirmed")),
                                      Appointment.starts_at >= day_start, Appointment.starts_at < day_end)
    if not user.sees_all_stores:
        query = query.where(Appointment.store_id.in_(user.store_ids or [-1]))
    return list(db.session.scalars(query.order_by(Appointment.starts_at).limit(50)))


# --- reception -------------------------------------------------------------------------------------------------

def _number(now: datetime) -> str:
    day = now.astimezone(tenant_zone()).strftime("%Y%m%d")
    prefix = f"RO{day}-"
    count = db.session.scalar(select(func.count()).select_from(RepairOrder).where(
        RepairOrder.number.like(f"{prefix}%"))) or 0
    return f"{prefix}{count + 1:03d}"


def _vehicle_for(user, customer: Customer, data: dict) -> Asset:
    """The customer's car with this plate (or VIN), or a new vehicle asset for it."""
    if data.get("asset_id"):
        asset = get_scoped(Asset, as_id(data["asset_id"]))
        if asset is None or asset.customer_id != customer.id or asset.type != "vehicle":
            _err("asset_id", _("Choose one of the customer's cars."))
        return asset
    plate, vin = (data.get("plate") or "").strip(), (data.get("vin") or "").strip()
    if not plate and not vin:
        _err("plate", _("Enter the plate number (or the VIN)."))
    wanted = {}
    for kind, raw in (("plate", plate), ("vin", vin)):
        if raw:
            try:
                wanted[kind] = normalize_identity(kind, raw)
            except ValidationError as err:
                raise ValidationError({kind: _messages(err)})
    for identity in identities_of(customer.id):
        if identity.asset_id and identity.kind in wanted and identity.value == wanted[identity.kind]:
            return db.session.get(Asset, (identity.tenant_id, identity.asset_id))
    for kind, value in wanted.items():
        holder = find_customer_by_identity(kind, value)
        if holder is not None and holder.id != customer.id:
            _err(kind, _("This car is registered to another customer."))
    name = " ".join(filter(None, [(data.get("brand") or "").strip(), (data.get("model") or "").strip()])) or \
        wanted.get("plate") or wanted.get("vin")
    return create_asset(user, customer, {
        "type": "vehicle", "name": name[:120], "store_id": data.get("store_id"), "identifiers": wanted,
        "attributes": {"brand": (data.get("brand") or "").strip() or None,
                       "model": (data.get("model") or "").strip() or None}})


def _customer_for(user, data: dict, store: Store, appointment=None) -> Customer:
    if appointment is not None:  # whoever booked: a customer of another store may service here
        return get_scoped(Customer, appointment.customer_id)
    if data.get("customer_id"):
        customer = get_customer(user, as_id(data["customer_id"]))
        if customer is None:
            _err("customer_id", _("Choose an existing customer."))
        return customer
    mobile = (data.get("mobile") or "").strip()
    if not mobile:
        _err("mobile", _("Enter the customer's mobile number."))
    try:
        customer = find_customer_by_identity("mobile", mobile)
    except ValidationError:
        _err("mobile", _("Enter a valid mobile number."))
    if customer is not None:
        return customer
    from storecrm.sdk import create_customer

    name = (data.get("name") or "").strip()
    if not name:
        _err("name", _("Enter the customer's name."))
    return create_customer(user, {"name": name[:80], "mobile": mobile, "store_id": store.id})


def _store(user, store_id) -> Store:
    store = get_scoped(Store, as_id(store_id))
    if store is None or not store.active or not (user is AUTOMATION or user.sees_all_stores
                                                 or store.id in (user.store_ids or [])):
        _err("store_id", _("Choose one of your stores."))
    return store


def _int(data: dict, key: str, low: int, high: int, message: str) -> int:
    raw = data.get(key)
    try:
        value = int(str(raw).replace(",", "").strip())
    except (TypeError, ValueError):
        _err(key, message)
    if not low <= value <= high:
        _err(key, message)
    return value


def receive(user, data: dict, *, now: datetime | None = None) -> RepairOrder:
    """The advisor receives a car (接车): from an appointment (`appointment_id`, which is marked arrived) or as a
    walk-in (customer by `customer_id` or mobile + name; car by `asset_id`, plate or VIN, created if new). Records
    the mileage as an odometer reading (a service reading for maintenance), the complaint with its category and the
    photos (upload ids). ValidationError by field; nothing written then."""
    now = now or utcnow()
    appointment = None
    if data.get("appointment_id"):
        appointment = get_scoped(Appointment, as_id(data["appointment_id"]))
        if appointment is None or appointment.status not in ("booked", "confirmed") or \
                (user is not AUTOMATION and not user.sees_all_stores and appointment.store_id not in user.store_ids):
            _err("appointment_id", _("This appointment cannot be received."))
        data = {**data, "store_id": appointment.store_id, "customer_id": appointment.customer_id,
                "asset_id": data.get("asset_id") or appointment.asset_id}
    store = _store(user, data.get("store_id"))
    errors = {}
    kind = service_kind(data.get("service_kind") or "")
    if kind is None and appointment is not None:
        kind = db.session.scalar(select(ServiceKind).where(ServiceKind.service_type_id == appointment.service_type_id))
    if kind is None:
        errors["service_kind"] = [_("Choose a service.")]
    category = data.get("complaint_category") or ""
    if category not in COMPLAINT_CATEGORIES:
        errors["complaint_category"] = [_("Choose a category.")]
    try:
        mileage = _int(data, "mileage", 0, 3_000_000, _("Enter the mileage shown, 0 to 3,000,000 km."))
    except ValidationError as err:
        errors.update(err.messages)
        mileage = None
    complaint = (data.get("complaint") or "").strip()
    if len(complaint) > 2000:
        errors["complaint"] = [_("At most 2,000 characters.")]
    if errors:
        raise ValidationError(errors)
    customer = _customer_for(user, data, store, appointment)
    vehicle = _vehicle_for(user, customer, {**data, "store_id": store.id})
    if appointment is not None and data.get("asset_id") is None and appointment.asset_id is None:
        appointment.asset_id = vehicle.id
    try:
        # the core refuses readings dated after its own today: a reception clocked ahead is dated today
        add_odometer_reading(user, vehicle, mileage, read_on=min(now.astimezone(tenant_zone()).date(), tenant_today()),
                             service=kind.code == "maintenance")
    except ValidationError as err:
        messages = err.messages.get("value") or err.messages.get("read_on") if isinstance(err.messages, dict) else None
        raise ValidationError({"mileage": messages or [_("This mileage does not fit the car's earlier readings.")]})
    walk_in = appointment is None
    if appointment is not None:
        appointment_action(user if user is not AUTOMATION else None, appointment, "arrive", now=now)
    elif kind.service_type_id is not None:
        try:  # a walk-in takes a bay now if one is free; a full workshop still receives the car
            with db.session.begin_nested():
                appointment = book_appointment(None if user is AUTOMATION else user, {
                    "store_id": store.id, "service_type_id": kind.service_type_id, "customer_id": customer.id,
                    "asset_id": vehicle.id, "walk_in": True}, now=now)
        except ValidationError:
            appointment = None
    service = get_scoped(ServiceType, kind.service_type_id) if kind.service_type_id else None
    promised = now + timedelta(minutes=(service.duration_minutes if service else 60) + 30)
    ro = RepairOrder(number=_number(now), store_id=store.id, promised_at=promised, customer_id=customer.id, asset_id=vehicle.id,
                     appointment_id=appointment.id if appointment else None, walk_in=walk_in,
                     service_kind=kind.code, state="reception",
                     advisor_id=None if user is AUTOMATION else user.id, mileage=mileage,
                     complaint=complaint or None, complaint_category=category,
                     photos=[int(p) for p in data.get("photos") or []], required_skills=dict(kind.skills or {}),
                     arrived_at=now, created_at=now)
    db.session.add(ro)
    db.session.flush()
    record_audit("create", ENTITY, ro.id, f"{ro.number} {customer.name}")
    if not walk_in and appointment is not None:
        _take_reserved_parts(user, ro, appointment)
    return ro


# --- service items -------------------------------------------------------------------------------------------

def _decimal(data: dict, key: str, low: Decimal, high: Decimal, message: str) -> Decimal:
    try:
        value = Decimal(str(data.get(key)).strip())
    except (InvalidOperation, ValueError):
        _err(key, message)
    if not value.is_finite() or not low <= value <= high:
        _err(key, message)
    return value


def _editable(ro: RepairOrder):
    if ro.state not in ("reception", "dispatched", "in_progress"):
        _err("state", _("Items can only be changed before QC."))


def _recount(ro: RepairOrder):
    lines = lines_of(ro)
    ro.labour_total = money(sum((ln.amount for ln in lines if ln.kind == "labour"), Decimal("0")))
    ro.parts_total = money(sum((ln.amount for ln in lines if ln.kind == "part"), Decimal("0")))
    ro.customer_total = money(sum((ln.amount for ln in lines if ln.payer == "customer"), Decimal("0")))
    skills = dict((service_kind(ro.service_kind).skills if service_kind(ro.service_kind) else {}) or {})
    for line in lines:
        if line.skill:
            skills[line.skill] = max(int(skills.get(line.skill, 1)), 1)
    ro.required_skills = skills


def add_line(user, ro: RepairOrder, data: dict) -> RepairLine:
    """A service item: `kind` labour (description, hours, optional rate — default the tenant's labour rate — and
    skill) or part (item_id from the catalog, quantity; priced for the store); `payer` customer, insurer,
    warranty or internal."""
    _editable(ro)
    kind = data.get("kind")
    if kind not in LINE_KINDS:
        _err("kind", _("Choose labour or a part."))
    payer = data.get("payer") or "customer"
    if payer not in PAYERS:
        _err("payer", _("Choose who pays."))
    if kind == "labour":
        description = (data.get("description") or "").strip()
        if not description or len(description) > 200:
            _err("description", _("Describe the work (up to 200 characters)."))
        hours = _decimal(data, "hours", Decimal("0.1"), Decimal("100"), _("Give 0.1 to 100 hours."))
        rate = money(plugin_settings("dealership")["labour_rate"]) if data.get("rate") in (None, "") else \
            _decimal(data, "rate", Decimal("0"), Decimal("10000"), _("Give a rate from 0 to 10,000."))
        skill = (data.get("skill") or "").strip()[:60] or None
        line = RepairLine(repair_order_id=ro.id, kind="labour", description=description, skill=skill,
                          quantity=hours, unit_price=money(rate), amount=money(hours * rate), payer=payer)
    else:
        item = get_catalog_item(as_id(data.get("item_id")))
        if item is None:
            _err("item_id", _("Choose a part from the catalog."))
        quantity = _decimal(data, "quantity", Decimal("0.01"), Decimal("10000"), _("Give a quantity above 0."))
        store = db.session.get(Store, (ro.tenant_id, ro.store_id))
        price = money(price_for(item, store))
        line = RepairLine(repair_order_id=ro.id, kind="part", description=item.name[:200], item_id=item.id,
                          quantity=quantity, unit_price=price, amount=money(quantity * price), payer=payer)
    db.session.add(line)
    db.session.flush()
    _recount(ro)
    record_audit("update", ENTITY, ro.id, f"{ro.number} + {line.description}")
    return line


def remove_line(user, ro: RepairOrder, line_id) -> None:
    _editable(ro)
    line = get_scoped(RepairLine, as_id(line_id))
    if line is None or line.repair_order_id != ro.id:
        _err("line_id", _("No such item."))
    db.session.delete(line)
    db.session.flush()
    _recount(ro)
    record_audit("update", ENTITY, ro.id, f"{ro.number} - {line.description}")


# --- dispatch and work ---------------------------------------------------------------------------------------

def recommend(ro: RepairOrder, *, now: datetime | None = None):
    """Technicians ranked for this order (skills, shift, load, history with this car): `rank_technicians` of the
    scheduling core plus this plugin's signals (`dispatch_signals`)."""
    store = db.session.get(Store, (ro.tenant_id, ro.store_id))
    return rank_technicians(store, skills=ro.required_skills or {}, at=now or utcnow(), asset_id=ro.asset_id)


# a missing required skill costs 100 points in the core's ranking; nothing else can take a candidate this low
LACKS_SKILL_BELOW = -50


def fit_of(rec, first: bool) -> str:
    """The ranking in words for the advisor: its points only order the list and mean nothing to a person."""
    if rec.score <= LACKS_SKILL_BELOW:
        return _("Lacks a required skill")
    if first:
        return _("Best match")
    return _("Suitable") if rec.on_shift else _("Not on shift")


def dispatch_signals(job: dict, user_ids: list[int]) -> dict:
    """History with this VIN (+4 a delivered order of this car, up to 3) and open repair orders (−6 each)."""
    out: dict[int, tuple[int, str]] = {}
    if not user_ids:
        return out
    rows = db.session.execute(select(
        RepairOrder.technician_id,
        func.count().filter(and_(RepairOrder.asset_id == (job.get("asset_id") or 0),
                                 RepairOrder.state == "delivered")),
        func.count().filter(RepairOrder.state.in_(("dispatched", "in_progress", "qc"))))
        .where(RepairOrder.technician_id.in_(user_ids)).group_by(RepairOrder.technician_id)).all()
    for user_id, history, open_jobs in rows:
        points, reasons = 0, []
        if history:
            points += HISTORY_POINTS * min(history, HISTORY_MAX)
            reasons.append(_("Worked on this car %(count)d times", count=history))
        if open_jobs:
            points += OPEN_JOB_POINTS * open_jobs
            reasons.append(_("%(count)d repair orders open", count=open_jobs))
        if reasons:
            out[user_id] = (points, "; ".join(reasons))
    return out


def _move(ro: RepairOrder, allowed, target: str, field: str = "state"):
    if ro.state not in allowed:
        _err(field, _("This cannot be done now: the repair order is %(state)s.", state=_state_word(ro.state)))
    before, ro.state = ro.state, target
    return before


def _state_word(state: str) -> str:
    from .labels import STATE_LABELS

    return label(STATE_LABELS, state)


def dispatch(user, ro: RepairOrder, technician_id, *, now: datetime | None = None) -> RepairOrder:
    """Give the job to a technician (one click from the recommendation); again while dispatched moves it."""
    now = now or utcnow()
    staff = get_scoped(User, as_id(technician_id))
    candidates = {r.user_id for r in recommend(ro, now=now)}
    if staff is None or not staff.active or staff.id not in candidates:
        _err("technician_id", _("Choose a technician of this store."))
    _move(ro, ("reception", "dispatched"), "dispatched")
    ro.technician_id, ro.dispatched_at = staff.id, now
    db.session.flush()
    record_audit("update", ENTITY, ro.id, f"{ro.number} → {staff.display_name}")
    with force_locale(staff.locale or tenant_locale()):  # the technician's language, not the dispatcher's
        notify_user(staff, _("New job: %(number)s", number=ro.number), ro.complaint or "", f"/dealership/{ro.id}")
    return ro


def _worker(user, ro: RepairOrder):
    if user is not AUTOMATION and ro.technician_id != user.id and not user.has_permission("dealership.reception"):
        _err("technician_id", _("This job is another technician's."))


def start_work(user, ro: RepairOrder, *, now: datetime | None = None) -> RepairOrder:
    _worker(user, ro)
    _move(ro, ("dispatched",), "in_progress")
    ro.started_at = ro.started_at or (now or utcnow())
    db.session.flush()
    record_audit("update", ENTITY, ro.id, f"{ro.number}: started")
    return ro


def finish_work(user, ro: RepairOrder, *, now: datetime | None = None) -> RepairOrder:
    _worker(user, ro)
    _move(ro, ("in_progress",), "qc")
    ro.finished_at = now or utcnow()
    db.session.flush()
    record_audit("update", ENTITY, ro.id, f"{ro.number}: ready for QC")
    return ro


def checklist_of(ro: RepairOrder) -> list[dict]:
    kind = service_kind(ro.service_kind)
    return list(kind.checklist or []) if kind else []


def quality_check(user, ro: RepairOrder, results: dict, *, reason: str | None = None, photos=(),
                  now: datetime | None = None) -> QcCheck:
    """QC (质检): `results` {checklist code: True/False}. Every item passed: ready for delivery. Any failed: back to
    the technician (in the workshop) with `reason`, which is then required."""
    now = now or utcnow()
    if ro.state != "qc":
        _err("state", _("This cannot be done now: the repair order is %(state)s.", state=_state_word(ro.state)))
    items = checklist_of(ro)
    missing = [i["code"] for i in items if i["code"] not in results]
    if missing:
        raise ValidationError({f"check.{code}": [_("Mark this item passed or failed.")] for code in missing})
    passed = all(bool(results[i["code"]]) for i in items)
    reason = (reason or "").strip()[:300] or None
    if not passed and not reason:
        _err("reason", _("Say what must be redone."))
    check = QcCheck(repair_order_id=ro.id, passed=passed, reason=reason, photos=[int(p) for p in photos],
                    inspector_id=None if user is AUTOMATION else user.id, checked_at=now,
                    results=[{"code": i["code"], "label": i["label"], "ok": bool(results[i["code"]])} for i in items])
    db.session.add(check)
    if passed:
        ro.state, ro.qc_passed_at = "ready", now
    else:
        ro.state, ro.qc_rejections = "in_progress", (ro.qc_rejections or 0) + 1
        technician = get_scoped(User, ro.technician_id) if ro.technician_id else None
        if technician is not None:
            notify_user(technician, _("QC sent back %(number)s", number=ro.number), reason, f"/dealership/{ro.id}")
    db.session.flush()
    record_audit("update", ENTITY, ro.id, f"{ro.number}: QC {'passed' if passed else 'rejected'}")
    return check


# --- delivery and settlement ---------------------------------------------------------------------------------

def deliver(user, ro: RepairOrder, *, method: str | None = None, now: datetime | None = None) -> RepairOrder:
    """Hand the car back (交车): the customer's lines become a sales order, confirmed and fulfilled (parts leave
    stock), paid in full with `method`; insurer, warranty and internal lines stay on the repair order for their
    claims. The visit is logged, the appointment completed, the follow-up survey due in 24 hours."""
    now = now or utcnow()
    if ro.state != "ready":
        _err("state", _("This cannot be done now: the repair order is %(state)s.", state=_state_word(ro.state)))
    billed = [ln for ln in lines_of(ro) if ln.payer == "customer"]
    if billed and method not in PAYMENT_METHOD_LABELS:
        _err("method", _("Choose how the customer pays."))
    actor = user
    if billed:
        order = create_sales_document(actor, "order", customer_id=ro.customer_id, source=(ENTITY, ro.id),
                                      store_id=ro.store_id, asset_id=ro.asset_id, lines=[
            {"item_id": ln.item_id, "quantity": str(ln.quantity)} if ln.kind == "part" and ln.item_id else
            {"description": ln.description, "quantity": str(ln.quantity), "unit_price": str(ln.unit_price)}
            for ln in billed])
        confirm_order(actor, order)
        fulfil_order(actor, order)
        due = document_totals(order)["balance_due"]
        if due > 0:
            record_payment(actor, order, {"method": method, "amount": str(due), "reference": ro.number})
        ro.order_id = order.id
    ro.state, ro.delivered_at = "delivered", now
    db.session.flush()
    if ro.appointment_id:
        appointment = get_scoped(Appointment, ro.appointment_id)
        if appointment is not None and appointment.status in ("arrived", "in_service"):
            appointment_action(None if user is AUTOMATION else user, appointment, "complete", now=now)
    customer = get_scoped(Customer, ro.customer_id)
    log_interaction(None if user is AUTOMATION else user, customer,
                    {"kind": "visit", "body": _("Car delivered: %(number)s", number=ro.number), "occurred_at": now})
    record_audit("update", ENTITY, ro.id, f"{ro.number}: delivered")
    emit_event(RecordEvent("customer", customer, "dealership.delivered", {"repair_order": [None, ro.number]}))
    return ro


def cancel(user, ro: RepairOrder, reason: str | None = None) -> RepairOrder:
    _move(ro, ("reception", "dispatched"), "cancelled")
    db.session.flush()
    record_audit("update", ENTITY, ro.id, f"{ro.number}: cancelled {(reason or '')[:100]}")
    return ro


# --- recalls and service campaigns (召回 / 服务活动) -----------------------------------------------------------

def campaigns() -> list[Campaign]:
    return list(db.session.scalars(select(Campaign).order_by(Campaign.id.desc())))


def import_campaign(user, data: dict) -> tuple[Campaign, int]:
    """A campaign from the manufacturer's VIN list (`vins`: one per line, or separated by commas or spaces): code,
    title, kind (recall | service). Every VIN is checked (check digit); a bad one is refused by line, nothing kept.
    Importing the same code again adds the new VINs. Returns (campaign, VINs added)."""
    import re

    code, title = (data.get("code") or "").strip()[:40], (data.get("title") or "").strip()[:200]
    kind = data.get("kind") or "recall"
    errors = {}
    if not code:
        errors["code"] = [_("Enter the campaign code.")]
    if not title:
        errors["title"] = [_("Enter the campaign title.")]
    if kind not in ("recall", "service"):
        errors["kind"] = [_("Choose a category.")]
    raw = [v for v in re.split(r"[\s,，;；]+", data.get("vins") or "") if v]
    if not raw:
        errors["vins"] = [_("Paste at least one VIN.")]
    if len(raw) > 5000:
        errors["vins"] = [_("At most 5,000 VINs at a time.")]
    vins = []
    for n, value in enumerate(raw[:5000], start=1):
        try:
            vins.append(normalize_identity("vin", value))
        except ValidationError:
            errors.setdefault("vins", []).append(_("Line %(n)s: %(vin)s is not a valid VIN.", n=n, vin=value[:20]))
    if errors:
        raise ValidationError(errors)
    campaign = db.session.scalar(select(Campaign).where(Campaign.code == code))
    if campaign is None:
        campaign = Campaign(code=code, title=title, kind=kind, active=True)
        db.session.add(campaign)
        db.session.flush()
    known = set(db.session.scalars(select(CampaignVehicle.vin).where(CampaignVehicle.campaign_id == campaign.id)))
    new = [v for v in dict.fromkeys(vins) if v not in known]
    db.session.add_all([CampaignVehicle(campaign_id=campaign.id, vin=v) for v in new])
    db.session.flush()
    record_audit("create", "dealer_campaign", campaign.id, f"{code} +{len(new)} VIN")
    return campaign, len(new)


def campaigns_for_vehicle(asset_id: int) -> list[Campaign]:
    """The open campaigns covering this car's VIN (shown at reception and on its repair orders)."""
    vin = vehicle_marks([asset_id]).get(asset_id, {}).get("vin")
    if not vin:
        return []
    return list(db.session.scalars(select(Campaign).where(Campaign.active.is_(True), Campaign.id.in_(
        select(CampaignVehicle.campaign_id).where(CampaignVehicle.vin == vin))).order_by(Campaign.id)))


# --- add-on work (增项) ---------------------------------------------------------------------------------------

def add_ons_of(ro: RepairOrder) -> list[AddOn]:
    return list(db.session.scalars(select(AddOn).where(AddOn.repair_order_id == ro.id).order_by(AddOn.id)))


def propose_add_on(user, ro: RepairOrder, data: dict, *, link: str | None = None) -> AddOn:
    """Staff found more work: description, amount, photos. The customer is asked by SMS with the progress link
    (`link`, when given) and approves or declines there."""
    _editable(ro)
    description = (data.get("description") or "").strip()
    if not description or len(description) > 200:
        _err("description", _("Describe the work (up to 200 characters)."))
    amount = _decimal(data, "amount", Decimal("0"), Decimal("1000000"), _("Give an amount from 0 to 1,000,000."))
    add_on = AddOn(repair_order_id=ro.id, description=description, amount=money(amount),
                   photos=[int(p) for p in data.get("photos") or []], state="pending",
                   proposed_by_id=None if user is AUTOMATION else user.id)
    db.session.add(add_on)
    db.session.flush()
    record_audit("create", "dealer_add_on", add_on.id, f"{ro.number} {description} {add_on.amount}")
    customer = get_scoped(Customer, ro.customer_id)
    if link and customer is not None and customer.mobile:
        from storecrm.sdk import send_template

        send_template("sms", customer.mobile, "dealership.add_on", {"number": ro.number, "what": description,
                                                                    "amount": add_on.amount, "link": link},
                      customer=customer, dedupe_key=f"dealer_add_on:{add_on.id}")
    return add_on


def decide_add_on(ro: RepairOrder, add_on_id, approve: bool, *, via: str = "link", user=None,
                  now: datetime | None = None) -> AddOn:
    """The customer's answer (once): approved work becomes a line of the order, paid by the customer."""
    add_on = get_scoped(AddOn, as_id(add_on_id))
    if add_on is None or add_on.repair_order_id != ro.id:
        _err("add_on_id", _("No such item."))
    if add_on.state != "pending":
        _err("add_on_id", _("This was answered already."))
    add_on.state, add_on.decided_at, add_on.decided_via = ("approved" if approve else "declined"), \
        now or utcnow(), via
    if approve:
        add_line(user or AUTOMATION, ro, {"kind": "labour", "description": add_on.description[:200], "hours": "1",
                                          "rate": str(add_on.amount)})
    db.session.flush()
    record_audit("update", "dealer_add_on", add_on.id, f"{ro.number} {add_on.state} ({via})")
    return add_on


# --- parts reserved for tomorrow (预约备件) ------------------------------------------------------------------

def maintenance_parts() -> list[tuple]:
    """(catalog item, quantity) of the setting `maintenance_parts` ("OIL-5W30-4L*1, FLT-OIL-06L"), unknown SKUs left
    out."""
    out = []
    for entry in (plugin_settings("dealership").get("maintenance_parts") or "").split(","):
        sku, _sep, quantity = entry.strip().partition("*")
        item = find_item_by_sku(sku.strip()) if sku.strip() else None
        try:
            amount = Decimal(quantity.strip() or "1")
        except InvalidOperation:
            continue
        if item is not None and amount > 0:
            out.append((item, amount))
    return out


def reserve_parts_for_tomorrow(now: datetime | None = None) -> int:
    """The evening job: for every maintenance appointment of tomorrow, hold the standard parts at its store's shelf
    until the end of that day (reference `("appointment", id)`). Parts short in stock are left out (the reception
    sees no reservation for them). Returns how many parts were reserved."""
    now = now or utcnow()
    parts, kind = maintenance_parts(), service_kind("maintenance")
    if not parts or kind is None or kind.service_type_id is None:
        return 0
    zone = tenant_zone()
    tomorrow = now.astimezone(zone).date() + timedelta(days=1)
    start = datetime.combine(tomorrow, datetime.min.time(), tzinfo=zone)
    end = start + timedelta(days=1)
    reserved = 0
    for appointment in db.session.scalars(select(Appointment).where(
            Appointment.service_type_id == kind.service_type_id, Appointment.status.in_(("booked", "confirmed")),
            Appointment.starts_at >= start, Appointment.starts_at < end).order_by(Appointment.starts_at)):
        reference = ("appointment", appointment.id)
        release_stock(reference)  # run twice, hold once
        location = stock_location_for_store(get_scoped(Store, appointment.store_id))
        for item, quantity in parts:
            try:
                with db.session.begin_nested():
                    reserve_stock(item, location, quantity, reference=reference, expires_at=end)
                reserved += 1
            except InsufficientStock:
                continue
    return reserved


def _take_reserved_parts(user, ro: RepairOrder, appointment) -> None:
    """At reception: what was held for the appointment becomes the order's part lines (and is let go, so the
    settlement issues it)."""
    for item, _quantity in maintenance_parts():
        released = release_stock(("appointment", appointment.id), item=item)
        if released and released > 0:
            add_line(user, ro, {"kind": "part", "item_id": item.id, "quantity": str(released)})


# --- follow-up and complaints --------------------------------------------------------------------------------

def follow_up_surveys():
    from storecrm.sdk import Survey

    from .seed import survey_names

    csi_name, nps_name = survey_names()
    found = {s.name: s for s in db.session.scalars(select(Survey).where(Survey.name.in_((csi_name, nps_name)),
                                                                        Survey.active.is_(True)))}
    return [s for s in (found.get(csi_name), found.get(nps_name)) if s is not None]


def send_due_follow_ups(now: datetime | None = None) -> int:
    """Every repair order delivered `follow_up_hours` (24) ago or more and not yet asked: the CSI and NPS surveys
    go to the customer by SMS (the outbox). Runs every 15 minutes; returns how many orders were followed up."""
    now = now or utcnow()
    hours = int(plugin_settings("dealership")["follow_up_hours"])
    due = list(db.session.scalars(select(RepairOrder).where(
        RepairOrder.state == "delivered", RepairOrder.follow_up_sent_at.is_(None),
        RepairOrder.delivered_at <= now - timedelta(hours=hours)).order_by(RepairOrder.id).limit(200)))
    surveys = follow_up_surveys()
    for ro in due:
        customer = get_scoped(Customer, ro.customer_id)
        if customer is not None and customer.deleted_at is None and (customer.mobile or customer.email):
            for survey in surveys:
                send_survey(survey, customer, related=(ENTITY, ro.id), staff_id=ro.advisor_id, store_id=ro.store_id)
        ro.follow_up_sent_at = now
    db.session.flush()
    return len(due)


DIMENSION_GRIEVANCE = {"advisor": "attitude", "quality": "quality", "waiting": "waiting", "facility": "facility"}


def on_event(event) -> None:
    """A low score on a repair order's follow-up survey becomes a complaint (客诉) of the dimension scored lowest,
    tied to the core's call-back task."""
    if not isinstance(event, SurveyAnswered) or not event.low:
        return
    response = event.response
    invitation = get_scoped(SurveyInvitation, response.invitation_id)
    if invitation is None or invitation.related_type != ENTITY:
        return
    ro = get_scoped(RepairOrder, invitation.related_id)
    if ro is None:
        return
    category = "other"
    if response.kind == "csat":
        from storecrm.sdk import SurveyAnswer

        lowest = db.session.execute(select(SurveyAnswer.question).where(SurveyAnswer.response_id == response.id)
                                    .order_by(SurveyAnswer.score, SurveyAnswer.id).limit(1)).scalar()
        category = DIMENSION_GRIEVANCE.get(lowest, "other")
    elif db.session.scalar(select(Complaint.id).where(Complaint.repair_order_id == ro.id).limit(1)):
        return  # the CSI answer of the same visit already made the complaint
    db.session.add(Complaint(repair_order_id=ro.id, category=category, source="survey", note=response.comment,
                             task_id=response.escalation_task_id))
    db.session.flush()


def record_complaint(user, ro: RepairOrder, data: dict, *, now: datetime | None = None) -> Complaint:
    """A complaint staff heard (phone, at the counter): category and note; a follow-up task for the store's
    manager (else the advisor)."""
    category = data.get("category")
    if category not in GRIEVANCES:
        _err("category", _("Choose a category."))
    note = (data.get("note") or "").strip()[:2000] or None
    customer = get_scoped(Customer, ro.customer_id)
    assignee = default_assignee(ro.advisor_id, ro.store_id)
    task = create_task(user, {"title": _("Complaint (%(category)s): %(number)s",
                                         category=label(GRIEVANCE_LABELS, category), number=ro.number)[:200],
                              "notes": note, "customer_id": customer.id, "priority": "high",
                              "assignee_id": assignee.id if assignee else None}, related=(ENTITY, ro.id))
    complaint = Complaint(repair_order_id=ro.id, category=category, source="staff", note=note, task_id=task.id,
                          created_at=now or utcnow())
    db.session.add(complaint)
    db.session.flush()
    record_audit("create", "dealer_complaint", complaint.id, f"{ro.number} {category}")
    return complaint


def category_word(code: str) -> str:
    return label(CATEGORY_LABELS, code)
