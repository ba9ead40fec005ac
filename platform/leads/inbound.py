"""The signed inbound webhook of a channel, for third-party platforms (汽车之家, 懂车帝, a website builder …).

The sender signs `<timestamp>.<raw body>` with HMAC-SHA256 under the channel's secret and sends
`X-StoreCRM-Timestamp` (Unix seconds), `X-StoreCRM-Signature: v1=<hex>` and `X-StoreCRM-Delivery` (its own id of
this delivery). A signature that does not match, or a timestamp more than five minutes off, is refused (401); a
delivery id seen before is a replay and is refused (409), so a delivery is applied once however often it is sent.
Comparison is constant-time (hmac.compare_digest)."""
from __future__ import annotations

import hashlib
import hmac
import time

from sqlalchemy.exc import IntegrityError

from ..extensions import db
from .models import LeadChannel, LeadDelivery

TOLERANCE_SECONDS = 300


class Refused(Exception):
    def __init__(self, status: int, detail: str):
        super().__init__(detail)
        self.status, self.detail = status, detail


def sign(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"v1={mac}"


def verify(channel: LeadChannel, body: bytes, timestamp: str | None, signature: str | None,
           now: float | None = None) -> None:
    """Raise Refused(401) unless the signature is the channel's over this body and a fresh timestamp."""
    try:
        stamp = int(timestamp or "")
    except ValueError:
        raise Refused(401, "Missing or malformed X-StoreCRM-Timestamp.") from None
    if abs((now or time.time()) - stamp) > TOLERANCE_SECONDS:
        raise Refused(401, "The timestamp is too far from now; sign each delivery when you send it.")
    if not signature or not hmac.compare_digest(sign(channel.secret, body, stamp), signature.strip()):
        raise Refused(401, "The signature does not match this channel's secret.")


def claim_delivery(channel: LeadChannel, delivery_id: str | None) -> LeadDelivery:
    """Record the delivery id (in the request's transaction); Refused(409) if it was applied before."""
    if not delivery_id or len(delivery_id) > 100 or not delivery_id.isprintable():
        raise Refused(400, "Send X-StoreCRM-Delivery: your id of this delivery (1-100 printable characters).")
    delivery = LeadDelivery(channel_id=channel.id, delivery_id=delivery_id)
    try:
        with db.session.begin_nested():
            db.session.add(delivery)
            db.session.flush()
    except IntegrityError:
        raise Refused(409, "This delivery was received before; it is not applied twice.") from None
    return delivery
