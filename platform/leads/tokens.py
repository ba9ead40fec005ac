"""The signed link of a channel's public lead form (like scheduling's booking link: signed with the app's secret,
carrying the tenant id, so a link of one tenant opens nothing in another and nothing is looked up to check it)."""
from __future__ import annotations

from flask import current_app
from itsdangerous import BadSignature, URLSafeSerializer

from ..tenancy.context import require_tenant_id

FORM_SALT = "storecrm.leads.channel-form"


def _serializer() -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=FORM_SALT)


def form_token(channel_id: int) -> str:
    return _serializer().dumps([require_tenant_id(), channel_id])


def channel_from_token(token: str) -> int | None:
    try:
        tenant_id, channel_id = _serializer().loads(token)
    except (BadSignature, ValueError, TypeError):
        return None
    if tenant_id != require_tenant_id() or not isinstance(channel_id, int):
        return None
    return channel_id
