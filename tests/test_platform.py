"""App core: health, error pages, jobs carrying their tenant, CLI, packaging, catalogs."""
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from sqlalchemy import select, text

ROOT = Path(__file__).resolve().parent.parent


def test_health_endpoint_reports_database_and_redis(app):
    resp = app.test_client().get("/healthz")
    assert resp.status_code == 200 and resp.get_json()["checks"] == {"database": "ok", "redis": "ok"}


def test_error_pages_and_problem_documents(two_tenants, app):
    client = app.test_client()
    resp = client.get("/t/alpha/does-not-exist", headers={"Accept-Language": "zh-CN"})
    assert resp.status_code == 404 and "页面不存在" in resp.get_data(as_text=True)
    resp = client.get("/api/v1/nothing")
    assert resp.status_code in (401, 404) and resp.mimetype == "application/problem+json"
    assert resp.headers["X-Request-ID"] and resp.get_json()["request_id"] == resp.headers["X-Request-ID"]


def test_an_unexpected_error_is_a_friendly_500_and_logged(app, caplog):
    from storecrm.web import errors

    with app.test_request_context("/api/v1/x"):
        resp = errors.problem(500)
    assert resp.status_code == 500 and resp.mimetype == "application/problem+json"


def test_jobs_carry_and_reenter_the_tenant_of_their_sender(two_tenants, app):
    from dramatiq import Worker

    from storecrm.customers.models import Customer
    from storecrm.extensions import db
    from storecrm.jobs import actor, broker
    from storecrm.tenancy.context import TenantRef, current_tenant, tenant_context

    seen = []

    @actor(actor_name="test_count_customers")
    def count_customers():
        seen.append((current_tenant().slug, len(db.session.scalars(select(Customer)).all())))

    alpha, beta = two_tenants
    with app.app_context():
        with tenant_context(TenantRef(alpha.id, alpha.slug)):
            message = count_customers.send()
        assert message.options["tenant_id"] == alpha.id
        with tenant_context(TenantRef(beta.id, beta.slug)):
            count_customers.send()
    worker = Worker(broker, worker_timeout=100)
    worker.start()
    broker.join("default")
    worker.join()
    worker.stop()
    assert sorted(seen) == [("alpha", 3), ("beta", 3)]


def test_enqueued_mail_is_dropped_when_the_transaction_rolls_back(two_tenants, app):
    from storecrm.extensions import db
    from storecrm.jobs import broker
    from storecrm.notifications.outbox import send
    from storecrm.tenancy.context import TenantRef, tenant_context

    alpha, _ = two_tenants
    with app.app_context():
        with tenant_context(TenantRef(alpha.id, alpha.slug)):
            db.session.execute(text("SELECT 1"))
            send("email", "x@example.com", "s", "b")
            db.session.rollback()
            db.session.execute(text("SELECT 1"))
            db.session.commit()
    assert broker.queues.get("default") is None or broker.queues["default"].qsize() == 0


def test_periodic_session_purge_fans_out_per_tenant(two_tenants, app, system_db, login):
    from datetime import timedelta

    from dramatiq import Worker

    from storecrm.jobs import broker
    from storecrm.housekeeping import fan_out_session_purge

    alpha, beta = two_tenants
    login(alpha, "owner")
    login(beta, "owner")
    with system_db.begin() as conn:
        conn.execute(text("UPDATE user_sessions SET last_seen_at = now() - :d WHERE tenant_id = :t"),
                     {"d": timedelta(days=40), "t": alpha.id})
    fan_out_session_purge.send()
    worker = Worker(broker, worker_timeout=100)
    worker.start()
    broker.join("default")
    worker.join()
    worker.stop()
    with system_db.connect() as conn:
        left = dict(conn.execute(text("SELECT tenant_id, count(*) FROM user_sessions GROUP BY 1")).all())
    assert left == {beta.id: 1}


def _flask(*args, env_extra=None):
    import os

    env = {**os.environ, **(env_extra or {})}
    return subprocess.run([sys.executable, "-m", "flask", "--app", "storecrm.wsgi:app", *args],
                          capture_output=True, text=True, cwd=ROOT, env=env, timeout=120)


def test_operator_cli_creates_tenants_users_and_tokens(app, system_db):
    out = _flask("tenants", "create", "--slug", "gamma", "--name", "伽马连锁", "--admin-email", "boss@gamma.cn",
                 "--admin-password", "a-long-password")
    assert out.returncode == 0, out.stderr
    bad = _flask("tenants", "create", "--slug", "Bad Slug", "--name", "x", "--admin-email", "a@b.cn",
                 "--admin-password", "a-long-password")
    assert bad.returncode == 2 and "slug" in bad.stderr
    dup = _flask("tenants", "create", "--slug", "gamma", "--name", "x", "--admin-email", "a@b.cn",
                 "--admin-password", "a-long-password")
    assert dup.returncode == 2 and "taken" in dup.stderr
    out = _flask("users", "create", "--tenant", "gamma", "--name", "小李", "--mobile", "139 0000 1111",
                 "--password", "another-long-one", "--role", "advisor", "--store", "HQ")
    assert out.returncode == 0, out.stderr
    token = _flask("tokens", "create", "--tenant", "gamma", "--email", "boss@gamma.cn")
    assert token.returncode == 0, token.stderr
    plain = token.stdout.strip().splitlines()[-1]
    me = app.test_client().get("/api/v1/me", headers={"Authorization": f"Bearer {plain}"})
    assert me.status_code == 200 and me.get_json()["role"] == "owner"
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM users u JOIN tenants t ON t.id = u.tenant_id "
                                 "WHERE t.slug='gamma'")).scalar() == 2


def test_demo_load_creates_the_demo_tenant_once(app, system_db):
    first = _flask("demo", "load", "--customers", "40")
    assert first.returncode == 0, first.stderr
    assert "created" in first.stdout and "owner@demo.storecrm.cn" in first.stdout
    again = _flask("demo", "load", "--customers", "40")
    assert "already present" in again.stdout
    with system_db.connect() as conn:
        # the core's `demo` tenant; the built-in verticals' demo tenants (register_demo_tenants) sit beside it
        counts = conn.execute(text("SELECT (SELECT count(*) FROM stores WHERE tenant_id = t.id), "
                                   "(SELECT count(*) FROM users WHERE tenant_id = t.id), "
                                   "(SELECT count(*) FROM customers WHERE tenant_id = t.id) "
                                   "FROM tenants t WHERE t.slug = 'demo'")).one()
        dealer = conn.execute(text("SELECT (SELECT count(*) FROM dealer_repair_orders WHERE tenant_id = t.id) "
                                   "FROM tenants t WHERE t.slug = 'dealer'")).scalar()
    assert tuple(counts) == (2, 5, 40)
    assert dealer == 13  # the dealership's demo: repair orders in every state


def test_stdlib_platform_module_is_untouched_from_the_repo_root():
    out = subprocess.run([sys.executable, "-c", "import platform, sqlalchemy, uuid; print(platform.system())"],
                         cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout.strip() == "Linux"
    assert not (ROOT / "platform" / "__init__.py").exists()


def test_wheel_ships_templates_translations_and_migrations(tmp_path):
    out = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                          "-w", str(tmp_path), str(ROOT)], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr
    wheel = next(tmp_path.glob("storecrm-*.whl"))
    names = zipfile.ZipFile(wheel).namelist()
    for expected in ("storecrm/app.py", "storecrm/tenancy/scoping.py", "storecrm/plugins/__init__.py",
                     "storecrm/frontend/templates/base.html",
                     "storecrm/frontend/translations/zh_Hans_CN/LC_MESSAGES/messages.mo",
                     "storecrm/frontend/static/vendor/bootstrap-5.3.9/bootstrap.min.css",
                     "storecrm/migrations/env.py", "storecrm/migrations/script.py.mako",
                     "storecrm/plugin_host/skeleton/PKG/__init__.py.tmpl",
                     "storecrm/plugin_host/skeleton/PKG/migrations/script.py.mako.tmpl"):
        assert expected in names, expected
    assert "storecrm/Procfile" in names  # `make run` from a non-editable install starts its processes from it
    assert not any(n.startswith("platform/") for n in names)
    assert any(n.startswith("storecrm/migrations/versions/") for n in names)
    # each built-in plugin ships whole: pages, catalogs, scripts and migrations, found here rather than listed
    plugins = ROOT / "plugins"
    for path in plugins.rglob("*"):
        kept = {"templates", "translations", "static", "migrations"} & set(path.relative_to(plugins).parts)
        if path.is_file() and kept and "__pycache__" not in path.parts and path.suffix not in (".pyc", ".pot"):
            assert f"storecrm/plugins/{path.relative_to(plugins).as_posix()}" in names, path


def test_catalogs_are_complete_and_compiled():
    from babel.messages.mofile import read_mo
    from babel.messages.pofile import read_po

    base = ROOT / "frontend" / "translations"
    template = read_po((base / "messages.pot").open("rb"))
    zh = read_po((base / "zh_Hans_CN/LC_MESSAGES/messages.po").open("rb"))
    missing = [m.id for m in template if m.id and not (zh.get(m.id) and zh.get(m.id).string)]
    assert missing == []
    compiled = read_mo((base / "zh_Hans_CN/LC_MESSAGES/messages.mo").open("rb"))
    def key(message_id):  # plural entries: (singular, plural) in .po, a list in .mo
        return message_id[0] if isinstance(message_id, (list, tuple)) else message_id

    assert {key(m.id) for m in compiled if m.id} == {key(m.id) for m in zh if m.id and m.string}
    assert (base / "en/LC_MESSAGES/messages.mo").exists()


@pytest.mark.parametrize("path", ["frontend/templates", "platform"])
def test_every_ui_string_is_extracted(path):
    """The .pot must be current: re-extract and compare the message ids."""
    from babel.messages.extract import extract_from_dir
    from babel.messages.pofile import read_po

    keywords = {"_": None, "gettext": None, "ngettext": (1, 2), "lazy_gettext": None, "_l": None}
    method_map = [("**.html", "jinja2")] if path.startswith("frontend") else [("**.py", "python")]
    found = {m[2] if isinstance(m[2], str) else m[2][0]
             for m in extract_from_dir(str(ROOT / path), method_map, keywords=keywords)}
    template = {m.id[0] if isinstance(m.id, tuple) else m.id
                for m in read_po((ROOT / "frontend/translations/messages.pot").open("rb")) if m.id}
    assert found - template == set(), "run `make translations` and translate the new strings"


def test_the_suite_refuses_to_wipe_a_database_not_meant_for_tests():
    from storecrm.testing.fixtures import _refuse_non_test_database

    _refuse_non_test_database("postgresql://u@/storecrm_test?host=/tmp")
    with pytest.raises(pytest.UsageError):
        _refuse_non_test_database("postgresql://u@db.example/storecrm")


def test_amounts_are_written_in_the_tenant_currency_rounded_like_a_till(two_tenants, in_tenant, app):
    from decimal import Decimal

    alpha, _ = two_tenants
    with app.test_request_context("/"), in_tenant(alpha):
        currency = app.jinja_env.filters["currency"]
        assert currency(Decimal("1280")) == "¥1,280.00"
        assert currency("12.345") == "¥12.35"  # half up, not banker's rounding
        assert currency(None) == ""
