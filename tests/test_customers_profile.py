"""The customer profile: person or company, status, level, tags, owner, PIPL marketing consent, filters."""
from sqlalchemy import text


def test_profile_fields_tags_and_consent_are_kept(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "advisor")
    b.get("/t/alpha/customers/new")
    resp = b.post("/t/alpha/customers/new", {
        "kind": "company", "name": "上海申通物流", "contact_name": "周经理", "status": "active", "level": "VIP",
        "tags": "车队客户，大客户, 车队客户", "owner_id": str(alpha.users["advisor"]), "consent_sms": "1",
        "consent_source": "门店纸质同意书", "store_id": str(alpha.stores[0]), "mobile": "139 1111 2222"})
    assert resp.status_code == 302, resp.get_data(as_text=True)[-2000:]
    with system_db.connect() as conn:
        row = conn.execute(text("SELECT id, kind, tags, consents, owner_id FROM customers WHERE name='上海申通物流'")).one()
    assert row.kind == "company" and row.tags == ["车队客户", "大客户"] and row.owner_id == alpha.users["advisor"]
    assert row.consents["sms"]["granted"] is True and row.consents["sms"]["source"] == "门店纸质同意书"
    assert "wechat" not in row.consents  # nobody asked about WeChat: no decision is recorded in anyone's name
    page = b.get(f"/t/alpha/customers/{row.id}").get_data(as_text=True)
    assert "周经理" in page and "车队客户" in page and "门店纸质同意书" in page
    # withdrawing consent is recorded with a new time
    b.get(f"/t/alpha/customers/{row.id}/edit")
    b.post(f"/t/alpha/customers/{row.id}/edit", {"kind": "company", "name": "上海申通物流", "status": "active",
                                                 "store_id": str(alpha.stores[0]), "mobile": "139 1111 2222",
                                                 "consent_source": "电话撤回"})
    with system_db.connect() as conn:
        consents = conn.execute(text("SELECT consents FROM customers WHERE id=:i"), {"i": row.id}).scalar()
    assert consents["sms"]["granted"] is False and consents["sms"]["source"] == "电话撤回"


def test_list_filters_by_tag_status_and_owner(two_tenants, login, in_tenant, api_token, app):
    alpha, _ = two_tenants
    from storecrm.customers.models import Customer

    with in_tenant(alpha) as session:
        c0 = session.get(Customer, (alpha.id, alpha.customers[0]))
        c0.tags, c0.owner_id = ["VIP"], alpha.users["manager"]
        session.get(Customer, (alpha.id, alpha.customers[1])).status = "lost"
    b = login(alpha, "owner")
    tagged = b.get("/t/alpha/customers/?tag=VIP").get_data(as_text=True)
    assert "ALPHA-customer-0" in tagged and "ALPHA-customer-1" not in tagged
    lost = b.get("/t/alpha/customers/?status=lost").get_data(as_text=True)
    assert "ALPHA-customer-1" in lost and "ALPHA-customer-0" not in lost
    owned = b.get(f"/t/alpha/customers/?owner={alpha.users['manager']}").get_data(as_text=True)
    assert "ALPHA-customer-0" in owned and "ALPHA-customer-2" not in owned
    api = app.test_client().get("/api/v1/customers?tag=VIP", headers=api_token(alpha, "owner")).get_json()
    assert [c["name"] for c in api["items"]] == ["ALPHA-customer-0"] and api["items"][0]["tags"] == ["VIP"]
    assert app.test_client().get("/api/v1/customers?status=gone", headers=api_token(alpha, "owner")).status_code == 422


def test_bad_profile_input_is_refused(two_tenants, login, api_token, app):
    alpha, _ = two_tenants
    b = login(alpha, "advisor")
    b.get("/t/alpha/customers/new")
    resp = b.post("/t/alpha/customers/new", {"name": "X", "store_id": str(alpha.stores[0]), "kind": "robot",
                                             "status": "zombie", "tags": "x" * 41, "owner_id": "999999"})
    html = resp.get_data(as_text=True)
    assert resp.status_code == 422
    for field in ("kind", "status", "tags"):
        assert f'data-error-for="{field}"' in html, field
    resp = app.test_client().post("/api/v1/customers", json={"name": "X", "store_id": alpha.stores[0],
                                                             "owner_id": 999999, "tags": [1, 2]},
                                  headers=api_token(alpha, "owner"))
    assert resp.status_code == 422 and "tags" in resp.get_json()["errors"]
    resp = app.test_client().post("/api/v1/customers", json={"name": "X", "store_id": alpha.stores[0], "owner_id": 999999},
                                  headers=api_token(alpha, "owner"))
    assert resp.status_code == 422 and "owner_id" in resp.get_json()["errors"]


def test_bulk_tag_and_assign_owner_on_selected_customers(two_tenants, login, system_db):
    alpha, beta = two_tenants
    b = login(alpha, "manager")  # store one: customers 0 and 2
    b.get("/t/alpha/customers/")
    ids = [str(alpha.customers[0]), str(alpha.customers[2]), str(alpha.customers[1]), str(beta.customers[0])]
    resp = b.post("/t/alpha/customers/bulk", {"action": "add_tag", "value": "春节活动", "ids": ids})
    assert resp.status_code == 302
    with system_db.connect() as conn:
        tagged = set(conn.execute(text("SELECT id FROM customers WHERE '春节活动' = ANY(tags)")).scalars())
    assert tagged == {alpha.customers[0], alpha.customers[2]}  # store two's and tenant B's ids were ignored
    b.post("/t/alpha/customers/bulk", {"action": "assign_owner", "value": str(alpha.users["advisor"]),
                                       "ids": [str(alpha.customers[0])]})
    b.post("/t/alpha/customers/bulk", {"action": "remove_tag", "value": "春节活动", "ids": [str(alpha.customers[2])]})
    with system_db.connect() as conn:
        rows = dict(conn.execute(text("SELECT id, owner_id FROM customers WHERE id IN (:a, :b)"),
                                 {"a": alpha.customers[0], "b": alpha.customers[2]}).all())
        tagged = set(conn.execute(text("SELECT id FROM customers WHERE '春节活动' = ANY(tags)")).scalars())
    assert rows[alpha.customers[0]] == alpha.users["advisor"] and tagged == {alpha.customers[0]}
    for bad in ({"action": "explode", "value": "x", "ids": ids}, {"action": "add_tag", "value": "", "ids": ids},
                {"action": "add_tag", "value": "x", "ids": []},
                {"action": "assign_owner", "value": "999999", "ids": ids}):
        resp = b.post("/t/alpha/customers/bulk", bad)
        assert resp.status_code == 303
        assert "alert-danger" in b.get(resp.headers["Location"]).get_data(as_text=True)


def test_saved_views_personal_and_shared(two_tenants, login):
    alpha, _ = two_tenants
    owner = login(alpha, "owner")
    owner.get("/t/alpha/customers/?status=lost")
    resp = owner.post("/t/alpha/customers/views", {"view_name": "流失客户", "current": "/t/alpha/customers/?status=lost",
                                                    "shared": "1"})
    assert resp.status_code == 302 and "status=lost" in resp.headers["Location"]
    owner.post("/t/alpha/customers/views", {"view_name": "我的VIP", "current": "/t/alpha/customers/?tag=VIP"})
    page = owner.get("/t/alpha/customers/").get_data(as_text=True)
    assert "流失客户" in page and "我的VIP" in page
    other = login(alpha, "advisor").get("/t/alpha/customers/").get_data(as_text=True)
    assert "流失客户" in other and "我的VIP" not in other
    assert owner.post("/t/alpha/customers/views", {"view_name": "", "current": "/"}).status_code == 303


def test_a_form_posted_as_a_browser_sends_it_saves(two_tenants, login):
    """Browsers send "" for an untouched select, date or number input; that means "no value", not an error."""
    alpha, _ = two_tenants
    b = login(alpha, "advisor")
    b.get(f"/t/alpha/customers/{alpha.customers[0]}/edit")
    resp = b.post(f"/t/alpha/customers/{alpha.customers[0]}/edit", {
        "kind": "person", "status": "active", "level": "", "name": "ALPHA-customer-0", "contact_name": "",
        "mobile": "", "email": "", "gender": "", "birthday": "", "store_id": str(alpha.stores[0]), "source": "",
        "city": "", "address": "", "tags": "", "owner_id": "", "consent_source": "", "notes": ""},
        content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
