"""Stripe billing against localstripe (a stateful fake Stripe server from PyPI, started here), through the real
webhook path: localstripe signs and POSTs its events to our endpoint on a live server; events it does not emit
(subscription.updated) are built from its real objects and signed like Stripe does."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.test_imports import _run_worker

SECRET = "whsec_storecrm_test"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def localstripe():
    port = _free_port()
    binary = Path(sys.executable).parent / "localstripe"
    proc = subprocess.Popen([str(binary), "--port", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 20
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            break
        except OSError:
            time.sleep(0.1)
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(10)


@pytest.fixture
def billing(app, localstripe, monkeypatch):
    """Billing switched on against localstripe, with our webhook endpoint on a live server registered there."""
    import stripe
    import urllib.request
    from werkzeug.serving import make_server

    settings = app.config["STORECRM"]
    monkeypatch.setattr(settings, "stripe_secret_key", "sk_test_storecrm")
    monkeypatch.setattr(settings, "stripe_api_base", localstripe)
    monkeypatch.setattr(settings, "stripe_webhook_secret", SECRET)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_port}/billing/stripe/webhook"
    data = "url=" + url + "&secret=" + SECRET
    urllib.request.urlopen(urllib.request.Request(f"{localstripe}/_config/webhooks/storecrm", data=data.encode(),
                                                  headers={"Authorization": "Bearer sk_test_storecrm"}))
    stripe.api_key, stripe.api_base = "sk_test_storecrm", localstripe
    product = stripe.Product.create(name="StoreCRM")
    for code, amount in (("storecrm-pro", 19900), ("storecrm-enterprise", 39900)):
        try:
            stripe.Plan.create(id=code, product=product.id, amount=amount, currency="cny", interval="month")
        except stripe.StripeError:
            pass  # made by an earlier test against the same server (409)
    yield url
    server.shutdown()


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _wait(check, seconds=15):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if check():
            return True
        time.sleep(0.2)
    return check()


def _signed(payload: dict, *, secret=SECRET, at=None) -> tuple[bytes, str]:
    body = json.dumps(payload).encode()
    stamp = int(at if at is not None else time.time())
    mac = hmac.new(secret.encode(), f"{stamp}.".encode() + body, hashlib.sha256).hexdigest()
    return body, f"t={stamp},v1={mac}"


def _event(event_id, kind, obj, created=None):
    return {"id": event_id, "object": "event", "type": kind, "created": int(created or time.time()),
            "data": {"object": obj}, "livemode": False, "api_version": "2020-08-27"}


def _post(app, payload, **sign):
    body, header = _signed(payload, **sign)
    return app.test_client().post("/billing/stripe/webhook", data=body, headers={"Stripe-Signature": header},
                                  content_type="application/json")


def _account(system_db, world):
    return _rows(system_db, "SELECT plan_code, seats, billing_status, cancel_at_period_end, read_only, grace_until "
                            "FROM tenant_accounts WHERE tenant_id = :t", t=world.id)[0]


def _subscribe_with_a_card(app, world, seats):
    import stripe

    from storecrm.tenants import billing

    with app.app_context():
        customer = billing.ensure_customer(world.id, world.emails["owner"])
        card = stripe.PaymentMethod.create(type="card", card={"number": "4242424242424242", "exp_month": 12,
                                                              "exp_year": 2031, "cvc": "123"})
        stripe.PaymentMethod.attach(card.id, customer=customer)
        stripe.Customer.modify(customer, invoice_settings={"default_payment_method": card.id})
        return customer, billing.subscribe(world.id, "pro", seats)


def test_subscribing_changing_seats_and_cancelling_go_through_the_webhooks(two_tenants, billing, app, system_db,
                                                                         login):
    import stripe

    alpha, beta = two_tenants
    customer, subscription_id = _subscribe_with_a_card(app, alpha, 3)
    # localstripe signs and sends customer.subscription.created and the paid invoice to our endpoint
    assert _wait(lambda: _rows(system_db, "SELECT count(*) FROM billing_events WHERE type IN "
                                          "('customer.subscription.created', 'invoice.payment_succeeded')")[0][0] >= 2)
    _run_worker()
    assert _account(system_db, alpha)[:4] == ("pro", 3, "active", False)
    assert _rows(system_db, "SELECT count(*) FROM tenant_accounts WHERE tenant_id = :t", t=beta.id) == [(0,)]
    # more seats: Stripe prorates; its subscription.updated event (built from localstripe's real object) applies it
    with app.app_context():
        from storecrm.tenants import billing as service

        assert service.subscribe(alpha.id, "pro", 5) == subscription_id
    updated = _event("evt_seats_5", "customer.subscription.updated", stripe.Subscription.retrieve(subscription_id).to_dict())
    assert _post(app, updated).status_code == 200
    _run_worker()
    assert _account(system_db, alpha)[:2] == ("pro", 5)
    # a replay of the same event has no second effect; an older one arriving late does not roll back
    assert _post(app, updated).get_json()["detail"] == "duplicate"
    stale = dict(stripe.Subscription.retrieve(subscription_id).to_dict())
    stale["items"] = {"data": [dict(stale["items"]["data"][0], quantity=3)]}
    assert _post(app, _event("evt_old", "customer.subscription.updated", stale, created=time.time() - 3600)
                 ).status_code == 200
    _run_worker()
    assert _account(system_db, alpha)[:2] == ("pro", 5)
    assert _rows(system_db, "SELECT outcome FROM billing_events WHERE id = 'evt_old'") == \
        [("older than the state applied",)]
    # cancel at period end, then the period ends (Stripe deletes the subscription and tells us)
    with app.app_context():
        service.cancel(alpha.id)
    _post(app, _event("evt_cancel", "customer.subscription.updated", stripe.Subscription.retrieve(subscription_id).to_dict()))
    _run_worker()
    assert _account(system_db, alpha)[3] is True
    owner = login(alpha, "owner")
    page = owner.get("/t/alpha/billing/").get_data(as_text=True)
    assert 'data-testid="invoices"' in page and "paid" in page
    stripe.Subscription.delete(subscription_id)
    assert _wait(lambda: _rows(system_db, "SELECT count(*) FROM billing_events WHERE type = "
                                          "'customer.subscription.deleted'")[0][0] == 1)
    _run_worker()
    assert _account(system_db, alpha)[:3] == ("free", 5, "canceled")


def test_forged_and_stale_webhooks_are_refused_and_change_nothing(two_tenants, billing, app, system_db):
    alpha, _ = two_tenants
    event = _event("evt_forged", "invoice.payment_failed", {"customer": "cus_x", "metadata": {"tenant_id": str(alpha.id)}})
    assert _post(app, event, secret="whsec_wrong").status_code == 400
    assert _post(app, event, at=time.time() - 600).status_code == 400  # beyond the 300 s tolerance
    resp = app.test_client().post("/billing/stripe/webhook", data=b"{}", content_type="application/json")
    assert resp.status_code == 400
    assert _rows(system_db, "SELECT count(*) FROM billing_events WHERE id = 'evt_forged'") == [(0,)]
    assert _rows(system_db, "SELECT count(*) FROM tenant_accounts") == [(0,)]


def test_a_failed_payment_leads_to_read_only_and_paying_reopens(two_tenants, billing, app, system_db, login):
    from datetime import timedelta

    from storecrm.tenancy.models import utcnow
    from storecrm.tenants.billing import suspend_overdue

    alpha, _ = two_tenants
    customer, _sub = _subscribe_with_a_card(app, alpha, 2)
    _wait(lambda: _rows(system_db, "SELECT count(*) FROM billing_events")[0][0] >= 2)
    _run_worker()
    failed = _event("evt_failed", "invoice.payment_failed", {"id": "in_1", "customer": customer})
    assert _post(app, failed).status_code == 200
    _run_worker()
    plan, seats, status, _c, read_only, grace = _account(system_db, alpha)
    assert status == "past_due" and not read_only and grace > utcnow() + timedelta(days=6)
    assert _rows(system_db, "SELECT subject FROM outbox_messages WHERE tenant_id = :t AND subject LIKE 'Payment%'",
                 t=alpha.id)  # the owner was told by email
    owner = login(alpha, "owner")
    assert 'data-testid="billing-banner"' in owner.get("/t/alpha/").get_data(as_text=True)
    with app.app_context():
        assert suspend_overdue(utcnow() + timedelta(days=8)) == 1
    owner.get("/t/alpha/customers/new")
    blocked = owner.post("/t/alpha/customers/new", {"name": "Nope", "store_id": str(alpha.stores[0])})
    assert blocked.status_code == 403
    assert owner.get("/t/alpha/billing/").status_code == 200
    paid = _event("evt_paid", "invoice.paid", {"id": "in_1", "customer": customer})
    assert _post(app, paid).status_code == 200
    _run_worker()
    assert _account(system_db, alpha)[2:5] == ("active", False, False)
    assert owner.post("/t/alpha/customers/new", {"name": "Back", "store_id": str(alpha.stores[0])}).status_code == 302


def test_checkout_and_the_customer_portal_send_the_owner_to_stripe(two_tenants, login, app, monkeypatch, system_db):
    """localstripe has neither Checkout nor the portal: Stripe's client is replaced here and the requests checked."""
    import stripe

    alpha, _ = two_tenants
    settings = app.config["STORECRM"]
    monkeypatch.setattr(settings, "stripe_secret_key", "sk_test_storecrm")
    monkeypatch.setattr(settings, "stripe_webhook_secret", SECRET)
    calls = {}

    class Made:
        def __init__(self, url):
            self.url, self.id = url, "cus_checkout"

    def recorded(key, url):
        def create(**kwargs):
            calls[key] = kwargs
            return Made(url)
        return create

    monkeypatch.setattr(stripe.Customer, "create", recorded("customer", ""))
    monkeypatch.setattr(stripe.checkout.Session, "create", recorded("checkout", "https://checkout.stripe.com/c/pay/cs_1"))
    monkeypatch.setattr(stripe.billing_portal.Session, "create",
                        recorded("portal", "https://billing.stripe.com/p/session/1"))
    owner = login(alpha, "owner")
    owner.get("/t/alpha/billing/")
    assert owner.post("/t/alpha/billing/checkout", {"plan": "free", "seats": "2"}).status_code == 422  # not sold
    resp = owner.post("/t/alpha/billing/checkout", {"plan": "pro", "seats": "4"})
    assert resp.status_code == 303 and resp.headers["Location"] == "https://checkout.stripe.com/c/pay/cs_1"
    checkout = calls["checkout"]
    assert checkout["client_reference_id"] == str(alpha.id) and checkout["mode"] == "subscription"
    assert checkout["line_items"] == [{"price": "storecrm-pro", "quantity": 4}]
    assert checkout["subscription_data"] == {"metadata": {"tenant_id": str(alpha.id)}}
    assert calls["customer"]["metadata"] == {"tenant_id": str(alpha.id)}
    assert _rows(system_db, "SELECT stripe_customer_id FROM tenant_accounts WHERE tenant_id = :t", t=alpha.id) == \
        [("cus_checkout",)]
    resp = owner.post("/t/alpha/billing/portal")
    assert resp.status_code == 303 and resp.headers["Location"].startswith("https://billing.stripe.com/")
    assert calls["portal"]["customer"] == "cus_checkout"
    # the checkout's completion comes back through the webhook and ties the subscription to the tenant
    done = _event("evt_checkout", "checkout.session.completed",
                  {"id": "cs_1", "customer": "cus_checkout", "subscription": "sub_from_checkout",
                   "client_reference_id": str(alpha.id)})
    assert _post(app, done).status_code == 200
    _run_worker()
    assert _rows(system_db, "SELECT stripe_subscription_id FROM tenant_accounts WHERE tenant_id = :t", t=alpha.id) == \
        [("sub_from_checkout",)]
    assert login(alpha, "manager").post("/t/alpha/billing/checkout", {"plan": "pro", "seats": "1"}).status_code == 403
