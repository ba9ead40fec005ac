"""The smart-home services: the only place that writes. Pages, the public request page, the API, jobs and the demo
all call these. None commits: the request or job around them does."""
from __future__ import annotations

import math
import secrets
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from urllib.parse import urlencode

from flask_babel import force_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import and_, any_, func, or_, select
from sqlalchemy.dialects.postgresql import insert

from storecrm.sdk import (AUTOMATION, Asset, CatalogItem, Customer, Event, RecordEvent, SalesDocument, Store,
                          TimelineEntry, TimelineSource,
                          Trimmed, User, accept_upload, confirm_order, create_asset, create_sales_document,
                          create_stock_location, create_task, db, default_assignee, document_totals, emit_event,
                          get_asset, get_catalog_item, get_customer, get_scoped, get_survey, issue_stock,
                          notify_user, plugin_settings, price_for, rank_technicians, record_audit,
                          record_order_payment, send_survey, staff_profile, tenant_locale, tenant_today, tenant_zone,
                          utcnow)

from .models import (ARTICLE_KINDS, FAULT_TYPES, FLOW, FREQUENCIES, ORDER_KINDS, PROPERTY_KINDS, Article, Contract,
                     ContractVisit, PartReturn, PartUsage, Property, RETURN_FLOW, TransferRequest, Van, WorkOrder, WorkOrderEvent, WorksheetTemplate)

REF = "smart_home_work_order"
# dispatch rules: the skill (and level) a fault type needs; the region is the property's district
FAULT_SKILLS = {"lock": {"门锁": 2}, "network": {"网络": 2}, "power": {"电工": 1}, "sensor": {"安防": 1},
                "mechanical": {"安装": 2}, "app": {}, "other": {}}
KIND_SKILLS = {"install": {"安装": 2}}


@dataclass(frozen=True)
class WorkOrderChanged(Event):
    """A work order was created or moved to another state: `order`, `changes` ({"state": [before, after]})."""

    order: object
    changes: dict


def _refuse(field: str, message: str):
    raise ValidationError({field: [message]})


# --- properties ----------------------------------------------------------------------------------------------------

class PropertySchema(Schema):
    label = Trimmed(required=True, validate=validate.Length(min=1, max=60), metadata={"label": _l("Name")})
    address = Trimmed(required=True, validate=validate.Length(min=1, max=200), metadata={"label": _l("Address")})
    district = Trimmed(required=True, validate=validate.Length(min=1, max=60), metadata={"label": _l("District")})
    kind = fields.String(load_default="apartment", validate=validate.OneOf(list(PROPERTY_KINDS),
                                                                          error=_l("Choose one of the listed options.")))
    area_sqm = fields.Decimal(load_default=None, allow_none=True, places=1,
                              validate=validate.Range(min=1, max=100000, error=_l("Give 1 to 100,000 m².")))
    rooms = fields.Integer(load_default=None, allow_none=True,
                           validate=validate.Range(min=0, max=500, error=_l("Give 0 to 500 rooms.")))
    latitude = fields.Decimal(load_default=None, allow_none=True, places=6,
                              validate=validate.Range(min=-90, max=90, error=_l("Give a latitude from -90 to 90.")))
    longitude = fields.Decimal(load_default=None, allow_none=True, places=6,
                               validate=validate.Range(min=-180, max=180, error=_l("Give a longitude from -180 to 180.")))


def save_property(user, customer: Customer, data: dict, prop: Property | None = None) -> Property:
    """Add (or change) a property of `customer` from loaded PropertySchema data."""
    created = prop is None
    prop = prop or Property(customer_id=customer.id)
    for key in ("label", "address", "district", "kind", "area_sqm", "rooms", "latitude", "longitude"):
        if key in data:
            setattr(prop, key, data[key])
    if created:
        db.session.add(prop)
    db.session.flush()
    record_audit("create" if created else "update", "smart_home_property", prop.id, f"{customer.name} {prop.label}")
    return prop


def properties_of(customer_id: int) -> list[Property]:
    return list(db.session.scalars(select(Property).where(Property.customer_id == customer_id).order_by(Property.id)))


# --- devices (core assets of type smart_device) ---------------------------------------------------------------------

class DeviceAttributes(Schema):
    model_item_id = fields.Integer(load_default=None, allow_none=True, metadata={"label": _l("Device model")})
    room = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40),
                         metadata={"label": _l("Room")})
    property_id = fields.Integer(load_default=None, allow_none=True, metadata={"label": _l("Property")})


class DeviceSchema(Schema):
    model_item_id = fields.Integer(required=True, metadata={"label": _l("Device model")})
    serial = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=60))
    room = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=40))
    property_id = fields.Integer(load_default=None, allow_none=True)
    installed_on = fields.Date(load_default=None, allow_none=True)
    warranty_until = fields.Date(load_default=None, allow_none=True)


def register_device(user, customer: Customer, data: dict) -> Asset:
    """A device of the customer: a core asset `smart_device` named after its catalog model."""
    model = get_catalog_item(data.get("model_item_id"))
    if model is None:
        _refuse("model_item_id", _("Choose one of the listed options."))
    prop = get_scoped(Property, data.get("property_id")) if data.get("property_id") else None
    if data.get("property_id") and (prop is None or prop.customer_id != customer.id):
        _refuse("property_id", _("Choose one of the listed options."))
    if data.get("installed_on") and data.get("warranty_until") and data["warranty_until"] < data["installed_on"]:
        _refuse("warranty_until", _("The warranty cannot end before the installation."))
    return create_asset(user, customer, {
        "type": "smart_device", "name": model.name[:120], "store_id": customer.store_id,
        "installed_on": data.get("installed_on"), "warranty_until": data.get("warranty_until"),
        "purchased_on": data.get("installed_on"),
        "attributes": {"model_item_id": model.id, "room": data.get("room"), "property_id": prop.id if prop else None},
        "identifiers": {"serial": data["serial"]} if data.get("serial") else {}, "notes": None})


def devices_of(customer_id: int) -> list[Asset]:
    return list(db.session.scalars(select(Asset).where(Asset.customer_id == customer_id, Asset.type == "smart_device",
                                                      Asset.deleted_at.is_(None)).order_by(Asset.id)))


def device_history(asset_id: int) -> dict:
    """A device's repair history: its work orders, newest first, and the parts fitted to it."""
    orders = list(db.session.scalars(select(WorkOrder).where(WorkOrder.asset_id == asset_id)
                                     .order_by(WorkOrder.id.desc()).limit(50)))
    parts = db.session.execute(select(PartUsage, CatalogItem.name).join(
        CatalogItem, and_(CatalogItem.tenant_id == PartUsage.tenant_id, CatalogItem.id == PartUsage.item_id))
        .where(PartUsage.asset_id == asset_id).order_by(PartUsage.id.desc()).limit(50)).all()
    return {"orders": orders, "parts": parts, "states": _state_labels(), "kinds": ORDER_KINDS}


def device_models() -> list[CatalogItem]:
    """Catalog items that are device models (products, not parts): those named in the plugin's model category."""
    return list(db.session.scalars(select(CatalogItem).where(CatalogItem.kind == "product",
                                                             CatalogItem.active.is_(True)).order_by(CatalogItem.name)))


def spare_parts() -> list[CatalogItem]:
    return list(db.session.scalars(select(CatalogItem).where(CatalogItem.kind == "part",
                                                             CatalogItem.active.is_(True)).order_by(CatalogItem.name)))


# --- vans ------------------------------------------------------------------------------------------------------------

def give_van(user, engineer: User, store_id: int, name: str, plate: str | None = None) -> Van:
    """A van for an engineer: a stock location (kind van) of the store, linked to the engineer."""
    if db.session.scalar(select(Van.id).where(Van.engineer_id == engineer.id)):
        _refuse("engineer_id", _("This engineer already has a van."))
    location = create_stock_location(user, {"store_id": store_id, "kind": "van", "name": name})
    van = Van(engineer_id=engineer.id, location_id=location.id, plate=plate)
    db.session.add(van)
    db.session.flush()
    return van


def van_of(engineer_id: int | None) -> Van | None:
    if engineer_id is None:
        return None
    return db.session.scalar(select(Van).where(Van.engineer_id == engineer_id))


def engineers() -> list[tuple[User, Van]]:
    return db.session.execute(select(User, Van).join(Van, and_(Van.tenant_id == User.tenant_id,
                                                               Van.engineer_id == User.id))
                              .where(User.active.is_(True)).order_by(User.display_name)).all()


# --- work orders -----------------------------------------------------------------------------------------------------

def _state_labels():
    from .models import STATES
    return STATES


class WorkOrderSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(ORDER_KINDS),
                                                                error=_l("Choose one of the listed options.")))
    customer_id = fields.Integer(required=True, metadata={"label": _l("Customer")})
    property_id = fields.Integer(load_default=None, allow_none=True)
    asset_id = fields.Integer(load_default=None, allow_none=True)
    fault_type = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(
        list(FAULT_TYPES), error=_l("Choose one of the listed options.")))
    description = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    due_on = fields.Date(load_default=None, allow_none=True)
    store_id = fields.Integer(load_default=None, allow_none=True)


def _history(order: WorkOrder, before: str | None, user, note: str | None = None, now=None) -> None:
    db.session.add(WorkOrderEvent(work_order_id=order.id, from_state=before, to_state=order.state,
                                  user_id=getattr(user, "id", None) if isinstance(user, User) else None,
                                  note=(note or None) and note[:300], at=now or utcnow()))
    changes = {"state": [before, order.state]}
    emit_event(WorkOrderChanged(order, changes))
    customer = get_scoped(Customer, order.customer_id)
    if customer is not None:  # rules on customers may start from it (trigger smart_home.work_order_changed)
        emit_event(RecordEvent("customer", customer, "smart_home.work_order_changed", changes))


def create_work_order(user, data: dict, *, source: str = "staff", photo_ids=(), contract_id=None, now=None,
                      dispatch_now: bool = True) -> WorkOrder:
    """A work order from loaded WorkOrderSchema data; the property and device must be the customer's. Dispatched at
    once when the tenant's settings say so and a suitable engineer exists."""
    staff = user if isinstance(user, User) else None
    customer = get_customer(staff, data["customer_id"]) if staff else get_scoped(Customer, data["customer_id"])
    if customer is None or customer.deleted_at is not None:
        _refuse("customer_id", _("Choose an existing customer."))
    prop = get_scoped(Property, data.get("property_id")) if data.get("property_id") else None
    if data.get("property_id") and (prop is None or prop.customer_id != customer.id):
        _refuse("property_id", _("Choose one of the listed options."))
    device = get_scoped(Asset, data.get("asset_id")) if data.get("asset_id") else None
    if data.get("asset_id") and (device is None or device.customer_id != customer.id or device.type != "smart_device"):
        _refuse("asset_id", _("Choose one of the listed options."))
    if data["kind"] == "repair" and not data.get("fault_type"):
        _refuse("fault_type", _("Choose the kind of fault."))
    if prop is None and device is not None and (device.attributes or {}).get("property_id"):
        prop = get_scoped(Property, device.attributes["property_id"])
    store = get_scoped(Store, data.get("store_id")) if data.get("store_id") else None
    store_id = store.id if store else (customer.store_id or db.session.scalar(select(Store.id).order_by(Store.id)))
    now = now or utcnow()
    order = WorkOrder(number=secrets.token_hex(8), kind=data["kind"], state="pending", source=source,
                      customer_id=customer.id, property_id=prop.id if prop else None,
                      asset_id=device.id if device else None,
                      model_item_id=(device.attributes or {}).get("model_item_id") if device else None,
                      store_id=store_id, contract_id=contract_id, fault_type=data.get("fault_type"),
                      description=data.get("description"), photo_ids=list(photo_ids), due_on=data.get("due_on"),
                      tracking_token=secrets.token_urlsafe(24), reported_at=now, created_at=now)
    db.session.add(order)
    db.session.flush()
    order.number = f"GD{order.id:06d}"
    _history(order, None, user, now=now)
    if source != "contract":  # a planned visit has its day; a call-out under contract has the promised response
        covered = coverage_of(order)
        if covered["code"] == "contract":
            order.respond_by = covered["respond_by"]
    record_audit("create", "smart_home_work_order", order.id, f"{order.number} {customer.name}")
    if dispatch_now and plugin_settings("smart_home").get("auto_dispatch", True):
        dispatch(order, now=now)
    return order


def get_work_order(user, order_id) -> WorkOrder | None:
    """A work order `user` may see: HQ sees all, store staff their stores, an engineer also his own."""
    order = get_scoped(WorkOrder, order_id)
    if order is None or user is None or user is AUTOMATION:
        return order
    if user.sees_all_stores or order.store_id in (user.store_ids or []) or order.engineer_id == user.id:
        return order
    return None


def visible_orders(user, query):
    if user.sees_all_stores:
        return query
    return query.where(or_(WorkOrder.store_id.in_(user.store_ids or [0]), WorkOrder.engineer_id == user.id))


def list_work_orders(user, *, state: str | None = None, engineer_id: int | None = None, limit: int = 100):
    query = (select(WorkOrder, Customer.name).join(Customer, and_(Customer.tenant_id == WorkOrder.tenant_id,
                                                                  Customer.id == WorkOrder.customer_id)))
    query = visible_orders(user, query)
    if state:
        query = query.where(WorkOrder.state == state)
    if engineer_id:
        query = query.where(WorkOrder.engineer_id == engineer_id)
    return db.session.execute(query.order_by(WorkOrder.id.desc()).limit(limit)).all()


def rank_for(order: WorkOrder):
    """The engineers for this order, best first, by the scheduling core's dispatch ranking: the skill its fault type
    (or install) needs, the property's district, shift, load and history with the customer."""
    store = get_scoped(Store, order.store_id)
    prop = get_scoped(Property, order.property_id) if order.property_id else None
    skills = dict(KIND_SKILLS.get(order.kind, {}))
    skills.update(FAULT_SKILLS.get(order.fault_type or "", {}))
    ranked = rank_technicians(store, skills=skills, region=prop.district if prop else None,
                              customer_id=order.customer_id)
    with_van = set(db.session.scalars(select(Van.engineer_id)))
    ranked = [r for r in ranked if r.user_id in with_van] if with_van else ranked
    if prop is not None and prop.latitude is not None and prop.longitude is not None and ranked:
        origins = last_stops([r.user_id for r in ranked], exclude_order_id=order.id)
        speed = average_speed()
        for rec in ranked:
            origin = origins.get(rec.user_id)
            if origin is None:
                rec.add(0, _("Travel time unknown (no previous job or base position)"))
                continue
            metres = distance_m(origin[1], origin[2], prop.latitude, prop.longitude)
            minutes = travel_minutes(metres, speed)
            rec.add(-min(TRAVEL_MAX_PENALTY, minutes // TRAVEL_MINUTES_PER_POINT),
                    _("About %(minutes)d min drive from %(origin)s (%(km)s km)", minutes=minutes, origin=origin[0],
                      km=f"{metres / 1000:.1f}"))
        ranked.sort(key=lambda r: (-r.score, r.name))
    return ranked


# travel weighs one point per 5 minutes of driving, at most 30 points: an hour across town matters as much as being
# off shift, a short hop less than covering the district
TRAVEL_MINUTES_PER_POINT, TRAVEL_MAX_PENALTY = 5, 30
OPEN_STATES = ("assigned", "on_the_way", "on_site")


def average_speed() -> int:
    return int(plugin_settings("smart_home").get("average_speed_kmh", 25) or 25)


def travel_minutes(metres: int, speed_kmh: int) -> int:
    """Driving minutes estimated from the straight-line distance at the tenant's average city speed (rounded up)."""
    return math.ceil(metres / 1000 / max(speed_kmh, 1) * 60)


def last_stops(engineer_ids, *, exclude_order_id=None) -> dict[int, tuple[str, Decimal, Decimal]]:
    """Where each engineer will be before a new job: his latest open job (or one finished today) at a property with
    coordinates, else his van's base. {engineer id: (label, latitude, longitude)}; two queries for any number."""
    ids = list(engineer_ids)
    if not ids:
        return {}
    day_start = datetime.combine(tenant_today(), time(0), tzinfo=tenant_zone())
    latest = func.coalesce(WorkOrder.completed_at, WorkOrder.checked_in_at, WorkOrder.assigned_at)
    rows = db.session.execute(
        select(WorkOrder.engineer_id, WorkOrder.number, Property.latitude, Property.longitude)
        .join(Property, and_(Property.tenant_id == WorkOrder.tenant_id, Property.id == WorkOrder.property_id))
        .where(WorkOrder.engineer_id.in_(ids), WorkOrder.id != (exclude_order_id or 0),
               Property.latitude.is_not(None), Property.longitude.is_not(None),
               or_(WorkOrder.state.in_(OPEN_STATES), WorkOrder.completed_at >= day_start))
        .order_by(WorkOrder.engineer_id, latest.desc(), WorkOrder.id.desc())).all()
    found: dict[int, tuple] = {}
    for engineer_id, number, lat, lng in rows:
        found.setdefault(engineer_id, (_("the previous job %(number)s", number=number), lat, lng))
    for van in db.session.scalars(select(Van).where(Van.engineer_id.in_(ids), Van.base_latitude.is_not(None),
                                                    Van.base_longitude.is_not(None))):
        found.setdefault(van.engineer_id, (_("the base"), van.base_latitude, van.base_longitude))
    return found


def navigation_links(prop: Property | None) -> dict[str, str]:
    """Links that open navigation to the property in Amap (高德) and Baidu Maps: their web URIs, which hand over to
    the installed app on a phone (callnative) and fall back to the web map. Coordinates are the phone's (WGS-84),
    so both are told so; without coordinates they search the address."""
    if prop is None:
        return {}
    name = prop.label or prop.address
    if prop.latitude is not None and prop.longitude is not None:
        return {"amap": "https://uri.amap.com/navigation?" + urlencode({
                    "to": f"{prop.longitude},{prop.latitude},{name}", "mode": "car", "coordinate": "wgs84",
                    "callnative": "1", "src": "storecrm"}),
                "baidu": "https://api.map.baidu.com/direction?" + urlencode({
                    "destination": f"latlng:{prop.latitude},{prop.longitude}|name:{name}", "mode": "driving",
                    "coord_type": "wgs84", "region": prop.district, "output": "html", "src": "storecrm"})}
    address = f"{prop.district}{prop.address}"
    return {"amap": "https://uri.amap.com/search?" + urlencode({"keyword": address, "callnative": "1",
                                                                "src": "storecrm"}),
            "baidu": "https://api.map.baidu.com/geocoder?" + urlencode({"address": address, "output": "html",
                                                                       "src": "storecrm"})}


@dataclass
class Stop:
    order: WorkOrder
    customer_name: str
    prop: Property | None
    metres: int | None = None
    minutes: int | None = None
    links: dict | None = None
    x: float | None = None   # position on the day's sketch map (0–100)
    y: float | None = None


def day_route(engineer_id: int) -> dict:
    """The engineer's day (今日行程): his open jobs as ordered stops — on site first, then on the way, then by due day
    and dispatch time — each with the straight-line distance and drive time from the stop before (the first from
    his base), navigation links, and positions for a sketch map. Three queries."""
    rank = {"on_site": 0, "on_the_way": 1, "assigned": 2}
    rows = db.session.execute(
        select(WorkOrder, Customer.name, Property)
        .join(Customer, and_(Customer.tenant_id == WorkOrder.tenant_id, Customer.id == WorkOrder.customer_id))
        .outerjoin(Property, and_(Property.tenant_id == WorkOrder.tenant_id, Property.id == WorkOrder.property_id))
        .where(WorkOrder.engineer_id == engineer_id, WorkOrder.state.in_(OPEN_STATES))).all()
    rows.sort(key=lambda r: (rank[r[0].state], r[0].due_on or date.max, r[0].assigned_at or r[0].reported_at,
                             r[0].id))
    van = van_of(engineer_id)
    speed = average_speed()
    here = (van.base_latitude, van.base_longitude) if van and van.base_latitude is not None else None
    stops, total_m, total_min = [], 0, 0
    for order, name, prop in rows:
        stop = Stop(order, name, prop, links=navigation_links(prop))
        if prop is not None and prop.latitude is not None and prop.longitude is not None:
            if here is not None:
                stop.metres = distance_m(here[0], here[1], prop.latitude, prop.longitude)
                stop.minutes = travel_minutes(stop.metres, speed)
                total_m, total_min = total_m + stop.metres, total_min + stop.minutes
            here = (prop.latitude, prop.longitude)
        stops.append(stop)
    points = [(float(s.prop.latitude), float(s.prop.longitude)) for s in stops
              if s.prop is not None and s.prop.latitude is not None and s.prop.longitude is not None]
    base = (float(van.base_latitude), float(van.base_longitude)) if van and van.base_latitude is not None else None
    sketch = _sketch(points + ([base] if base else []))
    for stop in stops:
        if stop.prop is not None and stop.prop.latitude is not None and stop.prop.longitude is not None:
            stop.x, stop.y = sketch(float(stop.prop.latitude), float(stop.prop.longitude))
    base_xy = sketch(*base) if base else None
    route = ([base_xy] if base_xy else []) + [(s.x, s.y) for s in stops if s.x is not None]
    return {"stops": stops, "total_km": f"{total_m / 1000:.1f}", "total_minutes": total_min, "speed": speed,
            "base": base_xy, "route": route}


def _sketch(points):
    """A projection of the day's points into a 0–100 square with a margin (north up), for the sketch map."""
    if not points:
        return lambda lat, lng: (50.0, 50.0)
    lats, lngs = [p[0] for p in points], [p[1] for p in points]
    span = max(max(lats) - min(lats), (max(lngs) - min(lngs)) * math.cos(math.radians(sum(lats) / len(lats))),
               1e-4)
    mid_lat, mid_lng = (max(lats) + min(lats)) / 2, (max(lngs) + min(lngs)) / 2
    scale = math.cos(math.radians(mid_lat))

    def place(lat, lng):
        return (round(50 + (lng - mid_lng) * scale / span * 80, 1), round(50 - (lat - mid_lat) / span * 80, 1))

    return place


def dispatch(order: WorkOrder, *, user=AUTOMATION, now=None) -> WorkOrder:
    """Give a pending order to the best-ranked engineer (automatic dispatch); left pending when nobody fits."""
    if order.state != "pending":
        return order
    with force_locale(tenant_locale()):  # the note is read later by everyone: in the tenant's language
        ranked = rank_for(order)
        if ranked:
            return assign(user, order, ranked[0].user_id, note=_("Dispatched automatically: %(why)s",
                                                                  why="；".join(ranked[0].reasons[:3])), now=now)
    return order


def assign(user, order: WorkOrder, engineer_id, note: str | None = None, now=None) -> WorkOrder:
    if order.state not in ("pending", "assigned"):
        _refuse("state", _("This work order can no longer be reassigned."))
    engineer = get_scoped(User, engineer_id) if engineer_id else None
    if engineer is None or not engineer.active:
        _refuse("engineer_id", _("Choose one of the listed options."))
    before, order.state, order.engineer_id = order.state, "assigned", engineer.id
    order.assigned_at = now or utcnow()
    _history(order, before, user, note or engineer.display_name, now=now)
    with force_locale(engineer.locale or tenant_locale()):  # the engineer's language, not the dispatcher's
        notify_user(engineer, _("New work order %(number)s", number=order.number),
                    FAULT_TYPES.get(order.fault_type or "", "") and str(FAULT_TYPES[order.fault_type]) or "",
                    f"/smart-home/engineer/{order.id}")
    return order


def _move(user, order: WorkOrder, allowed: tuple, to: str, note=None, now=None):
    if order.state not in allowed:
        _refuse("state", _("This step is not possible now."))
    before, order.state = order.state, to
    _history(order, before, user, note, now=now)


def _engineer_only(user, order):
    if isinstance(user, User) and order.engineer_id != user.id and not user.has_permission("smart_home.dispatch"):
        _refuse("engineer_id", _("Only the assigned engineer can do this."))


def accept(user, order: WorkOrder, now=None) -> WorkOrder:
    """The engineer accepts the job and sets off (接单出发): first response time is counted to here."""
    _engineer_only(user, order)
    _move(user, order, ("assigned",), "on_the_way", now=now)
    order.accepted_at = now or utcnow()
    return order


def distance_m(lat1, lng1, lat2, lng2) -> int:
    """Great-circle distance in metres (haversine)."""
    r = 6371000.0
    p1, p2 = math.radians(float(lat1)), math.radians(float(lat2))
    dp, dl = p2 - p1, math.radians(float(lng2) - float(lng1))
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return int(round(2 * r * math.asin(math.sqrt(a))))


class CheckInSchema(Schema):
    latitude = fields.Decimal(load_default=None, allow_none=True, places=6,
                              validate=validate.Range(min=-90, max=90, error=_l("Give a latitude from -90 to 90.")))
    longitude = fields.Decimal(load_default=None, allow_none=True, places=6,
                               validate=validate.Range(min=-180, max=180, error=_l("Give a longitude from -180 to 180.")))


def check_in(user, order: WorkOrder, data: dict, now=None) -> WorkOrder:
    """On-site check-in (上门打卡): the time, the phone's position when it gave one, and the distance to the
    property when the property has coordinates."""
    _engineer_only(user, order)
    _move(user, order, ("assigned", "on_the_way"), "on_site", now=now)
    now = now or utcnow()
    order.accepted_at = order.accepted_at or now
    order.checked_in_at = now
    lat, lng = data.get("latitude"), data.get("longitude")
    if lat is not None and lng is not None:
        order.check_in_latitude, order.check_in_longitude = lat, lng
        prop = get_scoped(Property, order.property_id) if order.property_id else None
        if prop is not None and prop.latitude is not None and prop.longitude is not None:
            order.check_in_distance_m = distance_m(lat, lng, prop.latitude, prop.longitude)
    return order


class PartSchema(Schema):
    item_id = fields.Integer(required=True, metadata={"label": _l("Part")})
    quantity = fields.Decimal(load_default=Decimal("1"), places=3, validate=validate.Range(
        min=Decimal("0.001"), max=1000, error=_l("Give a quantity above 0.")))
    # ticked: the customer pays for this part even on a covered job (damage, an extra the customer wanted)
    billable = fields.Boolean(load_default=False)


def use_part(user, order: WorkOrder, data: dict, now=None) -> PartUsage:
    """A part used on the job (备件核销): issued from the engineer's van stock (refused when the van has too few),
    recorded on the work order and on the device's history."""
    _engineer_only(user, order)
    if order.state not in ("on_site", "on_the_way"):
        _refuse("state", _("Check in on site before using parts."))
    item = get_catalog_item(data.get("item_id"))
    if item is None:
        _refuse("item_id", _("Choose one of the listed options."))
    van = van_of(order.engineer_id)
    if van is None:
        _refuse("item_id", _("The engineer has no van stock."))
    from storecrm.sdk import StockLocation

    location = get_scoped(StockLocation, van.location_id)
    customer = get_scoped(Customer, order.customer_id)
    issue_stock(item, location, data.get("quantity", Decimal("1")), reference=(REF, order.id), customer=customer,
                reason=order.number, staff=user if isinstance(user, User) else None)
    covered = coverage_of(order)["code"]
    usage = PartUsage(work_order_id=order.id, item_id=item.id, location_id=location.id, asset_id=order.asset_id,
                      quantity=Decimal(str(data.get("quantity", 1))), used_at=now or utcnow(),
                      coverage="billable" if data.get("billable") else covered,
                      unit_price=price_for(item, order.store_id))
    db.session.add(usage)
    db.session.flush()
    record_audit("update", "smart_home_work_order", order.id, f"{order.number} {item.name}")
    return usage


def parts_of(order_id: int):
    return db.session.execute(select(PartUsage, CatalogItem.name).join(
        CatalogItem, and_(CatalogItem.tenant_id == PartUsage.tenant_id, CatalogItem.id == PartUsage.item_id))
        .where(PartUsage.work_order_id == order_id).order_by(PartUsage.id)).all()


class CompleteSchema(Schema):
    diagnosis = Trimmed(required=True, validate=validate.Length(min=1, max=2000),
                        error_messages={"required": _l("Describe what you found.")})
    report = Trimmed(required=True, validate=validate.Length(min=1, max=4000),
                     error_messages={"required": _l("Write what you did.")})
    signed_name = Trimmed(required=True, validate=validate.Length(min=1, max=80),
                          error_messages={"required": _l("The customer's name is needed.")})
    signature = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^data:image/png;base64,[A-Za-z0-9+/=]{20,400000}$", error=_l("Ask the customer to sign in the box.")))
    fixed = fields.Boolean(load_default=True)
    worksheet = fields.List(fields.String(validate=validate.Length(max=40)), load_default=list)


def complete(user, order: WorkOrder, data: dict, now=None) -> WorkOrder:
    """Service report, customer signature, completion: time on site and first-time fix are recorded and the
    customer gets the satisfaction survey."""
    _engineer_only(user, order)
    if not data.get("signature"):
        _refuse("signature", _("Ask the customer to sign in the box."))
    items = worksheet_for(order.kind)
    ticked = set(data.get("worksheet") or ())
    missing = [item["label"] for item in items if item.get("required") and item["code"] not in ticked]
    if missing:
        _refuse("worksheet", _("Tick every required item of the worksheet: %(items)s", items="、".join(missing)))
    _move(user, order, ("on_site",), "done", now=now)
    now = now or utcnow()
    order.worksheet = {item["code"]: item["code"] in ticked for item in items}
    order.diagnosis, order.report = data["diagnosis"], data["report"]
    order.signed_name, order.signature = data["signed_name"], data["signature"]
    order.completed_at = now
    order.minutes_on_site = max(0, int((now - order.checked_in_at).total_seconds() // 60)) if order.checked_in_at else None
    order.first_time_fix = bool(data.get("fixed", True)) and not db.session.scalar(
        select(func.count()).select_from(WorkOrderEvent).where(WorkOrderEvent.work_order_id == order.id,
                                                               WorkOrderEvent.to_state == "on_site")) > 1
    survey = get_survey(plugin_settings("smart_home").get("survey_id") or 0) or _default_survey()
    customer = get_scoped(Customer, order.customer_id)
    if survey is not None and survey.active and (customer.mobile or customer.email):
        send_survey(survey, customer, related=(REF, order.id), staff_id=order.engineer_id, store_id=order.store_id)
    return order


def mark_visited(user, order: WorkOrder, note: str | None = None, now=None) -> WorkOrder:
    """The follow-up is done (已回访): by staff, or by the customer answering the survey."""
    _move(user, order, ("done",), "visited", note, now=now)
    order.visited_at = now or utcnow()
    return order


def cancel(user, order: WorkOrder, note: str | None = None) -> WorkOrder:
    _move(user, order, ("pending", "assigned", "on_the_way"), "cancelled", note)
    return order


def history_of(order_id: int):
    return db.session.execute(select(WorkOrderEvent, User.display_name).outerjoin(
        User, and_(User.tenant_id == WorkOrderEvent.tenant_id, User.id == WorkOrderEvent.user_id))
        .where(WorkOrderEvent.work_order_id == order_id).order_by(WorkOrderEvent.at, WorkOrderEvent.id)).all()


def order_by_token(token: str) -> WorkOrder | None:
    if not token or len(token) > 40:
        return None
    return db.session.scalar(select(WorkOrder).where(WorkOrder.tracking_token == token))


SURVEY_NAME = "上门服务满意度"


def _default_survey():
    from storecrm.sdk import create_survey
    from storecrm.sdk import SurveyInvitation  # noqa: F401  (same module family; keeps the import local)
    from sqlalchemy import text

    survey_id = db.session.scalar(text("SELECT id FROM surveys WHERE name = :n ORDER BY id LIMIT 1"),
                                  {"n": SURVEY_NAME})
    if survey_id:
        return get_survey(survey_id)
    return create_survey({"name": SURVEY_NAME, "kind": "csat", "questions": [
        {"code": "engineer", "label_zh": "工程师的态度与专业", "label_en": "Your engineer"},
        {"code": "quality", "label_zh": "安装/维修质量", "label_en": "Quality of the work"},
        {"code": "timeliness", "label_zh": "响应与上门及时", "label_en": "Came on time"}]})


def survey_answered(response) -> None:
    """A customer answered the survey about a work order: the follow-up is done."""
    from storecrm.sdk import SurveyInvitation

    invitation = get_scoped(SurveyInvitation, response.invitation_id)
    if invitation is None or invitation.related_type != REF:
        return
    order = get_scoped(WorkOrder, invitation.related_id)
    if order is not None and order.state == "done":
        mark_visited(AUTOMATION, order, _("Survey answered: %(score)s", score=response.score))


# --- maintenance contracts -----------------------------------------------------------------------------------------

def _price_in_range(value) -> None:
    if value < 0 or value > 10_000_000:
        raise ValidationError(_("Give an amount from 0 to 10,000,000."))


class ContractSchema(Schema):
    customer_id = fields.Integer(required=True)
    starts_on = fields.Date(required=True)
    ends_on = fields.Date(required=True)
    frequency = fields.String(load_default="quarterly", validate=validate.OneOf(
        list(FREQUENCIES), error=_l("Choose one of the listed options.")))
    # a plain check, not validate.Range: apispec would write the bounds of a Decimal as strings, which OpenAPI refuses
    price = fields.Decimal(required=True, places=2, validate=_price_in_range)
    response_hours = fields.Integer(load_default=24, validate=validate.Range(min=1, max=720))
    property_ids = fields.List(fields.Integer(), load_default=list)
    asset_ids = fields.List(fields.Integer(), load_default=list)


def create_contract(user, data: dict) -> Contract:
    customer = get_customer(user if isinstance(user, User) else None, data["customer_id"]) \
        if isinstance(user, User) else get_scoped(Customer, data["customer_id"])
    if customer is None:
        _refuse("customer_id", _("Choose an existing customer."))
    if data["ends_on"] <= data["starts_on"]:
        _refuse("ends_on", _("The contract must end after it starts."))
    for pid in data.get("property_ids") or []:
        prop = get_scoped(Property, pid)
        if prop is None or prop.customer_id != customer.id:
            _refuse("property_ids", _("Choose one of the listed options."))
    for aid in data.get("asset_ids") or []:
        asset = get_scoped(Asset, aid)
        if asset is None or asset.customer_id != customer.id:
            _refuse("asset_ids", _("Choose one of the listed options."))
    contract = Contract(number=secrets.token_hex(8), customer_id=customer.id,
                        store_id=customer.store_id or db.session.scalar(select(Store.id).order_by(Store.id)),
                        starts_on=data["starts_on"], ends_on=data["ends_on"], frequency=data["frequency"],
                        price=data["price"], response_hours=data.get("response_hours", 24),
                        property_ids=list(data.get("property_ids") or []), asset_ids=list(data.get("asset_ids") or []))
    db.session.add(contract)
    db.session.flush()
    contract.number = f"HT{contract.id:06d}"
    record_audit("create", "smart_home_contract", contract.id, f"{contract.number} {customer.name}")
    return contract


def _add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    last = [31, 29 if year % 4 == 0 and (year % 100 or year % 400 == 0) else 28, 31, 30, 31, 30, 31, 31, 30, 31,
            30, 31][month - 1]
    return date(year, month, min(day.day, last))


def due_dates(contract: Contract, first: date, last: date) -> list[date]:
    """The contract's visit days in [first, last): starts_on, then every `frequency` months, until it ends."""
    step = FREQUENCIES[contract.frequency][1]
    days, n = [], 0
    while True:
        day = _add_months(contract.starts_on, step * n)
        if day >= last or day > contract.ends_on:
            return days
        if day >= first:
            days.append(day)
        n += 1


def plan_contract_visits(today: date | None = None, months_ahead: int | None = None) -> list[ContractVisit]:
    """Plan every active contract's visits due in the next `months_ahead` months (settings; default 6, two
    quarters) as maintenance work orders. Once only: each visit is claimed by INSERT … ON CONFLICT DO NOTHING on
    (tenant, contract, due date), so a second scheduler running at the same time waits for the first and then
    finds the visit taken. Also opens the renewal task of contracts that end soon."""
    today = today or tenant_today()
    months = months_ahead or int(plugin_settings("smart_home").get("plan_months_ahead", 6))
    horizon = _add_months(today, months)
    made = []
    contracts = list(db.session.scalars(select(Contract).where(Contract.active.is_(True), Contract.ends_on >= today)
                                        .order_by(Contract.id)))
    for contract in contracts:
        for day in due_dates(contract, today, horizon):
            visit_id = db.session.scalar(insert(ContractVisit).values(
                tenant_id=contract.tenant_id, contract_id=contract.id, due_on=day)
                .on_conflict_do_nothing(index_elements=["tenant_id", "contract_id", "due_on"])
                .returning(ContractVisit.id))
            if visit_id is None:
                continue
            order = create_work_order(AUTOMATION, {
                "kind": "maintenance", "customer_id": contract.customer_id,
                "property_id": (contract.property_ids or [None])[0], "asset_id": None, "fault_type": None,
                "description": _("Planned maintenance visit of contract %(number)s", number=contract.number),
                "due_on": day, "store_id": contract.store_id}, source="contract", contract_id=contract.id,
                dispatch_now=False)
            visit = get_scoped(ContractVisit, visit_id)
            visit.work_order_id = order.id
            made.append(visit)
        _renewal_task(contract, today)
    db.session.flush()
    return made


def _renewal_task(contract: Contract, today: date) -> None:
    days = int(plugin_settings("smart_home").get("renewal_days_before", 30))
    if contract.renewal_task_id or contract.ends_on > today + timedelta(days=days):
        return
    customer = get_scoped(Customer, contract.customer_id)
    assignee = default_assignee(customer.owner_id, contract.store_id)
    task = create_task(AUTOMATION, {"title": _("Renew maintenance contract %(number)s of %(name)s",
                                               number=contract.number, name=customer.name),
                                    "customer_id": customer.id,
                                    "due_at": datetime.combine(contract.ends_on - timedelta(days=7), time(9),
                                                               tzinfo=tenant_zone()),
                                    "assignee_id": assignee.id if assignee else None},
                       related=("smart_home_contract", contract.id))
    contract.renewal_task_id = task.id


def contracts_of(customer_id: int | None = None) -> list:
    query = select(Contract, Customer.name).join(Customer, and_(Customer.tenant_id == Contract.tenant_id,
                                                                Customer.id == Contract.customer_id))
    if customer_id:
        query = query.where(Contract.customer_id == customer_id)
    return db.session.execute(query.order_by(Contract.id.desc()).limit(200)).all()


def sla_state(order: WorkOrder, now=None) -> str | None:
    """The contract's promised response on this order: None (no promise), `met`, `late` (accepted after it),
    `breached` (still not accepted and past it) or `running`."""
    if order.respond_by is None:
        return None
    if order.accepted_at is not None:
        return "met" if order.accepted_at <= order.respond_by else "late"
    if order.state in ("cancelled",):
        return None
    return "breached" if (now or utcnow()) > order.respond_by else "running"


class MoveVisitSchema(Schema):
    day = fields.Date(required=True, metadata={"label": _l("New day")},
                      error_messages={"required": _l("Choose the new day."), "invalid": _l("Choose the new day.")})


def move_visit(user, visit: ContractVisit, data: dict, today: date | None = None) -> ContractVisit:
    """Move a planned visit to the day agreed with the customer: its work order's day moves with it and the history
    says so. The planned day stays as the planner's claim, so the visit is never planned a second time."""
    contract = get_scoped(Contract, visit.contract_id)
    order = get_scoped(WorkOrder, visit.work_order_id) if visit.work_order_id else None
    day, today = data["day"], today or tenant_today()
    if order is not None and order.state in ("done", "visited", "cancelled"):
        _refuse("day", _("This visit is already closed."))
    if day < today or day > contract.ends_on:
        _refuse("day", _("Choose a day from today to the end of the contract."))
    before = visit.moved_to or visit.due_on
    visit.moved_to = None if day == visit.due_on else day
    if order is not None:
        order.due_on = day
        db.session.add(WorkOrderEvent(work_order_id=order.id, from_state=order.state, to_state=order.state,
                                      user_id=getattr(user, "id", None),
                                      note=_("Visit moved from %(before)s to %(after)s", before=before.isoformat(),
                                             after=day.isoformat())))
    db.session.flush()
    record_audit("update", "smart_home_contract_visit", visit.id, f"{contract.number} {day.isoformat()}")
    return visit


def overdue_visits(today: date | None = None, limit: int = 100):
    """Planned visits whose day (moved or planned) has passed and whose work order is still open (one query)."""
    today = today or tenant_today()
    day = func.coalesce(ContractVisit.moved_to, ContractVisit.due_on)
    return db.session.execute(
        select(ContractVisit, WorkOrder, Contract.number)
        .join(WorkOrder, and_(WorkOrder.tenant_id == ContractVisit.tenant_id, WorkOrder.id == ContractVisit.work_order_id))
        .join(Contract, and_(Contract.tenant_id == ContractVisit.tenant_id, Contract.id == ContractVisit.contract_id))
        .where(day < today, WorkOrder.state.in_(("pending", "assigned", "on_the_way", "on_site")))
        .order_by(day, ContractVisit.id).limit(limit)).all()


def visits_of(contract_id: int):
    return db.session.execute(select(ContractVisit, WorkOrder).outerjoin(
        WorkOrder, and_(WorkOrder.tenant_id == ContractVisit.tenant_id, WorkOrder.id == ContractVisit.work_order_id))
        .where(ContractVisit.contract_id == contract_id).order_by(ContractVisit.due_on)).all()


# --- knowledge base ------------------------------------------------------------------------------------------------

class ArticleSchema(Schema):
    title = Trimmed(required=True, validate=validate.Length(min=1, max=200))
    kind = fields.String(load_default="faq", validate=validate.OneOf(list(ARTICLE_KINDS),
                                                                     error=_l("Choose one of the listed options.")))
    category = Trimmed(load_default="", validate=validate.Length(max=60))
    body = Trimmed(required=True, validate=validate.Length(min=1, max=50000))
    model_item_ids = fields.List(fields.Integer(), load_default=list)
    fault_types = fields.List(fields.String(validate=validate.OneOf(list(FAULT_TYPES))), load_default=list)
    published = fields.Boolean(load_default=True)


def save_article(user, data: dict, article: Article | None = None) -> Article:
    for item_id in data.get("model_item_ids") or []:
        if get_catalog_item(item_id) is None:
            _refuse("model_item_ids", _("Choose one of the listed options."))
    created = article is None
    article = article or Article()
    for key in ("title", "kind", "category", "body", "model_item_ids", "fault_types", "published"):
        if key in data:
            setattr(article, key, data[key] if data[key] is not None else "")
    article.category = article.category or ""
    article.updated_at = utcnow()
    if created:
        db.session.add(article)
    db.session.flush()
    record_audit("create" if created else "update", "smart_home_article", article.id, article.title)
    return article


def _like(term: str) -> str:
    return "%" + term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def search_articles(q: str = "", *, model_item_id=None, fault_type=None, kind=None, limit: int = 30) -> list[Article]:
    """Full-text search in Chinese: every whitespace-separated term must occur in the title, the category or the
    body (ILIKE, served by pg_trgm GIN indexes; no word segmenter needed), ranked by trigram similarity of the
    title to the query, title hits first."""
    query = select(Article).where(Article.published.is_(True))
    terms = [t for t in (q or "").split() if t][:8]
    for term in terms:
        pattern = _like(term[:50])
        query = query.where(or_(Article.title.ilike(pattern), Article.body.ilike(pattern),
                                Article.category.ilike(pattern)))
    if model_item_id:
        query = query.where(any_(Article.model_item_ids) == int(model_item_id))
    if fault_type:
        query = query.where(any_(Article.fault_types) == fault_type)
    if kind:
        query = query.where(Article.kind == kind)
    if terms:
        in_title = or_(*[Article.title.ilike(_like(t[:50])) for t in terms])
        query = query.order_by(in_title.desc(), func.similarity(Article.title, " ".join(terms)).desc(), Article.id)
    else:
        query = query.order_by(Article.updated_at.desc(), Article.id.desc())
    return list(db.session.scalars(query.limit(limit)))


def suggested_articles(order: WorkOrder, limit: int = 5) -> list[Article]:
    """Articles for this job: tagged with the device's model and the fault type (both first), else either."""
    conditions = []
    if order.model_item_id:
        conditions.append(any_(Article.model_item_ids) == order.model_item_id)
    if order.fault_type:
        conditions.append(any_(Article.fault_types) == order.fault_type)
    if not conditions:
        return []
    both = and_(*conditions) if len(conditions) > 1 else conditions[0]
    return list(db.session.scalars(select(Article).where(Article.published.is_(True), or_(*conditions))
                                   .order_by(both.desc(), Article.id).limit(limit)))


# --- panels, seeding, erasure --------------------------------------------------------------------------------------

def customer_panel(customer) -> dict:
    props = properties_of(customer.id)
    devices = devices_of(customer.id)
    models = {i.id: i.name for i in db.session.scalars(select(CatalogItem).where(CatalogItem.id.in_(
        [d.attributes.get("model_item_id") for d in devices if (d.attributes or {}).get("model_item_id")] or [0])))}
    orders = list(db.session.scalars(select(WorkOrder).where(WorkOrder.customer_id == customer.id)
                                     .order_by(WorkOrder.id.desc()).limit(5)))
    return {"properties": props, "devices": devices, "models": models, "orders": orders,
            "property_names": {p.id: p.label for p in props}, "kinds": PROPERTY_KINDS, "states": _state_labels(),
            "order_kinds": ORDER_KINDS}


SEED_ARTICLES = [
    ("智能门锁指纹识别失败怎么办", "troubleshooting", "门锁", ["lock"],
     "1. 用干净软布擦拭指纹采集窗口，手指保持干燥。\n2. 检查电池电量，低电量时指纹模块灵敏度下降，请更换 4 节 5 号碱性电池。\n"
     "3. 在门锁管理菜单中重新录入指纹，每个手指录入 2 次不同角度。\n4. 仍无法识别时，用机械钥匙或密码开门，并报修。"),
    ("网关离线、设备无法配网的排查", "troubleshooting", "网关", ["network"],
     "确认路由器 2.4GHz 频段已开启，网关与路由器距离不超过 10 米；长按网关复位键 5 秒重新配网；"
     "检查 App 账号是否与网关绑定的家庭一致。"),
    ("上门安装标准作业流程（SOP）", "sop", "安装", [],
     "出发前核对工单与备件；到达后上门打卡并出示工牌；穿戴鞋套；安装前与客户确认点位；"
     "安装后逐台测试并演示 App；填写服务报告并请客户签字确认；清理现场。"),
    ("门磁传感器误报怎么处理", "faq", "安防", ["sensor"],
     "门磁误报多因磁铁与主体间距超过 15 毫米或电池电量低。调整安装位置使间距小于 10 毫米，并更换 CR2032 纽扣电池。"),
]


WORKSHEETS = {
    "install": [("points", "与客户确认安装点位", True), ("power", "设备通电并逐台测试", True),
                ("app", "App 绑定并向客户演示", True), ("clean", "清理现场", False)],
    "maintenance": [("battery", "检查并更换低电量电池", True), ("firmware", "检查固件版本并升级", True),
                    ("sensors", "逐个测试传感器与联动场景", True), ("advice", "向客户说明使用建议", False)],
    "repair": [("reproduced", "复现故障现象", False), ("tested", "修复后测试正常", False),
               ("told", "告知客户使用注意事项", False)],
}


def worksheet_for(kind: str) -> list[dict]:
    """The worksheet items of a work-order type ([] when it has none)."""
    template = db.session.scalar(select(WorksheetTemplate).where(WorksheetTemplate.kind == kind))
    return list(template.items) if template is not None else []


def save_worksheet(kind: str, text_: str) -> WorksheetTemplate:
    """A worksheet from text, one item per line, a leading * for a required item."""
    if kind not in ORDER_KINDS:
        _refuse("kind", _("Choose one of the listed options."))
    items = []
    for n, line in enumerate(l.strip() for l in (text_ or "").splitlines()):
        if line.lstrip("*").strip():
            items.append({"code": f"i{n}", "label": line.lstrip("*").strip()[:80], "required": line.startswith("*")})
    if len(items) > 30:
        _refuse("items", _("At most 30 items."))
    template = db.session.scalar(select(WorksheetTemplate).where(WorksheetTemplate.kind == kind))
    if template is None:
        template = WorksheetTemplate(kind=kind)
        db.session.add(template)
    template.items = items
    db.session.flush()
    record_audit("update", "smart_home_worksheet", template.id, str(ORDER_KINDS[kind]))
    return template


def seed_defaults() -> None:
    """On first enable: the satisfaction survey, the worksheets and a few knowledge-base articles to start from."""
    _default_survey()
    for kind, items in WORKSHEETS.items():
        if worksheet_for(kind) == []:
            db.session.add(WorksheetTemplate(kind=kind, items=[{"code": c, "label": l, "required": r}
                                                               for c, l, r in items]))
    if not db.session.scalar(select(func.count()).select_from(Article)):
        for title, kind, category, faults, body in SEED_ARTICLES:
            db.session.add(Article(title=title, kind=kind, category=category, body=body, model_item_ids=[],
                                   fault_types=faults, published=True))
    db.session.flush()


def erase_customer_data(customer_id: int) -> None:
    """PIPL erasure: the work orders stay (counts, parts, failure rates) without the personal text, signature and
    photos; properties (addresses) are deleted."""
    from sqlalchemy import update

    from storecrm.sdk import scrub_audit

    ids = list(db.session.scalars(select(WorkOrder.id).where(WorkOrder.customer_id == customer_id)))
    db.session.execute(update(WorkOrder).where(WorkOrder.customer_id == customer_id).values(
        description=None, signature=None, signed_name=None, photo_ids=[], property_id=None,
        check_in_latitude=None, check_in_longitude=None))
    prop_ids = list(db.session.scalars(select(Property.id).where(Property.customer_id == customer_id)))
    if prop_ids:
        from sqlalchemy import delete

        db.session.execute(delete(Property).where(Property.id.in_(prop_ids)))
    scrub_audit("smart_home_work_order", ids)
    scrub_audit("smart_home_property", prop_ids)


def _work_order_rows(customer_id):
    """The customer's work orders on the timeline, by when they were reported."""
    return select(WorkOrder.reported_at.label("at"), func.jsonb_build_object(
        "id", WorkOrder.id, "number", WorkOrder.number, "kind", WorkOrder.kind, "state", WorkOrder.state,
        "description", WorkOrder.description).label("data")).where(WorkOrder.customer_id == customer_id)


def _work_order_entry(at, data) -> TimelineEntry:
    return TimelineEntry(at=at, kind="smart_home",
                         title=f"{data['number']} {ORDER_KINDS.get(data['kind'], '')} · "
                               f"{_state_labels().get(data['state'], '')}",
                         body=data["description"], url=f"/smart-home/orders/{data['id']}")


TIMELINE = [TimelineSource("smart_home.work_orders", "smart_home", _work_order_rows, _work_order_entry)]


class PartRequestSchema(Schema):
    item_id = fields.Integer(required=True, metadata={"label": _l("Part")})
    quantity = fields.Decimal(load_default=Decimal("1"), places=3, validate=validate.Range(
        min=Decimal("0.001"), max=1000, error=_l("Give a quantity above 0.")))


def request_part(user, order: WorkOrder, data: dict) -> TransferRequest:
    """A part the van does not carry (enough of): a transfer request from the warehouse to the engineer's van for the
    store's manager to approve in one click, noted in the work order's history."""
    _engineer_only(user, order)
    if order.state in ("done", "visited", "cancelled"):
        _refuse("state", _("This step is not possible now."))
    item = get_catalog_item(data.get("item_id"))
    if item is None:
        _refuse("item_id", _("Choose one of the listed options."))
    van = van_of(order.engineer_id)
    if van is None:
        _refuse("item_id", _("The engineer has no van stock."))
    quantity = Decimal(str(data.get("quantity", 1))).normalize()
    request = _transfer_request(van, item, quantity, "part_request", order)
    db.session.add(WorkOrderEvent(work_order_id=order.id, from_state=order.state, to_state=order.state,
                                  user_id=getattr(user, "id", None),
                                  note=_("Part requested: %(part)s × %(quantity)s", part=item.name,
                                         quantity=f"{quantity:f}")[:300]))
    return request


def _transfer_request(van: Van, item, quantity: Decimal, reason: str, order: WorkOrder | None = None):
    from storecrm.sdk import StockLocation

    request = TransferRequest(van_id=van.id, item_id=item.id, quantity=quantity, reason=reason,
                              work_order_id=order.id if order else None, state="open", requested_at=utcnow())
    db.session.add(request)
    db.session.flush()
    location = get_scoped(StockLocation, van.location_id)
    engineer = get_scoped(User, van.engineer_id)
    manager = default_assignee(None, location.store_id if location else None)
    if manager is not None:
        with force_locale(manager.locale or tenant_locale()):
            title = (_("Van of %(engineer)s needs %(quantity)s × %(part)s", engineer=engineer.display_name,
                       quantity=f"{quantity.normalize():f}", part=item.name))
            body = (_("Requested for %(number)s", number=order.number) if order else
                    _("The van fell to its minimum for this part."))
        # the outbox's dedupe key: one message per request, whatever retries happen
        notify_user(manager, title, body, "/smart-home/transfers/", dedupe_key=f"smart_home.transfer.{request.id}")
    record_audit("create", "smart_home_transfer_request", request.id, f"{item.name} × {quantity:f}")
    return request


def van_fell_below_minimum(level, item, location) -> TransferRequest | None:
    """The stock core says a location fell to its reorder level (once per crossing). For a van: a transfer request
    that brings it back to twice its minimum, unless one for that part is still open."""
    van = db.session.scalar(select(Van).where(Van.location_id == location.id))
    if van is None or level.reorder_level is None:
        return None
    if db.session.scalar(select(TransferRequest.id).where(TransferRequest.van_id == van.id,
                                                          TransferRequest.item_id == item.id,
                                                          TransferRequest.state == "open")):
        return None
    available = Decimal(level.on_hand) - Decimal(level.reserved or 0)
    quantity = max(Decimal(level.reorder_level) * 2 - available, Decimal("1"))
    return _transfer_request(van, item, quantity, "reorder")


class ApproveTransferSchema(Schema):
    source_location_id = fields.Integer(required=True, metadata={"label": _l("Warehouse")},
                                        error_messages={"required": _l("Choose the warehouse that sends it.")})


def approve_transfer_request(user, request: TransferRequest, data: dict) -> TransferRequest:
    """One click: the parts leave the warehouse and are loaded on the van — a stock-core transfer sent and received
    at once (the engineer picks them up at the depot). Once only: the request is claimed by one conditional UPDATE,
    so a double click or two managers at once load the van once."""
    from sqlalchemy import update

    from storecrm.sdk import InsufficientStock, StockLocation, receive_stock_transfer, send_stock_transfer

    source = get_scoped(StockLocation, data.get("source_location_id")) if data.get("source_location_id") else None
    if source is None or source.kind == "van":
        _refuse("source_location_id", _("Choose the warehouse that sends it."))
    claimed = db.session.execute(update(TransferRequest).where(TransferRequest.id == request.id,
                                                               TransferRequest.state == "open")
                                 .values(state="approved").returning(TransferRequest.id)).first()
    if claimed is None:
        _refuse("state", _("This request was already decided."))
    van = get_scoped(Van, request.van_id)
    destination = get_scoped(StockLocation, van.location_id)
    staff = user if isinstance(user, User) else None
    try:
        transfer = send_stock_transfer(source, destination, [{"item_id": request.item_id,
                                                              "quantity": request.quantity}],
                                       note=_("Transfer request %(id)s", id=request.id), staff=staff)
    except InsufficientStock as err:
        raise ValidationError({"source_location_id": [m for ms in err.messages.values() for m in ms]}) from None
    receive_stock_transfer(transfer, staff=staff)
    db.session.refresh(request)
    request.source_location_id, request.transfer_id = source.id, transfer.id
    request.decided_by_id, request.decided_at = getattr(staff, "id", None), utcnow()
    record_audit("update", "smart_home_transfer_request", request.id, "approved")
    return request


def reject_transfer_request(user, request: TransferRequest) -> TransferRequest:
    if request.state != "open":
        _refuse("state", _("This request was already decided."))
    request.state, request.decided_at = "rejected", utcnow()
    request.decided_by_id = user.id if isinstance(user, User) else None
    record_audit("update", "smart_home_transfer_request", request.id, "rejected")
    return request


def transfer_requests(*, state: str | None = "open", limit: int = 200, after_id: int | None = None):
    """Transfer requests with part, engineer, van stock name and work order number, newest first (one query);
    `after_id` is the API's keyset cursor (only ids below it)."""
    from storecrm.sdk import StockLocation

    query = (select(TransferRequest, CatalogItem.name, User.display_name, WorkOrder.number)
             .join(CatalogItem, and_(CatalogItem.tenant_id == TransferRequest.tenant_id,
                                     CatalogItem.id == TransferRequest.item_id))
             .join(Van, and_(Van.tenant_id == TransferRequest.tenant_id, Van.id == TransferRequest.van_id))
             .join(User, and_(User.tenant_id == Van.tenant_id, User.id == Van.engineer_id))
             .outerjoin(WorkOrder, and_(WorkOrder.tenant_id == TransferRequest.tenant_id,
                                        WorkOrder.id == TransferRequest.work_order_id)))
    if state:
        query = query.where(TransferRequest.state == state)
    if after_id:
        query = query.where(TransferRequest.id < after_id)
    return db.session.execute(query.order_by(TransferRequest.id.desc()).limit(limit)).all()


def coverage_of(order: WorkOrder) -> dict:
    """Who pays for this job: `warranty` when the device is under warranty on the report day, `contract` when an
    active maintenance contract covers the device or the property (with its promised response time), else
    `billable`."""
    day = order.reported_at.astimezone(tenant_zone()).date()
    device = get_scoped(Asset, order.asset_id) if order.asset_id else None
    if device is not None and device.warranty_until and device.warranty_until >= day:
        return {"code": "warranty", "until": device.warranty_until}
    contracts = db.session.scalars(select(Contract).where(
        Contract.customer_id == order.customer_id, Contract.active.is_(True), Contract.starts_on <= day,
        Contract.ends_on >= day).order_by(Contract.id))
    for contract in contracts:
        if (order.contract_id == contract.id or (order.asset_id and order.asset_id in (contract.asset_ids or []))
                or (order.property_id and order.property_id in (contract.property_ids or []))):
            return {"code": "contract", "contract": contract,
                    "respond_by": order.reported_at + timedelta(hours=contract.response_hours)}
    return {"code": "billable"}


# --- photos from the job and defective parts returned (旧件回收) -----------------------------------------------------

MAX_PHOTOS = 12


def add_photo(user, order: WorkOrder, filename, data: bytes):
    """A photo the engineer takes on the job (before/after), kept with the work order's photos."""
    _engineer_only(user, order)
    if order.state not in ("on_the_way", "on_site", "done"):
        _refuse("photo", _("This step is not possible now."))
    if len(order.photo_ids or []) >= MAX_PHOTOS:
        _refuse("photo", _("At most %(count)d photos per work order.", count=MAX_PHOTOS))
    stored = accept_upload(user if isinstance(user, User) else None, filename, data, images_only=True, field="photo")
    db.session.flush()
    order.photo_ids = [*(order.photo_ids or []), stored.id]
    return stored


class PartReturnSchema(Schema):
    item_id = fields.Integer(required=True, metadata={"label": _l("Part")})
    quantity = fields.Decimal(load_default=Decimal("1"), places=3, validate=validate.Range(
        min=Decimal("0.001"), max=1000, error=_l("Give a quantity above 0.")))
    serial = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=60))
    reason = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))


def record_part_return(user, order: WorkOrder, data: dict, now=None) -> PartReturn:
    """A defective part the engineer took out (旧件): pending return, to be brought to the warehouse."""
    _engineer_only(user, order)
    if order.state not in ("on_site", "done", "visited"):
        _refuse("state", _("Check in on site before using parts."))
    item = get_catalog_item(data.get("item_id"))
    if item is None:
        _refuse("item_id", _("Choose one of the listed options."))
    part = PartReturn(work_order_id=order.id, item_id=item.id, engineer_id=order.engineer_id,
                      quantity=Decimal(str(data.get("quantity") or 1)), serial=data.get("serial"),
                      reason=data.get("reason"), state="pending", created_at=now or utcnow())
    db.session.add(part)
    db.session.flush()
    record_audit("create", "smart_home_part_return", part.id, f"{order.number} {item.name}")
    return part


class ReturnStepSchema(Schema):
    to = fields.String(required=True, validate=validate.OneOf(["received", "returned", "scrapped"],
                                                             error=_l("Choose one of the listed options.")))
    location_id = fields.Integer(load_default=None, allow_none=True)
    supplier = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=80))
    note = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))


def move_part_return(user, part: PartReturn, data: dict, now=None) -> PartReturn:
    """pending → received at a warehouse (which one is required) → returned to the supplier (named) or scrapped.
    The defective part never enters the sellable stock ledger: it is followed here, not issued again."""
    to = data["to"]
    if to not in RETURN_FLOW.get(part.state, ()):
        _refuse("to", _("This step is not possible now."))
    now = now or utcnow()
    if to == "received":
        from storecrm.sdk import StockLocation

        location = get_scoped(StockLocation, data.get("location_id")) if data.get("location_id") else None
        if location is None or location.kind == "van":
            _refuse("location_id", _("Choose the warehouse that received it."))
        part.location_id, part.received_at = location.id, now
    else:
        if to == "returned" and not data.get("supplier"):
            _refuse("supplier", _("Name the supplier it goes back to."))
        part.supplier, part.closed_at = data.get("supplier"), now
    part.state, part.note = to, data.get("note") or part.note
    db.session.flush()
    record_audit("update", "smart_home_part_return", part.id, to)
    return part


def part_returns(*, state: str | None = None, work_order_id: int | None = None, limit: int = 200,
                 after_id: int | None = None):
    """Defective parts with their part name, work order number and engineer, newest first (one query); `after_id`
    is the API's keyset cursor (only ids below it)."""
    query = (select(PartReturn, CatalogItem.name, WorkOrder.number, User.display_name)
             .join(CatalogItem, and_(CatalogItem.tenant_id == PartReturn.tenant_id,
                                     CatalogItem.id == PartReturn.item_id))
             .join(WorkOrder, and_(WorkOrder.tenant_id == PartReturn.tenant_id,
                                   WorkOrder.id == PartReturn.work_order_id))
             .outerjoin(User, and_(User.tenant_id == PartReturn.tenant_id, User.id == PartReturn.engineer_id)))
    if state:
        query = query.where(PartReturn.state == state)
    if work_order_id:
        query = query.where(PartReturn.work_order_id == work_order_id)
    if after_id:
        query = query.where(PartReturn.id < after_id)
    return db.session.execute(query.order_by(PartReturn.id.desc()).limit(limit)).all()


# --- the on-site quote for what is not covered, and its payment ----------------------------------------------------

class QuoteSchema(Schema):
    labour_amount = fields.Decimal(load_default=Decimal("0"), places=2, validate=lambda v: _money_range(v))
    signed_name = Trimmed(required=True, validate=validate.Length(min=1, max=80),
                          error_messages={"required": _l("The customer's name is needed.")})
    signature = fields.String(load_default=None, allow_none=True, validate=validate.Regexp(
        r"^data:image/png;base64,[A-Za-z0-9+/=]{20,400000}$", error=_l("Ask the customer to sign in the box.")))


def _money_range(value) -> None:
    if value < 0 or value > 1_000_000:
        raise ValidationError(_("Give an amount from 0 to 1,000,000."))


def billable_lines(order: WorkOrder) -> list[dict]:
    """What the customer pays for on this job: the billable parts at their price, then the labour (when any)."""
    lines = [{"description": f"{name}", "quantity": usage.quantity.normalize(), "unit_price": usage.unit_price}
             for usage, name in parts_of(order.id) if usage.coverage == "billable" and usage.unit_price]
    if order.labour_amount:
        lines.append({"description": _("Labour"), "quantity": Decimal("1"), "unit_price": order.labour_amount})
    return lines


def sign_quote(user, order: WorkOrder, data: dict, now=None):
    """The customer signs the on-site quote for what warranty or contract do not cover: it becomes a confirmed order
    of the commerce core (free-text lines: the parts already left the van, so the order must not reserve them
    again), linked to the work order, ready to be paid."""
    _engineer_only(user, order)
    if order.state not in ("on_site", "done"):
        _refuse("state", _("Check in on site before using parts."))
    if order.sales_order_id:
        _refuse("state", _("The customer already signed the quote."))
    if not data.get("signature"):
        _refuse("signature", _("Ask the customer to sign in the box."))
    order.labour_amount = data.get("labour_amount") or None
    lines = billable_lines(order)
    if not lines:
        _refuse("labour_amount", _("Nothing to charge: every part is covered and there is no labour."))
    staff = user if isinstance(user, User) else AUTOMATION
    sale = create_sales_document(staff, "order", customer_id=order.customer_id, store_id=order.store_id,
                                 asset_id=order.asset_id, source=(REF, order.id),
                                 lines=[{**line, "quantity": str(line["quantity"]),
                                         "unit_price": str(line["unit_price"])} for line in lines])
    confirm_order(None if staff is AUTOMATION else staff, sale)
    order.sales_order_id = sale.id
    order.quote_signed_name, order.quote_signature = data["signed_name"], data["signature"]
    order.quote_signed_at = now or utcnow()
    record_audit("update", "smart_home_work_order", order.id, f"{order.number} quote")
    return sale


class PaymentSchema(Schema):
    method = fields.String(required=True, validate=validate.OneOf(
        ["cash", "wechat_pay", "alipay", "bank_card", "transfer"], error=_l("Choose one of the listed options.")))
    amount = fields.Decimal(required=True, places=2, validate=lambda v: _money_range(v))


def take_payment(user, order: WorkOrder, data: dict, request_key: str | None = None):
    """Money taken on site for the signed quote, recorded on its commerce order (never above the balance due; the
    same key twice records it once)."""
    _engineer_only(user, order)
    sale = get_scoped(SalesDocument, order.sales_order_id) if order.sales_order_id else None
    if sale is None:
        _refuse("state", _("Let the customer sign the quote first."))
    return record_order_payment(user if isinstance(user, User) else AUTOMATION, sale, data["method"], data["amount"],
                                reference=order.number, request_key=request_key)


def quote_of(order: WorkOrder) -> dict:
    """The job's charges for the phone: every part line with who pays, the billable total and the order when signed."""
    parts = parts_of(order.id)
    billable = sum((u.unit_price or 0) * u.quantity for u, _n in parts if u.coverage == "billable")
    sale = get_scoped(SalesDocument, order.sales_order_id) if order.sales_order_id else None
    return {"parts": parts, "billable_parts": Decimal(billable).quantize(Decimal("0.01")), "sale": sale,
            "totals": document_totals(sale) if sale else None}


# --- teams: a job sent to the engineers of a district, taken by one of them -----------------------------------------
# The core has no teams; the team of a district is the engineers whose service regions (the staff profile dispatch
# already ranks by) include it.

def team_regions() -> list[str]:
    """The districts some engineer with a van covers: the teams a job can go to."""
    regions = set()
    for user, _van in engineers():
        regions.update(staff_profile(user.id).get("regions") or [])
    return sorted(regions)


def send_to_team(user, order: WorkOrder, region: str, now=None) -> WorkOrder:
    """Give a job (a planned visit, a job nobody took) to a district's team instead of one engineer: it goes back to
    pending with the team noted, and every engineer of the team is told."""
    region = (region or "").strip()
    if region not in team_regions():
        _refuse("team_region", _("Choose one of the listed options."))
    if order.state not in ("pending", "assigned"):
        _refuse("state", _("This work order can no longer be reassigned."))
    before = order.state
    order.state, order.engineer_id, order.team_region = "pending", None, region
    _history(order, before, user, _("Sent to the %(region)s team", region=region), now=now)
    for engineer, _van in engineers():
        if region in (staff_profile(engineer.id).get("regions") or []):
            notify_user(engineer, _("Work order %(number)s for your team", number=order.number), region,
                        "/smart-home/engineer/")
    return order


def team_jobs(engineer_id: int) -> list:
    """Pending jobs sent to the teams of the districts this engineer covers (one query after his profile)."""
    regions = staff_profile(engineer_id).get("regions") or []
    if not regions:
        return []
    return db.session.execute(select(WorkOrder, Customer.name).join(
        Customer, and_(Customer.tenant_id == WorkOrder.tenant_id, Customer.id == WorkOrder.customer_id))
        .where(WorkOrder.state == "pending", WorkOrder.team_region.in_(regions))
        .order_by(WorkOrder.due_on.nulls_last(), WorkOrder.id).limit(50)).all()


def take_from_team(user, order: WorkOrder, now=None) -> WorkOrder:
    """An engineer of the team takes the job. The job's row is locked first: two engineers tapping at once, one
    gets it and the other a field error."""
    db.session.execute(select(WorkOrder).where(WorkOrder.id == order.id).with_for_update()
                       .execution_options(populate_existing=True))
    if order.state != "pending" or not order.team_region:
        _refuse("state", _("Someone else took this job."))
    if order.team_region not in (staff_profile(user.id).get("regions") or []):
        _refuse("team_region", _("This job is for another team."))
    return assign(user, order, user.id, note=_("Taken from the %(region)s team", region=order.team_region), now=now)
