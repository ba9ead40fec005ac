"""A plugin's records come in through the import wizard by the ImportMapping it registers
(`register_import_mappings`): the car wash example plugin's washes, linked to customers by mobile through One-ID."""
import io
import re
from datetime import date

from openpyxl import Workbook, load_workbook
from sqlalchemy import text

from .test_imports import _run_worker

HEADERS = ["客户手机", "洗车类型", "洗车日期", "价格"]
KIND = "carwash.washes"


def _workbook(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _local(mobile: str) -> str:
    """+8613801000000 as a store types it: 138 0100 0000."""
    digits = mobile[3:]
    return f"{digits[:3]} {digits[3:7]} {digits[7:]}"


def _mobiles(world, in_tenant):
    from storecrm.customers.models import Customer

    with in_tenant(world) as session:
        return [session.get(Customer, (world.id, cid)).mobile for cid in world.customers]


def _upload(b, slug, data, kind=KIND):
    return b.client.post(f"/t/{slug}/imports/", data={"csrf_token": b.token, "kind": kind,
                                                      "file": (io.BytesIO(data), "洗车记录.xlsx")},
                         content_type="multipart/form-data")


def _guessed(page: str) -> dict:
    return {m.group(1): m.group(2) for m in re.finditer(r'name="(col_\d+)">.*?<option value="([a-z_:]+)" selected',
                                                        page, flags=re.S)}


def _import(b, slug, data):
    resp = _upload(b, slug, data)
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    run_url = resp.headers["Location"]
    page = b.get(run_url).get_data(as_text=True)
    assert 'name="default_store_id"' not in page  # a wash has no store of its own to choose
    started = b.post(run_url, {**_guessed(page), "start": "1"})
    assert started.status_code == 302, started.get_data(as_text=True)[-1500:]
    _run_worker()
    return run_url


def test_car_washes_import_through_the_wizard_for_a_tenant_with_the_plugin(two_tenants, login, in_tenant,
                                                                            enable_plugin, system_db):
    from storecrm.users.models import User

    alpha, beta = two_tenants
    enable_plugin(alpha, "carwash")
    with in_tenant(alpha) as session:
        session.get(User, (alpha.id, alpha.users["owner"])).locale = "zh_CN"  # row errors in the reader's language
    mine, theirs = _mobiles(alpha, in_tenant), _mobiles(beta, in_tenant)
    rows = [
        [_local(mine[0]), "basic", date(2024, 5, 1), 39],          # 2: a date cell, the type by code
        [mine[1], "精洗打蜡", "2024-05-02", None],                   # 3: the type by name, its price by default
        ["139 0000 0000", "basic", "2024-05-03", 39],              # 4: nobody has this mobile
        [mine[0], "陶瓷镀晶", "2024-05-04", 39],                    # 5: no such wash type
        [mine[0], "basic", "2024-13-45", 39],                      # 6: no such day
        [theirs[0], "basic", "2024-05-05", 39],                    # 7: beta's customer is nobody here
        [mine[2], "basic", "2024-05-06", -5],                      # 8: a negative price
    ]
    b = login(alpha, "owner")
    page = b.get("/t/alpha/imports/").get_data(as_text=True)
    # offered (after the core's own mappings, e.g. leads), in Chinese
    assert re.search(rf'name="kind" id="kind-\d+" value="{re.escape(KIND)}"', page) and "洗车记录" in page

    resp = _upload(b, "alpha", _workbook(rows))
    assert resp.status_code == 302
    run_url = resp.headers["Location"]
    page = b.get(run_url).get_data(as_text=True)
    assert _guessed(page) == {"col_0": "mobile", "col_1": "wash_type", "col_2": "washed_on", "col_3": "price"}
    assert "客户手机号" in page  # the plugin's label for its column, in the user's language
    checked = b.post(run_url, {**_guessed(page), "check": "1"})
    preview = checked.get_data(as_text=True)
    assert checked.status_code == 200 and preview.count('data-outcome="error"') == 5  # preview writes nothing
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM carwash_washes")).scalar() == 0

    b.post(run_url, {**_guessed(page), "start": "1"})
    _run_worker()
    with system_db.connect() as conn:
        run = conn.execute(text("SELECT kind, status, created_count, updated_count, failed_count FROM import_runs "
                                "WHERE tenant_id=:t"), {"t": alpha.id}).one()
        washes = conn.execute(text("SELECT tenant_id, customer_id, wash_type, price::text, washed_at FROM "
                                   "carwash_washes ORDER BY customer_id")).all()
        errors = dict(conn.execute(text("SELECT row_number, messages FROM import_row_errors ORDER BY 1")).all())
    assert tuple(run) == (KIND, "done", 2, 0, 5)
    assert [(w.tenant_id, w.customer_id, w.wash_type, w.price) for w in washes] == \
        [(alpha.id, alpha.customers[0], "basic", "39.00"), (alpha.id, alpha.customers[1], "premium", "128.00")]
    assert washes[0].washed_at.isoformat() == "2024-04-30T16:00:00+00:00"  # midnight in Shanghai
    assert sorted(errors) == [4, 5, 6, 7, 8]
    assert "mobile" in errors[4] and "mobile" in errors[7] and "price" in errors[8] and "washed_on" in errors[6]
    assert errors[5] == {"wash_type": ["请选择洗车类型。"]}
    done = b.get(run_url).get_data(as_text=True)
    assert 'data-status="done"' in done and "洗车类型: 请选择洗车类型。" in done  # the column's label, not its code
    report = b.client.get(run_url + "/errors.xlsx")
    assert report.status_code == 200 and load_workbook(io.BytesIO(report.data)).active.max_row == 6

    # the same file again: the washes are recognised by customer, day and type, and nothing is doubled
    b.get("/t/alpha/imports/")
    _import(b, "alpha", _workbook(rows))
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM carwash_washes")).scalar() == 2
        second = conn.execute(text("SELECT created_count, updated_count, failed_count FROM import_runs "
                                   "ORDER BY id DESC LIMIT 1")).one()
    assert tuple(second) == (0, 2, 5)

    # the other tenant: not offered, refused when asked for anyway, nothing of alpha's to see
    other = login(beta, "owner")
    page = other.get("/t/beta/imports/").get_data(as_text=True)
    assert f'value="{KIND}"' not in page  # the core's own kinds (the catalog) are offered, the plugin's are not
    refused = _upload(other, "beta", _workbook(rows))
    assert refused.status_code == 422 and 'data-error-for="kind"' in refused.get_data(as_text=True)
    assert other.get(run_url.replace("/t/alpha/", "/t/beta/")).status_code == 404
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM import_runs WHERE tenant_id=:t"), {"t": beta.id}).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM carwash_washes WHERE tenant_id=:t"),
                            {"t": beta.id}).scalar() == 0


def test_a_store_manager_imports_washes_only_for_customers_of_their_store(two_tenants, login, in_tenant,
                                                                          enable_plugin, system_db):
    alpha, _ = two_tenants
    enable_plugin(alpha, "carwash")
    mine = _mobiles(alpha, in_tenant)  # customer 0 is in store one (the manager's), customer 1 in store two
    manager = login(alpha, "manager")
    manager.get("/t/alpha/imports/")
    _import(manager, "alpha", _workbook([[mine[0], "basic", "2024-05-01", 39], [mine[1], "basic", "2024-05-01", 39]]))
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT customer_id FROM carwash_washes")).scalars().all() == [alpha.customers[0]]
        errors = dict(conn.execute(text("SELECT row_number, messages FROM import_row_errors")).all())
    assert list(errors) == [3] and "_schema" in errors[3]


def test_the_mapping_needs_the_required_columns_and_an_enabled_plugin(two_tenants, login, enable_plugin, system_db):
    alpha, _ = two_tenants
    enable_plugin(alpha, "carwash")
    b = login(alpha, "admin")
    b.get("/t/alpha/imports/")
    run_url = _upload(b, "alpha", _workbook([["13800000000", "basic", "2024-05-01", 39]])).headers["Location"]
    b.get(run_url)
    missing = b.post(run_url, {"col_1": "wash_type", "start": "1"})  # no date, no mobile
    body = missing.get_data(as_text=True)
    assert missing.status_code == 422 and 'data-error-for="mapping"' in body
    assert "Wash date" in body and "Customer mobile" in body
    assert b.post("/t/alpha/modules/carwash/disable").status_code == 302
    page = b.get(run_url)
    assert 'data-error-for="kind"' in page.get_data(as_text=True)
    off = b.post(run_url, {"col_0": "mobile", "col_1": "wash_type", "col_2": "washed_on", "start": "1"})
    assert off.status_code == 422 and 'data-error-for="kind"' in off.get_data(as_text=True)
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT status FROM import_runs")).scalar() == "uploaded"


def test_a_run_whose_plugin_was_switched_off_meanwhile_fails_writing_nothing(two_tenants, login, enable_plugin,
                                                                             in_tenant, system_db):
    alpha, _ = two_tenants
    enable_plugin(alpha, "carwash")
    mine = _mobiles(alpha, in_tenant)
    b = login(alpha, "admin")
    b.get("/t/alpha/imports/")
    run_url = _upload(b, "alpha", _workbook([[mine[0], "basic", "2024-05-01", 39]])).headers["Location"]
    page = b.get(run_url).get_data(as_text=True)
    assert b.post(run_url, {**_guessed(page), "start": "1"}).status_code == 302
    b.post("/t/alpha/modules/carwash/disable")  # before the worker takes the queued job
    _run_worker()
    with system_db.connect() as conn:
        status, error = conn.execute(text("SELECT status, error FROM import_runs")).one()
        assert conn.execute(text("SELECT count(*) FROM carwash_washes")).scalar() == 0
    assert status == "failed" and "switched off" in error
