"""The read session (storecrm.tenancy.reads): tenant-scoped, row-level security in force, READ ONLY, and a replica
that is unreachable (or too far behind) is not read from. The streaming replica itself is exercised by
`make scale-test` (bench/scale.py)."""
import logging

import pytest
from sqlalchemy import event, exc as sa_exc, func, select, text

from storecrm.customers.models import Customer
from storecrm.extensions import db
from storecrm.tenancy.context import tenant_context
from storecrm.tenancy.reads import dispose_read_engine, read_bind, read_session, replica_engine


@pytest.fixture
def replica_url(app, monkeypatch):
    """Point READ_DATABASE_URL somewhere for one test; the engine is rebuilt for it and dropped after."""
    def point(url):
        dispose_read_engine()
        app.config["READ_DATABASE_URL"] = url
    yield point
    with app.app_context():
        dispose_read_engine()
    app.config["READ_DATABASE_URL"] = None


def _tenant(world):
    return type("T", (), {"id": world.id, "slug": world.slug})()


def test_unset_the_read_session_reads_the_primary_as_the_current_tenant_only(two_tenants, app_ctx):
    alpha, beta = two_tenants
    assert app_ctx.config["READ_DATABASE_URL"] is None
    with tenant_context(_tenant(alpha)):
        assert read_bind() is db.engine
        with read_session() as reads:
            # raw SQL: no ORM criteria, only row-level security stands between this query and beta's rows
            owners = set(reads.scalars(text("SELECT tenant_id FROM customers")))
            assert owners == {alpha.id}
            assert reads.scalar(select(func.count()).select_from(Customer)) == len(alpha.customers)


@pytest.mark.parametrize("configured", [False, True])
def test_a_write_through_the_read_session_is_refused(two_tenants, app_ctx, replica_url, system_db, configured):
    alpha, _ = two_tenants
    if configured:  # READ_DATABASE_URL set (here to the primary itself: the transaction, not the server, refuses)
        replica_url(app_ctx.config["SQLALCHEMY_DATABASE_URI"])
    with tenant_context(_tenant(alpha)):
        with read_session() as reads:
            assert read_bind() is not db.engine if configured else True
            with pytest.raises(sa_exc.InternalError, match="read-only transaction"):
                reads.execute(text("UPDATE customers SET name = 'changed'"))
        with read_session() as reads:
            reads.add(Customer(name="through the replica", store_id=alpha.stores[0]))
            with pytest.raises(sa_exc.InternalError, match="read-only transaction"):
                reads.commit()
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM customers WHERE name IN ('changed', 'through the replica')")
                            ).scalar() == 0


def test_an_unreachable_replica_is_not_read_from_and_says_so(two_tenants, app_ctx, replica_url, caplog):
    alpha, _ = two_tenants
    replica_url("postgresql+psycopg2://storecrm_app@/storecrm?host=/nonexistent-replica-socket")
    caplog.set_level(logging.WARNING, logger="storecrm.tenancy")
    with tenant_context(_tenant(alpha)):
        assert read_bind() is db.engine
        with read_session() as reads:
            assert reads.scalar(select(func.count()).select_from(Customer)) == len(alpha.customers)
    assert "read replica unreachable" in caplog.text


def test_the_customer_list_counts_and_exports_through_the_read_session(two_tenants, login, app, replica_url):
    alpha, _ = two_tenants
    with app.app_context():
        replica_url(app.config["SQLALCHEMY_DATABASE_URI"])  # a second engine stands in for the replica
    statements = []
    with app.app_context():
        engine = replica_engine()
    event.listen(engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    b = login(alpha)
    assert b.get("/t/alpha/customers/").status_code == 200
    assert any("count(" in s for s in statements), statements
    statements.clear()
    resp = b.get("/t/alpha/customers/export.csv")
    assert resp.status_code == 200, resp.status_code
    assert any("FROM customers" in s for s in statements), statements


def test_a_replica_lost_since_the_last_check_falls_back_at_once(two_tenants, app_ctx, replica_url, caplog):
    alpha, _ = two_tenants
    replica_url("postgresql+psycopg2://storecrm_app@/storecrm?host=/nonexistent-replica-socket")
    from storecrm.tenancy.reads import replica_engine

    engine = replica_engine()
    app_ctx.extensions["storecrm_read_lag_checked"][:] = [__import__("time").monotonic(), True]  # "was fine"
    caplog.set_level(logging.WARNING, logger="storecrm.tenancy")
    with tenant_context(_tenant(alpha)):
        with read_session() as reads:
            assert reads.get_bind() is db.engine and engine is not db.engine
            assert reads.scalar(select(func.count()).select_from(Customer)) == len(alpha.customers)
    assert "read replica lost" in caplog.text
    assert app_ctx.extensions["storecrm_read_lag_checked"][1] is False
