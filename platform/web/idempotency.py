"""`Idempotency-Key` on creating POSTs under /api/v1.

The key is claimed (row inserted) before the request runs, inside the request's transaction,
and the response is stored in that same transaction. So: a retry after success replays the
stored response; a retry after failure runs again (the claim was rolled back with everything
else); a concurrent duplicate waits on the unique index and then answers 409.

An answer that carries a secret shown once (a new API token, a webhook's signing secret) is stored without it
(`withhold_from_replay`), and its replay is refused with 409: the record is data at rest, in backups and exports, and
must not become a second copy of a credential.
"""
from __future__ import annotations

import hashlib
import hmac
import json
from datetime import datetime

from flask import current_app, g, request
from flask_babel import gettext as _
from flask_smorest import abort
from sqlalchemy import BigInteger, DateTime, Integer, String, UniqueConstraint, select
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..tenancy.models import TenantScoped, tenant_fk, utcnow

HEADER = "Idempotency-Key"
MAX_KEY = 200


class IdempotencyKey(TenantScoped):
    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("tenant_id", "user_id", "key"),
        tenant_fk("user_id", "users", ondelete="CASCADE"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    key: Mapped[str] = mapped_column(String(MAX_KEY))
    fingerprint: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)
    body: Mapped[dict | list | None] = mapped_column(JSONB)
    withheld: Mapped[list[str] | None] = mapped_column(ARRAY(String(40)))  # secret fields left out of `body`
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def _fingerprint() -> str:
    # keyed: a plain SHA-256 of a body holding a password (POST /users) could be brute-forced from the stored record
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{request.method} {request.path}\n".encode() + request.get_data(), hashlib.sha256).hexdigest()


def claim_or_replay(user):
    """Called after authentication. Returns a response to send instead, or None to go on."""
    key = request.headers.get(HEADER)
    if request.method != "POST" or key is None:
        return None
    if not key.strip() or len(key) > MAX_KEY or not key.isprintable():
        abort(422, messages={"json": {HEADER: [f"Send 1 to {MAX_KEY} printable characters."]}})
    fingerprint = _fingerprint()
    existing = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == user.id,
                                                              IdempotencyKey.key == key))
    if existing is None:
        try:
            with db.session.begin_nested():
                db.session.add(IdempotencyKey(user_id=user.id, key=key, fingerprint=fingerprint))
        except IntegrityError:
            abort(409, message="A request with this Idempotency-Key is already being processed; retry shortly.")
        g.idempotency_key = key
        g.before_commit = [*g.get("before_commit", []), _store_response]
        return None
    if existing.fingerprint != fingerprint:
        abort(422, messages={"json": {HEADER: ["This key was used for a different request."]}})
    if existing.status_code is None:
        abort(409, message="A request with this Idempotency-Key is already being processed; retry shortly.")
    if existing.withheld:
        abort(409, message=_("The answer to this request held a secret that is shown only once, so it is not sent "
                             "again. The rest of the answer is in 'original'; revoke and recreate it if the secret "
                             "was lost."), original=existing.body)
    response = current_app_response(existing.body, existing.status_code)
    response.headers["Idempotent-Replayed"] = "true"
    return response


def current_app_response(body, status):
    response = current_app.response_class(json.dumps(body, ensure_ascii=False), status=status,
                                          mimetype="application/json")
    return response


def withhold_from_replay(*fields: str) -> None:
    """Called by a creating view whose answer carries a secret shown once: `fields` of the answer are not stored
    with its Idempotency-Key, and a replay is refused instead of repeating them."""
    g.idempotency_withheld = fields


def _store_response(response) -> None:
    row = db.session.scalar(select(IdempotencyKey).where(IdempotencyKey.user_id == g.api_user.id,
                                                         IdempotencyKey.key == g.idempotency_key))
    row.status_code = response.status_code
    body, withheld = response.get_json(silent=True), g.get("idempotency_withheld")
    if withheld:
        body = {k: v for k, v in body.items() if k not in withheld} if isinstance(body, dict) else None
        row.withheld = list(withheld)
    row.body = body
