"""Webhook SSRF: a URL is resolved once, every answer must be a global address, and the delivery connects to exactly
the address that was checked (a DNS answer that changes afterwards — rebinding — cannot steer it inside).

The network is simulated: `socket.getaddrinfo` answers for HOST from a script, and every TCP connect to PORT is
recorded, then refused or routed to a local receiver. Other sockets (Redis, the test receivers) pass untouched."""
import ipaddress
import socket
import ssl
import threading
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from sqlalchemy import text

from tests.test_imports import _run_worker

HOST = "hooks.example.test"
PORT = 8443
PUBLIC = "93.184.215.14"  # a global address (example.com's); nothing in these tests really reaches it
URL = f"http://{HOST}:{PORT}/hook"

REFUSED = ["127.0.0.1", "10.0.0.1", "172.16.0.1", "192.168.1.1", "169.254.169.254", "100.64.0.1", "100.100.100.200",
           "0.0.0.0", "::1", "fc00::1", "fe80::1", "2002:7f00:1::", "::ffff:127.0.0.1", "64:ff9b::7f00:1"]


@pytest.fixture(autouse=True)
def no_private_allowance(monkeypatch):
    monkeypatch.delenv("STORECRM_WEBHOOKS_ALLOW_PRIVATE", raising=False)


@pytest.fixture
def resolver(monkeypatch):
    """DNS for HOST: lookup n gets answers[n] (the last one repeats); `lookups` counts them."""
    real = socket.getaddrinfo
    state = {"answers": [PUBLIC], "lookups": 0}

    def getaddrinfo(host, port, family=0, type=0, proto=0, flags=0):
        if host != HOST:
            return real(host, port, family, type, proto, flags)
        address = state["answers"][min(state["lookups"], len(state["answers"]) - 1)]
        state["lookups"] += 1
        port = int(port or 0)
        if ipaddress.ip_address(address).version == 6:
            return [(socket.AF_INET6, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port, 0, 0))]
        return [(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP, "", (address, port))]

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return state


@pytest.fixture
def network(monkeypatch):
    """Every TCP connect to PORT is recorded in `seen`; one to an address in `routes` reaches the local receiver on
    the port given there, any other is refused. Connects to other ports (Redis, the receivers themselves) pass."""
    real = socket.socket.connect
    state = {"seen": [], "routes": {}}

    def connect(sock, address):
        if sock.family in (socket.AF_INET, socket.AF_INET6) and address[1] == PORT:
            state["seen"].append(address[0])
            if address[0] not in state["routes"]:
                raise ConnectionRefusedError(f"the test network refuses {address[0]}")
            return real(sock, ("127.0.0.1", state["routes"][address[0]]))
        return real(sock, address)

    monkeypatch.setattr(socket.socket, "connect", connect)
    return state


def _receiver(tls_cert=None):
    """A local endpoint recording what it gets (headers lower-cased, the TLS server name asked for)."""
    got = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            self.rfile.read(int(self.headers["Content-Length"]))
            got.append({k.lower(): v for k, v in self.headers.items()})
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    if tls_cert is not None:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls_cert.configure_cert(context)
        context.sni_callback = lambda sock, name, ctx: got.append({"sni": name}) and None
        server.socket = context.wrap_socket(server.socket, server_side=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, got


def _status(system_db):
    with system_db.connect() as conn:
        return conn.execute(text("SELECT status, last_error, attempts FROM outbox_messages WHERE channel='webhook' "
                                 "ORDER BY id DESC")).first()


def _create(app, headers, url=URL):
    return app.test_client().post("/api/v1/webhooks", json={"url": url}, headers=headers)


def test_a_rebinding_dns_answer_cannot_steer_the_delivery(make_tenant, api_token, app, resolver, network, system_db):
    alpha = make_tenant("alpha")
    headers = api_token(alpha, "owner")
    created = _create(app, headers)
    assert created.status_code == 201
    resolver["answers"], resolver["lookups"] = [PUBLIC, "127.0.0.1"], 0  # public to the check, loopback after
    assert app.test_client().post(f"/api/v1/webhooks/{created.get_json()['id']}/ping",
                                  headers=headers).status_code == 202
    _run_worker()
    assert network["seen"] == [PUBLIC]  # the checked address, and only it
    assert resolver["lookups"] == 1


@pytest.mark.parametrize("address", REFUSED)
def test_non_global_addresses_are_refused_when_saved_and_when_delivered(make_tenant, login, api_token, app, resolver,
                                                                       network, system_db, address):
    alpha = make_tenant("alpha", locale="zh_CN")
    headers = api_token(alpha, "owner")
    resolver["answers"] = [address]
    literal = f"http://[{address}]:{PORT}/hook" if ":" in address else f"http://{address}:{PORT}/hook"
    for url in (URL, literal):
        refused = _create(app, headers, url)
        assert refused.status_code == 422, (url, refused.get_json())
        assert "公网地址" in " ".join(refused.get_json()["errors"]["url"])
    admin = login(alpha, "owner")
    admin.get("/t/alpha/webhooks/")
    page = admin.post("/t/alpha/webhooks/", {"url": URL})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert 'data-error-for="url"' in html and "Webhook 只能发往公网地址" in html
    # saved while the name pointed elsewhere, then pointed inside: the delivery is refused before any connect
    resolver["answers"] = [PUBLIC]
    created = _create(app, headers)
    assert created.status_code == 201
    resolver["answers"] = [address]
    app.test_client().post(f"/api/v1/webhooks/{created.get_json()['id']}/ping", headers=headers)
    _run_worker()
    assert network["seen"] == []
    status, last_error, attempts = _status(system_db)
    assert (status, attempts) == ("pending", 1) and "public" in last_error


def test_a_host_with_any_non_global_answer_is_refused(make_tenant, api_token, app, resolver, monkeypatch):
    alpha = make_tenant("alpha")
    real = socket.getaddrinfo

    def two_answers(host, port, *args, **kwargs):
        if host != HOST:
            return real(host, port, *args, **kwargs)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (PUBLIC, PORT)),
                (socket.AF_INET, socket.SOCK_STREAM, 6, "", ("10.0.0.1", PORT))]

    monkeypatch.setattr(socket, "getaddrinfo", two_answers)
    assert _create(app, api_token(alpha, "owner")).status_code == 422


@pytest.mark.parametrize("url", ["http://user:secret@hooks.example.test:8443/hook", "ftp://hooks.example.test/x",
                                 "http:///nohost", "http://hooks.example.test:99999/x"])
def test_urls_with_credentials_other_schemes_or_bad_ports_are_refused(make_tenant, api_token, app, resolver, url):
    alpha = make_tenant("alpha")
    resp = _create(app, api_token(alpha, "owner"), url)
    assert resp.status_code == 422 and "url" in resp.get_json()["errors"]


def test_a_public_address_still_gets_its_delivery_with_the_original_host(make_tenant, api_token, app, resolver,
                                                                        network, system_db):
    server, got = _receiver()
    network["routes"][PUBLIC] = server.server_port
    try:
        alpha = make_tenant("alpha")
        headers = api_token(alpha, "owner")
        created = _create(app, headers)
        assert created.status_code == 201
        app.test_client().post(f"/api/v1/webhooks/{created.get_json()['id']}/ping", headers=headers)
        _run_worker()
    finally:
        server.shutdown()
    assert network["seen"] == [PUBLIC]
    assert len(got) == 1 and got[0]["host"] == f"{HOST}:{PORT}" and got[0]["storecrm-event"] == "ping"
    assert _status(system_db)[0] == "sent"


@pytest.mark.parametrize("cert_for, delivered", [(HOST, True), ("other.example.test", False)])
def test_https_checks_the_certificate_against_the_host_name_not_the_address(
        make_tenant, api_token, app, resolver, network, system_db, monkeypatch, tmp_path, cert_for, delivered):
    trustme = pytest.importorskip("trustme")
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    monkeypatch.setenv("SSL_CERT_FILE", str(ca_file))  # OpenSSL's default trust store, read per new context
    server, got = _receiver(ca.issue_cert(cert_for))
    network["routes"][PUBLIC] = server.server_port
    try:
        alpha = make_tenant("alpha")
        headers = api_token(alpha, "owner")
        created = _create(app, headers, f"https://{HOST}:{PORT}/hook")
        assert created.status_code == 201
        app.test_client().post(f"/api/v1/webhooks/{created.get_json()['id']}/ping", headers=headers)
        _run_worker()
    finally:
        server.shutdown()
    assert {"sni": HOST} in got  # SNI names the host, though the connection went to the pinned address
    status, last_error, _attempts = _status(system_db)
    if delivered:
        assert status == "sent" and any(h.get("host") == f"{HOST}:{PORT}" for h in got)
    else:
        assert status == "pending" and "certificate" in last_error.lower()
