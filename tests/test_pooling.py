"""Tenant context survives transaction pooling: two tenants hammered through one pgbouncer pool of two server
connections never see each other's rows, and nothing in the code keeps state on a connection between transactions.

The pgbouncer tests run only where Debian's `pgbouncer` is installed (`make scale-test` installs it); elsewhere they
are skipped with that reason, so `make test` needs nothing but PostgreSQL.
"""
import re
import shutil
import tempfile
import threading
from pathlib import Path

import pytest
from sqlalchemy import create_engine, func, select, text
from sqlalchemy.orm import Session

from storecrm.customers.models import Customer
from storecrm.tenancy.context import TenantRef, reset_tenant, set_tenant
from storecrm.testing.pgbouncer import PgBouncer, pgbouncer_binary

ROOT = Path(__file__).resolve().parent.parent
SOURCES = [p for folder in ("platform", "plugins", "tenants") for p in (ROOT / folder).rglob("*.py")
           if "testing" not in p.parts]

# What must never be session-level under transaction pooling (docs/deployment.md, "Connection pooling")
SESSION_LEVEL = {
    "set_config(..., false): a setting that outlives its transaction": re.compile(
        r"set_config\([^)]*,\s*(false|False)\s*\)"),
    "SET without LOCAL (use set_config(..., true) or SET LOCAL)": re.compile(
        r"""["']\s*SET\s+(?!LOCAL\b|TRANSACTION\b|NULL\b|DEFAULT\b)(SESSION\s+)?[a-z_.]+\s*(=|TO\b)""", re.I),
    "session advisory lock (use pg_advisory_xact_lock)": re.compile(r"pg_(try_)?advisory_lock(_shared)?\("),
    "server-side cursor / stream_results (a named cursor lives outside the transaction's connection)": re.compile(
        r"stream_results|yield_per\(|server_side_cursors|\.cursor\(\s*name="),
    "prepared statement (PREPARE / prepare_threshold)": re.compile(r"\bPREPARE\s+\w+\s+(AS|\()|prepare_threshold"),
    "LISTEN (a notification channel belongs to a session)": re.compile(r"""["']\s*LISTEN\s"""),
    "WITH HOLD cursor / temporary table outliving a transaction": re.compile(
        r"WITH HOLD|CREATE\s+(GLOBAL\s+|LOCAL\s+)?TEMP(ORARY)?\s+TABLE(?![^\"']*ON COMMIT DROP)", re.I),
}


def test_no_session_level_state_in_the_code():
    """psycopg2 prepares nothing server-side; these are the other ways a connection keeps state between
    transactions, which pgbouncer in transaction mode would hand to another tenant's request."""
    found = []
    for path in SOURCES:
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            for why, pattern in SESSION_LEVEL.items():
                if pattern.search(line):
                    found.append(f"{path.relative_to(ROOT)}:{number}: {why}: {line.strip()}")
    assert not found, "\n".join(found)


@pytest.fixture
def bouncer(app):
    if not pgbouncer_binary():
        pytest.skip("pgbouncer is not installed (Debian package `pgbouncer`; `make scale-test` installs it)")
    url = app.config["SQLALCHEMY_DATABASE_URI"]
    workdir = Path(tempfile.mkdtemp(prefix="storecrm-pgbouncer-"))  # not tmp_path: pgbouncer may run as another user
    bouncer = PgBouncer(workdir, url, users=["storecrm_app", "storecrm_system"], pool_size=2).start()
    yield bouncer
    bouncer.stop()
    shutil.rmtree(workdir, ignore_errors=True)


def test_two_tenants_through_a_pool_of_two_never_see_each_others_rows(two_tenants, app, bouncer, system_db):
    alpha, beta = two_tenants
    worlds = {alpha.id: alpha, beta.id: beta}
    engine = create_engine(bouncer.url(app.config["SQLALCHEMY_DATABASE_URI"]), pool_size=16, max_overflow=0)
    backends, problems, done = set(), [], []
    lock = threading.Lock()

    def staff(n: int) -> None:
        world = (alpha, beta, None)[n % 3]  # a third of the threads work with no tenant at all
        token = set_tenant(TenantRef(world.id, world.slug) if world else None)
        try:
            for i in range(30):
                with Session(bind=engine) as session:
                    # raw SQL: no ORM criteria, so only RLS (set per transaction) stands between tenants
                    pid, setting = session.execute(text(
                        "SELECT pg_backend_pid(), current_setting('app.tenant_id', true)")).one()
                    owners = set(session.scalars(text("SELECT tenant_id FROM customers")))
                    session.execute(text("SELECT pg_sleep(0.002)"))  # let other transactions interleave
                    again = set(session.scalars(text("SELECT DISTINCT tenant_id FROM stores")))
                    if world is None:
                        if owners or again or setting:
                            problems.append(f"no tenant saw {owners | again} (setting {setting!r})")
                    else:
                        if owners != {world.id} or again != {world.id} or setting != str(world.id):
                            problems.append(f"{world.slug} saw tenants {owners | again}, setting {setting!r}")
                        count = session.scalar(select(func.count()).select_from(Customer))
                        session.add(Customer(name=f"pool-{world.slug}-{n}-{i}", store_id=world.stores[0]))
                        session.commit()
                        if count < len(world.customers):
                            problems.append(f"{world.slug} counted {count}")
                    with lock:
                        backends.add(pid)
                        done.append(1)
        except Exception as exc:  # noqa: BLE001 — reported by the assertion below
            problems.append(repr(exc))
        finally:
            reset_tenant(token)

    threads = [threading.Thread(target=staff, args=(n,)) for n in range(24)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    engine.dispose()
    assert not problems, problems[:5]
    assert len(done) == 24 * 30
    assert len(backends) <= 2, backends  # every transaction of both tenants ran on the same two server connections
    with system_db.connect() as conn:
        rows = conn.execute(text("SELECT tenant_id, name FROM customers WHERE name LIKE 'pool-%'")).all()
    assert len(rows) == 16 * 30
    assert all(name.startswith(f"pool-{worlds[tid].slug}-") for tid, name in rows)


def test_the_app_answers_through_pgbouncer(two_tenants, app, bouncer, login, monkeypatch):
    """A whole request (session lookup, tenant resolution, RLS, the customer list and its count on the read
    session) through transaction pooling."""
    alpha, _ = two_tenants
    from storecrm.extensions import db

    pooled = create_engine(bouncer.url(app.config["SQLALCHEMY_DATABASE_URI"]))
    with app.app_context():
        monkeypatch.setitem(db._app_engines[app], None, pooled)
    b = login(alpha)
    page = b.get("/t/alpha/customers/")
    assert page.status_code == 200
    with app.app_context():
        assert db.engine is pooled
    pooled.dispose()
