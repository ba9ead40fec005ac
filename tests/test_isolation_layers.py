"""Each enforcement layer on its own: RLS without the ORM filter, the ORM filter without RLS."""
import logging

import psycopg2
import pytest
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from storecrm.extensions import db
from storecrm.tenancy.context import TenantContextMissing, TenantRef, tenant_context
from storecrm.tenancy.models import Tenant, TenantScoped
from storecrm.tenancy.scoping import system_engine, unscoped
from storecrm.testing.isolation import tenant_tables


def _raw_app_connection(app):
    url = app.config["SQLALCHEMY_DATABASE_URI"].replace("postgresql+psycopg2://", "postgresql://")
    return psycopg2.connect(url)


def test_app_role_with_no_tenant_set_sees_no_rows(two_tenants, app, system_db):
    with system_db.connect() as conn:
        tables = tenant_tables(conn)
        populated = [t for t in tables if conn.execute(text(f'SELECT count(*) FROM "{t}"')).scalar()]
    assert {"customers", "users", "stores", "roles", "audit_log", "user_stores"} <= set(populated)
    raw = _raw_app_connection(app)
    try:
        with raw.cursor() as cur:
            for table in tables:
                cur.execute(f'SELECT count(*) FROM "{table}"')
                assert cur.fetchone()[0] == 0, table
    finally:
        raw.close()


def test_app_role_sees_only_the_tenant_set_for_the_transaction(two_tenants, app):
    alpha, beta = two_tenants
    raw = _raw_app_connection(app)
    try:
        with raw.cursor() as cur:
            cur.execute("SELECT set_config('app.tenant_id', %s, true)", (str(alpha.id),))
            cur.execute("SELECT DISTINCT tenant_id FROM customers")
            assert [r[0] for r in cur.fetchall()] == [alpha.id]
            # writing a row for another tenant is refused by the policy's WITH CHECK
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("UPDATE customers SET tenant_id = %s", (beta.id,))
        raw.rollback()
        with raw.cursor() as cur:
            cur.execute("SELECT set_config('app.tenant_id', %s, true)", (str(alpha.id),))
            with pytest.raises(psycopg2.errors.InsufficientPrivilege):
                cur.execute("INSERT INTO stores (tenant_id, code, name, active, created_at, updated_at) "
                            "VALUES (%s, 'X', 'x', true, now(), now())", (beta.id,))
        raw.rollback()
    finally:
        raw.close()


def test_orm_scope_alone_filters_every_tenant_model(two_tenants, app_ctx):
    """Through the system role (RLS bypassed), the ORM filter alone must still hide tenant B."""
    alpha, _beta = two_tenants
    models = [m.class_ for m in db.Model.registry.mappers if issubclass(m.class_, TenantScoped)]
    assert len(models) >= 7
    session = Session(bind=system_engine())  # not unscoped: the ORM events apply
    try:
        with tenant_context(TenantRef(alpha.id, alpha.slug)):
            for model in models:
                tenants_seen = set(session.scalars(select(model.tenant_id)).all())
                assert tenants_seen <= {alpha.id}, model.__name__
                assert session.scalar(select(func.count()).select_from(model)) == \
                    session.scalar(select(func.count()).select_from(model).where(model.tenant_id == alpha.id))
            session.rollback()
    finally:
        session.close()


def test_orm_fails_closed_without_a_tenant(two_tenants, app_ctx):
    from storecrm.customers.models import Customer

    with pytest.raises(TenantContextMissing):
        db.session.scalars(select(Customer)).all()
    db.session.rollback()
    with pytest.raises(TenantContextMissing):
        db.session.add(Customer(name="x", store_id=1, tenant_id=1))
        db.session.flush()
    db.session.rollback()


def test_writing_another_tenants_row_is_refused_by_the_orm(two_tenants, app_ctx):
    from storecrm.customers.models import Customer

    alpha, beta = two_tenants
    with tenant_context(TenantRef(alpha.id, alpha.slug)):
        db.session.add(Customer(name="intruder", store_id=beta.stores[0], tenant_id=beta.id))
        with pytest.raises(TenantContextMissing):
            db.session.flush()
        db.session.rollback()


def test_refreshing_an_object_again_and_again_keeps_one_tenant_criteria(two_tenants, app_ctx):
    """A refresh carries the options of the load that got the object; the tenant criteria were added again on each
    refresh, so an import job's run row grew one criteria per batch (a new, uncached compile each time)."""
    from sqlalchemy import inspect

    from storecrm.stores.models import Store

    alpha, beta = two_tenants
    with tenant_context(TenantRef(alpha.id, alpha.slug)):
        store = db.session.scalars(select(Store)).first()
        for _ in range(30):
            db.session.refresh(store, with_for_update=True)
            db.session.commit()
        assert len(inspect(store).load_options) == 1
        assert store.tenant_id == alpha.id
    with tenant_context(TenantRef(beta.id, beta.slug)):  # alpha's object refreshed as beta: both walls hold
        with pytest.raises(Exception):
            db.session.refresh(store)
        db.session.rollback()


def test_unscoped_requires_a_reason_and_logs_it(two_tenants, app_ctx, caplog):
    with pytest.raises(ValueError):
        with unscoped(""):
            pass
    caplog.set_level(logging.WARNING, logger="storecrm.tenancy")
    from storecrm.customers.models import Customer

    with unscoped(reason="count customers of every tenant for a test") as session:
        assert session.scalar(select(func.count()).select_from(Customer)) == 6
        assert session.scalar(select(func.count()).select_from(Tenant)) == 2
    assert "count customers of every tenant for a test" in caplog.text


def test_search_and_filter_operators_may_use_indexes_under_rls(app):
    """Under RLS the planner turns a condition into an index condition only if its operator's function is
    LEAKPROOF (storecrm.embedded.LEAKPROOF_SQL; bench B3/B4 show the plans on real volumes)."""
    raw = _raw_app_connection(app)
    try:
        with raw.cursor() as cur:
            cur.execute("SELECT proname, proleakproof FROM pg_proc WHERE oid IN ('textlike(text,text)'::regprocedure,"
                        " 'texticlike(text,text)'::regprocedure, 'arraycontains(anyarray,anyarray)'::regprocedure,"
                        " 'jsonb_contains(jsonb,jsonb)'::regprocedure)")
            assert dict(cur.fetchall()) == {"textlike": True, "texticlike": True, "arraycontains": True,
                                            "jsonb_contains": True}
    finally:
        raw.rollback()
        raw.close()
