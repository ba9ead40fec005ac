"""Assets: typed attributes, identifiers that are identities of the owner, and owner changes with history."""
from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select, update

from ..audit.services import changed_only, record, snapshot
from ..customers import identities
from ..customers.models import Customer, CustomerIdentity
from ..customers.services import _escape, get_customer, visible
from ..events import AssetChanged, AssetCreated, emit
from ..calendar import tenant_today
from ..extensions import db
from ..fields.engine import custom_condition, defaults, validate_values
from ..hooks.runtime import enabled_plugins, host
from ..keyset import page
from ..stores.models import Store
from ..tenancy.models import get_scoped, utcnow
from .models import Asset, AssetOwnership, AssetReading


def asset_types() -> dict:
    """Types of the core and of the plugins enabled for the current tenant."""
    return {t.code: t for t in host().items("register_asset_types", enabled_plugins())}


def _validate(user, data: dict, asset: Asset | None) -> tuple[dict, dict[str, str], dict]:
    """Check type, store, dates, attributes and custom fields; return (attributes, normalised identifiers, custom)."""
    errors: dict[str, list] = {}
    types = asset_types()
    kind = types.get(data.get("type"))
    if kind is None:
        raise ValidationError({"type": [_("Choose one of the listed options.")]})
    if data.get("store_id"):
        store = get_scoped(Store, data["store_id"])
        if store is None or not (user.sees_all_stores or store.id in user.store_ids):
            errors["store_id"] = [_("Choose one of your stores.")]
    if data.get("warranty_until") and data.get("purchased_on") and data["warranty_until"] < data["purchased_on"]:
        errors["warranty_until"] = [_("The warranty cannot end before the purchase.")]
    attributes = {}
    if kind.attributes is not None:
        schema = kind.attributes()
        try:
            attributes = schema.dump(schema.load(data.get("attributes") or {}))
        except ValidationError as err:
            for field, messages in err.messages.items():
                errors[f"attributes.{field}"] = messages if isinstance(messages, list) else [messages]
    normalised = {}
    for ident_kind, raw in (data.get("identifiers") or {}).items():
        if ident_kind not in kind.identity_kinds:
            errors.setdefault("identifiers", []).append(_("%(kind)s is not an identifier of this type.", kind=ident_kind))
            continue
        if raw in (None, ""):
            continue
        try:
            normalised[ident_kind] = identities.normalize(ident_kind, raw)
        except ValidationError as err:
            errors[f"identifiers.{ident_kind}"] = err.messages.get("value", err.messages)

    custom = {}
    try:
        if asset is None:
            custom = validate_values("asset", {**defaults("asset"), **(data.get("custom") or {})}, user=user)
        else:
            custom = validate_values("asset", data["custom"], user=user, current=asset.custom) \
                if data.get("custom") is not None else asset.custom
    except ValidationError as err:
        errors.update(err.messages)
    if errors:
        raise ValidationError(errors)
    return attributes, normalised, custom


def validate(user, data: dict) -> None:
    """Raise ValidationError with every problem of `data` the type knows of (for forms)."""
    _validate(user, data, None)


class IdentifierOnAnotherAsset(ValidationError):
    """An identifier typed on an asset is already on another asset of the same customer (沪G84804 on the BYD 汉,
    now typed on a new Model Y). It moves only when the caller says so (`move_identifiers`); `moves` is
    {kind: (value, the asset it would leave)} for the form to ask."""

    def __init__(self, messages: dict, moves: dict):
        super().__init__(messages)
        self.moves = moves


def _set_identifiers(asset: Asset, customer: Customer, wanted: dict[str, str], move=()) -> None:
    current = {i.kind: i for i in db.session.scalars(select(CustomerIdentity).where(CustomerIdentity.asset_id == asset.id))}
    elsewhere = {(i.kind, i.value): i for i in identities.identities_of(customer.id)
                 if i.asset_id is not None and i.asset_id != asset.id and wanted.get(i.kind) == i.value}
    unconfirmed = {kind: (value, db.session.get(Asset, (asset.tenant_id, elsewhere[(kind, value)].asset_id)))
                   for kind, value in wanted.items() if (kind, value) in elsewhere and kind not in move}
    if unconfirmed:
        raise IdentifierOnAnotherAsset({f"identifiers.{kind}": [_(
            "%(value)s is on %(asset)s, another asset of this customer. Confirm to move it here; %(asset)s will be "
            "left without it.", value=value, asset=other.name)] for kind, (value, other) in unconfirmed.items()},
            unconfirmed)
    for kind, identity in current.items():
        if wanted.get(kind) != identity.value:
            db.session.delete(identity)
    db.session.flush()
    for kind, value in wanted.items():
        if kind in current and current[kind].value == value:
            continue
        moving = elsewhere.get((kind, value))
        if moving is not None:
            left = db.session.get(Asset, (asset.tenant_id, moving.asset_id))
            moving.asset_id = asset.id
            record("move", "identity", moving.id, f"{customer.name}: {kind} {value}: {left.name} → {asset.name}",
                   before={"asset_id": left.id, "asset": left.name}, after={"asset_id": asset.id, "asset": asset.name})
            continue
        try:
            identity = identities.add(customer, kind, value)
        except ValidationError as err:
            raise ValidationError({f"identifiers.{kind}": err.messages.get("value", [])})
        identity.asset_id = asset.id


def create_asset(user, customer: Customer, data: dict) -> Asset:
    """Create an asset of `customer` from `data` (type, name, identifiers, attributes, custom values); validated, audited, emitted."""
    attributes, wanted, custom = _validate(user, data, None)
    asset = Asset(customer_id=customer.id, type=data["type"], name=data["name"], store_id=data.get("store_id"),
                  purchased_on=data.get("purchased_on"), installed_on=data.get("installed_on"),
                  warranty_until=data.get("warranty_until"), attributes=attributes, notes=data.get("notes"),
                  custom=custom)
    db.session.add(asset)
    db.session.flush()
    db.session.add(AssetOwnership(asset_id=asset.id, customer_id=customer.id))
    _set_identifiers(asset, customer, wanted, data.get("move_identifiers") or ())
    record("create", "asset", asset.id, f"{customer.name}: {asset.name}", after=snapshot(asset))
    emit(AssetCreated(asset))
    return asset


def update_asset(user, asset: Asset, data: dict) -> Asset:
    """Change an asset with `data`; validated, audited, emitted to rules, webhooks and plugins."""
    attributes, wanted, custom = _validate(user, data, asset)
    before = snapshot(asset)
    for key in ("type", "name", "store_id", "purchased_on", "installed_on", "warranty_until", "notes"):
        setattr(asset, key, data.get(key))
    asset.attributes = attributes
    asset.custom = custom
    owner = db.session.get(Customer, (asset.tenant_id, asset.customer_id))
    _set_identifiers(asset, owner, wanted, data.get("move_identifiers") or ())
    db.session.flush()
    old, new = changed_only(before, snapshot(asset))
    if new:
        record("update", "asset", asset.id, asset.name, before=old, after=new)
        emit(AssetChanged(asset, {k: [old.get(k), new[k]] for k in new}))
    return asset


def transfer(user, asset: Asset, new_owner: Customer, note: str | None = None) -> Asset:
    """The asset changes hands (a car sold on, a device moved): history kept, identifiers follow it."""
    if new_owner.id == asset.customer_id:
        raise ValidationError({"customer_id": [_("This customer already owns it.")]})
    now = utcnow()
    db.session.execute(update(AssetOwnership).where(AssetOwnership.asset_id == asset.id, AssetOwnership.until.is_(None))
                       .values(until=now))
    db.session.add(AssetOwnership(asset_id=asset.id, customer_id=new_owner.id, since=now, note=note))
    previous = asset.customer_id
    asset.customer_id = new_owner.id
    db.session.execute(update(CustomerIdentity).where(CustomerIdentity.asset_id == asset.id)
                       .values(customer_id=new_owner.id, primary=False))
    db.session.flush()
    record("transfer", "asset", asset.id, asset.name, before={"customer_id": previous},
           after={"customer_id": new_owner.id, "note": note})
    emit(AssetChanged(asset, {"customer_id": [previous, new_owner.id]}))
    return asset


def get_asset(user, asset_id) -> Asset | None:
    """An asset whose owner this user may see."""
    asset = get_scoped(Asset, asset_id)
    if asset is None or asset.deleted_at is not None or get_customer(user, asset.customer_id) is None:
        return None
    return asset


def assets_query(customer_id):
    """The select of `assets_of` (`customer_id`: a value or a bound parameter)."""
    return select(Asset).where(Asset.customer_id == customer_id, Asset.deleted_at.is_(None)).order_by(Asset.id)


def assets_of(customer_id: int) -> list[Asset]:
    """The live assets a customer owns now, in the order they were added."""
    return list(db.session.scalars(assets_query(customer_id)))


def identifiers_of(asset_ids: list[int]) -> dict[int, dict[str, str]]:
    out: dict[int, dict[str, str]] = {i: {} for i in asset_ids}
    if asset_ids:
        for ident in db.session.scalars(select(CustomerIdentity).where(CustomerIdentity.asset_id.in_(asset_ids))):
            out[ident.asset_id][ident.kind] = ident.value
    return out


def history(asset_id: int) -> list[tuple[AssetOwnership, str]]:
    return list(db.session.execute(
        select(AssetOwnership, Customer.name)
        .join(Customer, (Customer.tenant_id == AssetOwnership.tenant_id) & (Customer.id == AssetOwnership.customer_id))
        .where(AssetOwnership.asset_id == asset_id).order_by(AssetOwnership.since.desc())))


# sort code -> (column, descending); ties broken by id
SORTS = {"newest": (Asset.id, True), "oldest": (Asset.id, False), "name": (Asset.name, False),
         "warranty": (Asset.warranty_until, False), "installed": (Asset.installed_on, True)}


def list_assets(user, *, type_: str | None = None, customer_id: int | None = None, after_id: int | None = None,
                limit: int = 50, sort: str = "newest", q: str = "", custom: tuple = ()) -> list[Asset]:
    """Assets of customers `user` may see; `q` matches the name or an identifier (plate, VIN, serial),
    `custom` is ((field code, stored value), …) as for customers; keyset-paged in any sort order."""
    owners = visible(user, select(Customer.id))
    query = select(Asset).where(Asset.deleted_at.is_(None), Asset.customer_id.in_(owners))
    if type_:
        query = query.where(Asset.type == type_)
    if customer_id:
        query = query.where(Asset.customer_id == customer_id)
    if q:
        pattern = f"%{_escape(q.strip())}%"
        query = query.where(Asset.id.in_(
            select(Asset.id).where(Asset.name.ilike(pattern)).union(
                select(CustomerIdentity.asset_id).where(CustomerIdentity.asset_id.is_not(None),
                                                        CustomerIdentity.value.ilike(pattern)))))

    for code, value in custom:
        query = query.where(custom_condition(Asset.custom, code, value))
    column, descending = SORTS.get(sort, SORTS["newest"])
    return list(db.session.scalars(page(query, Asset, column, descending, after_id).limit(limit)))


def readings_of(asset_id: int, limit: int = 20) -> list:
    return list(db.session.scalars(select(AssetReading).where(AssetReading.asset_id == asset_id)
                                   .order_by(AssetReading.read_on.desc(), AssetReading.id.desc()).limit(limit)))


def add_reading(user, asset: Asset, data: dict):
    """An odometer reading (km); `service` marks the one taken at a service. Readings never go backwards. "Today" is
    the tenant's: at 00:30 in Shanghai a reading dated that day is not in the future, whatever the server's zone."""
    errors = {}
    today = tenant_today()
    read_on, value = data.get("read_on") or today, data.get("value")
    if read_on > today:
        errors["read_on"] = [_("A reading cannot be in the future.")]
    if value is None or not 0 <= value <= 10_000_000:
        errors["value"] = [_("Enter the kilometres shown, 0 to 10,000,000.")]
    else:
        earlier = db.session.scalar(select(func.max(AssetReading.value)).where(
            AssetReading.asset_id == asset.id, AssetReading.read_on <= read_on))
        later = db.session.scalar(select(func.min(AssetReading.value)).where(
            AssetReading.asset_id == asset.id, AssetReading.read_on > read_on))
        if (earlier is not None and value < earlier) or (later is not None and value > later):
            errors["value"] = [_("Odometers do not go backwards: this does not fit the other readings.")]
    if errors:
        raise ValidationError(errors)
    reading = AssetReading(asset_id=asset.id, read_on=read_on, value=value, service=bool(data.get("service")),
                           created_by_id=getattr(user, "id", None))
    db.session.add(reading)
    db.session.flush()
    record("create", "asset_reading", reading.id, f"{asset.name}: {value} km", after=snapshot(reading))
    return reading
