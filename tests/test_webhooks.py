"""Outbound webhooks: signed deliveries through the outbox, failures logged and retried, private targets refused."""
import hashlib
import hmac
import json
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import text

from tests.test_imports import _run_worker


@pytest.fixture
def receiver(monkeypatch):
    """A local HTTP endpoint recording what it gets; `answer` sets its status code."""
    monkeypatch.setenv("STORECRM_WEBHOOKS_ALLOW_PRIVATE", "1")
    got, state = [], {"answer": 200}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            got.append(({k.lower(): v for k, v in self.headers.items()}, body))  # header names are case-blind
            self.send_response(state["answer"])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", got, state
    server.shutdown()


def _verify(secret: str, headers: dict, body: bytes) -> bool:
    parts = dict(p.split("=", 1) for p in headers["storecrm-signature"].split(","))
    expected = hmac.new(secret.encode(), f"{parts['t']}.".encode() + body, hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, parts["v1"])


def test_a_new_customer_reaches_a_subscribed_endpoint_signed(two_tenants, login, receiver, system_db):
    url, got, state = receiver
    alpha, _ = two_tenants
    admin = login(alpha, "owner")
    admin.get("/t/alpha/webhooks/")
    created = admin.post("/t/alpha/webhooks/", {"url": url, "description": "ERP", "events": "customer.created"})
    assert created.status_code == 302
    page = admin.get(created.headers["Location"]).get_data(as_text=True)
    secret = page.split('data-testid="secret">')[1].split("<")[0]
    advisor = login(alpha, "advisor")
    advisor.get("/t/alpha/customers/new")
    assert advisor.post("/t/alpha/customers/new", {"name": "钩子客户", "store_id": str(alpha.stores[0])}).status_code == 302
    _run_worker()
    assert len(got) == 1
    headers, body = got[0]
    event = json.loads(body)
    assert event["type"] == "customer.created" and event["data"]["name"] == "钩子客户" and event["tenant"] == "alpha"
    assert _verify(secret, headers, body) and not _verify(secret + "x", headers, body)
    # a failing endpoint: the answer is logged and the delivery waits for its retry; replay sends it again
    state["answer"] = 500
    admin.post(created.headers["Location"] + "/ping")
    _run_worker()
    with system_db.connect() as conn:
        status, attempts, payload = conn.execute(text(
            "SELECT status, attempts, payload FROM outbox_messages WHERE channel='webhook' ORDER BY id DESC")).first()
    assert (status, attempts, payload["response_status"]) == ("pending", 1, 500)
    log = admin.get(created.headers["Location"]).get_data(as_text=True)
    assert "HTTP 500" in log


def test_webhooks_refuse_private_targets_and_bad_input(two_tenants, login, api_token, app, monkeypatch):
    monkeypatch.delenv("STORECRM_WEBHOOKS_ALLOW_PRIVATE", raising=False)
    alpha, beta = two_tenants
    client, headers = app.test_client(), api_token(alpha, "owner")
    for url in ("http://127.0.0.1:8080/x", "http://10.0.0.5/x", "http://169.254.169.254/latest", "ftp://x.example"):
        resp = client.post("/api/v1/webhooks", json={"url": url}, headers=headers)
        assert resp.status_code == 422 and "url" in resp.get_json()["errors"], url
    resp = client.post("/api/v1/webhooks", json={"url": "https://erp.example.com/x", "events": ["nope"]},
                       headers=headers)
    assert resp.status_code == 422 and "events" in resp.get_json()["errors"]
    b = login(alpha, "owner")
    b.get("/t/alpha/webhooks/")
    refused = b.post("/t/alpha/webhooks/", {"url": "http://localhost/x"})
    assert refused.status_code == 422 and 'data-error-for="url"' in refused.get_data(as_text=True)
    # an advisor may not manage webhooks
    assert client.get("/api/v1/webhooks", headers=api_token(alpha, "advisor")).status_code == 403


def test_webhooks_through_the_api(two_tenants, api_token, app, receiver, system_db):
    url, got, _state = receiver
    alpha, beta = two_tenants
    client, headers = app.test_client(), api_token(alpha, "owner")
    created = client.post("/api/v1/webhooks", json={"url": url, "events": ["task.created"]}, headers=headers)
    assert created.status_code == 201 and created.get_json()["secret"].startswith("whsec_")
    endpoint_id = created.get_json()["id"]
    assert client.post("/api/v1/tasks", json={"title": "webhook task", "customer_id": alpha.customers[0]},
                       headers=headers).status_code == 201
    assert client.post(f"/api/v1/webhooks/{endpoint_id}/ping", headers=headers).status_code == 202
    _run_worker()
    assert sorted(json.loads(body)["type"] for _h, body in got) == ["ping", "task.created"]
    deliveries = client.get(f"/api/v1/webhooks/{endpoint_id}/deliveries", headers=headers).get_json()
    assert {d["status"] for d in deliveries} == {"sent"} and {d["response_status"] for d in deliveries} == {200}
    replayed = client.post(f"/api/v1/webhooks/{endpoint_id}/deliveries/{deliveries[0]['id']}/replay", headers=headers)
    assert replayed.status_code == 202
    _run_worker()
    assert len(got) == 3
    switched = client.patch(f"/api/v1/webhooks/{endpoint_id}", json={"active": False}, headers=headers)
    assert switched.status_code == 200 and switched.get_json()["active"] is False
    beta_headers = api_token(beta, "owner")
    assert client.get(f"/api/v1/webhooks/{endpoint_id}", headers=beta_headers).status_code == 404
    assert client.delete(f"/api/v1/webhooks/{endpoint_id}", headers=headers).status_code == 204
