"""Security fixes found by probing the running product: secrets in idempotency records and tenant exports,
operator sessions that end at logout, API tokens revoked with the password, Retry-After, 503 with no database."""
import io
import json
import re
import zipfile

from sqlalchemy import Column, MetaData, String, Table, text

from storecrm.testing.fixtures import PASSWORD
from tests.test_imports import _run_worker

OPS_PASSWORD = "operator-password-2026"
# a column whose name says it holds a credential, a secret or a trace of where staff signed in from
SECRET_LOOKING = re.compile(r"hash|secret|token|digest|password|passwd|^ip$|_ip$|user_agent", re.IGNORECASE)


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


# --- 2. secrets neither in idempotency records nor in the tenant export -------------------------------------------

def test_a_created_token_is_neither_kept_in_its_idempotency_record_nor_replayed(two_tenants, api_token, app,
                                                                                  system_db):
    alpha, _ = two_tenants
    client, headers = app.test_client(), {**api_token(alpha, "owner"), "Idempotency-Key": "new-token-1"}
    first = client.post("/api/v1/tokens", json={"name": "ERP"}, headers=headers)
    assert first.status_code == 201
    plain = first.get_json()["token"]
    secret = plain.split("_", 3)[3]  # the secret may itself hold "_" (URL-safe base64): split as parse_token does
    (body,), = _rows(system_db, "SELECT body::text FROM idempotency_keys WHERE key = 'new-token-1'")
    assert secret not in body
    again = client.post("/api/v1/tokens", json={"name": "ERP"}, headers=headers)
    assert again.status_code == 409 and again.mimetype == "application/problem+json"
    problem = again.get_json()
    assert secret not in again.get_data(as_text=True)
    assert problem["original"]["id"] == first.get_json()["id"]  # the client can find (and revoke) what it made
    assert _rows(system_db, "SELECT count(*) FROM api_tokens WHERE name = 'ERP'") == [(1,)]
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"}).status_code == 200


def test_a_created_webhook_secret_is_not_kept_in_its_idempotency_record(two_tenants, api_token, app, system_db,
                                                                        monkeypatch):
    monkeypatch.setenv("STORECRM_WEBHOOKS_ALLOW_PRIVATE", "1")
    alpha, _ = two_tenants
    client, headers = app.test_client(), {**api_token(alpha, "owner"), "Idempotency-Key": "hook-1"}
    first = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=headers)
    assert first.status_code == 201
    secret = first.get_json()["secret"]
    (body,), = _rows(system_db, "SELECT body::text FROM idempotency_keys WHERE key = 'hook-1'")
    assert secret not in body
    again = client.post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=headers)
    assert again.status_code == 409 and secret not in again.get_data(as_text=True)
    assert _rows(system_db, "SELECT count(*) FROM webhook_endpoints") == [(1,)]


def test_an_owners_export_leaves_out_credentials_secrets_and_staff_traces(two_tenants, login, api_token, app,
                                                                         system_db, monkeypatch):
    monkeypatch.setenv("STORECRM_WEBHOOKS_ALLOW_PRIVATE", "1")
    alpha, _ = two_tenants
    advisor_token = api_token(alpha, "advisor")["Authorization"].split()[1]
    owner_api = {**api_token(alpha, "owner"), "Idempotency-Key": "hook-2"}
    hook = app.test_client().post("/api/v1/webhooks", json={"url": "http://127.0.0.1:9/hook"}, headers=owner_api)
    webhook_secret = hook.get_json()["secret"]
    login(alpha, "advisor")  # a browser session: its digest, IP and user agent
    reset_link = "http://localhost/t/alpha/reset/a-live-reset-link"
    with system_db.begin() as conn:  # a reset mail not sent yet (due tomorrow): its body is a credential until then
        conn.execute(text("UPDATE stores SET opens_at = '09:30', closes_at = '21:00' WHERE tenant_id = :t"),
                     {"t": alpha.id})  # opening hours are times: the export must write them (it failed on them)
        conn.execute(text(
            "INSERT INTO outbox_messages (tenant_id, channel, recipient, subject, body, payload, status, attempts, "
            "next_attempt_at, created_at) VALUES (:t, 'email', 'advisor@alpha.test', 'Reset', :body, "
            "'{\"scrub\": true}', 'pending', 0, now() + interval '1 day', now())"), {"t": alpha.id, "body": reset_link})
    owner = login(alpha, "owner")
    assert owner.post("/t/alpha/billing/export").status_code == 302
    _run_worker()
    (export_id,), = _rows(system_db, "SELECT id FROM tenant_exports WHERE tenant_id = :t", t=alpha.id)
    archive = zipfile.ZipFile(io.BytesIO(owner.client.get(f"/t/alpha/billing/exports/{export_id}").data))
    raw = archive.read("data.json").decode()
    data = json.loads(raw)
    assert {c["name"] for c in data["customers"]} == {f"ALPHA-customer-{n}" for n in range(3)}  # still complete
    assert not {"user_sessions", "api_tokens", "idempotency_keys"} & set(data)
    assert data["users"] and all("password_hash" not in u for u in data["users"])
    assert data["webhook_endpoints"] and all("secret" not in w for w in data["webhook_endpoints"])
    assert all("ip" not in a for a in data["audit_log"])
    assert any(m["recipient"] == "advisor@alpha.test" and m["body"] is None for m in data["outbox_messages"])
    secrets = [advisor_token.split("_", 3)[3], webhook_secret, reset_link]
    secrets += [h for (h,) in _rows(system_db, "SELECT password_hash FROM users WHERE tenant_id = :t", t=alpha.id)]
    secrets += [h for (h,) in _rows(system_db, "SELECT secret_hash FROM user_sessions WHERE tenant_id = :t "
                                    "UNION SELECT secret_hash FROM api_tokens WHERE tenant_id = :t", t=alpha.id)]
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(archive.read("data.xlsx")), read_only=True)
    cells = "\n".join(str(v) for sheet in book.worksheets for row in sheet.iter_rows(values_only=True) for v in row)
    assert "user_sessions" not in book.sheetnames
    for secret in secrets:
        assert secret not in raw and secret not in cells
    for table, rows in data.items():
        for column in (rows[0] if rows else {}):
            assert not SECRET_LOOKING.search(column) or (table, column) in _kept_on_purpose(), (table, column)


def _kept_on_purpose() -> dict:
    from storecrm.tenants.lifecycle import EXPORT_KEPT_ON_PURPOSE

    return EXPORT_KEPT_ON_PURPOSE


def _unlisted_secret_columns(tables) -> list[str]:
    """Secret-looking columns of `tables` that the export neither leaves out nor keeps on purpose."""
    from storecrm.tenants.lifecycle import EXPORT_LEFT_OUT, exported_columns

    found = []
    for table in tables:
        if table.name in EXPORT_LEFT_OUT:
            continue
        exported = set(exported_columns(table))
        found += [f"{table.name}.{c.name}" for c in table.c if SECRET_LOOKING.search(c.name) and c.name in exported
                  and (table.name, c.name) not in _kept_on_purpose()]
    return found


def test_every_secret_looking_column_is_listed_for_the_export(app_ctx):
    """A new table or column named like a credential must be left out of the export, or kept there on purpose."""
    from storecrm.extensions import db
    from storecrm.tenants.lifecycle import EXPORT_LEFT_OUT, tenant_tables

    tables = [db.metadata.tables[name] for name in tenant_tables()] + [db.metadata.tables["tenants"]]
    assert _unlisted_secret_columns(tables) == []
    # every entry of the lists names a real table/column, so a rename cannot silently let a secret through
    for table, spec in EXPORT_LEFT_OUT.items():
        assert table in db.metadata.tables, table
        assert spec == "*" or set(spec) <= set(db.metadata.tables[table].c.keys()), table
    # and the check does catch one
    loyalty = Table("loyalty_cards", MetaData(), Column("tenant_id", String), Column("pin_hash", String),
                    Column("api_token", String), Column("number", String))
    assert _unlisted_secret_columns([loyalty]) == ["loyalty_cards.pin_hash", "loyalty_cards.api_token"]


# --- 5. operator sessions live on the server ---------------------------------------------------------------------

def _operator(app, browser):
    result = app.test_cli_runner().invoke(args=["operators", "create", "--email", "ops@storecrm.cn", "--name", "Ops",
                                                "--password", OPS_PASSWORD])
    assert result.exit_code == 0, result.output
    b = browser()
    b.get("/ops/login")
    assert b.post("/ops/login", {"email": "ops@storecrm.cn", "password": OPS_PASSWORD}).status_code == 302
    b.get("/ops/")
    return b


def _with_cookie(app, value):
    client = app.test_client()
    client.set_cookie("storecrm_session", value, domain="localhost")
    return client


def test_an_operator_cookie_copied_before_logout_opens_nothing_after_it(two_tenants, app, browser, system_db):
    ops = _operator(app, browser)
    assert ops.get("/ops/").status_code == 200
    copied = ops.client.get_cookie("storecrm_session").value
    # the cookie holds a random session id, not the operator's id
    cookie = app.session_interface.get_signing_serializer(app).loads(copied)
    assert "operator_id" not in cookie
    assert _with_cookie(app, copied).get("/ops/").status_code == 200
    assert ops.post("/ops/logout").status_code == 302
    stolen = _with_cookie(app, copied).get("/ops/")
    assert stolen.status_code == 302 and "/ops/login" in stolen.headers["Location"]
    assert _rows(system_db, "SELECT count(*) FROM operator_sessions WHERE revoked_at IS NULL") == [(0,)]


def test_operator_sessions_expire_and_end_with_the_operator(two_tenants, app, browser, system_db, owner_engine):
    ops = _operator(app, browser)
    with owner_engine.begin() as conn:  # an idle console, as if its last request were long ago
        conn.execute(text("UPDATE operator_sessions SET last_seen_at = last_seen_at - interval '1 day'"))
    expired = ops.client.get("/ops/")
    assert expired.status_code == 302 and "/ops/login" in expired.headers["Location"]
    ops = _operator_again(browser)
    with owner_engine.begin() as conn:  # past the absolute lifetime, however busy
        conn.execute(text("UPDATE operator_sessions SET expires_at = now() - interval '1 second'"))
    assert ops.client.get("/ops/").status_code == 302
    ops = _operator_again(browser)
    with owner_engine.begin() as conn:
        conn.execute(text("UPDATE operators SET active = false"))
    assert ops.client.get("/ops/").status_code == 302


def _operator_again(browser):
    b = browser()
    b.get("/ops/login")
    assert b.post("/ops/login", {"email": "ops@storecrm.cn", "password": OPS_PASSWORD}).status_code == 302
    assert b.get("/ops/").status_code == 200
    return b


def test_the_app_role_cannot_read_operator_sessions(owner_engine, app):
    from storecrm.embedded import APP_ROLE

    with owner_engine.connect() as conn:
        assert not conn.execute(text("SELECT has_table_privilege(:r, 'operator_sessions', 'SELECT')"),
                                {"r": APP_ROLE}).scalar()


# --- 11. smaller ones -------------------------------------------------------------------------------------------

def test_a_password_change_revokes_the_users_api_tokens(two_tenants, login, api_token, app):
    alpha, _ = two_tenants
    headers = api_token(alpha, "advisor")
    other = api_token(alpha, "manager")
    client = app.test_client()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    advisor = login(alpha, "advisor")
    advisor.get("/t/alpha/account")
    changed = advisor.post("/t/alpha/account", {"current_password": PASSWORD, "password": "a-brand-new-secret",
                                                 "password_confirm": "a-brand-new-secret"})
    assert changed.status_code == 302
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/me", headers=other).status_code == 200  # only the advisor's own


def test_a_password_reset_revokes_the_users_api_tokens(two_tenants, api_token, app, browser, in_tenant):
    alpha, _ = two_tenants
    headers = api_token(alpha, "advisor")
    from storecrm.auth.services import reset_token_for
    from storecrm.users.models import User

    with in_tenant(alpha) as s:
        link = f"/t/alpha/reset/{reset_token_for(s.get(User, (alpha.id, alpha.users['advisor'])))}"
    b = browser()
    b.get(link)
    assert b.post(link, {"password": "a-brand-new-secret", "password_confirm": "a-brand-new-secret"}).status_code == 302
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401


def test_an_admin_setting_a_staff_password_revokes_that_staffs_api_tokens(two_tenants, api_token, app, in_tenant):
    alpha, _ = two_tenants
    headers = api_token(alpha, "advisor")
    from storecrm.users.models import User
    from storecrm.users.services import update_user

    with in_tenant(alpha) as s:
        advisor, owner = (s.get(User, (alpha.id, alpha.users[r])) for r in ("advisor", "owner"))
        update_user(advisor, {"display_name": advisor.display_name, "email": advisor.email, "role_id": advisor.role_id,
                              "store_ids": advisor.store_ids, "password": "set-by-the-owner-1"}, owner)
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 401


def test_the_login_lock_says_when_to_retry(two_tenants, browser, app, api_token):
    settings = app.config["STORECRM"]
    settings.login_rate_limit, settings.api_rate_limit = "3 per minute", "2 per minute"
    try:
        b = browser()
        b.get("/t/alpha/login")
        codes = [b.post("/t/alpha/login", {"login": "owner@alpha.test", "password": "bad"}) for _ in range(4)]
        assert [r.status_code for r in codes] == [401, 401, 401, 429]
        assert 1 <= int(codes[-1].headers["Retry-After"]) <= 60
        headers = api_token(two_tenants[0], "owner")
        client = app.test_client()
        answers = [client.get("/api/v1/me", headers=headers) for _ in range(3)]
        assert answers[-1].status_code == 429 and 1 <= int(answers[-1].headers["Retry-After"]) <= 60
    finally:
        settings.login_rate_limit, settings.api_rate_limit = "1000 per minute", "600 per minute"


def test_with_the_database_down_pages_and_api_answer_503(two_tenants, api_token, app):
    """A real connection failure: an app whose database addresses point at a port nobody listens on."""
    import socket

    from storecrm.app import create_app

    with socket.socket() as probe:  # a port that was free a moment ago: connecting to it is refused
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    nowhere = f"postgresql+psycopg2://storecrm_app@127.0.0.1:{port}/storecrm_test?connect_timeout=2"
    headers = api_token(two_tenants[0], "owner")
    # plugins stay out: their jobs are registered once per process, by the suite's own app
    down = create_app({"TESTING": True, "SERVER_NAME": "localhost", "SQLALCHEMY_DATABASE_URI": nowhere,
                       "DATABASE_SYSTEM_URL": nowhere, "STORECRM_LOAD_PLUGINS": False})
    client = down.test_client()
    page = client.get("/t/alpha/login")
    assert page.status_code == 503 and page.mimetype == "text/html"
    assert int(page.headers["Retry-After"]) > 0
    api = client.get("/api/v1/me", headers=headers)
    assert api.status_code == 503 and api.mimetype == "application/problem+json"
    assert api.get_json()["status"] == 503 and int(api.headers["Retry-After"]) > 0


def test_the_login_lock_counts_a_mobile_in_any_of_its_forms(two_tenants, browser, app):
    """Another spelling of the same mobile, from another address, is still the locked account."""
    settings = app.config["STORECRM"]
    settings.login_rate_limit = "3 per minute"
    try:
        first = browser()
        first.get("/t/alpha/login")
        for _ in range(3):
            first.post("/t/alpha/login", {"login": "13800138000", "password": "bad"},
                       environ_base={"REMOTE_ADDR": "10.1.1.1"})
        other = browser()
        other.get("/t/alpha/login", environ_base={"REMOTE_ADDR": "10.2.2.2"})
        spelled = other.post("/t/alpha/login", {"login": "+86 138 0013 8000", "password": "bad"},
                             environ_base={"REMOTE_ADDR": "10.2.2.2"})
        assert spelled.status_code == 429
    finally:
        settings.login_rate_limit = "1000 per minute"
