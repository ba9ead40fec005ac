"""Signed links for customers: a store's public booking page and an appointment's manage/cancel page.

Signed (itsdangerous, the app's secret key, one salt per purpose) rather than stored: nothing to look up before the
tenant is known, and the signature carries the tenant id, so a link of one tenant opens nothing in another."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..tenancy.context import require_tenant_id

STORE_SALT = "storecrm.scheduling.store-booking"
MANAGE_SALT = "storecrm.scheduling.manage-appointment"


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def store_token(store_id: int) -> str:
    return _serializer(STORE_SALT).dumps([require_tenant_id(), store_id])


def manage_token(appointment_id: int) -> str:
    return _serializer(MANAGE_SALT).dumps([require_tenant_id(), appointment_id])


def _read(salt: str, token: str) -> int | None:
    try:
        tenant_id, record_id = _serializer(salt).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if tenant_id != require_tenant_id() or not isinstance(record_id, int):
        return None
    return record_id


def store_from_token(token: str) -> int | None:
    """The store id a booking link names, if it is genuine and of the current tenant."""
    return _read(STORE_SALT, token)


def appointment_from_token(token: str) -> int | None:
    return _read(MANAGE_SALT, token)
