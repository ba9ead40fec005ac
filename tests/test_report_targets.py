"""Monthly KPI targets per tenant, store and person: achievement = the KPI's own value over the month ÷ target,
the month to date against last month's same days, and the same month a year before; bad input is a field error,
another tenant's target is not found, and a store-limited manager sees their stores' targets only."""
from __future__ import annotations

from decimal import Decimal

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select

from storecrm.customers.models import Customer
from storecrm.reports import targets
from storecrm.reports.models import KpiTarget
from storecrm.reports.periods import report_today
from storecrm.users.models import User


def _user(session, world, role):
    return session.get(User, (world.id, world.users[role]))


def test_targets_show_achievement_and_refuse_bad_input(two_tenants, in_tenant, login):
    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        owner, manager = _user(session, alpha, "owner"), _user(session, alpha, "manager")
        month = report_today().replace(day=1)
        # every seeded customer was created just now, so this month's new customers are all of them
        in_store = session.scalar(select(func.count()).select_from(Customer)
                                  .where(Customer.store_id == alpha.stores[1], Customer.deleted_at.is_(None)))
        targets.set_target(owner, {"kpi_code": "customers.new", "month": f"{month:%Y-%m}", "value": "40",
                                   "store_id": str(alpha.stores[1])})
        targets.set_target(owner, {"kpi_code": "customers.new", "month": f"{month:%Y-%m}", "value": "50",
                                   "store_id": str(alpha.stores[1])})  # replaces, one target per key
        assert session.scalar(select(func.count()).select_from(KpiTarget)) == 1
        row, = targets.rows_for(owner, month)
        assert row.actual == in_store and row.achievement == (Decimal(in_store) * 100 / 50).quantize(Decimal("0.1"))
        assert row.to_date == in_store and row.year_before == 0
        assert targets.rows_for(manager, month) == []  # the manager works in the first store only
        with pytest.raises(ValidationError) as err:
            targets.set_target(owner, {"kpi_code": "x'; DROP TABLE kpi_targets; --", "month": "2026-13",
                                       "value": "-1", "user_id": "abc"})
        assert set(err.value.messages) == {"kpi_code", "month", "value"}
        with pytest.raises(ValidationError) as err:  # beta's person is no one here
            targets.set_target(owner, {"kpi_code": "customers.new", "month": f"{month:%Y-%m}", "value": "3",
                                       "user_id": str(beta.users["advisor"] + 100000)})
        assert set(err.value.messages) == {"user_id"}
        advisor = targets.set_target(owner, {"kpi_code": "customers.new", "month": f"{month:%Y-%m}", "value": "3",
                                             "user_id": str(alpha.users["advisor"])})
        assert advisor.user_id == alpha.users["advisor"] and advisor.store_id is None
        targets.delete_target(advisor)
        target_id = session.scalar(select(KpiTarget.id))
    page = login(alpha, "owner").get(f"/t/alpha/reports/targets?month={month:%Y-%m}")
    assert page.status_code == 200 and f'data-target="{target_id}"' in page.get_data(as_text=True)
    bad = login(alpha, "owner").post("/t/alpha/reports/targets", {"kpi_code": "customers.new", "month": "x",
                                                                   "value": "abc"})
    assert bad.status_code == 422
    # another tenant cannot delete or see it
    assert login(beta, "owner").post(f"/t/beta/reports/targets/{target_id}/delete").status_code == 404


def test_targets_api_and_year_over_year(two_tenants, app, api_token, in_tenant):
    alpha, beta = two_tenants
    client, owner = app.test_client(), api_token(alpha, "owner")
    with in_tenant(alpha):
        month = f"{report_today():%Y-%m}"
    made = client.post("/api/v1/kpis/targets", json={"kpi_code": "customers.new", "month": month, "value": "10"},
                       headers=owner)
    assert made.status_code == 201, made.get_json()
    listed = client.get(f"/api/v1/kpis/targets?month={month}", headers=owner).get_json()["items"]
    assert [i["target"]["id"] for i in listed] == [made.get_json()["id"]]
    assert Decimal(listed[0]["achievement"]) == Decimal(listed[0]["actual"]) * 10
    bad = client.post("/api/v1/kpis/targets", json={"kpi_code": "customers.new", "month": "13", "value": "0"},
                      headers=owner)
    assert bad.status_code == 422
    other = client.delete(f"/api/v1/kpis/targets/{made.get_json()['id']}", headers=api_token(beta, "owner"))
    assert other.status_code == 404
    value = client.get("/api/v1/kpis/customers.new/value?period=month", headers=owner).get_json()
    assert value["year_before"] == 0 and value["year_before_period"]["start"][:4] == str(int(month[:4]) - 1)
    assert client.delete(f"/api/v1/kpis/targets/{made.get_json()['id']}", headers=owner).status_code == 204
