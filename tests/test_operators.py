"""The operator console: separate operator accounts, tenants with plan and usage, suspend/reactivate, complete
exports, deletion after a waiting period that leaves nothing of the tenant behind, every action audited."""
import io
import json
import zipfile
from datetime import timedelta

from sqlalchemy import text

from tests.test_imports import _run_worker

OPS_PASSWORD = "operator-password-2026"


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _operator(app, browser):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["operators", "create", "--email", "ops@storecrm.cn", "--name", "Ops",
                                 "--password", OPS_PASSWORD])
    assert result.exit_code == 0, result.output
    b = browser()
    b.get("/ops/login")
    assert b.post("/ops/login", {"email": "ops@storecrm.cn", "password": "wrong-password"}).status_code == 401
    assert b.post("/ops/login", {"email": "ops@storecrm.cn", "password": OPS_PASSWORD}).status_code == 302
    b.get("/ops/")  # a fresh CSRF token: signing in starts a new session
    return b


def test_operators_are_not_tenant_users_and_see_every_tenant_with_usage(two_tenants, app, browser, login):
    alpha, beta = two_tenants
    owner = login(alpha, "owner")
    resp = owner.client.get("/ops/")
    assert resp.status_code == 302 and "/ops/login" in resp.headers["Location"]  # a tenant owner is no operator
    ops = _operator(app, browser)
    page = ops.get("/ops/").get_data(as_text=True)
    assert 'data-tenant="alpha"' in page and 'data-tenant="beta"' in page
    # the operator's cookie opens no tenant
    assert ops.client.get(f"/t/alpha/customers/{alpha.customers[0]}").status_code == 302


def test_suspend_reactivate_export_and_delete_for_good(two_tenants, app, browser, login, system_db, in_tenant):
    from storecrm.tenancy.models import utcnow
    from storecrm.tenants.lifecycle import purge_due, tenant_tables

    alpha, beta = two_tenants
    with in_tenant(alpha) as s:  # an upload and a timer, which must go too
        from storecrm.files.services import accept_upload
        from storecrm.timers import schedule
        from storecrm.users.models import User
        from tests.test_files import _jpeg

        accept_upload(s.get(User, (alpha.id, alpha.users["owner"])), "a.jpg", _jpeg())
        schedule("alpha-timer", "task.reminder", utcnow() + timedelta(days=3))
    uploads = app.config["STORECRM"].var_dir / "uploads" / str(alpha.id)
    ops = _operator(app, browser)
    assert ops.post(f"/ops/tenants/{alpha.id}/suspend").status_code == 302
    assert app.test_client().get("/t/alpha/login").status_code == 403
    assert ops.post(f"/ops/tenants/{alpha.id}/reactivate").status_code == 302
    assert app.test_client().get("/t/alpha/login").status_code == 200
    assert ops.post(f"/ops/tenants/{alpha.id}/export").status_code == 302
    _run_worker()
    (export_id, status), = _rows(system_db, "SELECT id, status FROM tenant_exports")
    assert status == "done"
    download = ops.client.get(f"/ops/exports/{export_id}")
    assert download.status_code == 200
    archive = zipfile.ZipFile(io.BytesIO(download.data))
    data = json.loads(archive.read("data.json"))
    assert {c["name"] for c in data["customers"]} == {f"ALPHA-customer-{n}" for n in range(3)}
    assert all(row["tenant_id"] == alpha.id for table in tenant_tables() for row in data.get(table, []))
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(archive.read("data.xlsx")), read_only=True)
    assert "customers" in book.sheetnames
    # deletion: suspended now, gone for good after the waiting period, beta untouched
    assert ops.post(f"/ops/tenants/{alpha.id}/delete").status_code == 302
    (due,), = _rows(system_db, "SELECT deletion_due_at FROM tenant_accounts WHERE tenant_id = :t", t=alpha.id)
    assert due > utcnow() + timedelta(days=29)
    with app.app_context():
        assert purge_due() == []  # not yet
        assert purge_due(utcnow() + timedelta(days=31)) == [alpha.id]
    with system_db.connect() as conn:
        for table in tenant_tables():
            assert conn.execute(text(f'SELECT count(*) FROM "{table}" WHERE tenant_id = :t'),
                                {"t": alpha.id}).scalar() == 0, table
        assert conn.execute(text("SELECT count(*) FROM tenants WHERE id = :t"), {"t": alpha.id}).scalar() == 0
        assert conn.execute(text("SELECT count(*) FROM customers WHERE tenant_id = :t"), {"t": beta.id}).scalar() == 3
    assert not uploads.exists()
    actions = {a for (a,) in _rows(system_db, "SELECT action FROM operator_audit")}
    assert {"suspend", "reactivate", "export", "download_export", "request_deletion", "purge"} <= actions


def test_an_owner_exports_their_own_data(two_tenants, login, system_db, app):
    alpha, beta = two_tenants
    owner = login(alpha, "owner")
    assert 'data-testid="owner-export"' in owner.get("/t/alpha/settings/").get_data(as_text=True)
    assert owner.post("/t/alpha/billing/export").status_code == 302
    _run_worker()
    (export_id,), = _rows(system_db, "SELECT id FROM tenant_exports WHERE tenant_id = :t", t=alpha.id)
    assert owner.client.get(f"/t/alpha/billing/exports/{export_id}").status_code == 200
    assert login(alpha, "manager").post("/t/alpha/billing/export").status_code == 403
    assert login(beta, "owner").get(f"/t/beta/billing/exports/{export_id}").status_code == 404
