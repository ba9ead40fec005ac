"""Stock services: the only code that changes stock levels, serials and the ledger.

Every change of a level is one UPDATE … WHERE … RETURNING on its row, with the condition that keeps it valid in the
WHERE clause (`on_hand - reserved >= :quantity` for an issue), so PostgreSQL's row lock decides between two staff
taking the last unit: the second UPDATE waits for the first, re-reads the row, finds the condition false and
matches nothing, and its caller gets an InsufficientStock error. Nothing is read into Python and written back.
Each change appends movements to the ledger, so a level always equals the sum of its movements.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import and_, case, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert

from ..assets import services as assets
from ..audit.services import record
from ..catalog.models import CatalogItem
from ..catalog.schemas import MAX_PRICE, MAX_QUANTITY
from ..customers.models import Customer
from ..customers.services import _escape
from ..events import StockBelowReorderLevel, emit
from ..extensions import db
from ..keyset import page
from ..stores.models import Store
from ..tenancy.models import as_id, current_tenant_row, get_scoped, utcnow
from ..validation import finite_number
from .models import (LOCATION_KINDS, Location, Reservation, Serial, StockCount, StockCountLine, StockLevel,
                     StockMovement, Transfer, TransferLine)

QUANTITY_PLACES = 3
COST_PLACES = Decimal("0.0001")
SELLABLE = ("in_stock", "returned")  # serial states that may be issued, reserved or sent


class InsufficientStock(ValidationError):
    """Not enough available stock (on hand minus reserved) for what was asked; a field error on `quantity`."""


@dataclass(frozen=True)
class Ref:
    """What a movement or reservation belongs to: ("order_line", 12), ("install_job", 7) …"""

    type: str
    id: int


# ---- small helpers -------------------------------------------------------------------------------------------

def _ref(reference, field: str = "reference") -> Ref | None:
    if reference is None:
        return None
    if isinstance(reference, Ref):
        kind, number = reference.type, reference.id
    else:
        try:
            kind, number = reference
        except (TypeError, ValueError):
            raise ValidationError({field: [_("Not a valid reference.")]})
    number = as_id(number)
    if not isinstance(kind, str) or not kind or len(kind) > 40 or number is None:
        raise ValidationError({field: [_("Not a valid reference.")]})
    return Ref(kind, number)


def quantity_of(value, field: str = "quantity", *, whole: bool = False, allow_zero: bool = False,
                signed: bool = False) -> Decimal:
    """A quantity from user or caller input: a finite number above 0 (or 0, or any sign, when allowed) with at most
    three decimal places (whole numbers for serial-tracked items); ValidationError on `field` otherwise."""
    try:
        number = finite_number(value)
    except ValidationError as err:
        raise ValidationError({field: err.messages})
    if number.as_tuple().exponent < -QUANTITY_PLACES:
        raise ValidationError({field: [_("At most %(n)s decimal places.", n=QUANTITY_PLACES)]})
    if abs(number) > MAX_QUANTITY:
        raise ValidationError({field: [_("At most %(n)s.", n=MAX_QUANTITY)]})
    if whole and number != number.to_integral_value():
        raise ValidationError({field: [_("Serial-numbered items are counted in whole units.")]})
    if not signed and (number < 0 or (number == 0 and not allow_zero)):
        raise ValidationError({field: [_("Give a quantity above 0.") if not allow_zero else _("Cannot be negative.")]})
    if signed and number == 0:
        raise ValidationError({field: [_("Give a change other than 0.")]})
    return number


def cost_of(value, field: str = "unit_cost") -> Decimal:
    """A unit cost: a finite number, 0 or more, at most four decimal places."""
    try:
        number = finite_number(value)
    except ValidationError as err:
        raise ValidationError({field: err.messages})
    if number < 0:
        raise ValidationError({field: [_("Cannot be negative.")]})
    if number > MAX_PRICE:
        raise ValidationError({field: [_("At most %(n)s.", n=MAX_PRICE)]})
    if number.as_tuple().exponent < -4:
        raise ValidationError({field: [_("At most %(n)s decimal places.", n=4)]})
    return number


def _stocked(item: CatalogItem, field: str = "item_id") -> None:
    if item is None or not isinstance(item, CatalogItem):
        raise ValidationError({field: [_("Choose one of the listed options.")]})
    if not item.stocked:
        raise ValidationError({field: [_("Services and packages are not kept in stock.")]})


def _location(location: Location, field: str = "location_id") -> None:
    if location is None or not isinstance(location, Location):
        raise ValidationError({field: [_("Choose one of the listed options.")]})
    if not location.active:
        raise ValidationError({field: [_("This location is closed.")]})


def _serial_names(item: CatalogItem, serials, quantity: Decimal) -> list[str]:
    """The serial numbers given for `quantity` of `item`: required, distinct and one per unit when it is tracked."""
    names = [str(s).strip() for s in (serials or ()) if str(s).strip()]
    if not item.serial_tracked:
        if names:
            raise ValidationError({"serials": [_("This item has no serial numbers.")]})
        return []
    if any(len(n) > 100 for n in names):
        raise ValidationError({"serials": [_("A serial number has at most 100 characters.")]})
    if len(set(names)) != len(names):
        raise ValidationError({"serials": [_("A serial number is listed twice.")]})
    if Decimal(len(names)) != quantity:
        raise ValidationError({"serials": [_("Give one serial number per unit (%(n)s).", n=int(quantity))]})
    return names


def negative_allowed() -> bool:
    """Whether the tenant lets stock go below zero (setting `stock_allow_negative`; off by default)."""
    return bool((current_tenant_row().settings or {}).get("stock_allow_negative"))


def _ensure_level(item_id: int, location_id: int) -> None:
    db.session.execute(insert(StockLevel).values(item_id=item_id, location_id=location_id)
                       .on_conflict_do_nothing(index_elements=["tenant_id", "item_id", "location_id"]))


def _level_update(item: CatalogItem, location: Location, values: dict, condition=None):
    """One conditional UPDATE of the level row; the new (on_hand, reserved, avg_cost, id) or None if no row matched."""
    stmt = (update(StockLevel)
            .where(StockLevel.item_id == item.id, StockLevel.location_id == location.id)
            .values(updated_at=utcnow(), **values)
            .returning(StockLevel.on_hand, StockLevel.reserved, StockLevel.avg_cost, StockLevel.id)
            .execution_options(synchronize_session="fetch"))
    if condition is not None:
        stmt = stmt.where(condition)
    return db.session.execute(stmt).first()


def _short(item: CatalogItem, location: Location, quantity: Decimal) -> InsufficientStock:
    level = db.session.execute(select(StockLevel.on_hand - StockLevel.reserved).where(
        StockLevel.item_id == item.id, StockLevel.location_id == location.id)).scalar() or Decimal("0")
    return InsufficientStock({"quantity": [_("Only %(available)s %(unit)s of %(item)s available at %(location)s.",
                                             available=_plain(level), unit=item.unit, item=item.name,
                                             location=location.name)]})


def _plain(number: Decimal) -> str:
    text = format(number, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def _move(item, location, kind: str, quantity: Decimal, *, unit_cost=None, ref: Ref | None = None, reason=None,
          serial_id=None, customer=None, staff=None) -> StockMovement:
    movement = StockMovement(item_id=item.id, location_id=location.id, kind=kind, quantity=quantity,
                             unit_cost=unit_cost, reason=(reason or None) and str(reason)[:200],
                             reference_type=ref.type if ref else None, reference_id=ref.id if ref else None,
                             serial_id=serial_id, customer_id=getattr(customer, "id", None),
                             staff_id=getattr(staff, "id", None), at=utcnow())
    db.session.add(movement)
    return movement


def _check_reorder(level_id: int) -> None:
    """Emit StockBelowReorderLevel when available stock just fell to or below the reorder level; the flag on the
    row (changed by one conditional UPDATE under the row lock this transaction already holds) makes it once per
    crossing: it is cleared when stock rises above the level again."""
    below = and_(StockLevel.reorder_level.is_not(None),
                 StockLevel.on_hand - StockLevel.reserved <= StockLevel.reorder_level)
    row = db.session.execute(
        update(StockLevel).where(StockLevel.id == level_id, StockLevel.below_reorder.is_distinct_from(below))
        .values(below_reorder=below).returning(StockLevel.below_reorder)
        .execution_options(synchronize_session="fetch")).first()
    if row is not None and row[0]:
        level = db.session.get(StockLevel, (current_tenant_row().id, level_id))
        emit(StockBelowReorderLevel(level=level, item=db.session.get(CatalogItem, (level.tenant_id, level.item_id)),
                                    location=db.session.get(Location, (level.tenant_id, level.location_id))))


def _lock_serials(item: CatalogItem, names: list[str]) -> list[Serial]:
    found = {s.serial: s for s in db.session.scalars(
        select(Serial).where(Serial.item_id == item.id, Serial.serial.in_(names)).order_by(Serial.id).with_for_update())}
    missing = [n for n in names if n not in found]
    if missing:
        raise ValidationError({"serials": [_("Serial number %(serial)s is not known for this item.", serial=missing[0])]})
    return [found[n] for n in names]


def _serials_available(item, location, names: list[str], ref: Ref | None) -> list[Serial]:
    """Lock the serials and check each is at `location` and free (or held by `ref`)."""
    serials = _lock_serials(item, names)
    for s in serials:
        held_by_ref = s.state == "reserved" and ref is not None and \
            (s.reference_type, s.reference_id) == (ref.type, ref.id)
        if s.state in ("sold", "installed"):
            raise ValidationError({"serials": [_("Serial number %(serial)s was already sold.", serial=s.serial)]})
        if s.state == "reserved" and not held_by_ref:
            raise ValidationError({"serials": [_("Serial number %(serial)s is reserved for something else.",
                                                 serial=s.serial)]})
        if s.state not in SELLABLE and not held_by_ref:
            raise ValidationError({"serials": [_("Serial number %(serial)s is not in stock.", serial=s.serial)]})
        if s.location_id != location.id:
            raise ValidationError({"serials": [_("Serial number %(serial)s is not at this location.", serial=s.serial)]})
    return serials


# ---- locations -----------------------------------------------------------------------------------------------

def locations_visible_to(user, *, include_closed: bool = False) -> list[Location]:
    """Locations of the stores `user` may see (HQ: all), ordered by store and name."""
    query = select(Location).order_by(Location.store_id, Location.name, Location.id)
    if not include_closed:
        query = query.where(Location.active.is_(True))
    if user is not None and not user.sees_all_stores:
        query = query.where(Location.store_id.in_(user.store_ids or [0]))
    return list(db.session.scalars(query))


def get_location(user, location_id) -> Location | None:
    """A location of a store `user` may see (None for another tenant's, another store's, or no such id)."""
    location = get_scoped(Location, location_id)
    if location is None or (user is not None and not user.sees_all_stores and location.store_id not in user.store_ids):
        return None
    return location


def location_for_store(store) -> Location:
    """The store's own shelf: its first open location of kind "store", created (named after the store) if none."""
    store_id = getattr(store, "id", store)
    location = db.session.scalar(select(Location).where(Location.store_id == store_id, Location.kind == "store",
                                                        Location.active.is_(True)).order_by(Location.id).limit(1))
    if location is None:
        store = store if isinstance(store, Store) else get_scoped(Store, store_id)
        location = Location(store_id=store.id, kind="store", name=store.name[:80])
        db.session.add(location)
        db.session.flush()
    return location


def ensure_store_shelves() -> None:
    """Give every open store of the tenant its shelf location (stock pages call it, so any store can receive)."""
    have = set(db.session.scalars(select(Location.store_id).where(Location.kind == "store")))
    for store in db.session.scalars(select(Store).where(Store.active.is_(True), Store.id.not_in(have or {0}))):
        location_for_store(store)


def save_location(user, data: dict, location: Location | None = None) -> Location:
    """Create (or change) a location from {store_id, kind, name, active}; the store must be one `user` may see."""
    errors = {}
    store = get_scoped(Store, data.get("store_id"))
    if store is None or (user is not None and not user.sees_all_stores and store.id not in user.store_ids):
        errors["store_id"] = [_("Choose one of your stores.")]
    if data.get("kind") not in LOCATION_KINDS:
        errors["kind"] = [_("Choose one of the listed options.")]
    name = (data.get("name") or "").strip()
    if not name or len(name) > 80:
        errors["name"] = [_("Give a name of at most 80 characters.")]
    elif store is not None and db.session.scalar(select(Location.id).where(
            Location.store_id == store.id, Location.name == name,
            Location.id != (location.id if location else 0))):
        errors["name"] = [_("This store already has a location of this name.")]
    if location is not None and store is not None and store.id != location.store_id and db.session.scalar(
            select(func.count()).select_from(StockLevel).where(StockLevel.location_id == location.id,
                                                                StockLevel.on_hand != 0)):
        errors["store_id"] = [_("Move the stock out before moving the location to another store.")]
    if errors:
        raise ValidationError(errors)
    created = location is None
    location = location or Location()
    location.store_id, location.kind, location.name = store.id, data["kind"], name
    location.active = bool(data.get("active", True))
    if created:
        db.session.add(location)
    db.session.flush()
    record("create" if created else "update", "stock_location", location.id, location.name,
           after={"store_id": store.id, "kind": location.kind, "name": name, "active": location.active})
    return location


# ---- the movements -------------------------------------------------------------------------------------------

def receive(item: CatalogItem, location: Location, quantity, *, unit_cost=None, serials=(), reference=None,
            reason: str | None = None, staff=None, kind: str = "receive") -> list[StockMovement]:
    """Goods in: add `quantity` of `item` at `location` bought at `unit_cost` (default: the item's cost). The
    location's average cost moves to the weighted average of what was there and what came in. Serial-tracked
    items need one new serial number per unit. Returns the ledger lines written (one per serial)."""
    _stocked(item)
    _location(location)
    quantity = quantity_of(quantity, whole=item.serial_tracked)
    cost = cost_of(item.cost if unit_cost is None else unit_cost)
    ref = _ref(reference)
    names = _serial_names(item, serials, quantity)
    new_serials = _new_serials(item, location, names, cost) if names else []
    _ensure_level(item.id, location.id)
    # PostgreSQL computes every SET expression from the row as it was, so the average uses the old on_hand
    row = _level_update(item, location, {
        "avg_cost": case((StockLevel.on_hand <= 0, cost),
                         else_=func.round((StockLevel.on_hand * StockLevel.avg_cost + quantity * cost)
                                          / (StockLevel.on_hand + quantity), 4)),
        "on_hand": StockLevel.on_hand + quantity})
    movements = _moves(item, location, kind, quantity, cost, ref, reason, new_serials, None, staff)
    db.session.flush()
    _check_reorder(row.id)
    return movements


def _new_serials(item, location, names: list[str], cost: Decimal) -> list[Serial]:
    """Insert serial rows for received units; a serial the item already has is refused (the unique key decides)."""
    rows = db.session.execute(
        insert(Serial).values([{"item_id": item.id, "serial": n, "state": "in_stock", "location_id": location.id,
                                "unit_cost": cost, "created_at": utcnow(), "updated_at": utcnow()} for n in names])
        .on_conflict_do_nothing(index_elements=["tenant_id", "item_id", "serial"])
        .returning(Serial.id, Serial.serial)).all()
    if len(rows) != len(names):
        made = {r.serial for r in rows}
        taken = next(n for n in names if n not in made)
        raise ValidationError({"serials": [_("Serial number %(serial)s is already recorded for this item.",
                                             serial=taken)]})
    ids = {r.serial: r.id for r in rows}
    return [db.session.get(Serial, (location.tenant_id, ids[n])) for n in names]


def _moves(item, location, kind, quantity, cost, ref, reason, serials, customer, staff) -> list[StockMovement]:
    if not serials:
        return [_move(item, location, kind, quantity, unit_cost=cost, ref=ref, reason=reason, customer=customer,
                      staff=staff)]
    one = Decimal(1) if quantity > 0 else Decimal(-1)
    return [_move(item, location, kind, one, unit_cost=cost, ref=ref, reason=reason, serial_id=s.id,
                  customer=customer, staff=staff) for s in serials]


def issue(item: CatalogItem, location: Location, quantity, *, serials=(), reference=None, customer=None,
          asset=None, reason: str | None = None, staff=None) -> list[StockMovement]:
    """Goods out (a sale, a part used on a job): take `quantity` of `item` from `location`, refusing (field error
    `quantity`, InsufficientStock) what is not available unless the tenant allows negative stock. Stock reserved for
    `reference` is used first. Each movement carries the average cost at the time, for margin. Serial-tracked items
    need their serial numbers; a serial already sold is refused. Issued to a `customer`, each serial becomes an
    asset ("device") of the customer; given an `asset` (the car, the audio system) the serial is recorded as
    installed in it instead. Returns the ledger lines written."""
    _stocked(item)
    _location(location)
    quantity = quantity_of(quantity, whole=item.serial_tracked)
    ref = _ref(reference)
    if customer is not None and not isinstance(customer, Customer):
        raise ValidationError({"customer_id": [_("Choose one of the listed options.")]})
    names = _serial_names(item, serials, quantity)
    picked = _serials_available(item, location, names, ref) if names else []
    holding = _reservations_held(item, location, ref) if ref else []
    held = min(quantity, sum((r.quantity for r in holding), Decimal("0")))
    allow = negative_allowed()
    condition = None if allow else (StockLevel.on_hand - StockLevel.reserved >= quantity - held)
    values = {"on_hand": StockLevel.on_hand - quantity, "reserved": StockLevel.reserved - held}
    row = _level_update(item, location, values, condition)
    if row is None and allow:
        _ensure_level(item.id, location.id)
        row = _level_update(item, location, values)
    if row is None:
        raise _short(item, location, quantity)
    cost = row.avg_cost
    if held:
        _use_reservations(holding, held)
        _move(item, location, "release", -held, ref=ref, reason=_("Issued"), staff=staff)
    movements = _moves(item, location, "issue", -quantity, cost, ref, reason, picked, customer, staff)
    for s in picked:
        _serial_out(s, item, location, ref, customer, asset, staff)
    db.session.flush()
    _check_reorder(row.id)
    return movements


def _serial_out(serial: Serial, item, location, ref, customer, asset, staff) -> None:
    serial.location_id = None
    serial.reference_type, serial.reference_id = (ref.type, ref.id) if ref else (None, None)
    serial.customer_id = getattr(customer, "id", None) or getattr(asset, "customer_id", None)
    if asset is not None:
        serial.state, serial.asset_id = "installed", asset.id
    elif customer is not None:
        serial.state = "sold"
        serial.asset_id = _asset_for(serial, item, location, customer, staff).id
    else:
        serial.state = "sold"


def _asset_for(serial: Serial, item, location, customer, staff):
    """The customer's asset for a sold serial: a device named after the item, the serial its identifier (when the
    serial is already someone's identifier, the asset is made without it rather than refusing the sale)."""
    data = {"type": "device", "name": item.name[:120], "store_id": location.store_id if staff is not None else None,
            "purchased_on": utcnow().date(), "attributes": {"model": item.sku[:60]},
            "identifiers": {"serial": serial.serial}, "notes": None}
    actor = staff if staff is not None else _Anyone()
    try:
        with db.session.begin_nested():
            return assets.create_asset(actor, customer, data)
    except ValidationError:
        data["identifiers"] = {}
        data["notes"] = serial.serial
        return assets.create_asset(actor, customer, data)


class _Anyone:
    """The actor of a service called without staff (a plugin, a job): sees every store, holds no role."""

    id = None
    sees_all_stores = True
    store_ids: list = []
    role = None


def _reservations_held(item, location, ref: Ref) -> list[Reservation]:
    """What `ref` holds of this item here, locked (nothing changes until the level update has succeeded)."""
    return list(db.session.scalars(select(Reservation).where(
        Reservation.reference_type == ref.type, Reservation.reference_id == ref.id, Reservation.item_id == item.id,
        Reservation.location_id == location.id, Reservation.state == "active").order_by(Reservation.id)
        .with_for_update()))


def _use_reservations(holding: list[Reservation], quantity: Decimal) -> None:
    """Take `quantity` off the reservations, oldest first; a reservation used up is "consumed"."""
    left = quantity
    for r in holding:
        take = min(left, r.quantity)
        r.quantity -= take
        if r.quantity == 0:
            r.state = "consumed"
        left -= take
        if not left:
            break


def return_to_stock(item: CatalogItem, location: Location, quantity, *, serials=(), reference=None, unit_cost=None,
                    reason: str | None = None, staff=None) -> list[StockMovement]:
    """A customer brings goods back (a refund, an exchange): `quantity` returns to `location` at `unit_cost`
    (default: the location's average now). Returned serials must have been sold or installed; they become
    "returned" (sellable again) at the location, and keep their link to the asset for history."""
    _stocked(item)
    _location(location)
    quantity = quantity_of(quantity, whole=item.serial_tracked)
    ref = _ref(reference)
    names = _serial_names(item, serials, quantity)
    back = _lock_serials(item, names) if names else []
    for s in back:
        if s.state not in ("sold", "installed"):
            raise ValidationError({"serials": [_("Serial number %(serial)s was not sold, so it cannot come back.",
                                                 serial=s.serial)]})
    if unit_cost is None:
        unit_cost = db.session.scalar(select(StockLevel.avg_cost).where(
            StockLevel.item_id == item.id, StockLevel.location_id == location.id)) or item.cost
    cost = cost_of(unit_cost)
    _ensure_level(item.id, location.id)
    row = _level_update(item, location, {
        "avg_cost": case((StockLevel.on_hand <= 0, cost),
                         else_=func.round((StockLevel.on_hand * StockLevel.avg_cost + quantity * cost)
                                          / (StockLevel.on_hand + quantity), 4)),
        "on_hand": StockLevel.on_hand + quantity})
    movements = _moves(item, location, "return", quantity, cost, ref, reason, back, None, staff)
    for s in back:
        s.state, s.location_id, s.customer_id = "returned", location.id, None
        s.reference_type, s.reference_id = (ref.type, ref.id) if ref else (None, None)
    db.session.flush()
    _check_reorder(row.id)
    return movements


def adjust(item: CatalogItem, location: Location, change, *, reason: str, serials=(), staff=None,
           reference=None) -> list[StockMovement]:
    """Correct the quantity on hand by `change` (signed) with a `reason` (breakage, found, correction). A decrease
    cannot take stock below what is reserved unless the tenant allows negative stock. Serial-tracked items name the
    serials found (new ones) or written off."""
    _stocked(item)
    _location(location)
    change = quantity_of(change, "change", whole=item.serial_tracked, signed=True)
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"reason": [_("Say why the quantity changes.")]})
    ref = _ref(reference)
    names = _serial_names(item, serials, abs(change))
    touched = []
    if change > 0:
        touched = _new_serials(item, location, names, item.cost) if names else []
    elif names:
        touched = _serials_available(item, location, names, None)
        for s in touched:
            s.state, s.location_id = "written_off", None
    _ensure_level(item.id, location.id)
    allow = negative_allowed()
    condition = None if change > 0 or allow else (StockLevel.on_hand - StockLevel.reserved >= -change)
    row = _level_update(item, location, {"on_hand": StockLevel.on_hand + change}, condition)
    if row is None:
        raise _short(item, location, -change)
    movements = _moves(item, location, "adjust", change, row.avg_cost, ref, reason, touched, None, staff)
    db.session.flush()
    _check_reorder(row.id)
    return movements


# ---- reservations --------------------------------------------------------------------------------------------

def reserve(item: CatalogItem, location: Location, quantity, *, reference, serials=(), expires_at: datetime | None = None,
            staff=None) -> Reservation:
    """Promise `quantity` of `item` at `location` to `reference` (an order line, an appointment, a work order),
    optionally until `expires_at` (then `expire_reservations` lets it go). Refused (InsufficientStock) beyond what is
    available; named serials are held too. Issuing against the same reference uses the reservation up."""
    _stocked(item)
    _location(location)
    quantity = quantity_of(quantity, whole=item.serial_tracked)
    ref = _ref(reference)
    if ref is None:
        raise ValidationError({"reference": [_("A reservation belongs to something: give its reference.")]})
    if expires_at is not None and (not isinstance(expires_at, datetime) or expires_at.tzinfo is None):
        raise ValidationError({"expires_at": [_("Not a valid date and time.")]})
    names = [str(s).strip() for s in serials or () if str(s).strip()]
    if names:
        names = _serial_names(item, names, quantity)
    held = _serials_available(item, location, names, None) if names else []
    row = _level_update(item, location, {"reserved": StockLevel.reserved + quantity},
                        StockLevel.on_hand - StockLevel.reserved >= quantity)
    if row is None:
        raise _short(item, location, quantity)
    for s in held:
        s.state, s.reference_type, s.reference_id = "reserved", ref.type, ref.id
    reservation = Reservation(item_id=item.id, location_id=location.id, reference_type=ref.type,
                              reference_id=ref.id, quantity=quantity, serials=[s.id for s in held],
                              expires_at=expires_at, staff_id=getattr(staff, "id", None))
    db.session.add(reservation)
    _move(item, location, "reserve", quantity, ref=ref, staff=staff)
    db.session.flush()
    _check_reorder(row.id)
    return reservation


def release(reference, *, item: CatalogItem | None = None, reason: str | None = None, staff=None) -> Decimal:
    """Let go of what `reference` holds (all its items, or only `item`): the order was cancelled, the quote
    expired. Held serials return to stock. Returns the quantity released (0 if nothing was held)."""
    ref = _ref(reference)
    query = select(Reservation).where(Reservation.reference_type == ref.type, Reservation.reference_id == ref.id,
                                      Reservation.state == "active")
    if item is not None:
        query = query.where(Reservation.item_id == item.id)
    return _release(list(db.session.scalars(query.order_by(Reservation.id).with_for_update())), reason, staff)


def _release(reservations: list[Reservation], reason, staff) -> Decimal:
    total = Decimal("0")
    tenant_id = current_tenant_row().id
    for r in reservations:
        item = db.session.get(CatalogItem, (tenant_id, r.item_id))
        location = db.session.get(Location, (tenant_id, r.location_id))
        ref = Ref(r.reference_type, r.reference_id)
        row = _level_update(item, location, {"reserved": StockLevel.reserved - r.quantity})
        _move(item, location, "release", -r.quantity, ref=ref, reason=reason, staff=staff)
        if r.serials:
            for s in db.session.scalars(select(Serial).where(Serial.id.in_(r.serials), Serial.state == "reserved",
                                                             Serial.reference_type == ref.type,
                                                             Serial.reference_id == ref.id).with_for_update()):
                s.state, s.reference_type, s.reference_id = "in_stock", None, None
        total += r.quantity
        r.quantity, r.state = Decimal("0"), "released"
        db.session.flush()
        _check_reorder(row.id)
    return total


def expire_reservations(now: datetime | None = None) -> int:
    """Release the current tenant's reservations whose time limit passed; returns how many (periodic job)."""
    due = list(db.session.scalars(select(Reservation).where(
        Reservation.state == "active", Reservation.expires_at <= (now or utcnow()))
        .order_by(Reservation.id).with_for_update(skip_locked=True)))
    _release(due, _("Reservation expired"), None)
    return len(due)


def reservations_of(reference) -> list[Reservation]:
    ref = _ref(reference)
    return list(db.session.scalars(select(Reservation).where(
        Reservation.reference_type == ref.type, Reservation.reference_id == ref.id).order_by(Reservation.id)))


# ---- transfers -----------------------------------------------------------------------------------------------

def send_transfer(source: Location, destination: Location, lines: list[dict], *, note: str | None = None,
                  staff=None) -> Transfer:
    """Step one of a transfer: `lines` ([{item_id, quantity, serials}]) leave `source` now (refused beyond what
    is available there) and are in transit to `destination` at the source's average cost."""
    _location(source, "from_location_id")
    _location(destination, "to_location_id")
    if source.id == destination.id:
        raise ValidationError({"to_location_id": [_("Choose a different location to send to.")]})
    if not lines:
        raise ValidationError({"lines": [_("Add at least one item.")]})
    transfer = Transfer(from_location_id=source.id, to_location_id=destination.id, state="in_transit",
                        note=(note or "").strip()[:300] or None, sent_by_id=getattr(staff, "id", None))
    db.session.add(transfer)
    db.session.flush()
    ref = Ref("stock_transfer", transfer.id)
    seen = set()
    for n, line in enumerate(lines):
        item = _catalog_item(line.get("item_id"), f"lines.{n}.item_id")
        if item.id in seen:
            raise ValidationError({f"lines.{n}.item_id": [_("This item is already on the transfer.")]})
        seen.add(item.id)
        try:
            _stocked(item)
            quantity = quantity_of(line.get("quantity"), whole=item.serial_tracked)
            names = _serial_names(item, line.get("serials"), quantity)
            picked = _serials_available(item, source, names, None) if names else []
        except ValidationError as err:
            raise ValidationError({f"lines.{n}.{k}": v for k, v in err.messages.items()})
        row = _level_update(item, source, {"on_hand": StockLevel.on_hand - quantity},
                            None if negative_allowed() else StockLevel.on_hand - StockLevel.reserved >= quantity)
        if row is None:
            err = _short(item, source, quantity)
            raise InsufficientStock({f"lines.{n}.quantity": err.messages["quantity"]})
        _moves(item, source, "transfer_out", -quantity, row.avg_cost, ref, None, picked, None, staff)
        for s in picked:
            s.state, s.location_id, s.reference_type, s.reference_id = "in_transit", None, ref.type, ref.id
        db.session.add(TransferLine(transfer_id=transfer.id, item_id=item.id, quantity_sent=quantity,
                                    unit_cost=row.avg_cost, serials=[s.id for s in picked]))
        db.session.flush()
        _check_reorder(row.id)
    record("create", "stock_transfer", transfer.id, f"{source.name} → {destination.name}")
    return transfer


def _catalog_item(item_id, field: str) -> CatalogItem:
    item = get_scoped(CatalogItem, item_id)
    if item is None:
        raise ValidationError({field: [_("Choose one of the listed options.")]})
    return item


def transfer_lines(transfer: Transfer) -> list[tuple[TransferLine, CatalogItem]]:
    return list(db.session.execute(
        select(TransferLine, CatalogItem).join(CatalogItem, (CatalogItem.tenant_id == TransferLine.tenant_id)
                                               & (CatalogItem.id == TransferLine.item_id))
        .where(TransferLine.transfer_id == transfer.id).order_by(TransferLine.id)))


def receive_transfer(transfer: Transfer, received: dict | None = None, *, serials: dict | None = None,
                     staff=None) -> Transfer:
    """Step two: the destination records what arrived. `received` maps line id -> quantity that arrived (default:
    everything sent); less is a short receipt, kept on the line (the missing quantity left the source and never
    arrived). `serials` maps line id -> the serial numbers that arrived (default: all sent); the others are
    written off. A transfer is received once."""
    locked = db.session.scalar(select(Transfer).where(Transfer.id == transfer.id).with_for_update())
    if locked is None or locked.state != "in_transit":
        raise ValidationError({"state": [_("This transfer was already received.")]})
    destination = db.session.get(Location, (locked.tenant_id, locked.to_location_id))
    _location(destination, "to_location_id")
    received, serials = received or {}, serials or {}
    ref = Ref("stock_transfer", locked.id)
    for line, item in transfer_lines(locked):
        got = quantity_of(received.get(line.id, received.get(str(line.id), line.quantity_sent)),
                          f"lines.{line.id}.quantity_received", whole=item.serial_tracked, allow_zero=True)
        if got > line.quantity_sent:
            raise ValidationError({f"lines.{line.id}.quantity_received": [
                _("More than was sent (%(sent)s).", sent=_plain(line.quantity_sent))]})
        sent = list(db.session.scalars(select(Serial).where(Serial.id.in_(line.serials or [0])).with_for_update()))
        arrived_names = serials.get(line.id, serials.get(str(line.id)))
        arrived = sent if arrived_names is None else [s for s in sent if s.serial in set(map(str, arrived_names))]
        if item.serial_tracked and Decimal(len(arrived)) != got:
            raise ValidationError({f"lines.{line.id}.serials": [
                _("Give one serial number per unit (%(n)s).", n=int(got))]})
        line.quantity_received = got
        for s in sent:
            if s in arrived:
                s.state, s.location_id, s.reference_type, s.reference_id = "in_stock", destination.id, None, None
            else:
                s.state = "written_off"
        if got:
            cost = line.unit_cost or Decimal("0")
            _ensure_level(item.id, destination.id)
            row = _level_update(item, destination, {
                "avg_cost": case((StockLevel.on_hand <= 0, cost),
                                 else_=func.round((StockLevel.on_hand * StockLevel.avg_cost + got * cost)
                                                  / (StockLevel.on_hand + got), 4)),
                "on_hand": StockLevel.on_hand + got})
            _moves(item, destination, "transfer_in", got, cost, ref,
                   None if got == line.quantity_sent else _("Short receipt"), arrived, None, staff)
            db.session.flush()
            _check_reorder(row.id)
    locked.state, locked.received_at, locked.received_by_id = "received", utcnow(), getattr(staff, "id", None)
    db.session.flush()
    record("update", "stock_transfer", locked.id, "received",
           after={"received": {str(k): str(v) for k, v in received.items()}})
    return locked


# ---- counts (盘点) -------------------------------------------------------------------------------------------

def start_count(location: Location, *, items: list[CatalogItem] | None = None, note: str | None = None,
                staff=None) -> StockCount:
    """Open a count of `location`: one line per item (default: every item with a level there), each with the
    quantity the books show now."""
    _location(location)
    count = StockCount(location_id=location.id, state="open", note=(note or "").strip() or None,
                       started_by_id=getattr(staff, "id", None))
    db.session.add(count)
    db.session.flush()
    on_hand = dict(db.session.execute(select(StockLevel.item_id, StockLevel.on_hand)
                                      .where(StockLevel.location_id == location.id)).all())
    ids = [i.id for i in items if i.stocked] if items is not None else sorted(on_hand)
    db.session.add_all([StockCountLine(count_id=count.id, item_id=i, expected=on_hand.get(i, Decimal("0")))
                        for i in ids])
    db.session.flush()
    return count


def count_lines(count: StockCount) -> list[tuple[StockCountLine, CatalogItem]]:
    return list(db.session.execute(
        select(StockCountLine, CatalogItem).join(CatalogItem, (CatalogItem.tenant_id == StockCountLine.tenant_id)
                                                 & (CatalogItem.id == StockCountLine.item_id))
        .where(StockCountLine.count_id == count.id).order_by(CatalogItem.name, StockCountLine.id)))


def record_counts(count: StockCount, counted: dict) -> None:
    """Write counted quantities: `counted` maps item id -> quantity (0 or more; None/"" leaves it uncounted). An
    item not yet on the count is added to it."""
    if count.state != "open":
        raise ValidationError({"state": [_("This count is closed.")]})
    lines = {line.item_id: line for line, _item in count_lines(count)}
    errors = {}
    for raw_id, raw in counted.items():
        item = get_scoped(CatalogItem, raw_id)
        if item is None or not item.stocked:
            errors[f"counted.{raw_id}"] = [_("Choose one of the listed options.")]
            continue
        if raw in (None, ""):
            if item.id in lines:
                lines[item.id].counted = None
            continue
        try:
            value = quantity_of(raw, f"counted.{item.id}", whole=item.serial_tracked, allow_zero=True)
        except ValidationError as err:
            errors.update(err.messages)
            continue
        line = lines.get(item.id)
        if line is None:
            expected = db.session.scalar(select(StockLevel.on_hand).where(
                StockLevel.item_id == item.id, StockLevel.location_id == count.location_id)) or Decimal("0")
            line = StockCountLine(count_id=count.id, item_id=item.id, expected=expected)
            db.session.add(line)
            lines[item.id] = line
        line.counted = value
    if errors:
        raise ValidationError(errors)
    db.session.flush()


def post_count(count: StockCount, *, staff=None) -> list[StockMovement]:
    """Close the count: each counted item's quantity on hand becomes what was counted, through an "adjust"
    movement of the difference (from the quantity on hand at posting, so sales made while counting are not undone
    twice). Uncounted lines change nothing. Serial numbers are not reconciled by a count."""
    locked = db.session.scalar(select(StockCount).where(StockCount.id == count.id).with_for_update())
    if locked is None or locked.state != "open":
        raise ValidationError({"state": [_("This count is closed.")]})
    location = db.session.get(Location, (locked.tenant_id, locked.location_id))
    ref = Ref("stock_count", locked.id)
    reason = _("Stock count #%(id)s", id=locked.id)
    movements = []
    for line, item in count_lines(locked):
        if line.counted is None:
            continue
        _ensure_level(item.id, location.id)
        current = db.session.scalar(select(StockLevel.on_hand).where(
            StockLevel.item_id == item.id, StockLevel.location_id == location.id).with_for_update())
        difference = line.counted - current
        line.difference = difference
        if not difference:
            continue
        row = _level_update(item, location, {"on_hand": StockLevel.on_hand + difference})
        movements.append(_move(item, location, "adjust", difference, unit_cost=row.avg_cost, ref=ref, reason=reason,
                               staff=staff))
        db.session.flush()
        _check_reorder(row.id)
    locked.state, locked.posted_at, locked.posted_by_id = "posted", utcnow(), getattr(staff, "id", None)
    db.session.flush()
    record("update", "stock_count", locked.id, reason, after={"posted": len(movements)})
    return movements


# ---- reorder levels and reading ------------------------------------------------------------------------------

def set_reorder_level(item: CatalogItem, location: Location, level) -> StockLevel:
    """Set (or with None clear) the reorder level of `item` at `location`; crossing it emits one event."""
    _stocked(item)
    value = None if level in (None, "") else quantity_of(level, "reorder_level", allow_zero=True)
    _ensure_level(item.id, location.id)
    row = _level_update(item, location, {"reorder_level": value})
    db.session.flush()
    _check_reorder(row.id)
    return db.session.get(StockLevel, (location.tenant_id, row.id))


def level_of(item: CatalogItem, location: Location) -> StockLevel | None:
    return db.session.scalar(select(StockLevel).where(StockLevel.item_id == item.id,
                                                      StockLevel.location_id == location.id))


def available(item: CatalogItem, location: Location) -> Decimal:
    """On hand minus reserved of `item` at `location` (0 when it was never there)."""
    level = level_of(item, location)
    return level.available if level is not None else Decimal("0")


def list_levels(user, *, location_id=None, item_id=None, below_reorder: bool = False, q: str = "",
                after_id: int | None = None, limit: int = 50) -> list[tuple[StockLevel, CatalogItem, Location]]:
    """Levels at the locations `user` may see, with their item and location, keyset-paged by level id."""
    query = (select(StockLevel, CatalogItem, Location)
             .join(CatalogItem, (CatalogItem.tenant_id == StockLevel.tenant_id) & (CatalogItem.id == StockLevel.item_id))
             .join(Location, (Location.tenant_id == StockLevel.tenant_id) & (Location.id == StockLevel.location_id)))
    if user is not None and not user.sees_all_stores:
        query = query.where(Location.store_id.in_(user.store_ids or [0]))
    if location_id:
        query = query.where(StockLevel.location_id == location_id)
    if item_id:
        query = query.where(StockLevel.item_id == item_id)
    if below_reorder:
        query = query.where(StockLevel.reorder_level.is_not(None),
                            StockLevel.on_hand - StockLevel.reserved <= StockLevel.reorder_level)
    if q.strip():
        pattern = f"%{_escape(q.strip())}%"
        query = query.where(or_(CatalogItem.sku.ilike(pattern), CatalogItem.name.ilike(pattern)))
    return list(db.session.execute(page(query, StockLevel, StockLevel.id, False, after_id).limit(limit)))


def list_movements(user, *, location_id=None, item_id=None, kind: str | None = None, reference=None,
                   after_id: int | None = None, limit: int = 50) -> list[StockMovement]:
    """Ledger lines at the locations `user` may see, newest first, keyset-paged."""
    query = select(StockMovement)
    if user is not None and not user.sees_all_stores:
        query = query.where(StockMovement.location_id.in_(
            select(Location.id).where(Location.store_id.in_(user.store_ids or [0]))))
    if location_id:
        query = query.where(StockMovement.location_id == location_id)
    if item_id:
        query = query.where(StockMovement.item_id == item_id)
    if kind:
        query = query.where(StockMovement.kind == kind)
    if reference is not None:
        ref = _ref(reference)
        query = query.where(StockMovement.reference_type == ref.type, StockMovement.reference_id == ref.id)
    return list(db.session.scalars(page(query, StockMovement, StockMovement.id, True, after_id).limit(limit)))


def serials_of(item: CatalogItem, *, location: Location | None = None, states=SELLABLE) -> list[Serial]:
    query = select(Serial).where(Serial.item_id == item.id)
    if location is not None:
        query = query.where(Serial.location_id == location.id)
    if states:
        query = query.where(Serial.state.in_(states))
    return list(db.session.scalars(query.order_by(Serial.serial)))


def find_serial(serial: str) -> list[Serial]:
    """Every item's unit with this serial number (usually one)."""
    return list(db.session.scalars(select(Serial).where(Serial.serial == (serial or "").strip()).order_by(Serial.id)))


def level_title(level: StockLevel) -> str:
    """"SKU name @ location" of a level, for rules, notifications and the timeline."""
    item = db.session.get(CatalogItem, (level.tenant_id, level.item_id))
    location = db.session.get(Location, (level.tenant_id, level.location_id))
    return f"{item.sku} {item.name} @ {location.name}"


def level_store_id(level: StockLevel) -> int:
    return db.session.get(Location, (level.tenant_id, level.location_id)).store_id
