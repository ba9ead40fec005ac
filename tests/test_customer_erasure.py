"""PIPL erasure of a customer: nothing personal of theirs is left in any tenant table, core or plugin."""
from __future__ import annotations

import pytest
from sqlalchemy import select, text

NAME = "擦除测试顾客"
MOBILE, NATIONAL, DISPLAYED = "+8613912345678", "13912345678", "139 1234 5678"
EMAIL = "erase.me@example.cn"
PLATE = "沪B12345"
MERGED_MOBILE = "+8613711112222"


def _vin() -> str:
    from storecrm.customers.identity import vin_check_digit

    body = "LSVAU2180N2" + "123456"
    return body[:8] + vin_check_digit(body[:8] + "0" + body[9:]) + body[9:]


VIN = _vin()


def _seed(world, in_tenant) -> dict:
    """A customer with every kind of personal data the core and the car-wash plugin keep, plus a record merged in."""
    from storecrm.activities.services import create_task, log_interaction
    from storecrm.assets.services import create_asset
    from storecrm.audit.services import Actor, acting_as
    from storecrm.customers.identities import add
    from storecrm.customers.merging import merge
    from storecrm.customers.services import create_customer, update_customer
    from storecrm.fields.models import FieldDefinition
    from storecrm.files.services import accept_upload
    from storecrm.notifications.outbox import send
    from storecrm.users.models import User
    from storecrm_carwash.services import record_wash
    from tests.test_files import _jpeg

    with in_tenant(world) as session:
        owner = session.get(User, (world.id, world.users["owner"]))
        with acting_as(Actor(owner.id, owner.display_name)):
            session.add_all([FieldDefinition(entity="customer", code="nickname", label_zh="昵称", label_en="Nickname",
                                             type="text"),
                             FieldDefinition(entity="customer", code="photos", label_zh="照片", label_en="Photos",
                                             type="photo")])
            session.flush()
            customer = create_customer(owner, {"name": NAME, "mobile": MOBILE, "email": EMAIL,
                                               "store_id": world.stores[0], "notes": f"{NAME} 喜欢周末来店"})
            photo = accept_upload(owner, f"{NAME}.jpg", _jpeg(), images_only=True)
            update_customer(owner, customer, {"name": NAME, "mobile": MOBILE, "email": EMAIL,
                                              "store_id": world.stores[0], "city": "上海",
                                              "custom": {"nickname": f"{NAME}小名", "photos": [photo.id]}})
            asset = create_asset(owner, customer, {"type": "vehicle", "name": f"{NAME}的车",
                                                   "identifiers": {"vin": VIN, "plate": PLATE}})
            log_interaction(owner, customer, {"kind": "call", "body": f"{NAME} 来电 {NATIONAL}"})
            create_task(owner, {"title": f"回访 {NAME} {DISPLAYED}", "assignee_id": owner.id,
                                "customer_id": customer.id})
            send("sms", MOBILE, "", f"{NAME}您好，您的爱车已洗好", customer=customer)
            record_wash(customer.id, "basic")
            from storecrm.customers.models import Customer

            twin = Customer(name=NAME, store_id=world.stores[0], mobile=MERGED_MOBILE)
            session.add(twin)
            session.flush()
            add(twin, "mobile", MERGED_MOBILE, primary=True)
            merge(customer, twin, {})
            return {"id": customer.id, "twin": twin.id, "photo_key": photo.key, "asset": asset.id}


def _hits(system_db, needles, tenant_id=None) -> list[tuple[str, str, str]]:
    """Every (table, column, needle) where a tenant table's text, varchar, array or JSON column holds a needle."""
    found = []
    with system_db.connect() as conn:
        columns = conn.execute(text(
            "SELECT c.table_name, c.column_name FROM information_schema.columns c "
            "WHERE c.table_schema = 'public' AND (c.data_type IN ('text', 'character varying', 'jsonb', 'json', "
            "'ARRAY', 'character')) AND c.table_name IN (SELECT table_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND column_name = 'tenant_id') ORDER BY 1, 2")).all()
        assert len({t for t, _c in columns}) > 20  # every core table and the plugin's
        for table, column in columns:
            for needle in needles:
                sql = f'SELECT count(*) FROM "{table}" WHERE "{column}"::text ILIKE :n'
                params = {"n": f"%{needle}%"}
                if tenant_id is not None:
                    sql += " AND tenant_id = :t"
                    params["t"] = tenant_id
                if conn.execute(text(sql), params).scalar():
                    found.append((table, column, needle))
    return found


def _rows_of(system_db, tenant_id) -> dict:
    from storecrm.testing.isolation import tenant_tables

    with system_db.connect() as conn:
        return {t: sorted(map(str, conn.execute(text(f'SELECT * FROM "{t}" WHERE tenant_id = :t'), {"t": tenant_id})))
                for t in tenant_tables(conn)}


def test_after_erasure_no_personal_value_is_left_in_any_table(two_tenants, in_tenant, enable_plugin, login, app,
                                                               system_db, api_token):
    alpha, beta = two_tenants
    enable_plugin(alpha, "carwash")
    seeded = _seed(alpha, in_tenant)
    needles = [NAME, MOBILE, NATIONAL, DISPLAYED, EMAIL, VIN, PLATE, MERGED_MOBILE]
    assert {n for _t, _c, n in _hits(system_db, needles, alpha.id)} == set(needles)  # the search does find them
    storage_root = app.config["STORECRM"].var_dir / "uploads"
    assert (storage_root / seeded["photo_key"]).exists()
    beta_before = _rows_of(system_db, beta.id)
    with system_db.connect() as conn:
        other = conn.execute(text("SELECT name, mobile, email FROM customers WHERE tenant_id = :t AND id = :i"),
                             {"t": alpha.id, "i": alpha.customers[0]}).one()

    browser = login(alpha, "owner")
    page = browser.get(f"/t/alpha/customers/{seeded['id']}")
    assert f"/customers/{seeded['id']}/erasure" in page.get_data(as_text=True)
    form = browser.get(f"/t/alpha/customers/{seeded['id']}/erasure")
    assert form.status_code == 200 and 'data-testid="erasure-plan"' in form.get_data(as_text=True)
    done = browser.post(f"/t/alpha/customers/{seeded['id']}/erasure",
                        {"reason": "customer_request", "confirm_name": NAME})
    assert done.status_code == 303, done.get_data(as_text=True)[:500]

    assert _hits(system_db, needles) == []
    assert not (storage_root / seeded["photo_key"]).exists()
    assert _rows_of(system_db, beta.id) == beta_before
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT name, mobile, email FROM customers WHERE tenant_id = :t AND id = :i"),
                            {"t": alpha.id, "i": alpha.customers[0]}).one() == other
        entry = conn.execute(text("SELECT actor_id, summary, after FROM audit_log WHERE tenant_id = :t AND "
                                  "action = 'erase'"), {"t": alpha.id}).one()
        washes = conn.execute(text("SELECT count(*) FROM carwash_washes WHERE tenant_id = :t AND customer_id = :c"),
                              {"t": alpha.id, "c": seeded["id"]}).scalar()
    assert entry.actor_id == alpha.users["owner"] and entry.after["reason"] == "customer_request"
    assert entry.after["merged_ids"] == [seeded["twin"]]
    assert washes == 1  # revenue and loyalty counts keep the wash, which holds nothing personal

    # gone from pages, lists, search and the API; the result page tells the eraser what was done
    assert browser.get(f"/t/alpha/customers/{seeded['id']}").status_code == 404
    assert browser.get(f"/t/alpha/customers/{seeded['twin']}").status_code == 404
    result = browser.get(f"/t/alpha/customers/{seeded['id']}/erasure")
    assert result.status_code == 200 and 'data-testid="erasure-result"' in result.get_data(as_text=True)
    headers = api_token(alpha, "owner")
    client = app.test_client()
    assert client.get(f"/api/v1/customers/{seeded['id']}", headers=headers).status_code == 404
    listed = client.get("/api/v1/customers?per_page=200", headers=headers).get_json()["items"]
    assert seeded["id"] not in {c["id"] for c in listed}
    assert client.get("/api/v1/customers?q=已删除", headers=headers).get_json()["items"] == []

    # the freed mobile and plate identify a new customer
    created = client.post("/api/v1/customers", headers=headers,
                          json={"name": "新顾客", "mobile": NATIONAL, "store_id": alpha.stores[0]})
    assert created.status_code == 201, created.get_data(as_text=True)
    added = client.post(f"/api/v1/customers/{created.get_json()['id']}/identities", headers=headers,
                        json={"kind": "plate", "value": PLATE})
    assert added.status_code == 201


def test_an_advisor_may_not_erase(two_tenants, login, api_token, app, system_db):
    alpha, _beta = two_tenants
    browser = login(alpha, "advisor")
    customer_id = alpha.customers[0]
    page = browser.get(f"/t/alpha/customers/{customer_id}")
    assert page.status_code == 200 and "/erasure" not in page.get_data(as_text=True)
    assert browser.get(f"/t/alpha/customers/{customer_id}/erasure").status_code == 403
    assert browser.post(f"/t/alpha/customers/{customer_id}/erasure",
                        {"reason": "customer_request", "confirm_name": "ALPHA-customer-0"}).status_code == 403
    resp = app.test_client().post(f"/api/v1/customers/{customer_id}/erasure", headers=api_token(alpha, "advisor"),
                                  json={"reason": "customer_request", "confirm_name": "ALPHA-customer-0"})
    assert resp.status_code == 403 and resp.mimetype == "application/problem+json"
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT name FROM customers WHERE tenant_id = :t AND id = :i"),
                            {"t": alpha.id, "i": customer_id}).scalar() == "ALPHA-customer-0"


def test_the_admin_role_holds_the_permission_and_the_manager_does_not(two_tenants, in_tenant):
    from storecrm.access.models import Role

    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        roles = {r.code: r.permissions for r in session.scalars(select(Role))}
    assert "customers.erase" in roles["admin"]
    assert all("customers.erase" not in roles[code] for code in ("manager", "advisor", "technician"))


@pytest.mark.parametrize("form, field", [({"reason": "customer_request", "confirm_name": "someone else"}, "confirm_name"),
                                         ({"reason": "because", "confirm_name": "ALPHA-customer-0"}, "reason")])
def test_a_wrong_confirmation_is_a_field_error_and_changes_nothing(form, field, two_tenants, login, app, system_db,
                                                                  api_token):
    alpha, _beta = two_tenants
    browser = login(alpha, "owner")
    browser.get(f"/t/alpha/customers/{alpha.customers[0]}/erasure")
    headers = api_token(alpha, "owner")
    before = _rows_of(system_db, alpha.id)
    resp = browser.post(f"/t/alpha/customers/{alpha.customers[0]}/erasure", form)
    assert resp.status_code == 422
    assert "is-invalid" in resp.get_data(as_text=True)
    api = app.test_client().post(f"/api/v1/customers/{alpha.customers[0]}/erasure", json=form,
                                 headers=headers)
    assert api.status_code == 422 and api.mimetype == "application/problem+json"
    assert field in str(api.get_json())
    after = _rows_of(system_db, alpha.id)
    for volatile in ("api_tokens", "user_sessions"):  # last used at / seen at of the caller's own sign-in
        after.pop(volatile), before.pop(volatile)
    assert after == before


def test_erasure_through_the_api(two_tenants, in_tenant, app, api_token, system_db):
    alpha, _beta = two_tenants
    headers = api_token(alpha, "admin")
    client = app.test_client()
    customer_id = alpha.customers[1]
    resp = client.post(f"/api/v1/customers/{customer_id}/erasure", headers=headers,
                       json={"reason": "consent_withdrawn", "confirm_name": "ALPHA-customer-1"})
    assert resp.status_code == 200, resp.get_data(as_text=True)
    body = resp.get_json()
    assert body["customer_id"] == customer_id and body["reason"] == "consent_withdrawn"
    assert body["counts"]["identities"] == 2
    assert client.get(f"/api/v1/customers/{customer_id}", headers=headers).status_code == 404
    again = client.post(f"/api/v1/customers/{customer_id}/erasure", headers=headers,
                        json={"reason": "consent_withdrawn", "confirm_name": "ALPHA-customer-1"})
    assert again.status_code == 404
    assert _hits(system_db, ["ALPHA-customer-1", "c1@alpha.example"], alpha.id) == []
    spec = client.get("/api/v1/openapi.json").get_json()
    assert "post" in spec["paths"]["/api/v1/customers/{customer_id}/erasure"]


def test_a_failure_anywhere_erases_nothing(two_tenants, in_tenant, system_db, monkeypatch):
    from storecrm.erasure import services as erasure
    from storecrm.customers.models import Customer
    from storecrm.users.models import User

    alpha, _beta = two_tenants
    before = _rows_of(system_db, alpha.id)

    def broken(*_args, **_kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(erasure, "_anonymise", broken)
    with pytest.raises(RuntimeError):
        with in_tenant(alpha) as session:
            owner = session.get(User, (alpha.id, alpha.users["owner"]))
            customer = session.get(Customer, (alpha.id, alpha.customers[0]))
            erasure.erase_customer(owner, customer, "customer_request", "ALPHA-customer-0")
    assert _rows_of(system_db, alpha.id) == before


def test_the_hook_reaches_only_plugins_enabled_for_the_tenant(two_tenants, in_tenant, enable_plugin, monkeypatch):
    """The car-wash plugin's customer_erasure runs for the tenant that enabled it, not for the other."""
    import storecrm_carwash.services as carwash

    from storecrm.erasure.services import erase_customer
    from storecrm.customers.models import Customer
    from storecrm.users.models import User

    alpha, beta = two_tenants
    enable_plugin(alpha, "carwash")
    called = []
    monkeypatch.setattr(carwash, "erase_customer_data", called.append)
    for world in (alpha, beta):
        with in_tenant(world) as session:
            owner = session.get(User, (world.id, world.users["owner"]))
            customer = session.get(Customer, (world.id, world.customers[0]))
            erase_customer(owner, customer, "customer_request", customer.name)
    assert called == [alpha.customers[0]]
