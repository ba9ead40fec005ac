"""The rules seeded on first enable: maintenance is due 5 months OR 8,000 km after the last service, whichever
comes first, and fires a month ahead — for exactly the vehicles seeded as due by time or by distance, in the preview
and in the sweep; insurance renewal fires 30 days before the commercial insurance ends; the churn warning skips
customers whose car is sold or transferred."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta

import pytest
from sqlalchemy import select

from storecrm.sdk import (Customer, Rule, add_odometer_reading, create_asset, db, get_scoped, preview_rule,
                          sweep_rule, tenant_today, tenant_zone)

from dealership_testkit import user, vehicle

pytestmark = pytest.mark.storecrm_plugins("dealership")


def _months_back(day: date, months: int) -> date | None:
    month = day.month - months
    year = day.year + (month - 1) // 12
    month = (month - 1) % 12 + 1
    try:
        return day.replace(year=year, month=month)
    except ValueError:
        return None


def test_maintenance_rule_fires_for_exactly_the_cars_due_by_time_or_distance(two_tenants, in_tenant):
    from storecrm.plugins.dealership.seed import maintenance_rule

    alpha, beta = two_tenants
    with in_tenant(alpha):
        today = tenant_today()
        # a divides 4,000 km so the projected day is exact; the car due by time was serviced 5 months before D + 30
        a = next(n for n in (40, 50, 32) if _months_back(today + timedelta(days=n), 5))
        day = today + timedelta(days=a - 30)  # the sweep's day D
        owner = user(alpha, "owner")
        by_time = vehicle(alpha, 0, "沪A00001")
        add_odometer_reading(owner, by_time, 20000, read_on=_months_back(today + timedelta(days=a), 5), service=True)
        by_distance = vehicle(alpha, 0, "沪A00002")  # 4,000 km in `a` days since its service: 8,000 in 2a days
        add_odometer_reading(owner, by_distance, 10000, read_on=today - timedelta(days=a), service=True)
        add_odometer_reading(owner, by_distance, 14000, read_on=today)
        not_due = vehicle(alpha, 2, "沪A00003")  # serviced a month ago, drives little
        add_odometer_reading(owner, not_due, 10000, read_on=today - timedelta(days=30), service=True)
        add_odometer_reading(owner, not_due, 10300, read_on=today)
        device = create_asset(owner, get_scoped(Customer, alpha.customers[0]),
                              {"type": "device", "name": "行车记录仪", "identifiers": {}})
        device_reading = add_odometer_reading(owner, device, 1, read_on=_months_back(today + timedelta(days=a), 5),
                                              service=True)
        assert device_reading.id
        rule = maintenance_rule()
        assert rule.trigger == {"type": "usage", "months": 5, "km": 8000, "offset_days": -30} and rule.enabled
        previewed = {record.id for record, _due, _fired in preview_rule(rule, today=day)["rows"]}
        assert previewed == {by_time.id, by_distance.id}
        assert sweep_rule(rule, day) == 2
        assert sweep_rule(rule, day) == 0  # each car fires once per due date
    with in_tenant(beta):
        rule = maintenance_rule()
        assert sweep_rule(rule, day) == 0  # alpha's cars are not beta's


def test_insurance_renewal_fires_thirty_days_ahead(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha):
        today = tenant_today()
        ends = today + timedelta(days=30)
        insured = vehicle(alpha, 0, "沪A00011", custom={"commercial_insurance_until": ends.isoformat()})
        vehicle(alpha, 0, "沪A00012", custom={"commercial_insurance_until": (ends + timedelta(days=9)).isoformat()})
        rule = db.session.scalar(select(Rule).where(
            Rule.trigger["field"].astext == "custom.commercial_insurance_until"))
        assert {r.id for r, _d, _f in preview_rule(rule, today=today)["rows"]} == {insured.id}
        assert sweep_rule(rule, today) == 1
        names = set(db.session.scalars(select(Rule.name)))
        assert len(names) == 4  # maintenance, insurance, churn warning, birthday


def test_churn_warning_leaves_out_customers_whose_car_was_sold_or_transferred(two_tenants, in_tenant):
    """No visit for a year fires only for a customer who still owns a car not marked sold: the sold car's owner and
    the one whose car was transferred away drop out, in the preview and in the sweep."""
    from storecrm.sdk import Interaction, transfer_asset, utcnow
    from storecrm.plugins.dealership.seed import churn_rule

    alpha, _beta = two_tenants
    with in_tenant(alpha):
        owner = user(alpha, "owner")
        long_ago = utcnow() - timedelta(days=500)
        # noon in Shanghai is the same calendar day in UTC, so the visit's day is the same whichever zone counts
        visited = datetime.combine(tenant_today() - timedelta(days=365), time(12), tzinfo=tenant_zone())
        for cid in alpha.customers:
            get_scoped(Customer, cid).created_at = long_ago
            db.session.add(Interaction(customer_id=cid, kind="visit", body="保养", occurred_at=visited))
        keeps = vehicle(alpha, 0, "沪A00021")
        vehicle(alpha, 1, "沪A00022", custom={"sold": True})  # sold: out of the churn set
        moved = vehicle(alpha, 2, "沪A00023")
        transfer_asset(owner, moved, get_scoped(Customer, alpha.customers[0]), "二手车置换")
        db.session.flush()
        rule = churn_rule()
        assert rule.conditions == {"plugin": "dealership.keeps_vehicle", "value": True}
        rows = preview_rule(rule, today=tenant_today())["rows"]
        assert [record.id for record, _due, _fired in rows] == [alpha.customers[0]]
        assert keeps.customer_id == alpha.customers[0]
        assert rows[0][1] == tenant_today()  # due today: a year after the visit
        assert sweep_rule(rule, tenant_today()) == 1
        assert sweep_rule(rule, tenant_today()) == 0
