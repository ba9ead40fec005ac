"""How the KPI values are asked (bench K1): no stores join when only the number is wanted, count(*) alone for counting
KPIs, and the core KPIs' statements built once per shape and reused with each call's own values — never another
call's period, viewer or tenant."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from storecrm.extensions import db
from storecrm.tenancy.context import TenantContextMissing
from storecrm.tenancy.scoping import Precompiled
from storecrm.reports import engine
from storecrm.reports.periods import period_of
from tests.test_reports import NOV, _kpi, _user, seeded  # noqa: F401  (fixture)

CORE = ("customers.new", "customers.active", "customers.dormant", "tasks.follow_up_completion", "tasks.overdue")


def _sql(kpi, scope) -> str:
    sql, _params = engine.value_statement(kpi, scope)
    return sql.lower()


def test_the_value_statement_joins_no_stores_and_counts_directly(seeded, in_tenant):
    alpha, _ = seeded
    with in_tenant(alpha) as session:
        for role in ("owner", "advisor"):
            user = _user(session, alpha, role)
            scope = engine.scope_for(user, period_of("month", NOV))
            for code in CORE:
                sql = _sql(_kpi(user, code), scope)
                assert "join stores" not in sql, (code, role)
                assert "array[" not in sql or code == "tasks.follow_up_completion", code
            # the owner's task KPIs need no customer either; a store-limited viewer's do (their customers' tasks)
            assert ("join customers" in _sql(_kpi(user, "tasks.overdue"), scope)) == (role == "advisor")
        # the drill-down still names the store
        owner = _user(session, alpha)
        rows = engine.records(_kpi(owner, "customers.new"), engine.scope_for(owner, period_of("month", NOV)))
        assert rows and all(r["store_id_name"] for r in rows)


def test_a_reused_statement_takes_each_calls_values(seeded, in_tenant):
    alpha, beta = seeded
    november, october = period_of("month", NOV), period_of("month", date(2026, 10, 15))
    with in_tenant(alpha) as session:
        owner = _user(session, alpha)
        kpi = _kpi(owner, "customers.new")
        first, first_params = engine.value_statement(kpi, engine.scope_for(owner, november))
        second, second_params = engine.value_statement(kpi, engine.scope_for(owner, october))
        assert first is second  # compiled once for this shape
        assert first_params["kpi_start"] != second_params["kpi_start"]
        assert first_params["tenant_wall"] == second_params["tenant_wall"] == alpha.id
        assert engine.evaluate([kpi], engine.scope_for(owner, november))[kpi.code].value == 3
        assert engine.evaluate([kpi], engine.scope_for(owner, october))[kpi.code].value == 1
        # another filter is another shape
        assert engine.evaluate([kpi], engine.scope_for(owner, november, store_id=alpha.stores[1]))[kpi.code].value == 0
        assert engine.evaluate([kpi], engine.scope_for(owner, november, store_id=alpha.stores[0]))[kpi.code].value == 3
        rate = engine.evaluate([_kpi(owner, "tasks.follow_up_completion")], engine.scope_for(owner, november))
        assert rate["tasks.follow_up_completion"].value == Decimal("75.0")
    with in_tenant(beta) as session:
        owner = _user(session, beta)
        assert engine.evaluate([_kpi(owner, "customers.new")],
                               engine.scope_for(owner, november))["customers.new"].value == 5


def test_a_precompiled_statement_keeps_the_tenant_criteria_and_needs_a_tenant(seeded, in_tenant, app):
    """The KPI values skip SQLAlchemy's per-call preparation (`Precompiled`), not the tenant wall: every tenant table
    in the SQL carries `tenant_id = <tenant in context>` besides RLS, and without a tenant nothing runs."""
    alpha, _ = seeded
    with in_tenant(alpha) as session:
        owner = _user(session, alpha, "advisor")  # a store-limited viewer: tasks join their customers
        sql = _sql(_kpi(owner, "tasks.overdue"), engine.scope_for(owner, period_of("month", NOV)))
        assert "tasks.tenant_id = %(tenant_wall)s" in sql and "customers.tenant_id = %(tenant_wall)s" in sql
    from sqlalchemy import select
    from storecrm.customers.models import Customer
    with app.app_context():
        statement = Precompiled(select(Customer.id), db.engine.dialect)
        with pytest.raises(TenantContextMissing):
            statement.execute(db.session, {})
        db.session.rollback()
