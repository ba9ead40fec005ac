from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select

from storecrm.sdk import Customer, db, get_scoped, plugin_settings, record_audit as record

from .models import CarWash, WashType


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
    from storecrm.sdk import emit_rule_event as on_event

    on_event("customer", customer, "carwash.washed", {"wash_type": [None, wash_type]})
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
