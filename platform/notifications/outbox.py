"""The transactional outbox: `send` writes a row in the caller's transaction; after commit the row is relayed
by a job, and a sweep every minute relays whatever is still due (after a broker outage, or a retry's wait).

Delivery is at least once: a worker that dies after the provider accepted a message but before its commit
sends it again. Each message is tried up to MAX_ATTEMPTS times with exponential backoff, then marked dead."""
from __future__ import annotations

import logging
from datetime import datetime, time, timedelta

from sqlalchemy import select

from ..extensions import db
from ..jobs import actor
from ..jobs.after_commit import after_commit
from ..tenancy.models import current_tenant_row, utcnow
from ..web.i18n import tenant_zone
from .channels import channels
from .models import OutboxMessage

log = logging.getLogger("storecrm.notifications")
MAX_ATTEMPTS = 8
MARKETING_CHANNELS = ("sms", "wechat")


class Undeliverable(Exception):
    """Raised by a channel for a message no retry can deliver (no approved template for it, a number the provider
    calls invalid): the message is dead at once, its reason kept in `last_error`, instead of spending its attempts."""


def send(channel: str, recipient: str, subject: str = "", body: str = "", *, payload: dict | None = None,
         dedupe_key: str | None = None, customer=None, marketing: bool = False, template: str | None = None,
         params: dict | None = None) -> OutboxMessage | None:
    """Queue a message in the current transaction. A rolled-back transaction sends nothing.

    dedupe_key: a message with the same key is never queued twice (returns None then).
    payload {"scrub": True}: the body is erased once sent (it holds a credential, e.g. a password-reset link).
    customer + marketing: for marketing over SMS/WeChat the customer's consent (PIPL) is required; without it
    the message is kept as `skipped`, so the refusal is visible.
    template + params: the message template it was rendered from and its variables (payload "template", "params"),
    for channels that may only send pre-approved templates (Chinese SMS, WeChat); see templates.send_template."""
    if dedupe_key and db.session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == dedupe_key)):
        return None
    extra = {"template": template, "params": {k: str(v) for k, v in (params or {}).items()}} if template else {}
    message = OutboxMessage(channel=channel, recipient=recipient[:254], subject=subject[:200], body=body,
                            payload={**(payload or {}), **extra,
                                     "audience": "customer" if customer is not None else "staff"},
                            dedupe_key=dedupe_key)
    if marketing and lacks_consent(channel, customer):
        message.status, message.last_error = "skipped", "no marketing consent for this channel"
    db.session.add(message)
    db.session.flush()
    if message.status == "pending":
        message_id = message.id
        after_commit(lambda: _kick(message_id))
    return message


def lacks_consent(channel: str, customer) -> bool:
    """Whether marketing to `customer` over `channel` would be skipped for want of their consent (PIPL)."""
    if channel not in MARKETING_CHANNELS:
        return False
    return not ((getattr(customer, "consents", None) or {}).get(channel) or {}).get("granted")


def holds_for_quiet_hours(channel: str, audience: str, at: datetime) -> datetime | None:
    """When a message sent at `at` would really go out if quiet hours hold it (texts to customers at night), else
    None — what the relay does, asked ahead of time (rule previews)."""
    if channel != "sms" or audience != "customer":
        return None
    return _quiet_until(at)


def _kick(message_id: int) -> None:
    """Ask a worker to relay the message now; if the broker is down the minute sweep will (the row is safe)."""
    try:
        deliver.send(message_id)
    except Exception:  # a broker outage must not fail a request whose transaction has committed
        log.warning("could not enqueue outbox message %s; the sweep will relay it", message_id, exc_info=True)


def _quiet_until(now: datetime) -> datetime | None:
    """End of the tenant's quiet hours if `now` falls inside them (settings.quiet_hours, e.g. "21:00-08:00")."""
    spec = (current_tenant_row().settings or {}).get("quiet_hours") or ""
    try:
        start, end = (time.fromisoformat(part.strip()) for part in spec.split("-"))
    except ValueError:
        return None
    local = now.astimezone(tenant_zone())
    clock = local.time()
    inside = (start <= clock or clock < end) if start > end else (start <= clock < end)
    if not inside:
        return None
    until = local.replace(hour=end.hour, minute=end.minute, second=0, microsecond=0)
    if until <= local:
        until += timedelta(days=1)
    return until


DEFAULT_PER_MINUTE = 60


def _over_rate(channel: str, now: datetime) -> bool:
    """Has the tenant sent its `<channel>_per_minute` messages (settings; default 60) in the last minute?
    Providers bill per message and throttle senders; a runaway rule must not text a whole customer base at once."""
    from sqlalchemy import func

    limit = int((current_tenant_row().settings or {}).get(f"{channel}_per_minute") or DEFAULT_PER_MINUTE)
    sent = db.session.scalar(select(func.count()).select_from(OutboxMessage).where(
        OutboxMessage.channel == channel, OutboxMessage.status == "sent",
        OutboxMessage.sent_at > now - timedelta(minutes=1)))
    return sent >= limit


def attempt(message: OutboxMessage) -> None:
    """Try to deliver one message (its row locked by the caller); record the outcome on it."""
    now = utcnow()
    urgent = bool(message.payload.get("verification"))  # a code someone waits for on a page: never held
    if not urgent and message.channel == "sms" and message.payload.get("audience") == "customer":
        later = holds_for_quiet_hours(message.channel, "customer", now)
        if later is not None:  # no texts to customers at night: wait, without spending an attempt
            message.next_attempt_at = later
            return
    if not urgent and message.channel in MARKETING_CHANNELS and _over_rate(message.channel, now):
        message.next_attempt_at = now + timedelta(minutes=1)  # the tenant's per-minute budget is spent: wait
        return
    channel = channels().get(message.channel)
    message.attempts += 1
    try:
        if channel is None:
            raise LookupError(f"no channel {message.channel!r} for this tenant")
        channel.send(message)
    except Exception as exc:  # a provider's failure of any kind is recorded and retried, never lost
        message.last_error = (str(exc) if isinstance(exc, Undeliverable) else f"{type(exc).__name__}: {exc}")[:500]
        if isinstance(exc, Undeliverable) or message.attempts >= MAX_ATTEMPTS:
            message.status = "dead"
            log.warning("outbox message %s is dead after %s attempts: %s", message.id, message.attempts,
                        message.last_error)
        else:
            message.next_attempt_at = now + timedelta(seconds=min(30 * 2 ** (message.attempts - 1), 6 * 3600))
        return
    message.status, message.sent_at, message.last_error = "sent", now, None
    if message.payload.get("scrub"):  # e.g. a password-reset link: a credential, not history
        message.body = ""


@actor(max_retries=0)
def deliver(message_id: int) -> None:
    """Relay one message right after the transaction that wrote it committed."""
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.id == message_id)
                                .with_for_update(skip_locked=True))
    if message is not None and message.status == "pending" and message.next_attempt_at <= utcnow():
        attempt(message)


@actor(max_retries=0)
def relay_due(limit: int = 200) -> None:
    """Relay the tenant's messages that are due (retries, and any whose job was lost)."""
    due = list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.status == "pending", OutboxMessage.next_attempt_at <= utcnow())
        .order_by(OutboxMessage.next_attempt_at).limit(limit).with_for_update(skip_locked=True)))
    for message in due:
        attempt(message)


def replay(message: OutboxMessage) -> None:
    """Send a dead (or skipped) message again, e.g. after fixing a webhook's endpoint."""
    message.status, message.attempts, message.next_attempt_at = "pending", 0, utcnow()
    message_id = message.id
    after_commit(lambda: _kick(message_id))
