"""Smart home pages and API through HTTP: the public request with an SMS code and its tracking link, the staff and
engineer pages, field errors in the user's language, the REST API with problem+json."""
import re

import pytest
from sqlalchemy import text

from smart_home_testkit import PNG, installer

pytestmark = pytest.mark.storecrm_plugins("smart_home")


def _code(system_db, tenant_id):
    with system_db.connect() as conn:
        body = conn.execute(text("SELECT body FROM outbox_messages WHERE channel = 'sms' AND tenant_id = :t "
                                 "ORDER BY id DESC LIMIT 1"), {"t": tenant_id}).scalar()
    return re.search(r"\d{6}", body).group(0)


def test_a_customer_reports_a_fault_with_a_code_and_follows_it(app, make_tenant, in_tenant, browser, system_db):
    alpha = make_tenant("alpha")
    installer(alpha, in_tenant)
    visitor = browser()
    page = visitor.get("/t/alpha/smart-home/public/request")
    assert page.status_code == 200
    bad = visitor.post("/t/alpha/smart-home/public/request", {"name": "", "mobile": "123"})
    assert bad.status_code == 422 and "mobile" in bad.get_data(as_text=True)
    visitor.post("/t/alpha/smart-home/public/request", {"name": "王女士", "mobile": "139 1234 5678"})
    wrong = visitor.post("/t/alpha/smart-home/public/request", {"code": "000000x"})
    assert wrong.status_code == 422
    done = visitor.post("/t/alpha/smart-home/public/request", {"code": _code(system_db, alpha.id)})
    assert done.status_code == 302 and done.headers["Location"].endswith("/smart-home/public/request/details")
    missing = visitor.post("/t/alpha/smart-home/public/request/details", {"fault_type": "lock"})
    assert missing.status_code == 422
    made = visitor.post("/t/alpha/smart-home/public/request/details",
                        {"district": "浦东新区", "address": "世纪大道1号", "fault_type": "lock", "description": "门锁没反应"})
    assert made.status_code == 302 and "/smart-home/public/track/" in made.headers["Location"]
    track = visitor.get(made.headers["Location"])
    body = track.get_data(as_text=True)
    assert track.status_code == 200 and "门锁没反应" not in body and "世纪大道" not in body  # no personal details
    # dispatched to the engineer covering 浦东新区 at once
    with system_db.connect() as conn:
        row = conn.execute(text("SELECT state, engineer_id, source FROM smart_home_work_orders WHERE tenant_id = :t"),
                           {"t": alpha.id}).one()
    assert row.state == "assigned" and row.engineer_id == alpha.users["technician"] and row.source == "public"
    assert visitor.get("/t/alpha/smart-home/public/track/not-a-token").status_code == 404


def test_staff_pages_and_the_engineer_flow(app, make_tenant, in_tenant, login):
    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    manager, tech = login(alpha, "manager"), login(alpha, "technician")
    form = manager.get(f"/t/alpha/smart-home/orders/new?customer_id={ids['customer']}")
    assert form.status_code == 200
    refused = manager.post("/t/alpha/smart-home/orders/new", {"customer_id": ids["customer"], "kind": "repair"})
    assert refused.status_code == 422 and "fault" in refused.get_data(as_text=True).lower()
    made = manager.post("/t/alpha/smart-home/orders/new", {"customer_id": ids["customer"], "kind": "repair",
                                                           "asset_id": ids["device"], "fault_type": "lock",
                                                           "description": "指纹失灵"})
    assert made.status_code == 302
    order_url = made.headers["Location"]
    order_id = int(order_url.rstrip("/").rsplit("/", 1)[1])
    for url in (order_url, "/t/alpha/smart-home/", "/t/alpha/smart-home/kb/?q=指纹", "/t/alpha/smart-home/contracts/",
                f"/t/alpha/customers/{ids['customer']}", f"/t/alpha/assets/{ids['device']}"):
        assert manager.get(url).status_code == 200, url
    assert tech.get("/t/alpha/smart-home/engineer/").status_code == 200
    job = f"/t/alpha/smart-home/engineer/{order_id}"
    assert tech.post(f"{job}/accept").status_code == 302
    assert tech.post(f"{job}/check-in", {"latitude": "31.230100", "longitude": "121.500000"}).status_code == 302
    too_many = tech.post(f"{job}/parts", {"item_id": ids["module"], "quantity": "99"})
    assert too_many.status_code == 422
    assert tech.post(f"{job}/parts", {"item_id": ids["module"], "quantity": "1"}).status_code == 302
    unsigned = tech.post(f"{job}/complete", {"diagnosis": "模组坏", "report": "已更换", "signed_name": "王女士"})
    assert unsigned.status_code == 422
    assert tech.post(f"{job}/complete", {"diagnosis": "模组坏", "report": "已更换", "signed_name": "王女士",
                                         "fixed": "1", "signature": PNG}).status_code == 302
    page = manager.get(f"/t/alpha/assets/{ids['device']}").get_data(as_text=True)
    assert "指纹识别模组" in page


def test_the_api_lists_creates_and_refuses_bad_input(app, make_tenant, in_tenant, api_token):
    alpha = make_tenant("alpha")
    ids = installer(alpha, in_tenant)
    client, headers = app.test_client(), api_token(alpha, "manager")
    bad = client.post("/api/v1/smart-home/work-orders", json={"kind": "teleport", "customer_id": ids["customer"]},
                      headers=headers)
    assert bad.status_code == 422 and bad.content_type.startswith("application/problem+json")
    made = client.post("/api/v1/smart-home/work-orders", headers=headers,
                       json={"kind": "install", "customer_id": ids["customer"], "property_id": ids["home"]})
    assert made.status_code == 201
    for n in range(2):
        client.post("/api/v1/smart-home/work-orders", headers=headers,
                    json={"kind": "consultation", "customer_id": ids["customer"]})
    first = client.get("/api/v1/smart-home/work-orders?per_page=2", headers=headers).get_json()
    second = client.get(f"/api/v1/smart-home/work-orders?per_page=2&after_id={first['next_after_id']}",
                        headers=headers).get_json()
    assert first["total"] == 3 and len(first["items"]) == 2 and len(second["items"]) == 1
    assert client.get(f"/api/v1/smart-home/devices/{ids['device']}", headers=headers).get_json()["name"] == "智能门锁 X1"
    contract = client.post("/api/v1/smart-home/contracts", headers=headers, json={
        "customer_id": ids["customer"], "starts_on": "2027-01-01", "ends_on": "2026-01-01", "price": "100"})
    assert contract.status_code == 422 and "ends_on" in contract.get_data(as_text=True)
    found = client.get("/api/v1/smart-home/articles?q=门锁 指纹", headers=headers).get_json()
    assert [a["title"] for a in found] == ["智能门锁指纹识别失败怎么办"]
