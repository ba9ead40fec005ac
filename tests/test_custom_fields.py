"""Custom fields: defined in the UI, then in the form, the list filter, the API, export and import."""
import io

from openpyxl import load_workbook
from sqlalchemy import text


def _define(b, **form):
    b.get("/t/alpha/fields/new")
    return b.post("/t/alpha/fields/new", form)


def _setup_fields(b):
    assert _define(b, code="music_style", label_zh="音乐风格", label_en="Music style", type="select",
                   options="人声，摇滚, 古典").status_code == 302
    assert _define(b, code="budget", label_zh="预算", label_en="Budget", type="money", required="1").status_code == 302
    assert _define(b, code="fleet", label_zh="车队客户", label_en="Fleet", type="bool").status_code == 302


def test_admin_defines_fields_and_staff_fill_them_in(two_tenants, login, system_db):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    _setup_fields(admin)
    bad = _define(admin, code="Bad Code", label_zh="", label_en="x", type="select")
    assert bad.status_code == 422
    for field in ("code", "label_zh", "options"):
        assert f'data-error-for="{field}"' in bad.get_data(as_text=True)
    advisor = login(alpha, "advisor")
    form_page = advisor.get("/t/alpha/customers/new").get_data(as_text=True)
    assert 'name="cf_music_style"' in form_page and "摇滚" in form_page
    base = {"name": "周杰", "store_id": str(alpha.stores[0])}
    missing = advisor.post("/t/alpha/customers/new", {**base, "cf_music_style": "爵士", "cf_budget": "lots"})
    assert missing.status_code == 422
    html = missing.get_data(as_text=True)
    assert 'data-error-for="cf_music_style"' in html and 'data-error-for="cf_budget"' in html
    ok = advisor.post("/t/alpha/customers/new", {**base, "cf_music_style": "摇滚", "cf_budget": "12000",
                                                 "cf_fleet": "1"})
    assert ok.status_code == 302
    with system_db.connect() as conn:
        custom = conn.execute(text("SELECT custom FROM customers WHERE name='周杰'")).scalar()
    assert custom == {"music_style": "摇滚", "budget": "12000.00", "fleet": True}
    page = advisor.get(ok.headers["Location"]).get_data(as_text=True)
    assert 'data-custom="music_style">摇滚' in page
    listed = advisor.get("/t/alpha/customers/?cf_music_style=摇滚").get_data(as_text=True)
    assert "周杰" in listed and "ALPHA-customer-0" not in listed
    assert "周杰" in advisor.get("/t/alpha/customers/?cf_fleet=1").get_data(as_text=True)


def test_custom_fields_through_the_api_export_and_import(two_tenants, login, api_token, app, system_db):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    _setup_fields(admin)
    client, headers = app.test_client(), api_token(alpha, "advisor")
    bad = client.post("/api/v1/customers", json={"name": "X", "store_id": alpha.stores[0],
                                                 "custom": {"budget": "abc", "nope": 1}}, headers=headers)
    assert bad.status_code == 422 and "custom.budget" in bad.get_json()["errors"]
    created = client.post("/api/v1/customers", json={"name": "林俊", "store_id": alpha.stores[0],
                                                     "custom": {"budget": 8800, "music_style": "古典"}}, headers=headers)
    assert created.status_code == 201 and created.get_json()["custom"] == {"budget": "8800.00", "music_style": "古典"}
    patched = client.patch(f"/api/v1/customers/{created.get_json()['id']}", json={"custom": {"budget": "9000"}},
                           headers=headers)
    assert patched.status_code == 200 and patched.get_json()["custom"]["budget"] == "9000.00"
    found = client.get("/api/v1/customers?cf=music_style=古典", headers=headers).get_json()
    assert [c["name"] for c in found["items"]] == ["林俊"]
    assert client.get("/api/v1/customers?cf=nope=1", headers=headers).status_code == 422
    sheet = load_workbook(io.BytesIO(admin.client.get("/t/alpha/customers/export.xlsx?cf_music_style=古典").data)).active
    header, row = [c.value for c in sheet[1]], [c.value for c in sheet[2]]
    assert "Budget" in header and row[header.index("Budget")] == "9000.00"
    # import recognises the custom columns by their labels
    from tests.test_imports import _import, _run_worker, _workbook  # noqa: F401

    admin.get("/t/alpha/imports/")
    _import(admin, _workbook([["导入甲", "13800000011", "5000", "人声"], ["导入乙", "13800000012", "x", "人声"]],
                             headers=["姓名", "手机", "预算", "音乐风格"]))
    with system_db.connect() as conn:
        customs = dict(conn.execute(text("SELECT name, custom FROM customers WHERE name LIKE '导入%'")).all())
        errors = conn.execute(text("SELECT messages FROM import_row_errors")).scalars().all()
    assert customs == {"导入甲": {"budget": "5000.00", "music_style": "人声"}}
    assert "custom.budget" in errors[0]


def test_archiving_a_field_keeps_values_and_hidden_fields_stay_hidden(two_tenants, login, in_tenant, system_db):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    _setup_fields(admin)
    assert _define(admin, code="credit", label_zh="信用额度", label_en="Credit line", type="number",
                   visible_roles="manager").status_code == 302
    from storecrm.customers.models import Customer

    with in_tenant(alpha) as session:
        session.get(Customer, (alpha.id, alpha.customers[0])).custom = {"budget": "100.00", "credit": 5}
    advisor = login(alpha, "advisor")
    page = advisor.get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    assert "Credit line" not in page and "信用额度" not in page
    manager = login(alpha, "manager")
    assert "Credit line" in manager.get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    # an advisor saving the customer does not wipe the credit line they cannot see
    advisor.get(f"/t/alpha/customers/{alpha.customers[0]}/edit")
    resp = advisor.post(f"/t/alpha/customers/{alpha.customers[0]}/edit", {
        "name": "ALPHA-customer-0", "store_id": str(alpha.stores[0]), "cf_budget": "200"})
    assert resp.status_code == 302
    with system_db.connect() as conn:
        field_id = conn.execute(text("SELECT id FROM field_definitions WHERE code='budget'")).scalar()
    admin.get("/t/alpha/fields/")
    assert admin.post(f"/t/alpha/fields/{field_id}/archive", {"archived": "1"}).status_code == 302
    with system_db.connect() as conn:
        custom = conn.execute(text("SELECT custom FROM customers WHERE id=:i"), {"i": alpha.customers[0]}).scalar()
    assert custom == {"budget": "200.00", "credit": 5, "fleet": False}  # the unticked box is a "no"
    assert "Budget" not in advisor.get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
