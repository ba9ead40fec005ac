"""The car-audio install job (施工服务单) from quote to follow-up; every write of the plugin goes through here.

Quote -> approval -> signed link -> order are the commerce core's (storecrm.sdk); a quote made here carries
source ("car_audio_vehicle", vehicle id), and when it is accepted its order gets an install job. The job is booked
into a bay and a technician's time through the scheduling core, checked in (inspection signed by the customer),
installed (components with serials issued from stock into the car's audio system asset), tuned (versioned
records), photographed, QC'd (send back to rework with a reason), accepted with the customer's signature,
delivered once the order is paid, then followed up within 7 days with a CSAT survey.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import and_, exists, func, or_, select

from storecrm.sdk import (AUTOMATION, Asset, CatalogItem, Customer, Interaction, RecordEvent, SalesDocument,
                          ServiceType, SurveyInvitation, Task, User, accept_upload, appointment_action,
                          book_appointment, cancel_timer, create_asset, create_sales_document, create_task, db,
                          default_assignee, document_lines, emit_event, get_asset, get_catalog_item, get_customer,
                          get_order, get_scoped, issue_stock, money, notify_user, rank_technicians, record_audit,
                          sales_documents_of, schedule_timer, send_template, send_survey, staff_with_role,
                          stock_location_for_store, tenant_today, timer_handler, update_asset, utcnow,
                          current_tenant_id)

from . import labels
from .models import Component, FeedbackReason, InstallJob, JobStep, TuningRecord

QUOTE_SOURCE = "car_audio_vehicle"
ADDON_SOURCE = "car_audio_addon"  # add-on work found mid-job (增项): a quote of its own, signed on the link
JOB_REF = "car_audio_job"
FOLLOW_UP_TIMER = "car_audio.follow_up"
SURVEY_NAME = "汽车音响施工满意度"
SERVICE_NAME = "汽车音响改装施工"
DSP_SKILL = "DSP调音"
REQUIRED_PHOTOS = ("before", "wiring", "finished", "phase_chart")
WARRANTY_DAYS = 365


@dataclass(frozen=True)
class JobChanged(RecordEvent):
    """An install job changed state: rules on `car_audio_job` and other plugins hear it."""


def _err(field, message):
    raise ValidationError({field: [message]})


# --- reading ---------------------------------------------------------------------------------------------------

def get_job(user, job_id) -> InstallJob | None:
    """The job if `user` may see its store (None for other stores' and other tenants' jobs)."""
    job = get_scoped(InstallJob, job_id)
    if job is None or (user is not None and not _sees(user, job.store_id)):
        return None
    return job


def _sees(user, store_id) -> bool:
    return getattr(user, "sees_all_stores", False) or store_id in (getattr(user, "store_ids", None) or [])


def _visible(user, query):
    if getattr(user, "sees_all_stores", False):
        return query
    return query.where(InstallJob.store_id.in_(getattr(user, "store_ids", None) or [-1]))


def list_jobs(user, *, status=None, mine=False, limit=100, after_id=None):
    query = _visible(user, select(InstallJob, Customer.name).join(
        Customer, and_(Customer.tenant_id == InstallJob.tenant_id, Customer.id == InstallJob.customer_id)))
    if status:
        query = query.where(InstallJob.status == status)
    if mine:
        query = query.where(InstallJob.technician_id == user.id)
    if after_id:
        query = query.where(InstallJob.id < after_id)
    return db.session.execute(query.order_by(InstallJob.id.desc()).limit(limit)).all()


def steps_of(job):
    return db.session.execute(select(JobStep, User.display_name).outerjoin(
        User, and_(User.tenant_id == JobStep.tenant_id, User.id == JobStep.user_id))
        .where(JobStep.job_id == job.id).order_by(JobStep.id)).all()


def components_of(audio_system_id, *, include_removed=False):
    if audio_system_id is None:
        return []
    query = select(Component).where(Component.audio_system_id == audio_system_id)
    if not include_removed:
        query = query.where(Component.removed_at.is_(None))
    return list(db.session.scalars(query.order_by(Component.id)))


def tunings_of(audio_system_id):
    if audio_system_id is None:
        return []
    return list(db.session.scalars(select(TuningRecord).where(TuningRecord.audio_system_id == audio_system_id)
                                   .order_by(TuningRecord.version.desc())))


def jobs_of_customer(customer_id, limit=10):
    return list(db.session.scalars(select(InstallJob).where(InstallJob.customer_id == customer_id)
                                   .order_by(InstallJob.id.desc()).limit(limit)))


def jobs_of_asset(asset_id):
    return list(db.session.scalars(select(InstallJob).where(
        or_(InstallJob.vehicle_id == asset_id, InstallJob.audio_system_id == asset_id)).order_by(InstallJob.id.desc())))


def packages():
    """The tenant's car-audio packages (入门/中端/高端 and any the tenant added with an SKU starting CA-PKG)."""
    return list(db.session.scalars(select(CatalogItem).where(CatalogItem.kind == "package", CatalogItem.active.is_(True),
                                                             CatalogItem.sku.like("CA-PKG%")).order_by(CatalogItem.list_price)))


def installable_items():
    return list(db.session.scalars(select(CatalogItem).where(CatalogItem.kind.in_(("product", "part")),
                                                             CatalogItem.active.is_(True)).order_by(CatalogItem.name)))


def vehicles_of(customer_id):
    return list(db.session.scalars(select(Asset).where(Asset.customer_id == customer_id, Asset.type == "vehicle",
                                                       Asset.deleted_at.is_(None)).order_by(Asset.id)))


def tier_of(item: CatalogItem | None) -> str | None:
    sku = (item.sku if item is not None else "") or ""
    for tier in labels.TIERS:
        if sku.upper().endswith("-" + tier.upper()):
            return tier
    return None


def store_staff(store_id, role):
    return staff_with_role(role, store_id)


def bays(store_id):
    from storecrm.sdk import Resource
    return list(db.session.scalars(select(Resource).where(Resource.store_id == store_id, Resource.active.is_(True))
                                   .order_by(Resource.name)))


def service_type():
    return db.session.scalar(select(ServiceType).where(ServiceType.name == SERVICE_NAME))


# --- quote from packages -----------------------------------------------------------------------------------------

class QuoteSchema(Schema):
    customer_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=2**63 - 1))
    vehicle_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=2**63 - 1))
    package_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=2**63 - 1))
    labour_hours = fields.Decimal(load_default=Decimal("0"), places=1, validate=validate.Range(min=0, max=200))
    labour_rate = fields.Decimal(load_default=Decimal("200"), places=2, validate=validate.Range(min=0, max=10000))
    discount_pct = fields.Decimal(load_default=Decimal("0"), places=2, validate=validate.Range(min=0, max=50))
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


def create_quote(user, data: dict):
    """A draft quote of the core for a car: the package (expanded into its components), labour, a discount."""
    customer = get_customer(user, data["customer_id"])
    if customer is None:
        _err("customer_id", _("Choose an existing customer."))
    vehicle = get_asset(user, data["vehicle_id"])
    if vehicle is None or vehicle.customer_id != customer.id or vehicle.type != "vehicle":
        _err("vehicle_id", _("Choose one of the customer's cars."))
    package = get_catalog_item(data["package_id"])
    if package is None or package.kind != "package":
        _err("package_id", _("Choose a package."))
    lines = [{"item_id": package.id, "quantity": 1}]
    if data.get("labour_hours"):
        lines.append({"description": _("Installation labour (%(hours)s h)", hours=data["labour_hours"]),
                      "quantity": str(data["labour_hours"]), "unit_price": str(money(data["labour_rate"]))})
    quote = create_sales_document(user, "quote", customer_id=customer.id, asset_id=vehicle.id,
                                  store_id=customer.store_id, source=(QUOTE_SOURCE, vehicle.id), lines=lines,
                                  header_discount_pct=str(data.get("discount_pct") or 0),
                                  valid_until=(tenant_today() + timedelta(days=14)).isoformat(),
                                  deposit_pct="30", notes=data.get("notes") or package.name)
    return quote


# --- the job ---------------------------------------------------------------------------------------------------

def _step(job, to_status, user=None, reason=None):
    before = job.status
    job.status = to_status
    db.session.add(JobStep(job_id=job.id, from_status=before, to_status=to_status, reason=reason,
                           user_id=getattr(user, "id", None)))
    db.session.flush()
    record_audit("update", JOB_REF, job.id, job.number, before={"status": before}, after={"status": to_status})
    emit_event(JobChanged(JOB_REF, job, "changed", {"status": [before, to_status]}))


def _need(job, *statuses):
    if job.status not in statuses:
        _err("status", _("This step is not possible while the job is “%(status)s”.",
                         status=labels.STATUSES[job.status]))


def job_from_order(user, order) -> InstallJob:
    """The install job of an order (one per order): customer, car, package tier and advisor from the order."""
    existing = db.session.scalar(select(InstallJob).where(InstallJob.order_id == order.id))
    if existing is not None:
        return existing
    if order.state in ("cancelled",):
        _err("order_id", _("This order was cancelled."))
    package_ids = [line.package_item_id for line in document_lines(order) if line.package_item_id]
    tier = tier_of(get_catalog_item(package_ids[0])) if package_ids else None
    job = InstallJob(store_id=order.store_id, customer_id=order.customer_id, vehicle_id=order.asset_id,
                     order_id=order.id, package_tier=tier, status="new", advisor_id=order.staff_id,
                     checklist={}, photos={}, inspection={})
    db.session.add(job)
    db.session.flush()
    job.number = f"SG{job.id:06d}"
    db.session.add(JobStep(job_id=job.id, from_status=None, to_status="new", user_id=getattr(user, "id", None)))
    record_audit("create", JOB_REF, job.id, job.number)
    emit_event(JobChanged(JOB_REF, job, "created", {}))
    return job


def create_job_for_order(user, order_id) -> InstallJob:
    order = get_order(user, order_id)
    if order is None:
        _err("order_id", _("Choose one of the listed orders."))
    return job_from_order(user, order)


def orders_without_job(user, limit=30):
    query = (select(SalesDocument, Customer.name)
             .join(Customer, and_(Customer.tenant_id == SalesDocument.tenant_id, Customer.id == SalesDocument.customer_id))
             .where(SalesDocument.kind == "order", SalesDocument.state != "cancelled",
                    SalesDocument.source_type == QUOTE_SOURCE,
                    ~exists().where(InstallJob.order_id == SalesDocument.id)))
    if not getattr(user, "sees_all_stores", False):
        query = query.where(SalesDocument.store_id.in_(user.store_ids or [-1]))
    return db.session.execute(query.order_by(SalesDocument.id.desc()).limit(limit)).all()


def technicians_ranked(job, at=None):
    """Technicians for this job, best first: the core's dispatch ranking with DSP tuning as the skill."""
    from storecrm.sdk import Store
    store = get_scoped(Store, job.store_id)
    return rank_technicians(store, skills={DSP_SKILL: 3}, at=at, customer_id=job.customer_id, asset_id=job.vehicle_id)


class BookingSchema(Schema):
    starts_at = fields.DateTime(required=True)
    technician_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=2**63 - 1))
    bay_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=2**63 - 1))


def book_job(user, job, data: dict) -> InstallJob:
    """Book the job into a bay and a technician's time (the scheduling core refuses a taken slot)."""
    _need(job, "new", "booked")
    service = service_type()
    if service is None:
        _err("starts_at", _("The installation service is missing; switch the module off and on again."))
    if data["bay_id"] not in {b.id for b in bays(job.store_id)}:
        _err("bay_id", _("Choose one of the listed bays."))
    if job.appointment_id:
        from storecrm.sdk import Appointment
        old = get_scoped(Appointment, job.appointment_id)
        if old is not None and old.status in ("booked", "confirmed"):
            appointment_action(user, old, "cancel", reason="rebooked")
    starts_at = data["starts_at"]
    if starts_at.tzinfo is None:
        from storecrm.sdk import tenant_zone
        starts_at = starts_at.replace(tzinfo=tenant_zone())
    appointment = book_appointment(user, {"store_id": job.store_id, "service_type_id": service.id,
                                          "customer_id": job.customer_id, "asset_id": job.vehicle_id,
                                          "starts_at": starts_at, "staff_id": data["technician_id"],
                                          "resource_id": data["bay_id"], "notes": job.number})
    job.appointment_id, job.technician_id = appointment.id, appointment.staff_id
    job.bay_id, job.scheduled_at = appointment.resource_id, appointment.starts_at
    if job.status == "new":
        _step(job, "booked", user)
    tech = get_scoped(User, job.technician_id)
    if tech is not None:
        notify_user(tech, _("New install job %(number)s", number=job.number), "", f"/car-audio/jobs/{job.id}")
    return job


class InspectionSchema(Schema):
    scratches = fields.Boolean(load_default=False)
    warning_lights = fields.Boolean(load_default=False)
    electrics = fields.Boolean(load_default=False)
    notes = fields.String(load_default="", validate=validate.Length(max=1000))
    signed_name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    signature = fields.String(required=True, validate=validate.Length(min=30, max=300000))


def check_in(user, job, data: dict) -> InstallJob:
    """The check-in inspection before anything is taken apart, signed by the customer; a before photo needed."""
    _need(job, "booked")
    if not (job.photos or {}).get("before"):
        _err("photo_before", _("Add a photo of the car before the work."))
    if not str(data["signature"]).startswith("data:image/"):
        _err("signature", _("Let the customer sign in the box."))
    job.inspection = {k: data[k] for k in ("scratches", "warning_lights", "electrics", "notes")}
    job.inspection_name, job.inspection_signature, job.checked_in_at = data["signed_name"], data["signature"], utcnow()
    _appointment(user, job, "arrive")
    _step(job, "checked_in", user)
    return job


def _appointment(user, job, action):
    from storecrm.sdk import Appointment
    appointment = get_scoped(Appointment, job.appointment_id) if job.appointment_id else None
    if appointment is None:
        return
    try:
        with db.session.begin_nested():
            appointment_action(user, appointment, action)
    except ValidationError:
        pass  # the calendar was moved on by hand already; the job still goes on


def start_install(user, job) -> InstallJob:
    _need(job, "checked_in")
    _appointment(user, job, "start")
    _step(job, "installing", user)
    return job


def set_checklist(user, job, done: set[str]) -> InstallJob:
    _need(job, "checked_in", "installing")
    job.checklist = {code: code in done for code in labels.CHECKLIST}
    db.session.flush()
    return job


def add_photo(user, job, kind: str, filename: str, data: bytes) -> int:
    if kind not in labels.PHOTO_KINDS:
        _err("kind", _("Choose one of the listed options."))
    if job.status in ("delivered", "cancelled"):
        _err("photo_" + kind, _("This job is closed."))
    stored = accept_upload(user, filename, data, images_only=True, field="photo_" + kind)
    photos = dict(job.photos or {})
    photos[kind] = [*photos.get(kind, []), stored.id]
    job.photos = photos
    db.session.flush()
    return stored.id


def _audio_system(user, job) -> Asset:
    if job.audio_system_id:
        asset = get_scoped(Asset, job.audio_system_id)
        if asset is not None:
            return asset
    customer = get_scoped(Customer, job.customer_id)
    existing = db.session.scalar(select(InstallJob.audio_system_id).where(
        InstallJob.vehicle_id == job.vehicle_id, InstallJob.audio_system_id.is_not(None),
        InstallJob.vehicle_id.is_not(None)).order_by(InstallJob.id.desc()).limit(1))
    if existing:
        job.audio_system_id = existing
        return get_scoped(Asset, existing)
    vehicle = get_scoped(Asset, job.vehicle_id) if job.vehicle_id else None
    name = f"{vehicle.name} 音响系统" if vehicle is not None else f"{customer.name} 音响系统"
    asset = create_asset(AUTOMATION, customer, {  # part of the job: not limited to the stores of who installs
        "type": "audio_system", "name": name[:120], "store_id": job.store_id,
        "attributes": {"vehicle_id": vehicle.id if vehicle is not None else None}})
    job.audio_system_id = asset.id
    db.session.flush()
    return asset


class ComponentSchema(Schema):
    item_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=2**63 - 1))
    kind = fields.String(required=True, validate=validate.OneOf(list(labels.COMPONENT_KINDS)))
    position = fields.String(load_default=None, allow_none=True,
                             validate=validate.OneOf(list(labels.POSITIONS)))
    serial = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    warranty_days = fields.Integer(load_default=WARRANTY_DAYS, validate=validate.Range(min=0, max=3650))


def install_component(user, job, data: dict) -> Component:
    """A component installed in the car: issued from the store's stock (its serial when tracked) into the car's
    audio system asset, with a warranty from today."""
    _need(job, "installing")
    item = get_catalog_item(data["item_id"])
    if item is None or item.kind not in ("product", "part"):
        _err("item_id", _("Choose a product from the catalog."))
    serial = (data.get("serial") or "").strip() or None
    if item.serial_tracked and not serial:
        _err("serial", _("Give the serial number of this product."))
    system = _audio_system(user, job)
    customer = get_scoped(Customer, job.customer_id)
    from storecrm.sdk import Store
    location = stock_location_for_store(get_scoped(Store, job.store_id))
    try:
        issue_stock(item, location, Decimal(1), serials=[serial] if (serial and item.serial_tracked) else (),
                    reference=(JOB_REF, job.id), customer=customer, asset=system, reason=job.number, staff=user)
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"item_id": err.messages}
        raise ValidationError({("serial" if k.startswith("serial") else "item_id"): v for k, v in messages.items()})
    today = tenant_today()
    brand = None
    if item.brand_id:
        from storecrm.sdk import CatalogBrand
        found = get_scoped(CatalogBrand, item.brand_id)
        brand = found.name if found is not None else None
    component = Component(audio_system_id=system.id, job_id=job.id, item_id=item.id, kind=data["kind"],
                          position=data.get("position"), name=item.name, brand=brand, serial=serial,
                          installed_on=today,
                          warranty_until=today + timedelta(days=data.get("warranty_days", WARRANTY_DAYS)))
    db.session.add(component)
    db.session.flush()
    record_audit("create", "car_audio_component", component.id, f"{job.number} {item.name} {serial or ''}")
    return component


# --- add-on work (增项) ------------------------------------------------------------------------------------------

class AddonSchema(Schema):
    item_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                             validate=validate.Range(min=1, max=2**63 - 1))
    quantity = fields.Decimal(load_default=Decimal("1"), validate=validate.Range(min=Decimal("0.001"), max=1000))
    labour_hours = fields.Decimal(load_default=Decimal("0"), places=1, validate=validate.Range(min=0, max=200))
    labour_rate = fields.Decimal(load_default=Decimal("200"), places=2, validate=validate.Range(min=0, max=10000))
    notes = fields.String(required=True, validate=validate.Length(min=1, max=500))


def addons_of(job):
    """The add-on quotes of a job and, once accepted, their orders."""
    return [d for d in sales_documents_of(ADDON_SOURCE, job.id)]


def create_addon_quote(user, job, data: dict):
    """Work found mid-job (a rattle to fix, an extra tweeter): a quote the customer approves on the share link
    before it is done. The job cannot go to QC while one is still open, nor be delivered before it is paid."""
    _need(job, "checked_in", "installing")
    lines = []
    if data.get("item_id"):
        item = get_catalog_item(data["item_id"])
        if item is None:
            _err("item_id", _("Choose a product from the catalog."))
        lines.append({"item_id": item.id, "quantity": str(data["quantity"])})
    if data.get("labour_hours"):
        lines.append({"description": _("Installation labour (%(hours)s h)", hours=data["labour_hours"]),
                      "quantity": str(data["labour_hours"]), "unit_price": str(money(data["labour_rate"]))})
    if not lines:
        _err("item_id", _("Add a product or labour hours."))
    return create_sales_document(AUTOMATION if user is None else user, "quote", customer_id=job.customer_id,
                                 asset_id=job.vehicle_id, store_id=job.store_id, source=(ADDON_SOURCE, job.id),
                                 lines=lines, valid_until=(tenant_today() + timedelta(days=3)).isoformat(),
                                 notes=f"{job.number} 增项：{data['notes']}")


def _open_addons(job):
    return [d for d in addons_of(job) if d.kind == "quote" and d.state in ("draft", "sent")]


def _unpaid_addons(job):
    return sum((d.balance_due for d in addons_of(job) if d.kind == "order" and d.state != "cancelled"),
               Decimal("0"))


# --- tuning ------------------------------------------------------------------------------------------------------

CHANNEL = validate.OneOf(list(labels.CHANNELS))


class EqBand(Schema):
    channel = fields.String(required=True, validate=CHANNEL)
    freq_hz = fields.Integer(required=True, validate=validate.Range(min=20, max=20000))
    gain_db = fields.Float(required=True, validate=validate.Range(min=-24, max=12))
    q = fields.Float(load_default=1.0, validate=validate.Range(min=0.1, max=20))


class Crossover(Schema):
    channel = fields.String(required=True, validate=CHANNEL)
    type = fields.String(required=True, validate=validate.OneOf(["hp", "lp"]))
    freq_hz = fields.Integer(required=True, validate=validate.Range(min=20, max=20000))
    slope = fields.Integer(required=True, validate=validate.OneOf([6, 12, 18, 24, 36, 48]))


class ChannelSetting(Schema):
    delay_ms = fields.Float(load_default=0.0, validate=validate.Range(min=0, max=20))
    phase = fields.Integer(load_default=0, validate=validate.OneOf([0, 180]))
    gain_db = fields.Float(load_default=0.0, validate=validate.Range(min=-40, max=12))


class TuningSchema(Schema):
    eq = fields.List(fields.Nested(EqBand), load_default=list, validate=validate.Length(max=200))
    crossovers = fields.List(fields.Nested(Crossover), load_default=list, validate=validate.Length(max=40))
    channels = fields.Dict(keys=fields.String(validate=CHANNEL), values=fields.Nested(ChannelSetting),
                           load_default=dict)
    notes = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=2000))


def record_tuning(user, job, data: dict) -> TuningRecord:
    """A new version of the car's tuning (the earlier ones stay, to compare a re-tune with)."""
    _need(job, "installing", "qc", "acceptance")
    data = TuningSchema().load(data)
    if not data["eq"] and not data["crossovers"] and not data["channels"]:
        _err("eq", _("Record at least one EQ band, crossover or channel setting."))
    system = _audio_system(user, job)
    version = (db.session.scalar(select(func.max(TuningRecord.version))
                                 .where(TuningRecord.audio_system_id == system.id)) or 0) + 1
    record = TuningRecord(audio_system_id=system.id, job_id=job.id, version=version,
                          data={k: data[k] for k in ("eq", "crossovers", "channels")}, notes=data.get("notes"),
                          technician_id=getattr(user, "id", None))
    db.session.add(record)
    db.session.flush()
    record_audit("create", "car_audio_tuning", record.id, f"{job.number} v{version}")
    return record


def compare_tunings(old: TuningRecord | None, new: TuningRecord) -> list[dict]:
    """Row by row, what changed between two versions: [{section, key, before, after, changed}]."""
    def flat(record):
        if record is None:
            return {}
        data, out = record.data or {}, {}
        for band in data.get("eq", []):
            out[("eq", f"{band['channel']}@{band['freq_hz']}")] = f"{band['gain_db']:+g} dB Q{band.get('q', 1):g}"
        for x in data.get("crossovers", []):
            out[("crossover", f"{x['channel']}:{x['type']}")] = f"{x['freq_hz']} Hz {x['slope']} dB/oct"
        for channel, s in (data.get("channels") or {}).items():
            out[("delay", channel)] = f"{s.get('delay_ms', 0):g} ms"
            out[("phase", channel)] = f"{s.get('phase', 0)}°"
            out[("gain", channel)] = f"{s.get('gain_db', 0):+g} dB"
        return out
    a, b = flat(old), flat(new)
    rows = []
    for key in sorted(set(a) | set(b)):
        rows.append({"section": key[0], "key": key[1], "before": a.get(key), "after": b.get(key),
                     "changed": a.get(key) != b.get(key)})
    return rows


def get_tuning(user, tuning_id) -> TuningRecord | None:
    record = get_scoped(TuningRecord, tuning_id)
    if record is None:
        return None
    system = get_asset(user, record.audio_system_id)
    return record if system is not None else None


# --- QC, acceptance, delivery ------------------------------------------------------------------------------------

def submit_for_qc(user, job) -> InstallJob:
    _need(job, "installing")
    errors = {}
    missing = [str(labels.PHOTO_KINDS[k]) for k in REQUIRED_PHOTOS if not (job.photos or {}).get(k)]
    if missing:
        errors["photos"] = [_("Photos missing: %(kinds)s.", kinds="、".join(missing))]
    if not all((job.checklist or {}).get(code) for code in labels.CHECKLIST):
        errors["checklist"] = [_("Tick every step of the checklist.")]
    if not job.audio_system_id or not components_of(job.audio_system_id):
        errors["components"] = [_("Record the installed components.")]
    if not db.session.scalar(select(TuningRecord.id).where(TuningRecord.job_id == job.id).limit(1)):
        errors["tuning"] = [_("Record the tuning.")]
    if _open_addons(job):
        errors["addon"] = [_("An add-on quote is still waiting for the customer's answer.")]
    if errors:
        raise ValidationError(errors)
    _step(job, "qc", user)
    return job


def qc_pass(user, job) -> InstallJob:
    _need(job, "qc")
    job.qc_passed_at = utcnow()
    _step(job, "acceptance", user)
    return job


def qc_rework(user, job, reason: str) -> InstallJob:
    _need(job, "qc")
    reason = (reason or "").strip()
    if not reason:
        _err("reason", _("Say what has to be redone."))
    job.rework_count = (job.rework_count or 0) + 1
    _step(job, "installing", user, reason=reason[:500])
    if job.technician_id:
        tech = get_scoped(User, job.technician_id)
        if tech is not None:
            notify_user(tech, _("%(number)s sent back to rework", number=job.number), reason[:200],
                        f"/car-audio/jobs/{job.id}")
    return job


class AcceptanceSchema(Schema):
    name = fields.String(required=True, validate=validate.Length(min=1, max=60))
    signature = fields.String(required=True, validate=validate.Length(min=30, max=300000))


def accept(user, job, data: dict) -> InstallJob:
    """The customer accepts the work on the technician's phone, with a drawn signature."""
    _need(job, "acceptance")
    if not str(data["signature"]).startswith("data:image/"):
        _err("signature", _("Let the customer sign in the box."))
    job.accepted_name, job.acceptance_signature, job.accepted_at = data["name"], data["signature"], utcnow()
    _step(job, "accepted", user)
    return job


def order_balance(job) -> Decimal | None:
    if not job.order_id:
        return None
    order = get_scoped(SalesDocument, job.order_id)
    return order.balance_due if order is not None else None


def deliver(user, job, *, now: datetime | None = None) -> InstallJob:
    """Hand the car back: only once the order is paid. The audio system gets its install date (the one-year
    check-up rule counts from it), a follow-up task is due in 7 days (a timer tells the manager if it is missed)
    and the customer gets the satisfaction survey."""
    _need(job, "accepted")
    balance = (order_balance(job) or Decimal("0")) + _unpaid_addons(job)
    if balance > 0:
        _err("payment", _("The order still has %(due)s to pay.", due=balance))
    now = now or utcnow()
    job.delivered_at, job.delivered_on = now, tenant_today()
    job.follow_up_due_at = now + timedelta(days=7)
    _appointment(user, job, "complete")
    if job.audio_system_id:
        system = get_scoped(Asset, job.audio_system_id)
        if system is not None and system.installed_on is None:
            latest = max((c.warranty_until for c in components_of(system.id) if c.warranty_until), default=None)
            update_asset(AUTOMATION, system, {"type": system.type, "name": system.name, "store_id": system.store_id,
                                              "installed_on": job.delivered_on, "warranty_until": latest,
                                              "attributes": system.attributes})
    _step(job, "delivered", user)
    customer = get_scoped(Customer, job.customer_id)
    assignee = get_scoped(User, job.advisor_id) if job.advisor_id else None
    if assignee is None:
        assignee = default_assignee(customer.owner_id, job.store_id)
    create_task(AUTOMATION if assignee is None else assignee,
                {"title": _("7-day follow-up: %(customer)s %(number)s", customer=customer.name, number=job.number),
                 "customer_id": customer.id, "due_at": job.follow_up_due_at,
                 "assignee_id": assignee.id if assignee else None}, related=(JOB_REF, job.id))
    schedule_timer(f"{FOLLOW_UP_TIMER}:{job.id}", FOLLOW_UP_TIMER, job.follow_up_due_at, {"job_id": job.id})
    survey = _survey()
    if survey is not None and (customer.mobile or customer.email):
        invitation = send_survey(survey, customer, related=(JOB_REF, job.id), staff_id=job.technician_id,
                                 store_id=job.store_id)
        job.survey_invitation_id = invitation.id if invitation is not None else None
    db.session.flush()
    return job


def _survey():
    from storecrm.sdk import Survey
    return db.session.scalar(select(Survey).where(Survey.name == SURVEY_NAME, Survey.active.is_(True)))


@timer_handler(FOLLOW_UP_TIMER)
def follow_up_overdue(timer):
    """Seven days after delivery without a follow-up: the store's manager hears of it."""
    job = get_scoped(InstallJob, (timer.payload or {}).get("job_id"))
    if job is None or job.followed_up_at is not None:
        return
    for manager in staff_with_role("manager", job.store_id)[:1]:
        notify_user(manager, _("Follow-up overdue: %(number)s", number=job.number),
                    _("Nobody called the customer back within 7 days."), f"/car-audio/jobs/{job.id}")


class FollowUpSchema(Schema):
    notes = fields.String(load_default="", validate=validate.Length(max=2000))
    reasons = fields.List(fields.String(validate=validate.OneOf(list(labels.REASONS))), load_default=list)


def record_follow_up(user, job, data: dict, *, now=None) -> InstallJob:
    _need(job, "delivered")
    now = now or utcnow()
    job.followed_up_at, job.follow_up_notes = now, (data.get("notes") or "").strip() or None
    for reason in dict.fromkeys(data.get("reasons") or []):
        db.session.add(FeedbackReason(job_id=job.id, store_id=job.store_id, reason=reason, at=now))
    cancel_timer(f"{FOLLOW_UP_TIMER}:{job.id}")
    for task in db.session.scalars(select(Task).where(Task.related_type == JOB_REF, Task.related_id == job.id,
                                                      Task.status == "open")):
        task.status, task.done_at = "done", now
    db.session.flush()
    record_audit("update", JOB_REF, job.id, job.number, after={"followed_up": True})
    return job


def survey_answered(event):
    """A survey about a job was answered; a low score opens a complaint (the core's escalation task) on the job."""
    invitation = get_scoped(SurveyInvitation, event.response.invitation_id)
    if invitation is None or invitation.related_type != JOB_REF:
        return
    job = get_scoped(InstallJob, invitation.related_id)
    if job is None:
        return
    if event.low:
        job.complaint_task_id = event.response.escalation_task_id
        owner = staff_with_role("owner")
        if owner:
            notify_user(owner[0], _("Low score on %(number)s", number=job.number), event.response.comment or "",
                        f"/car-audio/jobs/{job.id}")


def quote_accepted(event):
    quote, order = event.record, getattr(event, "order", None)
    if order is not None and quote.source_type == QUOTE_SOURCE:
        job_from_order(None, order)


def cancel(user, job, reason):
    if job.status in ("delivered", "cancelled"):
        _err("status", _("This job is closed."))
    _appointment(user, job, "cancel")
    _step(job, "cancelled", user, reason=(reason or "")[:500] or None)
    return job


# --- warranty return (保修更换) ---------------------------------------------------------------------------------

WARRANTY_REF = "car_audio_warranty"


class WarrantySwapSchema(Schema):
    serial = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=80))
    reason = fields.String(required=True, validate=validate.Length(min=1, max=300))


def get_component(user, component_id):
    component = get_scoped(Component, component_id)
    if component is None or get_asset(user, component.audio_system_id) is None:
        return None
    return component


def warranty_swap(user, component, data: dict) -> Component:
    """A warranty return: the faulty part comes out of the audio system, a new one (from the store's stock, with its
    serial) goes in for the rest of the warranty, the repair is an order at zero price, and the return of the
    faulty serial to the distributor is a task for the store's manager."""
    if component.removed_at is not None:
        _err("serial", _("This component was already replaced."))
    if component.warranty_until is None or component.warranty_until < tenant_today():
        _err("reason", _("The warranty of this component has ended."))
    item = get_catalog_item(component.item_id) if component.item_id else None
    serial = (data.get("serial") or "").strip() or None
    if item is None:
        _err("serial", _("Choose a product from the catalog."))
    if item.serial_tracked and not serial:
        _err("serial", _("Give the serial number of this product."))
    system = get_scoped(Asset, component.audio_system_id)
    customer = get_scoped(Customer, system.customer_id)
    from storecrm.sdk import Store
    store_id = system.store_id or customer.store_id
    try:
        issue_stock(item, stock_location_for_store(get_scoped(Store, store_id)), Decimal(1),
                    serials=[serial] if item.serial_tracked else (), reference=(WARRANTY_REF, component.id),
                    customer=customer, asset=system, reason=data["reason"][:100], staff=user)
    except ValidationError as err:
        messages = err.messages if isinstance(err.messages, dict) else {"serial": err.messages}
        raise ValidationError({"serial": [m for v in messages.values() for m in (v if isinstance(v, list) else [v])]})
    component.removed_at = utcnow()
    replacement = Component(audio_system_id=system.id, job_id=component.job_id, item_id=item.id, kind=component.kind,
                            position=component.position, name=component.name, brand=component.brand, serial=serial,
                            installed_on=tenant_today(), warranty_until=component.warranty_until)
    db.session.add(replacement)
    create_sales_document(AUTOMATION, "order", customer_id=customer.id, asset_id=system.id, store_id=store_id,
                          source=(WARRANTY_REF, component.id), notes=data["reason"],
                          lines=[{"description": _("Warranty replacement: %(item)s %(serial)s", item=component.name,
                                                   serial=component.serial or ""),
                                  "quantity": "1", "unit_price": "0"}])
    managers = staff_with_role("manager", store_id)
    create_task(AUTOMATION, {"title": _("Return to the distributor: %(item)s %(serial)s", item=component.name,
                                        serial=component.serial or ""),
                             "customer_id": customer.id, "assignee_id": managers[0].id if managers else None,
                             "notes": data["reason"]}, related=("car_audio_component", component.id))
    db.session.flush()
    record_audit("update", "car_audio_component", component.id,
                 f"{component.name} {component.serial or ''} → {serial or ''}")
    return replacement


# --- warranty, upgrade candidates, cross-sell ------------------------------------------------------------------

def warranty_reminders(today=None) -> int:
    """Components whose warranty ends within 30 days: the customer gets one SMS each (periodic job)."""
    today = today or tenant_today()
    due = db.session.execute(select(Component, Asset).join(
        Asset, and_(Asset.tenant_id == Component.tenant_id, Asset.id == Component.audio_system_id))
        .where(Component.removed_at.is_(None), Component.warranty_reminded_at.is_(None),
               Component.warranty_until.between(today, today + timedelta(days=30)))).all()
    sent = 0
    for component, system in due:
        customer = get_scoped(Customer, system.customer_id)
        if customer is not None and customer.mobile:
            send_template("sms", customer.mobile, "car_audio.warranty_ending",
                          {"name": customer.name, "item": component.name, "system": system.name,
                           "day": component.warranty_until.isoformat()},
                          customer=customer, dedupe_key=f"car_audio.warranty:{component.id}")
            sent += 1
        component.warranty_reminded_at = utcnow()
    db.session.flush()
    return sent


def upgrade_candidates(user, today=None, limit=100):
    """Customers with an entry package delivered two years ago or more, and an interaction, quote or order in the
    last 90 days (一个2年前装了入门套餐、近期活跃的客户)."""
    today = today or tenant_today()
    recent = utcnow() - timedelta(days=90)
    active = or_(exists().where(Interaction.customer_id == Customer.id, Interaction.occurred_at >= recent),
                 exists().where(SalesDocument.customer_id == Customer.id, SalesDocument.created_at >= recent))
    query = (select(Customer, func.min(InstallJob.delivered_on).label("since"))
             .join(InstallJob, and_(InstallJob.tenant_id == Customer.tenant_id, InstallJob.customer_id == Customer.id))
             .where(InstallJob.package_tier == "entry", InstallJob.delivered_on <= today - timedelta(days=730),
                    Customer.deleted_at.is_(None), active)
             .group_by(Customer.tenant_id, Customer.id).order_by(Customer.name).limit(limit))
    if not getattr(user, "sees_all_stores", False):
        query = query.where(Customer.store_id.in_(user.store_ids or [-1]))
    return db.session.execute(query).all()


def cross_sell(limit=50):
    """Audio systems with an amplifier of brand A and no DSP of brand A (同品牌功放无DSP)."""
    amp, dsp = Component.__table__.alias("amp"), Component.__table__.alias("dsp")
    query = (select(Asset.id, Asset.name, Customer.id.label("customer_id"), Customer.name.label("customer"),
                    amp.c.brand)
             .select_from(amp)
             .join(Asset, and_(Asset.tenant_id == amp.c.tenant_id, Asset.id == amp.c.audio_system_id))
             .join(Customer, and_(Customer.tenant_id == Asset.tenant_id, Customer.id == Asset.customer_id))
             .where(amp.c.kind == "amplifier", amp.c.removed_at.is_(None), amp.c.brand.is_not(None),
                    ~exists().where(dsp.c.tenant_id == amp.c.tenant_id, dsp.c.audio_system_id == amp.c.audio_system_id,
                                    dsp.c.kind == "dsp", dsp.c.brand == amp.c.brand, dsp.c.removed_at.is_(None)))
             .distinct().order_by(Customer.name).limit(limit))
    return db.session.execute(query).all()


def model_brand_pivot():
    """Installed components counted by the car's model and the component's brand: ({model: {brand: n}}, brands)."""
    model = func.coalesce(func.concat_ws(" ", Asset.attributes["brand"].astext, Asset.attributes["model"].astext), "")
    job = InstallJob
    rows = db.session.execute(
        select(model.label("model"), Component.brand, func.count(Component.id))
        .select_from(Component)
        .join(job, and_(job.tenant_id == Component.tenant_id, job.id == Component.job_id))
        .join(Asset, and_(Asset.tenant_id == job.tenant_id, Asset.id == job.vehicle_id))
        .where(Component.brand.is_not(None), Component.removed_at.is_(None))
        .group_by(model, Component.brand)).all()
    table, brands = {}, set()
    for m, brand, n in rows:
        table.setdefault(m or "—", {})[brand] = n
        brands.add(brand)
    return table, sorted(brands)


def erase_customer_data(customer_id):
    """PIPL erasure: signatures and names typed by the customer go; the jobs stay (revenue, warranty)."""
    from storecrm.sdk import scrub_audit
    jobs = list(db.session.scalars(select(InstallJob).where(InstallJob.customer_id == customer_id)))
    for job in jobs:
        job.inspection_signature = job.acceptance_signature = None
        job.inspection_name = job.accepted_name = None
        job.follow_up_notes = None
    scrub_audit(JOB_REF, [j.id for j in jobs])


# --- electronic warranty card (电子保修卡) per serial ------------------------------------------------------------

CARD_SALT = "car_audio.warranty_card"


def _card_serializer():
    from flask import current_app
    from itsdangerous import URLSafeSerializer
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=CARD_SALT)


def card_token(component: Component) -> str:
    """The signed token of a component's public warranty card (tenant and component inside; nothing to guess),
    made like the dealership's progress link and the sales share link."""
    return _card_serializer().dumps([current_tenant_id(), component.id])


def component_from_card_token(token: str) -> Component | None:
    """The component of a card token, or None when the token is tampered with or belongs to another tenant."""
    from itsdangerous import BadSignature
    try:
        tenant_id, component_id = _card_serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if tenant_id != current_tenant_id() or not isinstance(component_id, int):
        return None
    component = get_scoped(Component, component_id)
    return component if component is not None and component.serial else None


def mask_plate(plate: str | None) -> str | None:
    """沪A12345 → 沪A·***45: the province and letter, then only the last two characters."""
    plate = (plate or "").replace("·", "").replace(" ", "").strip()
    if not plate:
        return None
    if len(plate) <= 4:
        return plate[:1] + "***"
    return f"{plate[:2]}·***{plate[-2:]}"


def mask_vin(vin: str | None) -> str | None:
    """LSVAB2BM6MN001234 → LSV***1234: the maker code and the last four characters only."""
    vin = (vin or "").strip().upper()
    if not vin:
        return None
    if len(vin) <= 7:
        return vin[:1] + "***"
    return f"{vin[:3]}***{vin[-4:]}"


def card_facts(component: Component, today=None) -> dict:
    """What the warranty card shows: shop, component, the car (plate and VIN masked), dates and validity."""
    from flask import g
    from storecrm.sdk import Store
    today = today or tenant_today()
    system = get_scoped(Asset, component.audio_system_id)
    job = get_scoped(InstallJob, component.job_id) if component.job_id else None
    vehicle_id = (job.vehicle_id if job is not None else None) or ((system.attributes or {}).get("vehicle_id")
                                                                   if system is not None else None)
    vehicle = get_scoped(Asset, vehicle_id) if vehicle_id else None
    from storecrm.sdk import asset_identifiers
    ids = asset_identifiers([vehicle.id])[vehicle.id] if vehicle is not None else {}
    store_id = (job.store_id if job is not None else None) or (system.store_id if system is not None else None)
    store = get_scoped(Store, store_id) if store_id else None
    valid = component.removed_at is None and component.warranty_until is not None and component.warranty_until >= today
    return {"tenant": g.tenant.name, "store": store.name if store is not None else None,
            "name": component.name, "brand": component.brand, "serial": component.serial,
            "kind": component.kind, "position": component.position,
            "vehicle": vehicle.name if vehicle is not None else None,
            "plate": mask_plate(ids.get("plate")), "vin": mask_vin(ids.get("vin")),
            "installed_on": component.installed_on, "warranty_until": component.warranty_until,
            "valid": valid, "replaced": component.removed_at is not None,
            "days_left": (component.warranty_until - today).days if valid else 0}


def send_card(user, component: Component, url: str) -> bool:
    """The card's link to the customer by SMS, through the outbox; False when the customer has no mobile."""
    system = get_scoped(Asset, component.audio_system_id)
    customer = get_scoped(Customer, system.customer_id) if system is not None else None
    if customer is None or not customer.mobile:
        _err("mobile", _("The customer has no mobile number."))
    send_template("sms", customer.mobile, "car_audio.warranty_card",
                  {"name": customer.name, "item": component.name, "serial": component.serial or "", "url": url},
                  customer=customer)
    record_audit("update", "car_audio_component", component.id, f"warranty card sent {component.serial or ''}")
    return True
