"""The per-process caches of the request path (storecrm.localcache) and the per-user API rate limit (issue 22):
an authenticated API call with nothing to look up sends no statement; a revocation or plan change made in this process
takes effect at once, one made elsewhere within the staleness bound; the rate limit counts per user, not per IP."""
import pytest
from sqlalchemy import create_engine, event, text

from storecrm.api.auth import principals
from storecrm.extensions import db
from storecrm.tenants import entitlements


def _statements(app):
    sent = []
    with app.app_context():
        engine = db.engine
    listener = lambda conn, cursor, statement, params, context, many: sent.append(statement)  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    return sent, lambda: event.remove(engine, "before_cursor_execute", listener)


@pytest.fixture
def elsewhere(app):
    """A connection of another process: its writes are not seen by this process's commit hooks."""
    engine = create_engine(app.config["DATABASE_SYSTEM_URL"])
    yield engine
    engine.dispose()


@pytest.fixture
def clock(monkeypatch):
    now = [1000.0]
    for cache in (principals, entitlements._gates):
        monkeypatch.setattr(cache, "clock", lambda: now[0])
    return now


def test_a_warm_api_call_with_nothing_to_look_up_sends_no_statement(two_tenants, api_token, app):
    headers = api_token(two_tenants[0], "manager")
    client = app.test_client()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    sent, stop = _statements(app)
    try:
        body = client.get("/api/v1/me", headers=headers).get_json()
    finally:
        stop()
    assert sent == []
    # the cached principal answers what the view needs: role and stores without a lazy load
    assert body["role"] == "manager" and body["store_ids"] == [two_tenants[0].stores[0]]


def test_a_token_revoked_here_is_refused_at_once(two_tenants, api_token, app):
    headers = api_token(two_tenants[0], "owner")
    client = app.test_client()
    tokens = client.get("/api/v1/tokens", headers=headers).get_json()
    token_id = tokens["items"][0]["id"] if isinstance(tokens, dict) else tokens[0]["id"]
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    assert client.delete(f"/api/v1/tokens/{token_id}", headers=headers).status_code in (200, 204)
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_token_revoked_elsewhere_is_refused_within_the_bound(two_tenants, api_token, app, elsewhere, clock):
    alpha = two_tenants[0]
    headers = api_token(alpha, "owner")
    client = app.test_client()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with elsewhere.begin() as conn:
        conn.execute(text("UPDATE api_tokens SET revoked_at = now() WHERE tenant_id = :t"), {"t": alpha.id})
    clock[0] += principals.seconds - 0.5
    assert client.get("/api/v1/me", headers=headers).status_code == 200  # the bound: at most this stale
    clock[0] += 1
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_user_switched_off_elsewhere_loses_the_api_within_the_bound(two_tenants, api_token, app, elsewhere, clock):
    alpha = two_tenants[0]
    headers = api_token(alpha, "advisor")
    client = app.test_client()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with elsewhere.begin() as conn:
        conn.execute(text("UPDATE users SET active = false WHERE tenant_id = :t AND id = :u"),
                     {"t": alpha.id, "u": alpha.users["advisor"]})
    clock[0] += principals.seconds + 0.5
    assert client.get("/api/v1/me", headers=headers).status_code == 401


def test_a_plan_without_api_set_elsewhere_applies_within_the_bound(two_tenants, api_token, app, elsewhere, clock):
    alpha = two_tenants[0]
    headers = api_token(alpha, "owner")
    client = app.test_client()
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    with elsewhere.begin() as conn:
        conn.execute(text("INSERT INTO plans (code, name_zh, name_en, limits, monthly_price, currency, position, "
                          "public) VALUES ('noapi', '无接口', 'No API', '{\"api\": false}', 0, 'CNY', 99, false) "
                          "ON CONFLICT (code) DO UPDATE SET limits = EXCLUDED.limits"))
        conn.execute(text("INSERT INTO tenant_accounts (tenant_id, plan_code, seats, billing_status, read_only, "
                          "cancel_at_period_end, checklist_dismissed, created_at, verified_at) "
                          "VALUES (:t, 'noapi', 1, 'active', false, false, true, now(), now())"), {"t": alpha.id})
    try:
        clock[0] += entitlements._gates.seconds + 0.5
        answer = client.get("/api/v1/me", headers=headers)
        assert answer.status_code == 403 and "API access" in answer.get_json()["detail"]
    finally:
        with elsewhere.begin() as conn:
            conn.execute(text("DELETE FROM tenant_accounts WHERE tenant_id = :t"), {"t": alpha.id})
            conn.execute(text("DELETE FROM plans WHERE code = 'noapi'"))


def test_the_api_rate_limit_counts_per_user_not_per_address(two_tenants, api_token, app):
    settings = app.config["STORECRM"]
    alpha = two_tenants[0]
    owner, advisor = api_token(alpha, "owner"), api_token(alpha, "advisor")
    client = app.test_client()
    settings.api_rate_limit = "2 per minute"
    try:
        assert [client.get("/api/v1/me", headers=owner).status_code for _ in range(3)] == [200, 200, 429]
        # same address, another user: a limit of their own
        assert client.get("/api/v1/me", headers=advisor).status_code == 200
        # bad tokens count against the address
        bad = {"Authorization": "Bearer sct_1_1_not-a-secret"}
        assert [client.get("/api/v1/me", headers=bad).status_code for _ in range(3)] == [401, 401, 429]
    finally:
        settings.api_rate_limit = "600 per minute"


def test_an_idle_pooled_connection_cut_by_the_server_is_replaced_before_use(two_tenants, api_token, app, monkeypatch):
    import os

    from sqlalchemy.engine import make_url
    from sqlalchemy.pool import NullPool

    from storecrm import dbpool

    admin = os.environ.get("STORECRM_EMBEDDED_ADMIN_URL")
    if not admin:
        pytest.skip("needs the embedded cluster's superuser to cut connections")
    app_url = make_url(app.config["SQLALCHEMY_DATABASE_URI"])
    superuser = create_engine(make_url(admin).set(drivername="postgresql+psycopg2", database=app_url.database),
                              poolclass=NullPool)
    headers = api_token(two_tenants[0], "owner")
    client = app.test_client()
    assert client.get("/api/v1/customers", headers=headers).status_code == 200
    with superuser.begin() as conn:  # what a database restart does to the pool's connections
        cut = conn.execute(text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE usename = :r"),
                           {"r": app_url.username}).scalar()
    superuser.dispose()
    assert cut >= 1
    monkeypatch.setattr(dbpool, "IDLE_PING_SECONDS", 0.0)  # every checked-in connection counts as idle
    try:
        assert client.get("/api/v1/customers", headers=headers).status_code == 200
    finally:
        with app.app_context():  # the other cut connections must not reach the next test within the idle bound
            db.engine.dispose()


def test_a_value_read_before_a_clear_is_not_kept():
    """Thread A reads (stamp), thread B commits a change (clear), A puts what it read: it must not be served."""
    from storecrm.localcache import MISSING, LocalCache

    cache = LocalCache("test", ("nothing",))
    stamp = cache.stamp()
    cache.clear()  # another thread's commit of a watched table, while this one was reading
    cache.put("k", "stale", stamp=stamp)
    assert cache.get("k") is MISSING
    cache.put("k", "fresh", stamp=cache.stamp())
    assert cache.get("k") == "fresh"


def test_field_definitions_are_kept_per_process_and_a_change_here_is_seen_at_once(two_tenants, api_token, app,
                                                                                  elsewhere):
    from storecrm.fields import engine

    alpha, beta = two_tenants
    owner = api_token(alpha, "owner")
    client = app.test_client()
    customer = f"/api/v1/customers/{alpha.customers[0]}"
    assert client.get(customer, headers=owner).status_code == 200  # fills the cache
    sent, stop = _statements(app)
    try:
        assert client.get(customer, headers=owner).status_code == 200
    finally:
        stop()
    assert not [s for s in sent if "field_definitions" in s]
    # defined here: the next request validates against it at once
    made = client.post("/api/v1/fields", json={"entity": "customer", "code": "car_brand", "label_zh": "车辆品牌",
                                               "label_en": "Car brand", "type": "select", "options": ["宝马", "奥迪"]},
                       headers=owner)
    assert made.status_code == 201, made.get_json()
    bad = client.patch(customer, json={"custom": {"car_brand": "拖拉机"}}, headers=owner)
    assert bad.status_code == 422
    assert client.patch(customer, json={"custom": {"car_brand": "宝马"}}, headers=owner).get_json()["custom"] == {
        "car_brand": "宝马"}
    # another tenant has its own entry: alpha's field is not beta's
    other = client.patch(f"/api/v1/customers/{beta.customers[0]}", json={"custom": {"car_brand": "宝马"}},
                         headers=api_token(beta, "owner"))
    assert other.status_code == 422
    # archived in another process: seen here once the bound has passed (the cache's clock moved past it)
    with elsewhere.begin() as conn:
        conn.execute(text("UPDATE field_definitions SET archived = true WHERE code = 'car_brand'"))
    assert client.get(customer, headers=owner).get_json()["custom"] == {"car_brand": "宝马"}
    engine._by_tenant.clear()  # what the bound does (AUTH_CACHE_SECONDS)
    assert client.get(customer, headers=owner).get_json()["custom"] == {}
    # the cached copies are in no session: a request's own definitions are never detached or expired by them
    with app.test_request_context():
        from storecrm.tenancy.context import TenantRef, tenant_context

        with tenant_context(TenantRef(alpha.id, alpha.slug)):
            copies = engine.definitions("customer", include_archived=True)
            assert copies and all(db.session.object_session(d) is None for d in copies)
