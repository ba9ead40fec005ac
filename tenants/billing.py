"""Stripe billing, only when STRIPE_SECRET_KEY is set (docs/billing.md).

Our own calls (subscribe, change seats or plan, cancel) only ask Stripe; the tenant's plan and status change when
Stripe's webhooks arrive: each event is verified on the raw body, stored once by its id, and applied by a job that
re-reads the subscription from Stripe, so a replayed or late event never rolls the state back."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta, timezone

import stripe
from flask import current_app
from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select, text
from sqlalchemy.dialects.postgresql import insert

from ..extensions import db
from ..jobs import actor
from ..jobs.after_commit import after_commit
from ..notifications.outbox import send
from ..tenancy.context import TenantRef, tenant_context
from ..tenancy.models import Tenant, utcnow
from ..tenancy.scoping import unscoped
from ..users.services import staff_with_role
from .models import BillingEvent, Plan, TenantAccount, account_row

log = logging.getLogger("storecrm.billing")
TOLERANCE = 300  # seconds a signature's timestamp may be off (Stripe's own default)
HANDLED = ("checkout.session.completed", "customer.subscription.created", "customer.subscription.updated",
           "customer.subscription.deleted", "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed")
STATUS = {"active": "active", "trialing": "active", "past_due": "past_due", "unpaid": "past_due",
          "incomplete": "past_due", "canceled": "canceled", "incomplete_expired": "canceled"}


def client() -> stripe.StripeClient:
    settings = current_app.config["STORECRM"]
    if not settings.billing_enabled:
        raise RuntimeError("billing is not configured (STRIPE_SECRET_KEY)")
    stripe.api_key = settings.stripe_secret_key
    if settings.stripe_api_base:
        stripe.api_base = settings.stripe_api_base
    return stripe


# --- the tenant's own calls ---------------------------------------------------------------------------------------

def ensure_customer(tenant_id: int, email: str | None) -> str:
    s = client()
    with unscoped(reason="billing creates the tenant's Stripe customer") as system:
        account = account_row(system, tenant_id, lock=True)
        if account.stripe_customer_id is None:
            customer = s.Customer.create(email=email, metadata={"tenant_id": str(tenant_id)})
            account.stripe_customer_id = customer.id
        return account.stripe_customer_id


def subscribe(tenant_id: int, plan_code: str, seats: int, email: str | None = None) -> str:
    """Start or change the subscription (plan and seats; Stripe prorates by default); returns its id."""
    s = client()
    with unscoped(reason="billing reads the plan and the tenant's subscription") as system:
        plan = system.get(Plan, plan_code)
        account = account_row(system, tenant_id)
        subscription_id = account.stripe_subscription_id
    if plan is None or not plan.stripe_plan or not plan.public:
        raise ValidationError({"plan": [_("Choose one of the listed options.")]})
    if not 1 <= seats <= 1000:
        raise ValidationError({"seats": [_("Choose between 1 and 1,000 seats.")]})
    customer = ensure_customer(tenant_id, email)
    if subscription_id:
        item = s.Subscription.retrieve(subscription_id).to_dict()["items"]["data"][0]
        s.Subscription.modify(subscription_id, items=[{"id": item["id"], "plan": plan.stripe_plan, "quantity": seats}],
                              metadata={"tenant_id": str(tenant_id)})
        return subscription_id
    created = s.Subscription.create(customer=customer, items=[{"plan": plan.stripe_plan, "quantity": seats}],
                                    metadata={"tenant_id": str(tenant_id)})
    return created.id


def checkout_url(tenant_id: int, slug: str, plan_code: str, seats: int, email: str | None = None) -> str:
    """A Stripe Checkout page where the owner enters a card and starts the subscription (production path; the
    webhook `checkout.session.completed` and the subscription events then set the plan)."""
    s = client()
    with unscoped(reason="billing reads the plan for checkout", routine=True) as system:
        plan = system.get(Plan, plan_code)
    if plan is None or not plan.stripe_plan or not plan.public:
        raise ValidationError({"plan": [_("Choose one of the listed options.")]})
    if not 1 <= seats <= 1000:
        raise ValidationError({"seats": [_("Choose between 1 and 1,000 seats.")]})
    customer = ensure_customer(tenant_id, email)
    back = f"{current_app.config['STORECRM'].base_url}/t/{slug}/billing/"
    session = s.checkout.Session.create(
        mode="subscription", customer=customer, client_reference_id=str(tenant_id),
        line_items=[{"price": plan.stripe_plan, "quantity": seats}],
        subscription_data={"metadata": {"tenant_id": str(tenant_id)}},
        success_url=back + "?checkout=done", cancel_url=back + "?checkout=cancelled")
    return session.url


def portal_url(tenant_id: int, slug: str) -> str:
    """Stripe's customer portal: cards, invoices, receipts."""
    s = client()
    with unscoped(reason="billing reads the tenant's Stripe customer", routine=True) as system:
        customer = account_row(system, tenant_id).stripe_customer_id
    if not customer:
        raise ValidationError({"_schema": [_("Subscribe first: there is nothing to manage yet.")]})
    return s.billing_portal.Session.create(
        customer=customer, return_url=f"{current_app.config['STORECRM'].base_url}/t/{slug}/billing/").url


def cancel(tenant_id: int) -> None:
    """Cancel at the end of the paid period (the workspace keeps its plan until then)."""
    s = client()
    with unscoped(reason="billing reads the tenant's subscription") as system:
        subscription_id = account_row(system, tenant_id).stripe_subscription_id
    if not subscription_id:
        raise ValidationError({"_schema": [_("There is no subscription to cancel.")]})
    s.Subscription.modify(subscription_id, cancel_at_period_end=True)


def invoices(tenant_id: int) -> list[dict]:
    s = client()
    with unscoped(reason="billing reads the tenant's Stripe customer", routine=True) as system:
        customer = account_row(system, tenant_id).stripe_customer_id
    if not customer:
        return []
    out = []
    for invoice in s.Invoice.list(customer=customer, limit=24).data:
        i = invoice.to_dict()
        out.append({"id": i["id"], "number": i.get("number"), "status": i.get("status"),
                    "amount_due": i.get("amount_due") or 0, "currency": i.get("currency"),
                    "created": datetime.fromtimestamp(i.get("created") or 0, timezone.utc),
                    "url": i.get("hosted_invoice_url")})
    return out


# --- webhooks -----------------------------------------------------------------------------------------------------

def receive(payload: bytes, signature: str | None) -> tuple[int, str]:
    """Verify and store one webhook delivery; (HTTP status, what happened). Nothing is applied here."""
    settings = current_app.config["STORECRM"]
    try:
        event = stripe.Webhook.construct_event(payload, signature or "", settings.stripe_webhook_secret or "",
                                               tolerance=TOLERANCE)
    except (ValueError, stripe.SignatureVerificationError) as err:
        log.warning("refused a Stripe webhook: %s", err)
        return 400, "bad signature or payload"
    with unscoped(reason="billing stores a verified Stripe event", routine=True) as system:
        stored = system.execute(insert(BillingEvent).values(
            id=event["id"], type=event["type"], created=int(event["created"]), payload=event.to_dict(),
            received_at=utcnow()).on_conflict_do_nothing(index_elements=["id"]).returning(BillingEvent.id)).scalar()
    if stored is None:
        return 200, "duplicate"

    after_commit(lambda: _kick(event["id"]))
    return 200, "stored"


def _kick(event_id: str) -> None:
    try:
        apply_event.send(event_id)
    except Exception:  # the broker is down: the sweep applies stored events that were not applied
        log.warning("could not enqueue Stripe event %s; the sweep will apply it", event_id, exc_info=True)


def _tenant_of(system, obj: dict) -> int | None:
    """Through our own metadata or reference, or the customer id we created — never by email."""
    for candidate in ((obj.get("metadata") or {}).get("tenant_id"), obj.get("client_reference_id")):
        if candidate and str(candidate).isdigit():
            return int(candidate)
    customer = obj.get("customer")
    if customer:
        return system.scalar(select(TenantAccount.tenant_id).where(TenantAccount.stripe_customer_id == customer))
    return None


def apply(event_id: str) -> str:
    """Apply a stored event to its tenant's account, once, never over newer state."""
    with unscoped(reason="billing applies a Stripe event") as system:
        event = system.scalar(select(BillingEvent).where(BillingEvent.id == event_id).with_for_update())
        if event is None or event.processed_at is not None:
            return "done already"
        event.processed_at = utcnow()
        obj = (event.payload.get("data") or {}).get("object") or {}
        if event.type not in HANDLED:
            event.outcome = "ignored"
            return event.outcome
        tenant_id = _tenant_of(system, obj)
        if tenant_id is None or system.get(Tenant, tenant_id) is None:
            event.outcome = "no tenant"
            return event.outcome
        account = account_row(system, tenant_id, lock=True)
        event.tenant_id = tenant_id
        if event.type == "checkout.session.completed":
            account.stripe_customer_id = account.stripe_customer_id or obj.get("customer")
            account.stripe_subscription_id = obj.get("subscription") or account.stripe_subscription_id
        if account.billing_event_at is not None and event.created < account.billing_event_at:
            event.outcome = "older than the state applied"  # out of order: newer state is already in place
            return event.outcome
        if event.type.startswith("customer.subscription."):
            _apply_subscription(system, account, obj, deleted=event.type.endswith(".deleted"))
        elif event.type in ("invoice.paid", "invoice.payment_succeeded"):
            account.billing_status, account.grace_until, account.read_only = "active", None, False
        elif event.type == "invoice.payment_failed":
            account.billing_status = "past_due"
            if account.grace_until is None:
                grace = current_app.config["STORECRM"].grace_days
                account.grace_until = utcnow() + timedelta(days=grace)
                _tell_owner(tenant_id, account.grace_until)
        account.billing_event_at = max(account.billing_event_at or 0, event.created)
        event.outcome = "applied"
        return event.outcome


def _apply_subscription(system, account: TenantAccount, obj: dict, *, deleted: bool) -> None:
    subscription = obj
    if not deleted and obj.get("id"):
        try:  # the current state, whatever order the events came in
            subscription = client().Subscription.retrieve(obj["id"]).to_dict()
        except stripe.InvalidRequestError:
            subscription = obj
    if deleted or subscription.get("status") in ("canceled", "incomplete_expired"):
        account.plan_code = current_app.config["STORECRM"].signup_plan or "free"
        account.stripe_subscription_id, account.billing_status = None, "canceled"
        account.cancel_at_period_end, account.read_only, account.grace_until = False, False, None
        return
    item = ((subscription.get("items") or {}).get("data") or [{}])[0]
    price_id = ((item.get("plan") or {}).get("id")) or ((item.get("price") or {}).get("id"))
    plan = system.scalar(select(Plan).where(Plan.stripe_plan == price_id)) if price_id else None
    if plan is not None:
        account.plan_code = plan.code
    account.seats = int(item.get("quantity") or account.seats or 1)
    account.stripe_subscription_id = subscription.get("id")
    account.billing_status = STATUS.get(subscription.get("status"), account.billing_status)
    account.cancel_at_period_end = bool(subscription.get("cancel_at_period_end"))
    end = subscription.get("current_period_end") or item.get("current_period_end")
    account.current_period_end = datetime.fromtimestamp(end, timezone.utc) if end else None
    if account.billing_status == "active":
        account.read_only, account.grace_until = False, None


def _tell_owner(tenant_id: int, until: datetime) -> None:
    """The owner hears of the failed payment by email (the banner shows it to everyone)."""
    from flask_babel import force_locale, format_datetime

    with unscoped(reason="billing finds the tenant to tell", routine=True) as system:
        tenant = system.get(Tenant, tenant_id)
        slug, locale = tenant.slug, tenant.locale
    with tenant_context(TenantRef(tenant_id, slug)):
        owners = [u for u in staff_with_role("owner") if u.email]
        with force_locale(locale):
            for owner in owners:
                send("email", owner.email, _("Payment failed for your StoreCRM workspace"),
                     _("The last payment failed. Please pay before %(when)s to keep working.",
                       when=format_datetime(until, "short")))
        db.session.commit()


@actor(max_retries=5)
def apply_event(event_id: str) -> None:
    apply(event_id)


def suspend_overdue(now: datetime | None = None) -> int:
    """Past the grace period: read-only (data kept, nothing writable, the owner can still pay)."""
    with unscoped(reason="billing makes overdue workspaces read-only", routine=True) as system:
        rows = system.execute(text("UPDATE tenant_accounts SET read_only = true WHERE billing_status = 'past_due' "
                                   "AND grace_until < :now AND NOT read_only RETURNING tenant_id"),
                              {"now": now or utcnow()}).all()
    return len(rows)


def apply_pending() -> int:
    """Events stored but not applied (a lost job): applied now, oldest first."""
    with unscoped(reason="billing finds unapplied Stripe events", routine=True) as system:
        ids = list(system.scalars(select(BillingEvent.id).where(BillingEvent.processed_at.is_(None))
                                  .order_by(BillingEvent.created).limit(200)))
    for event_id in ids:
        apply(event_id)
    return len(ids)
