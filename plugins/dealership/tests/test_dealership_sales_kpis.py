"""The sales funnel, the advisor leaderboard and complaint rates by category are reports-engine KPIs: values equal
hand counts on seeded leads, test drives, contracts and repair orders, and each drill-down (the export) lists exactly
the records counted — another tenant's never."""
from __future__ import annotations

import csv
import io
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from storecrm.sdk import (Lead, db, get_scoped, kpi_breakdown, kpi_result, period_of, tenant_today, tenant_zone,
                          utcnow)

from dealership_testkit import demo_car_ids, lead, repair, user, vehicle, workshop

pytestmark = pytest.mark.storecrm_plugins("dealership")


def _export(browser, code, first, last):
    resp = browser.get(f"/t/alpha/reports/kpis/{code}/export.csv?period=custom&start={first}&end={last}")
    assert resp.status_code == 200, resp.get_data(as_text=True)[:300]
    return list(csv.reader(io.StringIO(resp.get_data(as_text=True).lstrip("\ufeff"))))[1:]


def test_funnel_leaderboard_and_complaints_by_category_count_exactly_their_records(two_tenants, in_tenant, login):
    from storecrm.plugins.dealership import contracts, sales, services

    alpha, beta = two_tenants
    with in_tenant(beta):  # another tenant's lead never counts
        lead(beta, "13900007999", "别家客户")
    with in_tenant(alpha):
        workshop(alpha)
        advisor = user(alpha, "advisor")
        today = tenant_today()
        driven, called_off, won, idle = (lead(alpha, f"1390000700{n}", name) for n, name in
                                         enumerate(("试驾客户", "取消客户", "成交客户", "观望客户")))
        car = demo_car_ids(alpha)[0]
        at = datetime.combine(today + timedelta(days=1), time(10), tzinfo=tenant_zone())
        drive = sales.book_test_drive(advisor, driven, {"resource_id": car, "starts_at": at})
        sales.close_test_drive(advisor, drive, "completed")
        other = sales.book_test_drive(advisor, called_off, {"resource_id": car, "starts_at": at + timedelta(hours=2)})
        sales.close_test_drive(advisor, other, "cancelled")
        won.status, won.closed_at = "won", utcnow()  # as the lead page's "won" does
        from storecrm.sdk import Store, customer_for_public_request

        won.customer_id = customer_for_public_request(get_scoped(Store, alpha.stores[0]), won.name, won.mobile).id
        contract = contracts.create_contract(advisor, {"lead_id": won.id, "model": "大众 途观L", "price": "250000",
                                                       "discount": "10000", "deposit": "5000"})
        from storecrm.sdk import accept_quote

        accept_quote(contracts.send_for_signature(advisor, contract), {"name": "成交客户", "signature": None,
                                                                       "optional_line_ids": []}, user=advisor)
        # two repair orders delivered yesterday, one complaint about waiting on the first
        base = datetime.combine(today - timedelta(days=1), time(9), tzinfo=tenant_zone())
        ro1 = repair(alpha, vehicle(alpha, 0, "沪A70001"), arrived=base, delivered=base + timedelta(hours=1),
                     mileage=10)
        repair(alpha, vehicle(alpha, 0, "沪A70002"), arrived=base + timedelta(hours=2),
               delivered=base + timedelta(hours=3), mileage=10)
        services.record_complaint(advisor, ro1, {"category": "waiting", "note": "等太久"})
        owner = user(alpha, "owner")
        first, last = today - timedelta(days=1), today + timedelta(days=2)
        period = period_of("custom", first=first, last=last)

        def value(code):
            result = kpi_result(owner, code, period)
            return result.value, result.n

        assert value("dealership.funnel_leads") == (4, 4)
        assert value("dealership.funnel_test_driven") == (Decimal("25.0"), 4)  # the cancelled drive does not count
        assert value("dealership.funnel_won") == (Decimal("25.0"), 4)
        assert value("dealership.won_leads") == (1, 1)
        assert value("dealership.test_drives") == (1, 1)
        assert value("dealership.contracts_signed") == (1, 1)
        assert value("dealership.complaint_rate.waiting") == (Decimal("50.00"), 2)
        assert value("dealership.complaint_rate.attitude") == (Decimal("0.00"), 2)
        board = kpi_breakdown(owner, "dealership.won_leads", period, "advisor_id")
        assert [(key, v) for key, _label, v, _n in board] == [(won.owner_id, 1)]
        names = {"won": won.name, "driven": driven.name}
        db.session.commit()
    browser = login(alpha, "owner")
    assert [row[0] for row in _export(browser, "dealership.won_leads", first, last)] == [names["won"]]
    assert [row[0] for row in _export(browser, "dealership.test_drives", first, last)] == [names["driven"]]
    assert len(_export(browser, "dealership.funnel_test_driven", first, last)) == 4
    assert len(_export(browser, "dealership.complaint_rate.waiting", first, last)) == 2
    assert browser.get(f"/t/alpha/reports/kpis/dealership.funnel_won?period=custom&start={first}&end={last}"
                       ).status_code == 200
