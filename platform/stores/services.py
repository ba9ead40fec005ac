from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select

from ..audit.services import record, record_changes, snapshot
from ..extensions import db
from ..quotas import ensure_room
from ..tenancy.models import get_scoped
from .models import Store


def stores_visible_to(user) -> list[Store]:
    """HQ roles see every store; store staff only their own."""
    if user.sees_all_stores:
        return list(db.session.scalars(select(Store).order_by(Store.active.desc(), Store.name)))
    return [s for s in user.stores]


def get_store(user, store_id: int) -> Store | None:
    store = get_scoped(Store, store_id)
    if store is None or not (user.sees_all_stores or store.id in user.store_ids):
        return None
    return store


def _check_code_free(code: str, store_id: int | None) -> None:
    q = select(func.count()).select_from(Store).where(func.lower(Store.code) == code.lower())
    if store_id is not None:
        q = q.where(Store.id != store_id)
    if db.session.scalar(q):
        raise ValidationError({"code": [_("Another store already uses this code.")]})


def create_store(data: dict) -> Store:
    _check_code_free(data["code"], None)
    if data.get("active", True):
        ensure_room("stores")
    store = Store(**data)
    db.session.add(store)
    db.session.flush()
    record("create", "store", store.id, store.name, after=snapshot(store))
    return store


def update_store(store: Store, data: dict) -> Store:
    _check_code_free(data["code"], store.id)
    if not store.active and data.get("active", store.active):
        ensure_room("stores", field="active")
    before = snapshot(store)
    for key, value in data.items():
        setattr(store, key, value)
    record_changes("store", store, before, store.name)
    return store
