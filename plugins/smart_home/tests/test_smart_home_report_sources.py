"""The work orders as a record type of the core's report builder (`register_report_sources`): grouped, measured and
filtered like the core's records, limited to the viewer's stores, through the public API."""
import pytest

from smart_home_testkit import installer

pytestmark = pytest.mark.storecrm_plugins("smart_home")


def test_work_orders_are_a_report_source_limited_to_the_viewers_stores(app, make_tenant, in_tenant, api_token):
    from storecrm.plugins.smart_home import services

    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha):
        for kind, fault, store in (("repair", "lock", 0), ("install", None, 1), ("repair", "power", 1)):
            services.create_work_order(None, {"kind": kind, "customer_id": ids["customer"], "fault_type": fault,
                                              "store_id": alpha.stores[store]})
    client = app.test_client()
    owner, manager = api_token(alpha, "owner"), api_token(alpha, "manager")
    entities = client.get("/api/v1/reports/entities", headers=owner).get_json()["items"]
    work_orders = next(e for e in entities if e["code"] == "smart_home.work_orders")
    assert "engineer" in work_orders["dimensions"] and "minutes_on_site" in work_orders["measures"]

    def save(spec):
        answer = client.post("/api/v1/reports", json={"name": "工单", "spec": spec}, headers=owner)
        assert answer.status_code == 201, answer.get_json()
        return answer.get_json()["id"]

    by_kind = save({"entity": "smart_home.work_orders", "group_by": "kind", "chart": "pie", "sort": "value"})
    everyone = client.get(f"/api/v1/reports/{by_kind}/run", headers=owner).get_json()
    assert everyone["chart"] == "pie" and sorted(row[1] for row in everyone["rows"]) == [1, 2]
    # the manager works in the first store: the other store's two orders are outside the statement
    mine = client.get(f"/api/v1/reports/{by_kind}/run", headers=manager).get_json()
    assert [row[1] for row in mine["rows"]] == [1]

    tree = {"any": [{"field": "fault_type", "op": "eq", "value": "power"},
                    {"field": "kind", "op": "eq", "value": "install"}]}
    listed = save({"entity": "smart_home.work_orders", "columns": ["number"], "where": tree})
    assert len(client.get(f"/api/v1/reports/{listed}/run", headers=owner).get_json()["rows"]) == 2
    bad = client.post("/api/v1/reports", json={"name": "x", "spec": {
        "entity": "smart_home.work_orders", "where": {"field": "kind; DROP TABLE x", "op": "eq", "value": "1"}}},
        headers=owner)
    assert bad.status_code == 422 and "spec.where" in str(bad.get_json())
