"""Repair orders as a record type of the core's report builder (`register_report_sources`): revenue by service
advisor, and this month's repair orders as a number with the change on last month, through the public API."""
from __future__ import annotations

from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest

from storecrm.sdk import tenant_today, tenant_zone

from dealership_testkit import repair, vehicle, workshop

pytestmark = pytest.mark.storecrm_plugins("dealership")


def test_repair_orders_are_a_report_source_with_dimensions_and_measures(two_tenants, in_tenant, app, api_token):
    alpha, _beta = two_tenants
    with in_tenant(alpha):
        first_of_month = tenant_today().replace(day=1)
        this_month = datetime.combine(first_of_month, time(10), tzinfo=tenant_zone())
        last_month = datetime.combine((first_of_month - timedelta(days=1)).replace(day=1), time(10),
                                      tzinfo=tenant_zone())
        workshop(alpha)
        car = vehicle(alpha)
        totals = []
        for arrived in (last_month, this_month, this_month + timedelta(hours=2)):
            ro = repair(alpha, car, arrived=arrived, delivered=arrived + timedelta(hours=1), mileage=10000)
            totals.append(ro.labour_total + ro.parts_total)
    client, owner = app.test_client(), api_token(alpha, "owner")

    def run(spec):
        saved = client.post("/api/v1/reports", json={"name": "工单", "spec": spec}, headers=owner)
        assert saved.status_code == 201, saved.get_json()
        return client.get(f"/api/v1/reports/{saved.get_json()['id']}/run", headers=owner).get_json()

    by_advisor = run({"entity": "dealership.repair_orders", "group_by": "advisor", "aggregate": "sum",
                      "measure": "total", "chart": "bar"})
    assert len(by_advisor["rows"]) == 1 and Decimal(str(by_advisor["rows"][0][1])) == sum(totals)
    number = run({"entity": "dealership.repair_orders", "chart": "number", "date_field": "arrived_at",
                  "period": "month"})
    assert (number["rows"][0][0], number["previous"]) == (2, 1)
    refused = client.post("/api/v1/reports", json={"name": "x", "spec": {
        "entity": "dealership.repair_orders", "group_by": "total"}}, headers=owner)  # money is a measure
    assert refused.status_code == 422
