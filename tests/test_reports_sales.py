"""The commerce KPIs against sums done by hand on seeded orders,

Alpha's November 2026 (Shanghai), by hand:

    order  customer  store  total  money in November            net today  first payment
    A      c0        1      100    +100 cash (5th)              100        5 Nov
    B      c0        1      200    +50 (10th) [+150 on 2 Dec]   200        10 Nov
    C      c1        2      300    +300 (20th), -100 (25th)     200        20 Nov
    D      c2        1       80    +80 (12th), -80 (13th)         0        (fully refunded: no paid order)
    E      c1        2      500    [+500 on 15 Oct]             500        15 Oct
    F      c2        1       60    [+60 on 1 Dec 00:30 local]    60        1 Dec (30 Nov 16:30 UTC)
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from storecrm.reports import engine
from storecrm.reports.periods import period_of
from storecrm.users.models import User

from .sales_seed import at, customer, order, redate_spend

def _november():
    return period_of("month", date(2026, 11, 15))


def _result(session, world, code, period, role="owner", **filters):
    user = session.get(User, (world.id, world.users[role]))
    kpi = engine.get_kpi(user, code)
    assert kpi is not None, code
    scope = engine.scope_for(user, period, **filters)
    result = engine.evaluate([kpi], scope)[code]
    rows = engine.records(kpi, scope, limit=None)
    assert result.n == len(rows), (code, result.n, len(rows))  # the number and its list are one query
    return result, rows


@pytest.fixture
def orders(two_tenants, in_tenant):
    alpha, beta = two_tenants
    with in_tenant(alpha):
        c0, c1, c2 = (customer(alpha, "钱先生"), customer(alpha, "孙女士", 1), customer(alpha, "李先生"))
        ids = {
            "A": order(alpha, c0, 100, payments=[(100, at(2026, 11, 5), "cash")]),
            "B": order(alpha, c0, 200, payments=[(50, at(2026, 11, 10), "wechat_pay"),
                                                 (150, at(2026, 12, 2), "wechat_pay")]),
            "C": order(alpha, c1, 300, store=1, payments=[(300, at(2026, 11, 20), "alipay")],
                       refunds=[(100, at(2026, 11, 25), "alipay")]),
            "D": order(alpha, c2, 80, payments=[(80, at(2026, 11, 12), "wechat_pay")],
                       refunds=[(80, at(2026, 11, 13), "wechat_pay")]),
            "E": order(alpha, c1, 500, store=1, payments=[(500, at(2026, 10, 15), "cash")]),
            "F": order(alpha, c2, 60, payments=[(60, at(2026, 11, 30, 16, 30), "cash")]),
        }
        alpha.orders, alpha.buyers = ids, (c0, c1, c2)
    with in_tenant(beta):
        b0 = customer(beta, "周先生")
        beta.orders = {"Z": order(beta, b0, 9999, payments=[(9999, at(2026, 11, 6), "cash")])}
    return alpha, beta


CODES = ["sales.revenue", "sales.orders", "sales.average_order_value", "sales.repurchase_rate",
         "sales.customer_lifetime_value", "sales.refunds"]


def test_commerce_kpis_equal_the_hand_computed_values(orders, in_tenant):
    alpha, beta = orders
    o = alpha.orders
    c0, c1, _c2 = alpha.buyers
    with in_tenant(alpha) as session:
        nov = _november()
        revenue, rows = _result(session, alpha, "sales.revenue", nov)
        assert revenue.value == Decimal("350.00") and len(rows) == 6  # 100 + 50 + 300 − 100 + 80 − 80
        assert revenue.previous == Decimal("500.00")  # October: order E
        assert sorted(r["amount"] for r in rows) == [Decimal(x) for x in ("-100", "-80", "50", "80", "100", "300")]
        assert {r["method_name"] for r in rows} >= {"Cash", "Alipay"}  # labels, never a raw code

        refunds, rows = _result(session, alpha, "sales.refunds", nov)
        assert refunds.value == Decimal("180.00") and {r["order_id"] for r in rows} == {o["C"], o["D"]}

        paid, rows = _result(session, alpha, "sales.orders", nov)
        assert paid.value == 3 and {r["id"] for r in rows} == {o["A"], o["B"], o["C"]}  # D fully refunded, F in Dec
        assert paid.previous == 1

        aov, _rows = _result(session, alpha, "sales.average_order_value", nov)
        assert aov.value == Decimal("166.67")  # (100 + 200 + 200) / 3

        rate, rows = _result(session, alpha, "sales.repurchase_rate", nov)
        assert rate.value == Decimal("50.0")  # c0 (A, B) of c0 and c1
        assert {r["id"]: r["repeat"] for r in rows} == {c0: True, c1: False}

        clv, rows = _result(session, alpha, "sales.customer_lifetime_value", nov)
        # c0: 100 + 50 paid by 30 Nov (B's 150 came in December); c1: 500 (Oct) + 300 − 100 = 700
        assert {r["id"]: r["lifetime_spend"] for r in rows} == {c0: Decimal("150.00"), c1: Decimal("700.00")}
        assert clv.value == Decimal("425.00")

        # 1 December, local: F's payment at 00:30 Shanghai (30 Nov 16:30 UTC) and nothing else
        day, rows = _result(session, alpha, "sales.revenue", period_of("day", date(2026, 12, 1)))
        assert day.value == Decimal("60.00") and [r["order_id"] for r in rows] == [o["F"]]

        # filters: the payment method, a store, store staff (store 1 only)
        assert _result(session, alpha, "sales.revenue", nov, channel="cash")[0].value == Decimal("100.00")
        assert _result(session, alpha, "sales.revenue", nov, store_id=alpha.stores[1])[0].value == Decimal("200.00")
        mine, rows = _result(session, alpha, "sales.revenue", nov, role="advisor")
        assert mine.value == Decimal("150.00") and len(rows) == 4  # A, B, D in and out
        assert _result(session, alpha, "sales.orders", nov, role="advisor")[0].value == 2
        by_store = {k: v for k, _label, v, _n in engine.breakdown(
            engine.get_kpi(session.get(User, (alpha.id, alpha.users["owner"])), "sales.revenue"),
            engine.scope_for(session.get(User, (alpha.id, alpha.users["owner"])), nov), "store_id")}
        assert by_store == {alpha.stores[0]: Decimal("150.00"), alpha.stores[1]: Decimal("200.00")}
    with in_tenant(beta) as session:
        revenue, rows = _result(session, beta, "sales.revenue", _november())
        assert revenue.value == Decimal("9999.00") and len(rows) == 1


@pytest.mark.parametrize("code", CODES)
def test_commerce_drill_down_lists_exactly_what_it_counts(code, orders, in_tenant):
    alpha, _ = orders
    with in_tenant(alpha) as session:
        for period in (_november(), period_of("week", date(2026, 11, 10)), period_of("day", date(2026, 11, 20))):
            _result(session, alpha, code, period)
