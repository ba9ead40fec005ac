"""Photo, file and reference custom fields: uploads checked by content, thumbnails, served to the owning tenant
only; custom fields on assets; list sorting and exports of filtered views."""
import io
import re

from PIL import Image
from sqlalchemy import text


def _jpeg(size=(1200, 800), color=(200, 30, 30)) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", size, color).save(out, "JPEG")
    return out.getvalue()


def _define(b, **form):
    b.get("/t/alpha/fields/new")
    return b.post("/t/alpha/fields/new", form)


def _count(system_db, table):
    with system_db.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def test_photos_taken_in_the_customer_form_get_thumbnails_and_stay_in_their_tenant(two_tenants, login, system_db):
    alpha, beta = two_tenants
    admin = login(alpha, "admin")
    assert _define(admin, code="car_photos", label_zh="车辆照片", label_en="Car photos",
                   type="photo").status_code == 302
    advisor = login(alpha, "advisor")
    form = advisor.get("/t/alpha/customers/new").get_data(as_text=True)
    assert 'name="cf_car_photos__upload"' in form and 'capture="environment"' in form
    resp = advisor.post("/t/alpha/customers/new", {
        "name": "拍照客户", "store_id": str(alpha.stores[0]),
        "cf_car_photos__upload": [(io.BytesIO(_jpeg()), "front.jpg"), (io.BytesIO(_jpeg((600, 900))), "side.jpg")]},
        content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[:2000]
    with system_db.connect() as conn:
        ids = conn.execute(text("SELECT custom->'car_photos' FROM customers WHERE name='拍照客户'")).scalar()
        rows = conn.execute(text("SELECT filename, content_type, width, height, tenant_id FROM stored_files "
                                 "ORDER BY id")).all()
    assert len(ids) == 2
    assert [(r.filename, r.content_type, r.width, r.height) for r in rows] == [
        ("front.jpg", "image/jpeg", 1200, 800), ("side.jpg", "image/jpeg", 600, 900)]
    page = advisor.get(resp.headers["Location"]).get_data(as_text=True)
    assert f'/t/alpha/files/{ids[0]}/thumbnail' in page
    thumb = advisor.client.get(f"/t/alpha/files/{ids[0]}/thumbnail")
    assert thumb.status_code == 200 and thumb.mimetype == "image/jpeg"
    assert max(Image.open(io.BytesIO(thumb.data)).size) <= 360
    full = advisor.client.get(f"/t/alpha/files/{ids[0]}")
    assert full.status_code == 200 and full.data == _jpeg() and "private" in full.headers["Cache-Control"]
    # served only to the owning tenant: beta's staff and anonymous visitors get nothing
    other = login(beta, "admin")
    assert other.client.get(f"/t/beta/files/{ids[0]}").status_code == 404
    assert other.client.get(f"/t/beta/files/{ids[0]}/thumbnail").status_code == 404
    anonymous = admin.app.test_client()
    assert anonymous.get(f"/t/alpha/files/{ids[0]}").status_code in (302, 401)
    # editing keeps the photos that stay ticked and drops the others
    customer_id = int(resp.headers["Location"].rstrip("/").rsplit("/", 1)[1])
    edit = advisor.get(f"/t/alpha/customers/{customer_id}/edit").get_data(as_text=True)
    assert f'name="cf_car_photos" value="{ids[1]}" checked' in edit
    kept = advisor.post(f"/t/alpha/customers/{customer_id}/edit", {
        "name": "拍照客户", "store_id": str(alpha.stores[0]), "cf_car_photos": str(ids[1])},
        content_type="multipart/form-data")
    assert kept.status_code == 302
    with system_db.connect() as conn:
        assert conn.execute(text(f"SELECT custom->'car_photos' FROM customers WHERE id={customer_id}")).scalar() \
            == [ids[1]]


def test_refused_uploads_say_why_and_save_nothing(two_tenants, login, system_db):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    _define(admin, code="car_photos", label_zh="车辆照片", label_en="Car photos", type="photo", required="1")
    before = _count(system_db, "customers")
    bomb = io.BytesIO()
    Image.new("1", (12000, 12000)).save(bomb, "PNG")  # 144 MP in a few KB
    cases = [(b"MZ\x90\x00 not a photo", "virus.jpg", "Only photos"),
             (b"%PDF-1.7 a document", "scan.pdf", "Only photos"),
             (bomb.getvalue(), "bomb.png", "too large"),
             (b"", "empty.jpg", None)]
    for data, name, reason in cases:
        resp = admin.post("/t/alpha/customers/new", {
            "name": "坏照片", "store_id": str(alpha.stores[0]), "cf_car_photos__upload": (io.BytesIO(data), name)},
            content_type="multipart/form-data")
        assert resp.status_code == 422, name
        html = resp.get_data(as_text=True)
        assert 'data-error-for="cf_car_photos"' in html
        if reason:
            assert reason in html, name
    assert _count(system_db, "customers") == before
    assert _count(system_db, "stored_files") == 0
    # the same refusal in Chinese
    admin.post("/t/alpha/language", {"locale": "zh_CN"})
    zh = admin.post("/t/alpha/customers/new", {
        "name": "坏照片", "store_id": str(alpha.stores[0]),
        "cf_car_photos__upload": (io.BytesIO(b"MZ not a photo"), "x.jpg")}, content_type="multipart/form-data")
    assert zh.status_code == 422, zh.status_code
    html = zh.get_data(as_text=True)
    assert "只能上传照片" in html, re.findall(r"invalid-feedback[^<]*<", html)


def test_files_and_references_through_the_api(two_tenants, login, api_token, app, system_db):
    alpha, beta = two_tenants
    admin = login(alpha, "admin")
    _define(admin, code="invoice", label_zh="发票", label_en="Invoice", type="file")
    _define(admin, code="referrer", label_zh="介绍人", label_en="Referred by", type="ref_customer")
    _define(admin, code="advisor", label_zh="专属顾问", label_en="Advisor", type="ref_user")
    client, headers = app.test_client(), api_token(alpha, "advisor")
    beta_headers = api_token(beta, "admin")
    up = client.post("/api/v1/files", data={"file": (io.BytesIO(b"%PDF-1.4 invoice"), "发票.pdf")},
                     headers=headers, content_type="multipart/form-data")
    assert up.status_code == 201 and up.get_json()["content_type"] == "application/pdf"
    file_id = up.get_json()["id"]
    assert client.get(f"/api/v1/files/{file_id}/content", headers=headers).data == b"%PDF-1.4 invoice"
    assert client.get(f"/api/v1/files/{file_id}/thumbnail", headers=headers).status_code == 404  # not a photo
    assert client.get(f"/api/v1/files/{file_id}", headers=beta_headers).status_code == 404
    assert client.get(f"/api/v1/files/{file_id}/content", headers=beta_headers).status_code == 404
    refused = client.post("/api/v1/files", data={"file": (io.BytesIO(b"\x7fELF binary"), "tool.exe")},
                          headers=headers, content_type="multipart/form-data")
    assert refused.status_code == 422 and "file" in refused.get_json()["errors"]
    assert client.post("/api/v1/files", data={}, headers=headers,
                       content_type="multipart/form-data").status_code == 422
    # beta's file id and customer id are "no such" values in alpha
    beta_file = client.post("/api/v1/files", data={"file": (io.BytesIO(b"%PDF-1.4 b"), "b.pdf")},
                            headers=beta_headers, content_type="multipart/form-data").get_json()["id"]
    base = {"name": "引用客户", "store_id": alpha.stores[0]}
    bad = client.post("/api/v1/customers", headers=headers, json={
        **base, "custom": {"invoice": [beta_file], "referrer": beta.customers[0], "advisor": beta.users["admin"]}})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) >= {"custom.invoice", "custom.referrer", "custom.advisor"}
    ok = client.post("/api/v1/customers", headers=headers, json={
        **base, "custom": {"invoice": [file_id], "referrer": alpha.customers[0], "advisor": alpha.users["manager"]}})
    assert ok.status_code == 201, ok.get_json()
    assert ok.get_json()["custom"] == {"invoice": [file_id], "referrer": alpha.customers[0],
                                       "advisor": alpha.users["manager"]}
    page = admin.get(f"/t/alpha/customers/{ok.get_json()['id']}").get_data(as_text=True)
    assert f'/t/alpha/customers/{alpha.customers[0]}">ALPHA-customer-0' in page and "发票.pdf" in page
    # filters on a reference field, and an export of that view holds only its rows
    listed = admin.get(f"/t/alpha/customers/?cf_referrer={alpha.customers[0]}").get_data(as_text=True)
    assert "引用客户" in listed and "ALPHA-customer-1" not in listed
    csv_text = admin.client.get(f"/t/alpha/customers/export.csv?cf_referrer={alpha.customers[0]}").data \
        .decode("utf-8-sig")
    assert csv_text.count("\n") == 2 and f"/t/alpha/files/{file_id}" in csv_text


def test_custom_fields_on_assets(two_tenants, login, api_token, app, system_db):
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    assert _define(admin, entity="asset", code="film_brand", label_zh="膜品牌", label_en="Film brand",
                   type="select", options="3M, 龙膜", required="1").status_code == 302
    assert _define(admin, entity="nowhere", code="x1", label_zh="x", label_en="x", type="text").status_code == 422
    listed = app.test_client().get("/api/v1/fields?entity=asset", headers=api_token(alpha, "advisor")).get_json()
    assert [f["code"] for f in listed] == ["film_brand"]
    client, headers = app.test_client(), api_token(alpha, "advisor")
    base = {"customer_id": alpha.customers[0], "type": "vehicle", "name": "Model Y"}
    missing = client.post("/api/v1/assets", headers=headers, json=base)
    assert missing.status_code == 422 and "custom.film_brand" in missing.get_json()["errors"]
    created = client.post("/api/v1/assets", headers=headers, json={**base, "custom": {"film_brand": "龙膜"}})
    assert created.status_code == 201 and created.get_json()["custom"] == {"film_brand": "龙膜"}
    asset_id = created.get_json()["id"]
    wrong = client.patch(f"/api/v1/assets/{asset_id}", headers=headers, json={"custom": {"film_brand": "杂牌"}})
    assert wrong.status_code == 422 and "custom.film_brand" in wrong.get_json()["errors"]
    page = admin.get(f"/t/alpha/assets/{asset_id}").get_data(as_text=True)
    assert 'data-custom="film_brand">龙膜' in page
    form = admin.get(f"/t/alpha/assets/{asset_id}/edit").get_data(as_text=True)
    assert 'name="cf_film_brand"' in form
    saved = admin.post(f"/t/alpha/assets/{asset_id}/edit", {"save": "1", "type": "vehicle", "name": "Model Y",
                                                           "cf_film_brand": "3M"}, content_type="multipart/form-data")
    assert saved.status_code == 302
    refused = admin.post(f"/t/alpha/assets/{asset_id}/edit", {"save": "1", "type": "vehicle", "name": "Model Y",
                                                             "cf_film_brand": ""}, content_type="multipart/form-data")
    assert refused.status_code == 422 and 'data-error-for="cf_film_brand"' in refused.get_data(as_text=True)
    with system_db.connect() as conn:
        assert conn.execute(text(f"SELECT custom FROM assets WHERE id={asset_id}")).scalar() == {"film_brand": "3M"}


def test_customer_list_sorts_and_pages_without_gaps(make_tenant, login, in_tenant):
    import re

    from storecrm.customers.models import Customer

    world = make_tenant("gamma", customers=0)
    names = ["王五", "Anna", "李四", "Bob", "张三", "Chen"] * 20  # 120 rows: three pages of 50
    with in_tenant(world) as session:
        for name in names:
            session.add(Customer(name=name, store_id=world.stores[0]))
    b = login(world, "admin")

    seen, url = [], "/t/gamma/customers/?sort=name"
    while url:
        html = b.get(url).get_data(as_text=True)
        seen += re.findall(r'/t/gamma/customers/(\d+)">([^<]+)</a>', html)
        more = re.search(r'href="(/t/gamma/customers/\?[^"]*after=\d+[^"]*)"', html)
        url = more.group(1).replace("&amp;", "&") if more else None
    assert len(seen) == 120 and len({i for i, _ in seen}) == 120
    assert [n for _, n in seen] == sorted(names)
    newest = re.findall(r'/t/gamma/customers/(\d+)">', b.get("/t/gamma/customers/").get_data(as_text=True))
    assert [int(i) for i in newest] == sorted((int(i) for i, _ in seen), reverse=True)[:50]


def test_asset_list_filters_on_custom_fields_searches_and_sorts(two_tenants, login, in_tenant):
    from datetime import date

    from storecrm.assets.models import Asset
    from storecrm.fields.models import FieldDefinition

    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        session.add(FieldDefinition(entity="asset", code="film", label_zh="膜", label_en="Film", type="select",
                                    options=["3M", "龙膜"]))
        for n, (name, film, warranty) in enumerate([("Model Y", "3M", date(2027, 5, 1)),
                                                    ("Han EV", "龙膜", date(2026, 12, 1)),
                                                    ("Camry", "3M", None)]):
            session.add(Asset(customer_id=alpha.customers[n], type="vehicle", name=name, custom={"film": film},
                              warranty_until=warranty))
    b = login(alpha, "owner")  # HQ: sees the assets of every store's customers
    page = b.get("/t/alpha/assets/?cf_film=3M").get_data(as_text=True)
    assert "Model Y" in page and "Camry" in page and "Han EV" not in page
    assert 'data-column="film">3M' in page
    import re

    ordered = re.findall(r'/t/alpha/assets/\d+">([^<]+)</a>', b.get("/t/alpha/assets/?sort=warranty").get_data(as_text=True))
    assert ordered == ["Han EV", "Model Y", "Camry"]  # soonest warranty end first, none last
    assert re.findall(r'/t/alpha/assets/\d+">([^<]+)</a>', b.get("/t/alpha/assets/?q=han").get_data(as_text=True)) \
        == ["Han EV"]


def test_lists_sort_and_filter_through_the_api(two_tenants, in_tenant, api_token, app):
    from storecrm.assets.models import Asset
    from storecrm.fields.models import FieldDefinition

    alpha, _ = two_tenants
    with in_tenant(alpha) as session:
        session.add(FieldDefinition(entity="asset", code="film", label_zh="膜", label_en="Film", type="select",
                                    options=["3M", "龙膜"]))
        session.add(Asset(customer_id=alpha.customers[0], type="vehicle", name="Model Y", custom={"film": "3M"}))
        session.add(Asset(customer_id=alpha.customers[0], type="vehicle", name="Han EV", custom={"film": "龙膜"}))
    client, headers = app.test_client(), api_token(alpha, "owner")
    assets = client.get("/api/v1/assets?cf=film=3M", headers=headers).get_json()
    assert [a["name"] for a in assets] == ["Model Y"]
    assert client.get("/api/v1/assets?cf=nope=1", headers=headers).status_code == 422
    assert client.get("/api/v1/assets?sort=sideways", headers=headers).status_code == 422
    names = [c["name"] for c in client.get("/api/v1/customers?sort=name_desc", headers=headers).get_json()["items"]]
    assert names == sorted(names, reverse=True)


def test_uploads_no_record_points_at_are_purged_after_a_while(two_tenants, in_tenant, app, system_db):
    from datetime import timedelta
    from pathlib import Path

    from storecrm.customers.models import Customer
    from storecrm.fields.models import FieldDefinition
    from storecrm.files.services import accept_upload
    from storecrm.housekeeping import purge_unreferenced
    from storecrm.files.storage import storage
    from storecrm.tenancy.models import utcnow
    from storecrm.users.models import User

    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        session.add(FieldDefinition(entity="customer", code="car_photos", label_zh="照片", label_en="Photos",
                                    type="photo", archived=True))  # archived: its values (and files) are kept
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        kept = accept_upload(owner, "kept.jpg", _jpeg())
        abandoned = accept_upload(owner, "abandoned.jpg", _jpeg())
        fresh = accept_upload(owner, "fresh.jpg", _jpeg())
        for f in (kept, abandoned):
            f.created_at = utcnow() - timedelta(days=3)
        session.get(Customer, (alpha.id, alpha.customers[0])).custom = {"car_photos": [kept.id]}
        ids = kept.id, abandoned.id, fresh.id
        with app.test_request_context():
            gone_path = Path(storage().local_path(abandoned.key))
    with in_tenant(beta) as session:  # another tenant's old, unreferenced upload is not this tenant's business
        other = accept_upload(session.get(User, (beta.id, beta.users["owner"])), "b.jpg", _jpeg())
        other.created_at = utcnow() - timedelta(days=3)
    with in_tenant(alpha):
        assert purge_unreferenced() == 1
    with system_db.connect() as conn:
        left = set(conn.execute(text("SELECT id FROM stored_files WHERE tenant_id = :t"), {"t": alpha.id}).scalars())
        assert conn.execute(text("SELECT count(*) FROM stored_files WHERE tenant_id = :t"), {"t": beta.id}).scalar() == 1
    assert left == {ids[0], ids[2]} and not gone_path.exists()
