"""RFM segments: out of the box from the customers' spend columns (kept by storecrm.sales on every payment and
refund), and over any other purchase source with the tenant's thresholds."""
from __future__ import annotations

from datetime import date, datetime, timezone
from decimal import Decimal

from sqlalchemy import BigInteger, DateTime, Integer, Numeric, column, select, values

from storecrm.reports import engine, rfm
from storecrm.reports.periods import period_of
from storecrm.users.models import User

from .sales_seed import at, customer, order, redate_spend


def _november():
    return period_of("month", date(2026, 11, 15))


def test_rfm_segments_from_paid_orders_out_of_the_box(two_tenants, in_tenant):
    alpha, beta = two_tenants
    assert rfm.available()
    with in_tenant(alpha) as session:
        big = customer(alpha, "high")
        for day in (1, 10, 20):  # 3 orders, 6000 in all, last on 20 Nov
            order(alpha, big, 2000, payments=[(2000, at(2026, 11, day), "wechat_pay")])
        new = customer(alpha, "potential")
        order(alpha, new, 100, payments=[(100, at(2026, 11, 1), "cash")])
        regular = customer(alpha, "at-risk", 1)  # frequent, last bought 1 July (152 days before 30 Nov)
        for month in (3, 5, 7):
            order(alpha, regular, 50, store=1, payments=[(50, at(2026, month, 1), "cash")])
        once = customer(alpha, "win-back")  # once, on 1 April (243 days)
        order(alpha, once, 300, payments=[(300, at(2026, 4, 1), "cash")])
        gone = customer(alpha, "lost")
        order(alpha, gone, 300, payments=[(300, at(2025, 6, 1), "cash")])
        refunded = customer(alpha, "refunded")  # paid, then fully refunded: no purchase left
        order(alpha, refunded, 90, payments=[(90, at(2026, 11, 2), "cash")], refunds=[(90, at(2026, 11, 3), "cash")])
        redate_spend()
        owner = session.get(User, (alpha.id, alpha.users["owner"]))
        kpi = engine.get_kpi(owner, "customers.rfm")
        assert kpi is not None  # shipped: the customers' spend columns are its source
        scope = engine.scope_for(owner, _november())
        rows = engine.records(kpi, scope, limit=None)
        assert {r["name"]: r["segment"] for r in rows} == {
            "high": "high_value", "potential": "potential", "at-risk": "at_risk", "win-back": "win_back",
            "lost": "lost"}
        assert {r["name"]: r["spend"] for r in rows}["high"] == Decimal("6000.00")
        result = engine.evaluate([kpi], scope)[kpi.code]
        assert result.value == result.n == 5
        by_segment = {k: v for k, _label, v, _n in engine.breakdown(kpi, scope, "segment")}
        assert by_segment == {"high_value": 1, "potential": 1, "at_risk": 1, "win_back": 1, "lost": 1}
        # the advisor works in store 1: the at-risk customer of store 2 is not theirs
        advisor = session.get(User, (alpha.id, alpha.users["advisor"]))
        mine = engine.records(kpi, engine.scope_for(advisor, _november()), limit=None)
        assert "at-risk" not in {r["name"] for r in mine} and len(mine) == 4
        # October: the November buyers had not bought yet (recency is counted at the period's end)
        october = engine.records(kpi, engine.scope_for(owner, period_of("month", date(2026, 10, 15))), limit=None)
        assert {r["name"] for r in october} == {"at-risk", "win-back", "lost"}
    with in_tenant(beta) as session:
        owner = session.get(User, (beta.id, beta.users["owner"]))
        assert engine.records(engine.get_kpi(owner, "customers.rfm"), engine.scope_for(owner, _november()),
                              limit=None) == []


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
