"""Importing customers from spreadsheets in the background, and exporting lists."""
import io
import re

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import text

HEADERS = ["客户姓名", "手机号", "性别", "生日", "城市", "车牌号", "车架号", "门店", "标签", "备注"]
VIN = "LSVAA4182E2184847"


def _workbook(rows, headers=HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _good_rows(n, offset=0):
    for i in range(offset, offset + n):
        yield [f"客户{i:05d}", f"139{i:08d}", "男" if i % 2 else "女", "1990-05-0%d" % (1 + i % 9), "上海",
               f"沪B{i:05d}" if i % 3 == 0 else "", "", "S1" if i % 4 else "S2", "导入", ""]


def _bad_rows():
    return [
        ["", "13900000001", "男", "", "", "", "", "S1", "", ""],                 # no name
        ["坏电话", "12345", "", "", "", "", "", "S1", "", ""],                   # bad phone
        ["坏车架号", "13800009999", "", "", "", "", VIN[:-1] + "9", "S1", "", ""],  # VIN check digit
        ["坏门店", "13800009998", "", "", "", "", "", "NOPE", "", ""],            # unknown store
        ["坏日期", "13800009997", "", "1990-13-45", "", "", "", "S1", "", ""],     # bad date
    ]


def _run_worker():
    from dramatiq import Worker

    from storecrm.jobs import broker

    worker = Worker(broker, worker_timeout=100)
    worker.start()
    broker.join("default")
    worker.join()
    worker.stop()


def _import(b, data, filename="customers.xlsx", run_worker=True):
    resp = b.client.post("/t/alpha/imports/", data={"csrf_token": b.token, "file": (io.BytesIO(data), filename)},
                         content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    run_url = resp.headers["Location"]
    page = b.get(run_url).get_data(as_text=True)
    form = {m.group(1): m.group(2) for m in re.finditer(r'name="(col_\d+)">.*?<option value="([a-z_:]+)" selected',
                                                          page, flags=re.S)}
    store = re.search(r'name="default_store_id">\s*<option value="(\d+)"', page).group(1)
    started = b.post(run_url, {**form, "default_store_id": store, "start": "1"})
    assert started.status_code == 302, started.get_data(as_text=True)[-1500:]
    if run_worker:
        _run_worker()
    return run_url


def test_a_spreadsheet_with_some_bad_rows_imports_in_the_background(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    rows = list(_good_rows(495)) + _bad_rows()
    run_url = _import(b, _workbook(rows))
    page = b.get(run_url).get_data(as_text=True)
    assert 'data-status="done"' in page and "500 / 500" in page
    with system_db.connect() as conn:
        run = conn.execute(text("SELECT created_count, updated_count, failed_count FROM import_runs")).one()
        errors = dict(conn.execute(text("SELECT row_number, messages FROM import_row_errors ORDER BY 1")).all())
        plates = conn.execute(text("SELECT count(*) FROM customer_identities WHERE kind='plate' AND value LIKE '沪B%'")).scalar()
    assert tuple(run) == (495, 0, 5)
    assert sorted(errors) == [497, 498, 499, 500, 501]  # spreadsheet rows: header is row 1
    assert "name" in errors[497] and "mobile" in errors[498] and "vin" in errors[499]
    assert "store" in errors[500] and "birthday" in errors[501]
    assert plates == 165
    report = b.client.get(run_url + "/errors.xlsx")
    assert report.status_code == 200
    sheet = load_workbook(io.BytesIO(report.data)).active
    assert sheet.max_row == 6 and "Birthday: Not a valid date." == sheet.cell(row=6, column=len(HEADERS) + 2).value  # labels, not codes
    # the same file again: everyone is recognised, nobody is duplicated
    b.get("/t/alpha/imports/")
    _import(b, _workbook(rows))
    with system_db.connect() as conn:
        customers = conn.execute(text("SELECT count(*) FROM customers WHERE tenant_id=:t AND name LIKE '客户%'"),
                                 {"t": alpha.id}).scalar()
        second = conn.execute(text("SELECT created_count, updated_count, failed_count FROM import_runs ORDER BY id DESC LIMIT 1")).one()
    assert customers == 495 and tuple(second) == (0, 495, 5)


def test_three_phone_formats_in_one_file_make_one_customer(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    rows = [["李雷", m, "", "", "", "", "", "S1", "", ""] for m in ("138 0013 8000", "+86 13800138000", "13800138000")]
    _import(b, _workbook(rows))
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers WHERE mobile='+8613800138000'")).scalar() == 1
        assert tuple(conn.execute(text("SELECT created_count, updated_count FROM import_runs")).one()) == (1, 2)


def test_a_file_saved_by_libreoffice_calc_imports(two_tenants, login, system_db):
    """tests/fixtures/libreoffice_customers.xlsx was written by LibreOffice Calc 7.4 (soffice --convert-to xlsx):
    its phones are partly numeric cells, its birthdays date cells, and one row is bad."""
    from pathlib import Path

    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    data = (Path(__file__).parent / "fixtures" / "libreoffice_customers.xlsx").read_bytes()
    assert b"LibreOffice" in __import__("zipfile").ZipFile(io.BytesIO(data)).read("docProps/app.xml")
    _import(b, data, "客户（LibreOffice）.xlsx")
    with system_db.connect() as conn:
        rows = dict(conn.execute(text("SELECT name, mobile FROM customers WHERE name IN "
                                      "('王建国', '李娜', '张伟', '坏行')")).all())
        birthday = conn.execute(text("SELECT birthday FROM customers WHERE name='张伟'")).scalar()
        plates = set(conn.execute(text("SELECT value FROM customer_identities WHERE kind='plate'")).scalars())
        failed = conn.execute(text("SELECT row_number FROM import_row_errors")).scalars().all()
    assert rows == {"王建国": "+8613800138001", "李娜": "+8613900138002", "张伟": "+8613700138003"}
    assert str(birthday) == "1978-11-30"
    assert {"沪A12345", "京A88888"} <= plates
    assert failed == [5]


def test_a_gbk_csv_from_chinese_excel_imports(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    csv_text = "姓名,手机,门店\r\n王芳,13912345678,S1\r\n张伟,13912345679,S2\r\n"
    _import(b, csv_text.encode("gb18030"), "客户.csv")
    with system_db.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM customers WHERE mobile LIKE '+86139123456%'")).scalars())
    assert names == {"王芳", "张伟"}


def test_an_import_resumes_after_a_worker_restart_without_duplicates(two_tenants, login, system_db, app, monkeypatch):
    from storecrm.imports import services
    from storecrm.jobs import broker
    from storecrm.tenancy.context import TenantRef, tenant_context

    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    _import(b, _workbook(list(_good_rows(450))), run_worker=False)
    broker.flush_all()  # the queued message stands for one the broker will redeliver
    with system_db.connect() as conn:
        run_id = conn.execute(text("SELECT id FROM import_runs")).scalar()
    original, calls = services._process_batch, {"n": 0}

    def killed_in_second_batch(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise SystemExit("worker killed")  # like SIGKILL: nothing of this batch commits
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_process_batch", killed_in_second_batch)
    monkeypatch.setattr(services, "BATCH", 200)
    with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
        with pytest.raises(SystemExit):
            services.process(run_id)
    with system_db.connect() as conn:
        assert tuple(conn.execute(text("SELECT processed_rows, status FROM import_runs")).one()) == (200, "running")
    monkeypatch.setattr(services, "_process_batch", original)
    with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
        services.process(run_id)  # the redelivered message
    with system_db.connect() as conn:
        assert tuple(conn.execute(text("SELECT processed_rows, created_count, status FROM import_runs")).one()) == \
            (450, 450, "done")
        assert conn.execute(text("SELECT count(*) FROM customers WHERE name LIKE '客户%'")).scalar() == 450


def test_bad_uploads_are_refused(two_tenants, login):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    for data, name in ((b"", "x.xlsx"), (b"\x00\x01binary", "x.csv"), (b"PK\x03\x04broken", "x.xlsx"),
                       (b"name\n", "x.csv"), (b"hello", "x.exe")):
        resp = b.client.post("/t/alpha/imports/", data={"csrf_token": b.token, "file": (io.BytesIO(data), name)},
                             content_type="multipart/form-data")
        assert resp.status_code == 422 and 'data-error-for="file"' in resp.get_data(as_text=True), name


def test_mapping_needs_a_name_column(two_tenants, login):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    resp = b.client.post("/t/alpha/imports/", data={"csrf_token": b.token,
                                                    "file": (io.BytesIO(_workbook([["x", "1"]], ["foo", "bar"])), "a.xlsx")},
                         content_type="multipart/form-data")
    run_url = resp.headers["Location"]
    b.get(run_url)
    bad = b.post(run_url, {"col_0": "mobile", "default_store_id": str(alpha.stores[0]), "start": "1"})
    assert bad.status_code == 422 and 'data-error-for="mapping"' in bad.get_data(as_text=True)


def test_export_of_the_list_view_respects_filters_and_masking(two_tenants, login, in_tenant):
    alpha, _ = two_tenants
    from storecrm.customers.models import Customer

    with in_tenant(alpha) as session:
        session.get(Customer, (alpha.id, alpha.customers[0])).tags = ["VIP"]
    owner = login(alpha, "owner")
    xlsx = owner.client.get("/t/alpha/customers/export.xlsx?tag=VIP")
    sheet = load_workbook(io.BytesIO(xlsx.data)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 and rows[1][1] == "ALPHA-customer-0" and rows[1][3] == "c0@alpha.example"
    tech = login(alpha, "technician")
    csv_body = tech.client.get("/t/alpha/customers/export.csv").data.decode("utf-8-sig")
    assert "ALPHA-customer-0" in csv_body and "c0@alpha.example" not in csv_body and "****" in csv_body
    assert "ALPHA-customer-1" not in csv_body  # store two is not the technician's


def test_a_batch_someone_else_wrote_into_meanwhile_is_taken_row_by_row(two_tenants, login, system_db, monkeypatch):
    """The set-based path refuses the whole batch on a unique violation; every row then goes the one-by-one way."""
    from sqlalchemy.exc import IntegrityError

    from storecrm.customers import services as customers

    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")

    def collided(*args, **kwargs):
        raise IntegrityError("INSERT", {}, Exception("duplicate key value violates unique constraint"))

    monkeypatch.setattr(customers, "create_many", collided)
    _import(b, _workbook(list(_good_rows(30))))
    with system_db.connect() as conn:
        assert tuple(conn.execute(text("SELECT created_count, failed_count, status FROM import_runs")).one()) == \
            (30, 0, "done")
        assert conn.execute(text("SELECT count(*) FROM customers WHERE name LIKE '客户%'")).scalar() == 30
