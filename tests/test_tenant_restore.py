"""A tenant export restores as a new tenant (`flask tenants restore`): every row and file back under the new tenant,
credentials fresh, the restored tenant usable, the original untouched; a refused restore writes nothing."""
from __future__ import annotations

import json
import zipfile

from sqlalchemy import text

from storecrm.testing.fixtures import Browser

TABLES_WITHOUT_ROWS_OK = {"user_sessions", "api_tokens", "idempotency_keys"}


def _export(app, tenant_id) -> str:
    from storecrm.tenants.lifecycle import build_export, request_export

    with app.app_context():
        export_id = request_export(tenant_id, "test")
        build_export(export_id)
        from storecrm.tenants.lifecycle import export_of

        return export_of(tenant_id, export_id).path


def _counts(conn, tenant_id) -> dict[str, int]:
    from storecrm.tenants.lifecycle import tenant_tables

    out = {}
    for table in tenant_tables():
        n = conn.execute(text(f'SELECT count(*) FROM "{table}" WHERE tenant_id = :t'), {"t": tenant_id}).scalar()
        if n:
            out[table] = n
    return out


def test_an_export_restores_as_a_new_tenant_with_its_rows_files_and_fresh_credentials(app, system_db):
    from storecrm.demo.verticals import load_one, registered
    from storecrm.extensions import db
    from storecrm.files.services import accept_upload
    from storecrm.tenancy.context import tenant_context
    from storecrm.tenancy.models import Tenant
    from storecrm.users.models import User
    from storecrm.users.passwords import hash_password
    from tests.test_files import _jpeg

    with app.app_context():
        demos = dict((demo.slug, (plugin, demo)) for plugin, demo in registered())
        assert load_one(*demos["dealer"])  # a rich tenant: core records, a vertical's tables, rules, surveys
        tenant = db.session.scalar(db.select(Tenant).where(Tenant.slug == "dealer"))
        source_id = tenant.id
        with tenant_context(tenant):
            owner = db.session.scalar(db.select(User).order_by(User.id))
            photo = accept_upload(owner, "car.jpg", _jpeg())
            photo_key, owner_email = photo.key, owner.email
            db.session.commit()
    path = _export(app, source_id)
    with system_db.connect() as conn:
        before = _counts(conn, source_id)
    assert before["customers"] and before["stored_files"] == 1 and len(before) > 30

    result = app.test_cli_runner().invoke(args=["tenants", "restore", path, "--slug", "dealer-copy"])
    assert result.exit_code == 0, result.output
    assert "as tenant dealer-copy" in result.output
    with system_db.connect() as conn:
        new_id = conn.execute(text("SELECT id FROM tenants WHERE slug = 'dealer-copy'")).scalar_one()
        after = _counts(conn, new_id)
        # every exported row is back; sessions, tokens and idempotency records are not exported
        assert {t: n for t, n in before.items() if t not in TABLES_WITHOUT_ROWS_OK} == after
        assert _counts(conn, source_id) == before  # the original is untouched
        names = lambda t: sorted(conn.execute(text("SELECT name FROM customers WHERE tenant_id = :t"),  # noqa: E731
                                              {"t": t}).scalars())
        assert names(new_id) == names(source_id)
        hashes = set(conn.execute(text("SELECT password_hash FROM users WHERE tenant_id = :t"), {"t": new_id}).scalars())
        assert hashes == {"!restored"}
        key = conn.execute(text("SELECT key FROM stored_files WHERE tenant_id = :t"), {"t": new_id}).scalar_one()
    assert key.startswith(f"{new_id}/") and key.split("/", 1)[1] == photo_key.split("/", 1)[1]
    uploads = app.config["STORECRM"].var_dir / "uploads"
    assert (uploads / key).read_bytes() == (uploads / photo_key).read_bytes()

    # the restored tenant works: nobody signs in with the old password; after a new one, pages render and new
    # records get ids above the restored ones
    browser = Browser(app)
    browser.get("/t/dealer-copy/login")
    refused = browser.post("/t/dealer-copy/login", {"login": owner_email, "password": "demo-pass-2026"})
    assert refused.status_code != 302
    with app.app_context():
        copy = db.session.scalar(db.select(Tenant).where(Tenant.slug == "dealer-copy"))
        with tenant_context(copy):
            user = db.session.scalar(db.select(User).where(User.email == owner_email))
            user.password_hash = hash_password("restored-pass-2026")
            db.session.commit()
    browser.login("dealer-copy", owner_email, "restored-pass-2026")
    assert browser.get("/t/dealer-copy/customers/").status_code == 200
    with system_db.connect() as conn:
        store = conn.execute(text("SELECT min(id) FROM stores WHERE tenant_id = :t"), {"t": new_id}).scalar()
    browser.get("/t/dealer-copy/customers/new")
    created = browser.post("/t/dealer-copy/customers/new", {"name": "恢复后新客户", "mobile": "13912345678",
                                                            "store_id": str(store)})
    assert created.status_code == 302
    with system_db.connect() as conn:
        top = conn.execute(text("SELECT max(id) FROM customers WHERE tenant_id = :t AND name <> '恢复后新客户'"),
                           {"t": new_id}).scalar()
        new = conn.execute(text("SELECT id FROM customers WHERE tenant_id = :t AND name = '恢复后新客户'"),
                           {"t": new_id}).scalar_one()
    assert new > top


def test_a_restore_that_cannot_be_done_writes_nothing(app, system_db, two_tenants, tmp_path):
    alpha, _beta = two_tenants
    path = _export(app, alpha.id)
    runner = app.test_cli_runner()
    taken = runner.invoke(args=["tenants", "restore", path, "--slug", "beta"])
    assert taken.exit_code != 0 and "exists already" in taken.output
    # an export from a newer schema: a column this install does not have
    with zipfile.ZipFile(path) as archive:
        data = json.loads(archive.read("data.json"))
    data["customers"][0]["future_column"] = 1
    newer = tmp_path / "newer.zip"
    with zipfile.ZipFile(newer, "w") as archive:
        archive.writestr("data.json", json.dumps(data))
    refused = runner.invoke(args=["tenants", "restore", str(newer), "--slug", "alpha-copy"])
    assert refused.exit_code != 0 and "future_column" in refused.output
    not_an_export = tmp_path / "x.zip"
    with zipfile.ZipFile(not_an_export, "w") as archive:
        archive.writestr("readme.txt", "hello")
    assert "not a StoreCRM tenant export" in runner.invoke(
        args=["tenants", "restore", str(not_an_export), "--slug", "alpha-copy"]).output
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM tenants WHERE slug = 'alpha-copy'")).scalar() == 0
