"""Stores, staff, roles and what each role may see, as store staff use them."""
from sqlalchemy import text


def test_admin_creates_and_edits_a_store_and_it_is_audited(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "admin")
    b.get("/t/alpha/stores/new")
    resp = b.post("/t/alpha/stores/new", {"code": "PD03", "name": "浦东三店", "phone": "021 6438 1234",
                                          "city": "上海", "opens_at": "09:00", "closes_at": "21:00", "active": "1"})
    assert resp.status_code == 302
    listing = b.get("/t/alpha/stores/").get_data(as_text=True)
    assert "浦东三店" in listing and "09:00–21:00" in listing
    with system_db.connect() as conn:
        store_id, phone = conn.execute(text("SELECT id, phone FROM stores WHERE code='PD03'")).one()
        assert phone == "+862164381234"
    resp = b.post(f"/t/alpha/stores/{store_id}", {"code": "PD03", "name": "浦东三店（新）", "opens_at": "10:00",
                                                   "closes_at": "22:00"})
    assert resp.status_code == 302
    with system_db.connect() as conn:
        entries = conn.execute(text("SELECT action, before, after, actor_label FROM audit_log "
                                    "WHERE entity_type='store' AND entity_id=:i ORDER BY id"), {"i": store_id}).all()
    assert [e.action for e in entries] == ["create", "update"]
    update = entries[1]
    assert update.before["name"] == "浦东三店" and update.after["name"] == "浦东三店（新）"
    assert update.after["active"] is False  # the box was left unticked
    assert update.actor_label == "alpha admin"
    audit = b.get("/t/alpha/audit/?entity_type=store&action=update").get_data(as_text=True)
    assert "浦东三店（新）" in audit


def test_store_staff_see_only_their_stores_customers(two_tenants, login):
    alpha, _ = two_tenants
    manager = login(alpha, "manager")  # works in store one
    page = manager.get("/t/alpha/customers/").get_data(as_text=True)
    assert "ALPHA-customer-0" in page and "ALPHA-customer-1" not in page  # customer 1 is in store two
    assert manager.get(f"/t/alpha/customers/{alpha.customers[1]}").status_code == 404
    owner = login(alpha, "owner")
    page = owner.get("/t/alpha/customers/").get_data(as_text=True)
    assert "ALPHA-customer-0" in page and "ALPHA-customer-1" in page


def test_contact_details_are_masked_without_the_permission(two_tenants, login, api_token, app):
    alpha, _ = two_tenants
    tech = login(alpha, "technician")
    page = tech.get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    assert "****" in page and "c0@alpha.example" not in page
    assert tech.get(f"/t/alpha/customers/{alpha.customers[0]}/edit").status_code == 403
    advisor = login(alpha, "advisor")
    page = advisor.get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    assert "c0@alpha.example" in page
    data = app.test_client().get(f"/api/v1/customers/{alpha.customers[0]}", headers=api_token(alpha, "technician")).get_json()
    assert data["masked"] is True and "****" in data["mobile"] and data["email"].startswith("c***@")


def test_roles_gate_pages_and_admin_edits_a_roles_permissions(two_tenants, login, system_db):
    alpha, _ = two_tenants
    tech = login(alpha, "technician")
    assert tech.get("/t/alpha/users/").status_code == 403
    assert tech.get("/t/alpha/stores/new").status_code == 403
    assert tech.get("/t/alpha/audit/").status_code == 403
    nav = tech.get("/t/alpha/").get_data(as_text=True)
    assert "/t/alpha/audit/" not in nav and "/t/alpha/customers/" in nav
    admin = login(alpha, "admin")
    admin.get(f"/t/alpha/roles/{alpha.roles['technician']}")
    resp = admin.post(f"/t/alpha/roles/{alpha.roles['technician']}", {
        "name": "技师", "data_scope": "stores", "permissions": ["customers.view", "audit.view"]})
    assert resp.status_code == 302
    assert tech.get("/t/alpha/audit/").status_code == 200
    assert admin.get(f"/t/alpha/roles/{alpha.roles['owner']}").status_code == 200
    assert admin.post(f"/t/alpha/roles/{alpha.roles['owner']}", {"name": "x"}).status_code == 403


def test_custom_role_and_new_staff_member(two_tenants, login, browser):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    admin.get("/t/alpha/roles/new")
    assert admin.post("/t/alpha/roles/new", {"code": "cashier", "name": "收银员", "data_scope": "stores",
                                             "permissions": "customers.view"}).status_code == 302
    roles = admin.get("/t/alpha/roles/").get_data(as_text=True)
    assert "收银员" in roles
    import re

    role_id = re.search(r'/t/alpha/roles/(\d+)">收银员', roles).group(1)
    resp = admin.post("/t/alpha/users/new", {"display_name": "小王", "mobile": "139 1234 5678", "role_id": role_id,
                                             "store_ids": str(alpha.stores[1]), "password": "shop-floor-2026",
                                             "active": "1"})
    assert resp.status_code == 302
    cashier = browser()
    cashier.get("/t/alpha/login")
    assert cashier.post("/t/alpha/login", {"login": "13912345678", "password": "shop-floor-2026"}).status_code == 302
    page = cashier.get("/t/alpha/customers/").get_data(as_text=True)
    assert "ALPHA-customer-1" in page and "ALPHA-customer-0" not in page  # store two only
    assert "****" in page


def test_only_an_owner_may_grant_the_owner_role(two_tenants, login):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    admin.get("/t/alpha/users/new")
    resp = admin.post("/t/alpha/users/new", {"display_name": "X", "email": "x@alpha.test", "password": "long-enough-pw",
                                             "role_id": str(alpha.roles["owner"])})
    assert resp.status_code == 422 and 'data-error-for="role_id"' in resp.get_data(as_text=True)


def test_tenant_settings_change_language_and_time_zone(two_tenants, login, system_db):
    alpha, beta = two_tenants
    owner = login(alpha, "owner")
    owner.get("/t/alpha/settings/")
    resp = owner.post("/t/alpha/settings/", {"name": "阿尔法连锁", "locale": "zh_CN", "timezone": "Asia/Hong_Kong",
                                             "currency": "HKD"})
    assert resp.status_code == 302
    with system_db.connect() as conn:
        rows = dict(conn.execute(text("SELECT slug, timezone FROM tenants")).all())
    assert rows == {"alpha": "Asia/Hong_Kong", "beta": "Asia/Shanghai"}
    assert "阿尔法连锁" in owner.get("/t/alpha/").get_data(as_text=True)


def test_store_switcher_narrows_lists_to_one_store(two_tenants, login):
    alpha, _ = two_tenants
    owner = login(alpha, "owner")
    owner.get("/t/alpha/")
    owner.post("/t/alpha/store", {"store_id": str(alpha.stores[1]), "next": "/t/alpha/customers/"})
    page = owner.get("/t/alpha/customers/").get_data(as_text=True)
    assert "ALPHA-customer-1" in page and "ALPHA-customer-0" not in page
    owner.post("/t/alpha/store", {"store_id": ""})
    page = owner.get("/t/alpha/customers/").get_data(as_text=True)
    assert "ALPHA-customer-0" in page


def test_customer_created_from_any_phone_format_is_one_record(two_tenants, login, system_db):
    alpha, _ = two_tenants
    advisor = login(alpha, "advisor")
    advisor.get("/t/alpha/customers/new")
    first = advisor.post("/t/alpha/customers/new", {"name": "李雷", "mobile": "138 0013 8000",
                                                   "store_id": str(alpha.stores[0])})
    assert first.status_code == 302
    for fmt in ("+86 13800138000", "13800138000"):
        again = advisor.post("/t/alpha/customers/new", {"name": "李雷", "mobile": fmt, "store_id": str(alpha.stores[0])})
        assert again.status_code == 422
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers WHERE mobile = '+8613800138000'")).scalar() == 1
    found = advisor.get("/t/alpha/search?q=0013 8000").get_data(as_text=True)
    assert "李雷" in found


def test_store_staff_see_only_colleagues_of_their_stores(two_tenants, login, in_tenant):
    alpha, _ = two_tenants
    from storecrm.users.models import UserStore

    with in_tenant(alpha) as session:
        session.query(UserStore).filter_by(user_id=alpha.users["advisor"]).update({"store_id": alpha.stores[1]})
    page = login(alpha, "manager").get("/t/alpha/users/").get_data(as_text=True)
    assert "alpha technician" in page and "alpha advisor" not in page
    assert "alpha advisor" in login(alpha, "admin").get("/t/alpha/users/").get_data(as_text=True)


def test_a_suspended_workspace_is_closed_but_kept(two_tenants, login, system_db, api_token, app):
    alpha, _ = two_tenants
    headers = api_token(alpha, "owner")
    b = login(alpha, "owner")
    with system_db.begin() as conn:
        conn.execute(text("UPDATE tenants SET status = 'suspended' WHERE id = :t"), {"t": alpha.id})
    resp = b.get("/t/alpha/customers/")
    assert resp.status_code == 403 and "suspended" in resp.get_data(as_text=True)
    assert app.test_client().get("/api/v1/me", headers=headers).status_code == 403
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers WHERE tenant_id = :t"), {"t": alpha.id}).scalar() == 3
