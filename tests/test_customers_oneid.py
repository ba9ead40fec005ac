"""One person, one record: identities, matching on create, merge and unmerge, duplicate finder."""
import re

import pytest
from sqlalchemy import text

FORMATS = ("138 0013 8000", "+86 13800138000", "13800138000")


def _count(system_db, tenant_id, mobile="+8613800138000"):
    with system_db.connect() as conn:
        return conn.execute(text("SELECT count(*) FROM customers WHERE tenant_id=:t AND mobile=:m AND deleted_at IS NULL"),
                            {"t": tenant_id, "m": mobile}).scalar()


def _set_policy(in_tenant, world, policy):
    from storecrm.tenancy.models import Tenant

    with in_tenant(world) as session:
        tenant = session.get(Tenant, world.id)
        tenant.settings = {**(tenant.settings or {}), "duplicate_policy": policy}


def test_three_phone_formats_through_the_ui_make_one_customer(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "advisor")
    b.get("/t/alpha/customers/new")
    responses = [b.post("/t/alpha/customers/new", {"name": "李雷", "mobile": m, "store_id": str(alpha.stores[0])})
                 for m in FORMATS]
    assert [r.status_code for r in responses] == [302, 422, 422]
    page = responses[1].get_data(as_text=True)
    assert 'data-testid="duplicates"' in page and "李雷" in page
    assert _count(system_db, alpha.id) == 1


def test_three_phone_formats_through_the_api_make_one_customer(two_tenants, api_token, app, system_db, in_tenant):
    alpha, _ = two_tenants
    client, headers = app.test_client(), api_token(alpha, "owner")
    first = client.post("/api/v1/customers", json={"name": "韩梅梅", "mobile": FORMATS[0], "store_id": alpha.stores[0]},
                        headers=headers)
    assert first.status_code == 201
    again = client.post("/api/v1/customers", json={"name": "韩梅梅", "mobile": FORMATS[1], "store_id": alpha.stores[0]},
                        headers=headers)
    assert again.status_code == 409 and again.get_json()["existing_customer_ids"] == [first.get_json()["id"]]
    _set_policy(in_tenant, alpha, "merge")
    folded = client.post("/api/v1/customers", json={"name": "韩梅梅", "mobile": FORMATS[2], "city": "上海",
                                                    "store_id": alpha.stores[0]}, headers=headers)
    assert folded.status_code == 200 and folded.get_json()["matched_existing"] is True
    assert folded.get_json()["id"] == first.get_json()["id"] and folded.get_json()["city"] == "上海"
    assert _count(system_db, alpha.id) == 1


def test_the_same_phone_in_another_tenant_is_another_customer(two_tenants, api_token, app, system_db):
    alpha, beta = two_tenants
    for world in (alpha, beta):
        resp = app.test_client().post("/api/v1/customers", json={"name": "王芳", "mobile": FORMATS[0],
                                                                 "store_id": world.stores[0]},
                                      headers=api_token(world, "owner"))
        assert resp.status_code == 201
    assert _count(system_db, alpha.id) == _count(system_db, beta.id) == 1


def test_identities_are_validated_unique_and_searchable(two_tenants, login):
    alpha, _ = two_tenants
    b = login(alpha, "advisor")
    url = f"/t/alpha/customers/{alpha.customers[0]}"
    b.get(url)
    assert b.post(url + "/identities", {"kind": "plate", "value": "沪a·d12345"}).status_code == 302
    assert b.post(url + "/identities", {"kind": "vin", "value": "LSVAA4182E2184847"}).status_code == 302
    bad_vin = b.post(url + "/identities", {"kind": "vin", "value": "LSVAA4182E2184848"})
    assert bad_vin.status_code == 422 and "check digit" in bad_vin.get_data(as_text=True)
    other = f"/t/alpha/customers/{alpha.customers[2]}"
    taken = b.post(other + "/identities", {"kind": "plate", "value": "沪AD12345"})
    assert taken.status_code == 422 and "ALPHA-customer-0" in taken.get_data(as_text=True)
    page = b.get(url).get_data(as_text=True)
    assert "沪AD12345" in page and "LSVAA4182E2184847" in page
    for query in ("沪AD12345", "ad123", "2184847"):
        assert "ALPHA-customer-0" in b.get(f"/t/alpha/search?q={query}").get_data(as_text=True), query


def test_identities_are_hidden_from_roles_without_contact_permission(two_tenants, login, api_token, app):
    alpha, _ = two_tenants
    tech = login(alpha, "technician")
    page = tech.get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    assert "c0@alpha.example" not in page and "identities (hidden for your role)" in page
    resp = app.test_client().get(f"/api/v1/customers/{alpha.customers[0]}/identities",
                                 headers=api_token(alpha, "technician"))
    assert resp.status_code == 403


def test_merge_with_survivorship_then_unmerge(two_tenants, login, system_db):
    alpha, _ = two_tenants
    keep, gone = alpha.customers[0], alpha.customers[2]
    b = login(alpha, "manager")  # store one: customers 0 and 2
    side_by_side = b.get(f"/t/alpha/customers/{keep}/merge?other_id={gone}")
    assert side_by_side.status_code == 200 and "ALPHA-customer-2" in side_by_side.get_data(as_text=True)
    resp = b.post(f"/t/alpha/customers/{keep}/merge", {"other_id": str(gone), "choice_name": "merged"})
    assert resp.status_code == 302
    with system_db.connect() as conn:
        name = conn.execute(text("SELECT name FROM customers WHERE id=:i"), {"i": keep}).scalar()
        owners = conn.execute(text("SELECT DISTINCT customer_id FROM customer_identities WHERE tenant_id=:t AND "
                                   "value IN ('c0@alpha.example', 'c2@alpha.example')"), {"t": alpha.id}).scalars().all()
    assert name == "ALPHA-customer-2" and owners == [keep]
    old_link = b.get(f"/t/alpha/customers/{gone}")
    assert old_link.status_code == 302 and old_link.headers["Location"].endswith(f"/customers/{keep}")
    page = b.get(f"/t/alpha/customers/{keep}").get_data(as_text=True)
    merge_id = re.search(r"/customers/merges/(\d+)/undo", page).group(1)
    assert b.post(f"/t/alpha/customers/merges/{merge_id}/undo").status_code == 302
    with system_db.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, name FROM customers WHERE id IN (:a, :b) AND deleted_at IS NULL"),
                                 {"a": keep, "b": gone}).all())
        owner_of_c2 = conn.execute(text("SELECT customer_id FROM customer_identities WHERE value='c2@alpha.example'")
                                   ).scalar()
        actions = conn.execute(text("SELECT action FROM audit_log WHERE entity_type='customer' AND action IN "
                                    "('merge', 'unmerge') ORDER BY id")).scalars().all()
    assert rows == {keep: "ALPHA-customer-0", gone: "ALPHA-customer-2"} and owner_of_c2 == gone
    assert actions == ["merge", "unmerge"]
    assert b.post(f"/t/alpha/customers/merges/{merge_id}/undo").status_code == 302  # refused politely, not 500


def test_merge_through_the_api(two_tenants, api_token, app):
    alpha, _ = two_tenants
    client, headers = app.test_client(), api_token(alpha, "owner")
    url = f"/api/v1/customers/{alpha.customers[0]}/merge"
    assert client.post(url, json={"other_id": alpha.customers[0]}, headers=headers).status_code == 422
    assert client.post(url, json={"other_id": alpha.customers[1], "choices": {"nope": "merged"}},
                       headers=headers).status_code == 422
    done = client.post(url, json={"other_id": alpha.customers[1], "choices": {"email": "merged"}}, headers=headers)
    assert done.status_code == 201
    customer = client.get(f"/api/v1/customers/{alpha.customers[0]}", headers=headers).get_json()
    assert customer["email"] == "c1@alpha.example"
    assert client.get(f"/api/v1/customers/{alpha.customers[1]}", headers=headers).status_code == 404
    undo = client.post(f"/api/v1/customers/merges/{done.get_json()['id']}/undo", headers=headers)
    assert undo.status_code == 200 and undo.get_json()["undone_at"]
    assert client.get(f"/api/v1/customers/{alpha.customers[1]}", headers=headers).status_code == 200


def test_duplicate_finder_lists_same_name_same_store(two_tenants, login, in_tenant):
    alpha, _ = two_tenants
    from storecrm.customers.models import Customer

    with in_tenant(alpha) as session:
        session.add(Customer(name="alpha-customer-0", store_id=alpha.stores[0]))  # same name, other case
        session.add(Customer(name="独一无二", store_id=alpha.stores[0]))
    page = login(alpha, "owner").get("/t/alpha/customers/duplicates").get_data(as_text=True)
    assert page.count('data-testid="duplicate-group"') == 1
    assert "ALPHA-customer-0" in page and "alpha-customer-0" in page and "独一无二" not in page


@pytest.mark.parametrize("policy", ["propose", "merge"])
def test_duplicate_policy_is_a_tenant_setting(policy, two_tenants, login, system_db):
    alpha, _ = two_tenants
    owner = login(alpha, "owner")
    owner.get("/t/alpha/settings/")
    resp = owner.post("/t/alpha/settings/", {"name": "Chain ALPHA", "locale": "en", "timezone": "Asia/Shanghai",
                                             "currency": "CNY", "duplicate_policy": policy})
    assert resp.status_code == 302
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT settings->>'duplicate_policy' FROM tenants WHERE id=:t"),
                            {"t": alpha.id}).scalar() == policy


def test_owners_of_a_batch_of_identities_finds_this_tenants_and_only_theirs(two_tenants, in_tenant):
    """The import's One-ID look-up of a whole batch (pairs joined to the unique index): each pair's owner, none for
    unknown pairs or another tenant's, the same value under two kinds kept apart."""
    from storecrm.customers.identities import owners
    from storecrm.customers.models import CustomerIdentity

    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        session.add_all([CustomerIdentity(customer_id=alpha.customers[0], kind="plate", value="沪A12345"),
                         CustomerIdentity(customer_id=alpha.customers[1], kind="vin", value="LBV3A5109EMA12345")])
    with in_tenant(beta) as session:
        session.add(CustomerIdentity(customer_id=beta.customers[0], kind="plate", value="沪B99999"))
    with in_tenant(alpha):
        found = owners([("plate", "沪A12345"), ("vin", "LBV3A5109EMA12345"), ("plate", "LBV3A5109EMA12345"),
                        ("plate", "沪B99999"), ("plate", "沪C00000")] + [("plate", f"京A{i:05d}") for i in range(600)])
    assert found == {("plate", "沪A12345"): alpha.customers[0], ("vin", "LBV3A5109EMA12345"): alpha.customers[1]}
