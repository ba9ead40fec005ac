"""REST API: tokens, resources, pagination, OpenAPI."""
import hashlib

from sqlalchemy import text


def test_token_is_shown_once_stored_hashed_and_revocable(two_tenants, login, app, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "advisor")
    b.get("/t/alpha/tokens")
    page = b.post("/t/alpha/tokens", {"name": "ERP 同步"}).get_data(as_text=True)
    import re

    plain = re.search(r'id="plain-token">([^<]+)<', page).group(1).strip()
    secret = plain.split("_", 3)[3]
    with system_db.connect() as conn:
        stored = conn.execute(text("SELECT secret_hash, last_used_at FROM api_tokens WHERE name='ERP 同步'")).one()
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest() and secret not in stored.secret_hash
    assert stored.last_used_at is None
    assert plain not in b.get("/t/alpha/tokens").get_data(as_text=True)  # never shown again
    client = app.test_client()
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert me.status_code == 200 and me.get_json()["email"] == "advisor@alpha.test"
    with system_db.connect() as conn:
        token_id, last_used = conn.execute(text("SELECT id, last_used_at FROM api_tokens WHERE name='ERP 同步'")).one()
    assert last_used is not None
    assert b.post(f"/t/alpha/tokens/{token_id}/revoke").status_code == 302
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"}).status_code == 401


def test_api_token_lifecycle_through_the_api(two_tenants, api_token, app):
    alpha, _ = two_tenants
    client, headers = app.test_client(), api_token(alpha, "manager")
    created = client.post("/api/v1/tokens", json={"name": "script"}, headers=headers)
    assert created.status_code == 201
    body = created.get_json()
    assert body["token"].startswith("sct_") and body["hint"] == body["token"][-6:]
    listed = client.get("/api/v1/tokens", headers=headers).get_json()
    assert {t["name"] for t in listed} == {"tests", "script"} and all("token" not in t for t in listed)
    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=headers).status_code == 204
    assert client.get("/api/v1/me", headers={"Authorization": f"Bearer {body['token']}"}).status_code == 401


def test_stores_and_customers_through_the_api(two_tenants, api_token, app):
    alpha, _ = two_tenants
    client, headers = app.test_client(), api_token(alpha, "owner")
    store = client.post("/api/v1/stores", json={"code": "API1", "name": "API 店", "opens_at": "09:00",
                                                "closes_at": "18:00"}, headers=headers)
    assert store.status_code == 201, store.get_json()
    store_id = store.get_json()["id"]
    patched = client.patch(f"/api/v1/stores/{store_id}", json={"name": "API 店 2"}, headers=headers)
    assert patched.status_code == 200 and patched.get_json()["name"] == "API 店 2"
    assert patched.get_json()["opens_at"] == "09:00"
    bad = client.patch(f"/api/v1/stores/{store_id}", json={"closes_at": "08:00"}, headers=headers)
    assert bad.status_code == 422 and "closes_at" in bad.get_json()["errors"]
    page = client.get("/api/v1/stores?per_page=2&page=2", headers=headers).get_json()
    assert page["total"] == 3 and len(page["items"]) == 1
    customer = client.post("/api/v1/customers", json={"name": "韩梅梅", "mobile": "+86 138 0013 8001",
                                                      "store_id": store_id}, headers=headers)
    assert customer.status_code == 201 and customer.get_json()["mobile"] == "+8613800138001"
    dup = client.post("/api/v1/customers", json={"name": "韩梅梅", "mobile": "13800138001", "store_id": store_id},
                      headers=headers)
    assert dup.status_code == 409 and "mobile" in dup.get_json()["errors"]  # One-ID: already a customer
    first = client.get("/api/v1/customers?per_page=2", headers=headers).get_json()
    assert first["total"] == 4 and len(first["items"]) == 2 and first["next_after_id"]
    second = client.get(f"/api/v1/customers?per_page=2&after_id={first['next_after_id']}", headers=headers).get_json()
    ids = [c["id"] for c in first["items"] + second["items"]]
    assert len(set(ids)) == 4 and ids == sorted(ids, reverse=True)


def test_permissions_apply_to_the_api(two_tenants, api_token, app):
    alpha, _ = two_tenants
    client, headers = app.test_client(), api_token(alpha, "technician")
    resp = client.post("/api/v1/stores", json={"code": "T1", "name": "x"}, headers=headers)
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    assert client.get("/api/v1/users", headers=headers).status_code == 403


def test_openapi_document_describes_the_api(app):
    spec = app.test_client().get("/api/v1/openapi.json").get_json()
    assert spec["info"]["title"] == "StoreCRM API"
    assert "/api/v1/customers" in spec["paths"] and "/api/v1/stores/{store_id}" in spec["paths"]
    assert spec["components"]["securitySchemes"]["bearer"]["scheme"] == "bearer"


def test_idempotency_key_replays_a_creating_post(two_tenants, api_token, app, system_db):
    alpha, _ = two_tenants
    client, headers = app.test_client(), {**api_token(alpha, "owner"), "Idempotency-Key": "order-2026-0001"}
    body = {"name": "王芳", "mobile": "13900001111", "store_id": alpha.stores[0]}
    first = client.post("/api/v1/customers", json=body, headers=headers)
    again = client.post("/api/v1/customers", json=body, headers=headers)
    assert first.status_code == again.status_code == 201
    assert again.get_json() == first.get_json() and again.headers["Idempotent-Replayed"] == "true"
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers WHERE name = '王芳'")).scalar() == 1
    other = client.post("/api/v1/customers", json={**body, "name": "李四"}, headers=headers)
    assert other.status_code == 422 and "Idempotency-Key" in other.get_json()["errors"]


def test_a_failed_request_does_not_burn_its_idempotency_key(two_tenants, api_token, app):
    alpha, _ = two_tenants
    client, headers = app.test_client(), {**api_token(alpha, "owner"), "Idempotency-Key": "k-1"}
    bad = client.post("/api/v1/stores", json={"code": "", "name": "x"}, headers=headers)
    assert bad.status_code == 422
    # the same key with the same (now fixed) body is a new request: the failed one left nothing behind
    ok = client.post("/api/v1/stores", json={"code": "", "name": "x"} | {"code": "K1"}, headers=headers)
    assert ok.status_code == 201
    assert client.post("/api/v1/stores", json={"code": "K2", "name": "y"},
                       headers={**headers, "Idempotency-Key": "x" * 201}).status_code == 422


def test_the_customer_list_total_counts_only_when_the_page_cannot_tell(two_tenants, api_token, app):
    """A first page that is not full holds every match: its total is the rows' number, without a count statement
    (a search by VIN finds one); a full page or a later one is counted — the same total either way."""
    from .test_query_counts import count_queries

    alpha, _beta = two_tenants
    headers, client = api_token(alpha, "owner"), app.test_client()
    client.get("/api/v1/customers", headers=headers)  # warm the per-process caches
    with count_queries(app) as short:
        whole = client.get("/api/v1/customers?per_page=50", headers=headers).get_json()
    assert whole["total"] == len(whole["items"]) == 3 and whole["next_after_id"] is None
    assert not [s for s in short if "count(" in s.lower()]
    with count_queries(app) as full:
        first = client.get("/api/v1/customers?per_page=2", headers=headers).get_json()
    assert first["total"] == 3 and [s for s in full if "count(" in s.lower()]
    rest = client.get(f"/api/v1/customers?per_page=2&after_id={first['next_after_id']}", headers=headers).get_json()
    assert rest["total"] == 3 and len(rest["items"]) == 1
    found = client.get("/api/v1/customers?q=ALPHA-customer-1&per_page=20", headers=headers).get_json()
    assert found["total"] == len(found["items"]) >= 1
