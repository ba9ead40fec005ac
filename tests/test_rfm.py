"""RFM segments over a purchase source (the commerce module will provide the real one; none ships yet)."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Integer, Numeric, column, select, values

from storecrm.reports import engine, rfm
from storecrm.reports.periods import period_of
from storecrm.users.models import User


def test_no_purchase_source_means_no_rfm_kpi(two_tenants, in_tenant):
    alpha, _ = two_tenants
    assert not rfm.available() and rfm.kpis() == []
    with in_tenant(alpha) as session:
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        assert engine.get_kpi(owner, "customers.rfm") is None


def test_segments_by_the_tenants_thresholds(two_tenants, in_tenant):
    alpha, _ = two_tenants
    c = alpha.customers  # three customers, stores 1, 2, 1
    as_of = datetime(2026, 11, 30, 16, tzinfo=timezone.utc)  # the end of November in Shanghai

    def purchases():
        rows = values(column("customer_id", BigInteger), column("last_purchase_at", DateTime(timezone=True)),
                      column("order_count", Integer), column("spend", Numeric(14, 2)), name="p").data([
            (c[0], datetime(2026, 11, 20, tzinfo=timezone.utc), 5, Decimal("8000")),   # high value
            (c[1], datetime(2026, 7, 1, tzinfo=timezone.utc), 4, Decimal("100")),      # at risk (150 days, frequent)
            (c[2], datetime(2025, 6, 1, tzinfo=timezone.utc), 1, Decimal("50")),       # lost
        ])
        return select(rows)

    with in_tenant(alpha) as session:
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        kpi = rfm.kpi(purchases)
        scope = engine.scope_for(owner, period_of("month", date(2026, 11, 15)))
        assert scope.as_of == as_of
        rows = engine.records(kpi, scope, limit=None)
        assert {r["id"]: r["segment"] for r in rows} == {c[0]: "high_value", c[1]: "at_risk", c[2]: "lost"}
        result = engine.evaluate([kpi], scope)[kpi.code]
        assert result.value == result.n == len(rows) == 3
        by_segment = {k: v for k, _label, v, _n in engine.breakdown(kpi, scope, "segment")}
        assert by_segment == {"high_value": 1, "at_risk": 1, "lost": 1}
        # the advisor sees store 1's customers only
        advisor = session.get(User, (alpha.id, alpha.users["advisor"]))
        mine = engine.records(kpi, engine.scope_for(advisor, period_of("month", date(2026, 11, 15))), limit=None)
        assert {r["id"] for r in mine} == {c[0], c[2]}
