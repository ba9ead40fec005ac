from dataclasses import dataclass
from datetime import datetime, time
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, post_load, validate, validates
from sqlalchemy import func, or_, select

from storecrm.sdk import (Customer, RecordEvent, db, emit_event, get_scoped, money, plugin_settings,
                          record_audit as record, tenant_zone)
from storecrm.sdk import create_customer, scrub_audit

from .models import CarWash, WashType


@dataclass(frozen=True)
class CarWashed(RecordEvent):
    """A wash was recorded for a customer: rules with the trigger `carwash.washed` run, other plugins hear it."""


def seed_wash_types():
    for code, name, price in (("basic", "标准洗车", "39.00"), ("premium", "精洗打蜡", "128.00")):
        if not db.session.scalar(select(WashType.id).where(WashType.code == code)):
            db.session.add(WashType(code=code, name=name, price=Decimal(price)))


def wash_types():
    return list(db.session.scalars(select(WashType).order_by(WashType.price)))


def record_wash(customer_id, wash_type, free=False):
    customer = get_scoped(Customer, customer_id)
    if customer is None or customer.deleted_at is not None:
        raise ValidationError({"customer_id": [_("Choose an existing customer.")]})
    kind = db.session.scalar(select(WashType).where(WashType.code == wash_type))
    if kind is None:
        raise ValidationError({"wash_type": [_("Choose a wash type.")]})
    settings = plugin_settings("carwash")
    count = db.session.scalar(select(func.count()).select_from(CarWash).where(CarWash.customer_id == customer_id))
    free = free or (count + 1) % int(settings["loyalty_every"]) == 0
    wash = CarWash(customer_id=customer_id, wash_type=wash_type, price=Decimal(0) if free else kind.price, free=free)
    db.session.add(wash)
    db.session.flush()
    record("create", "carwash", wash.id, f"{customer.name} {kind.name}")
    emit_event(CarWashed("customer", customer, "carwash.washed", {"wash_type": [None, wash_type]}))
    return wash


def wash_count(customer_id) -> int:
    return db.session.scalar(select(func.count()).select_from(CarWash).where(CarWash.customer_id == customer_id)) or 0


def wash_count_sql(model):
    """The same count as a correlated subquery, so rule sweeps stay one statement."""
    return select(func.count()).select_from(CarWash).where(CarWash.customer_id == model.id).scalar_subquery()


def recent_washes(limit=50):
    return db.session.execute(select(CarWash, Customer.name).join(
        Customer, (Customer.tenant_id == CarWash.tenant_id) & (Customer.id == CarWash.customer_id))
        .order_by(CarWash.id.desc()).limit(limit)).all()


def washes_of(customer_id):
    return list(db.session.scalars(select(CarWash).where(CarWash.customer_id == customer_id)
                                   .order_by(CarWash.id.desc()).limit(20)))


def washes_this_month():
    start = datetime.now().astimezone().replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    return db.session.scalar(select(func.count()).select_from(CarWash).where(CarWash.washed_at >= start))


def get_wash(wash_id):
    return get_scoped(CarWash, wash_id)


def monthly_summary():
    return washes_this_month()


def _wash_type_named(value):
    """The wash type whose code or name is `value` (spreadsheets say 标准洗车 as often as basic)."""
    value = (value or "").strip()
    return db.session.scalar(select(WashType).where(or_(func.lower(WashType.code) == value.lower(),
                                                        WashType.name == value)))


class WashImportRow(Schema):
    """One spreadsheet row of the car-wash import; the customer is found by the core from the mobile column."""

    wash_type = fields.String(required=True, metadata={"label": _l("Wash type")})
    washed_on = fields.Date(required=True, metadata={"label": _l("Wash date")})
    price = fields.Decimal(places=2, validate=validate.Range(min=0, max=10000), metadata={"label": _l("Price")})

    @validates("wash_type")
    def _known_type(self, value, **_kwargs):
        if _wash_type_named(value) is None:
            raise ValidationError(_l("Choose a wash type."))

    @post_load
    def _type_code(self, data, **_kwargs):
        data["wash_type"] = _wash_type_named(data["wash_type"]).code
        return data


def import_wash(user, data):
    """Write one imported wash; its natural key is (customer, day, wash type), so a file imported twice changes
    prices at most and adds no wash. Historical washes start no rules and earn no loyalty wash."""
    customer = data["customer"]
    kind = db.session.scalar(select(WashType).where(WashType.code == data["wash_type"]))
    washed_at = datetime.combine(data["washed_on"], time(), tzinfo=tenant_zone())  # the day as the chain counts it
    price = money(data["price"]) if data.get("price") is not None else kind.price
    wash = db.session.scalar(select(CarWash).where(CarWash.customer_id == customer.id, CarWash.washed_at == washed_at,
                                                   CarWash.wash_type == kind.code))
    if wash is not None:
        before = str(wash.price)
        wash.price, wash.free = price, price == 0
        record("update", "carwash", wash.id, f"{customer.name} {kind.name}", before={"price": before},
               after={"price": str(price)})
        return "updated"
    wash = CarWash(customer_id=customer.id, wash_type=kind.code, price=price, free=price == 0, washed_at=washed_at)
    db.session.add(wash)
    db.session.flush()
    record("create", "carwash", wash.id, f"{customer.name} {kind.name}")
    return "created"


def erase_customer_data(customer_id):
    """PIPL erasure of a customer: the washes stay (revenue and loyalty counts, no personal data in them); their
    audit entries, whose summaries name the customer, keep who and when but lose the text."""
    scrub_audit("carwash", list(db.session.scalars(select(CarWash.id).where(CarWash.customer_id == customer_id))))


def load_demo(ctx):
    """The demo tenant's data: a few regulars, each with washes (`register_demo_tenants`)."""
    for n in range(3):
        customer = create_customer(ctx.users["advisor"], {"name": f"洗车会员{n + 1}", "mobile": f"1390000{n:04d}",
                                                          "store_id": ctx.stores[0].id})
        for _ in range(ctx.rng.randrange(1, 4)):
            record_wash(customer.id, ctx.rng.choice(["basic", "premium"]))
