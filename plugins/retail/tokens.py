"""Signed links for shoppers: a store's join page (the QR on the counter) and a member's own card page.

Signed rather than stored, with the tenant id inside: a link of one tenant opens nothing in another."""
from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from storecrm.sdk import current_tenant_id

JOIN, CARD = "storecrm.retail.join", "storecrm.retail.card"


def _s(salt):
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def make(salt: str, record_id: int) -> str:
    return _s(salt).dumps([current_tenant_id(), record_id])


def read(salt: str, token: str) -> int | None:
    try:
        tenant_id, record_id = _s(salt).loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if tenant_id != current_tenant_id() or not isinstance(record_id, int):
        return None
    return record_id
