"""Outbound webhooks: events POSTed as JSON to the tenant's endpoints, signed with HMAC-SHA256, sent through the
outbox (so retries with backoff, a delivery log and manual replay come with it).

Signature header: `StoreCRM-Signature: t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<body>" with the secret>`, the
scheme Stripe uses; receivers should reject a `t` older than five minutes. Endpoints must resolve to public
addresses only, checked when saved and at each delivery, which connects to the very address it checked
(`safe_http`), so a tenant cannot make the server call into the operator's network."""
from __future__ import annotations

import hashlib
import hmac
import json
import os
import secrets
import time
import uuid

from flask import g
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from .. import events as ev
from ..audit.services import record
from ..customers.models import Customer
from ..extensions import db
from ..tenancy.context import current_tenant
from ..tenancy.models import get_scoped, utcnow
from . import safe_http
from .models import OutboxMessage, WebhookEndpoint
from .outbox import send

EVENTS = ("customer.created", "customer.changed", "customer.merged", "customer.unmerged", "asset.created",
          "asset.changed", "task.created", "appointment.booked", "appointment.rescheduled", "appointment.confirmed",
          "appointment.arrived", "appointment.started", "appointment.completed", "appointment.no_show",
          "appointment.cancelled", "quote.sent", "quote.accepted", "quote.expired", "order.confirmed",
          "order.paid", "order.refunded", "survey.answered",
          "survey.low_score", "kpi.threshold_crossed", "ping",
          "lead.captured", "lead.enquiry_repeated", "lead.assigned", "lead.contacted", "lead.qualified",
          "lead.converted", "lead.lost", "lead.first_contact_overdue")
TIMEOUT = 10


def private_allowed() -> bool:
    """Self-hosted installs (and the tests' local receiver) may send webhooks to private addresses."""
    return os.environ.get("STORECRM_WEBHOOKS_ALLOW_PRIVATE") == "1"


def _target(url: str) -> safe_http.Target:
    return safe_http.resolve(url, allow_private=private_allowed())


def check_url(url: str) -> None:
    """http(s) URL to a public address (resolved now, and again at each delivery)."""
    try:
        _target(url)
    except safe_http.RefusedURL as refused:
        message = {"credentials": _("Leave the user name and password out of the address."),
                   "unresolvable": _("This host name does not resolve."),
                   "not_public": _("Webhooks may only go to public addresses.")}.get(
            refused.kind, _("Give a full http:// or https:// address."))
        raise ValidationError({"url": [message]}) from None


def create_endpoint(data: dict) -> WebhookEndpoint:
    check_url(data["url"])
    endpoint = WebhookEndpoint(url=data["url"], description=data.get("description"),
                               events=[e for e in data.get("events") or [] if e in EVENTS],
                               secret="whsec_" + secrets.token_urlsafe(24), active=True)
    db.session.add(endpoint)
    db.session.flush()
    record("create", "webhook", endpoint.id, endpoint.url)
    g.pop("_webhook_endpoints", None)
    return endpoint


def update_endpoint(endpoint: WebhookEndpoint, data: dict) -> WebhookEndpoint:
    if "url" in data and data["url"] != endpoint.url:
        check_url(data["url"])
        endpoint.url = data["url"]
    for key in ("description", "active"):
        if key in data and data[key] is not None:
            setattr(endpoint, key, data[key])
    if data.get("events") is not None:
        endpoint.events = [e for e in data["events"] if e in EVENTS]
    record("update", "webhook", endpoint.id, endpoint.url)
    g.pop("_webhook_endpoints", None)
    return endpoint


def delete_endpoint(endpoint: WebhookEndpoint) -> None:
    record("delete", "webhook", endpoint.id, endpoint.url)
    db.session.delete(endpoint)
    g.pop("_webhook_endpoints", None)


def endpoints() -> list[WebhookEndpoint]:
    return list(db.session.scalars(select(WebhookEndpoint).order_by(WebhookEndpoint.id)))


def get_endpoint(endpoint_id) -> WebhookEndpoint | None:
    return get_scoped(WebhookEndpoint, endpoint_id)


def deliveries(endpoint: WebhookEndpoint, limit: int = 50) -> list[OutboxMessage]:
    return list(db.session.scalars(select(OutboxMessage).where(
        OutboxMessage.channel == "webhook", OutboxMessage.payload["endpoint_id"].as_integer() == endpoint.id)
        .order_by(OutboxMessage.id.desc()).limit(limit)))


def _subscribed(event: str) -> list[WebhookEndpoint]:
    """Active endpoints wanting `event`, read once per request or job (imports emit thousands of events)."""
    cache = g.setdefault("_webhook_endpoints", {})
    tenant = current_tenant()
    if tenant.id not in cache:
        cache[tenant.id] = [(e.id, e.url, tuple(e.events or ())) for e in db.session.scalars(
            select(WebhookEndpoint).where(WebhookEndpoint.active.is_(True)))]
    return [(eid, url) for eid, url, events in cache[tenant.id] if not events or event in events]


def _queue(targets: list[tuple[int, str]], event: str, data: dict) -> int:
    event_id = "evt_" + uuid.uuid4().hex
    body = {"id": event_id, "type": event, "created": int(utcnow().timestamp()), "tenant": current_tenant().slug,
            "data": data}
    for endpoint_id, url in targets:
        send("webhook", url, event, payload={"endpoint_id": endpoint_id, "event": body},
             dedupe_key=f"webhook:{endpoint_id}:{event_id}")
    return len(targets)


def emit(event: str, data: dict) -> int:
    """Queue `event` for every subscribed endpoint, in the current transaction; returns how many."""
    targets = _subscribed(event)
    return _queue(targets, event, data) if targets else 0


def listen(event) -> None:
    """The webhooks' subscriber to `storecrm.events`: the core's events, as documented in docs/notifications.md.
    Only ids and what changed travel, no contact details."""
    match event:
        case ev.CustomerCreated(customer=c):
            emit("customer.created", {"customer_id": c.id, "name": c.name, "store_id": c.store_id})
        case ev.CustomersImported(customer_ids=ids) if ids and _subscribed("customer.created"):
            rows = db.session.execute(select(Customer.id, Customer.name, Customer.store_id)
                                      .where(Customer.id.in_(ids)).order_by(Customer.id))
            for customer_id, name, store_id in rows:
                emit("customer.created", {"customer_id": customer_id, "name": name, "store_id": store_id})
        case ev.CustomerChanged(customer=c, changes=changes):
            emit("customer.changed", {"customer_id": c.id, "changed": sorted(changes)})
        case ev.CustomerMerged(survivor=survivor, merged=merged):
            emit("customer.merged", {"customer_id": survivor.id, "merged_id": merged.id})
        case ev.CustomerUnmerged(survivor=survivor, restored=restored):
            emit("customer.unmerged", {"customer_id": survivor.id, "restored_id": restored.id})
        case ev.AssetCreated(asset=a):
            emit("asset.created", {"asset_id": a.id, "customer_id": a.customer_id})
        case ev.AssetChanged(asset=a, changes=changes):
            emit("asset.changed", {"asset_id": a.id, "customer_id": a.customer_id, "changed": sorted(changes)})
        case ev.TaskCreated(task=t):
            emit("task.created", {"task_id": t.id, "customer_id": t.customer_id, "assignee_id": t.assignee_id})
        case ev.AppointmentEvent(appointment=a):
            emit(event.code, {"appointment_id": a.id, "customer_id": a.customer_id, "store_id": a.store_id,
                              "service_type_id": a.service_type_id, "staff_id": a.staff_id, "status": a.status,
                              "starts_at": a.starts_at.isoformat(), "walk_in": a.walk_in})
        case ev.QuoteSent(record=q) | ev.QuoteExpired(record=q):
            emit(f"quote.{q.state}", _document(q))
        case ev.QuoteAccepted(record=q, order=o):
            emit("quote.accepted", {**_document(q), "order_id": o.id if o is not None else None})
        case ev.OrderConfirmed(record=o):
            emit("order.confirmed", _document(o))
        case ev.OrderPaid(record=o, payment=p) | ev.OrderRefunded(record=o, payment=p):
            emit("order.paid" if p.kind == "payment" else "order.refunded",
                 {**_document(o), "payment_id": p.id, "method": p.method, "amount": str(p.amount),
                  "paid_total": str(o.paid_total), "refunded_total": str(o.refunded_total)})

        case ev.SurveyAnswered(response=r, low=low):
            data = {"response_id": r.id, "survey_id": r.survey_id, "customer_id": r.customer_id,
                    "store_id": r.store_id, "score": r.score, "low": low, "task_id": r.escalation_task_id}
            emit("survey.answered", data)
            if low:
                emit("survey.low_score", data)
        case ev.KpiThresholdCrossed(threshold=t, value=value):
            emit("kpi.threshold_crossed", {"threshold_id": t.id, "kpi": t.kpi_code, "direction": t.direction,
                                           "threshold": str(t.value), "value": str(value), "store_id": t.store_id})
        case ev.LeadEvent(lead=lead):  # no mobile or name: ids and state only
            emit(event.code, {"lead_id": lead.id, "channel_id": lead.channel_id, "campaign_id": lead.campaign_id,
                              "store_id": lead.store_id, "owner_id": lead.owner_id, "customer_id": lead.customer_id,
                              "status": lead.status, "enquiries": lead.enquiries})



def _document(doc) -> dict:
    """What a sales webhook carries: ids, number, state and total (amounts as decimal strings)."""
    return {f"{doc.kind}_id": doc.id, "number": doc.number, "customer_id": doc.customer_id, "store_id": doc.store_id,
            "state": doc.state, "total": str(doc.total), "currency": doc.currency}


def ping(endpoint: WebhookEndpoint) -> None:
    """A test event to one endpoint (whatever it subscribes to)."""
    _queue([(endpoint.id, endpoint.url)], "ping", {"endpoint_id": endpoint.id})


def get_delivery(endpoint: WebhookEndpoint, delivery_id) -> OutboxMessage | None:
    message = get_scoped(OutboxMessage, delivery_id)
    if message is None or message.channel != "webhook" or message.payload.get("endpoint_id") != endpoint.id:
        return None
    return message


def signature(secret: str, body: bytes, timestamp: int) -> str:
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def deliver(message: OutboxMessage) -> None:
    """The `webhook` channel: POST the event; any answer but 2xx (or no answer) is a failure to retry."""
    endpoint = get_endpoint(message.payload.get("endpoint_id"))
    if endpoint is None or not endpoint.active:
        raise LookupError("the endpoint was deleted or switched off")
    target = _target(endpoint.url)  # resolved once: the connection goes to the address checked here
    body = json.dumps(message.payload["event"], ensure_ascii=False, separators=(",", ":")).encode()
    status = safe_http.post(target, body, {
        "Content-Type": "application/json", "User-Agent": "StoreCRM-Webhooks/1",
        "StoreCRM-Signature": signature(endpoint.secret, body, int(time.time())),
        "StoreCRM-Event": message.payload["event"]["type"]}, timeout=TIMEOUT)
    message.payload = {**message.payload, "response_status": status}
    if not 200 <= status < 300:  # a 3xx too: redirects are not followed
        raise RuntimeError(f"HTTP {status}")
