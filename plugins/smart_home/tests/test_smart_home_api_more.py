"""The REST API of the field pages: the engineer's day, the on-site quote and its payment, van transfer requests
(approved once under a double call) and defective part returns. Each: the happy path, a bad input answered 422
problem+json with nothing written, another tenant's id answered 404; and the OpenAPI document lists them."""
import threading
from decimal import Decimal

import pytest
from sqlalchemy import text

from smart_home_testkit import PNG, installer

pytestmark = pytest.mark.storecrm_plugins("smart_home")
API = "/api/v1/smart-home"


def _on_site(world, in_tenant, ids, *, transfer=False, part_return=False):
    """A repair of the lock dispatched to the technician and checked in; optionally a part request for his van and
    a defective part taken out. Returns the ids."""
    from storecrm.sdk import User, get_scoped
    from storecrm.plugins.smart_home import services

    with in_tenant(world):
        tech = get_scoped(User, ids["tech"])
        order = services.create_work_order(None, {"kind": "repair", "customer_id": ids["customer"],
                                                  "asset_id": ids["device"], "fault_type": "lock"})
        services.check_in(tech, order, {})
        made = {"order": order.id}
        if transfer:
            made["transfer"] = services.request_part(tech, order, {"item_id": ids["module"],
                                                                   "quantity": Decimal("2")}).id
        if part_return:
            made["return"] = services.record_part_return(tech, order, {"item_id": ids["module"],
                                                                       "serial": "FP-OLD-1"}).id
        return made


def _problem(response, field):
    assert response.status_code == 422, response.get_data(as_text=True)
    assert response.content_type.startswith("application/problem+json")
    assert field in response.get_data(as_text=True)


def _rows(system_db, sql, tenant_id):
    with system_db.connect() as conn:
        return conn.execute(text(sql), {"t": tenant_id}).all()


def test_the_engineers_day_and_the_quote_with_its_payment(app, make_tenant, in_tenant, api_token, system_db):
    from storecrm.plugins.smart_home.models import Van

    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    ids = installer(alpha, in_tenant)
    with in_tenant(alpha) as session:
        van = session.query(Van).filter(Van.engineer_id == ids["tech"]).one()
        van.base_latitude, van.base_longitude = Decimal("31.200000"), Decimal("121.500000")
    job = _on_site(alpha, in_tenant, ids)["order"]
    ids_b = installer(beta, in_tenant, suffix="B")
    job_b = _on_site(beta, in_tenant, ids_b)["order"]
    client = app.test_client()
    tech, manager = api_token(alpha, "technician"), api_token(alpha, "manager")

    day = client.get(f"{API}/engineer/day", headers=tech)
    assert day.status_code == 200, day.get_data(as_text=True)
    body = day.get_json()
    assert body["engineer_id"] == ids["tech"] and [s["work_order_id"] for s in body["stops"]] == [job]
    stop = body["stops"][0]
    assert (stop["metres"], stop["minutes"], stop["state"]) == (3336, 9, "on_site")  # 0.03° north, 25 km/h
    assert "uri.amap.com/navigation" in stop["links"]["amap"] and "api.map.baidu.com" in stop["links"]["baidu"]
    today = client.get(f"{API}/engineer/day?date={body['date']}", headers=tech).get_json()
    assert today["stops"] == body["stops"]
    _problem(client.get(f"{API}/engineer/day?date=2001-01-01", headers=tech), "date")
    _problem(client.get(f"{API}/engineer/day?date=yesterday", headers=tech), "date")
    assert client.get(f"{API}/engineer/day?engineer_id={ids['other']}", headers=tech).status_code == 403
    seen = client.get(f"{API}/engineer/day?engineer_id={ids['tech']}", headers=manager).get_json()
    assert seen["stops"] == body["stops"]
    assert client.get(f"{API}/engineer/day?engineer_id={ids_b['tech']}", headers=manager).status_code == 404

    # the quote: one part under warranty, two billable, then labour; signed once, paid once
    parts = f"{API}/work-orders/{job}/actions"
    assert client.post(parts, json={"action": "use_part", "item_id": ids["module"], "quantity": 1},
                       headers=tech).status_code == 200
    assert client.post(parts, json={"action": "use_part", "item_id": ids["module"], "quantity": 2, "billable": True},
                       headers=tech).status_code == 200
    quote = client.get(f"{API}/work-orders/{job}/quote", headers=tech).get_json()
    assert quote["coverage"] == "warranty" and quote["billable_parts"] == "360.00" and quote["sales_order_id"] is None
    assert [(p["coverage"], p["quantity"]) for p in quote["parts"]] == [("warranty", "1"), ("billable", "2")]
    sales = "SELECT count(*) FROM sales_documents WHERE tenant_id = :t"
    _problem(client.post(f"{API}/work-orders/{job}/quote", json={"labour_amount": "-5", "signed_name": "王女士",
                                                                   "signature": PNG}, headers=tech), "labour_amount")
    _problem(client.post(f"{API}/work-orders/{job}/quote", json={"labour_amount": "80", "signed_name": "王女士"},
                         headers=tech), "signature")
    assert _rows(system_db, sales, alpha.id)[0][0] == 0
    assert client.get(f"{API}/work-orders/{job}/quote", headers=tech).get_json()["labour_amount"] is None
    _problem(client.post(f"{API}/work-orders/{job}/quote/payment", json={"method": "cash", "amount": "10"},
                         headers=tech), "state")  # not signed yet
    signed = client.post(f"{API}/work-orders/{job}/quote", headers={**tech, "Idempotency-Key": "sign-1"},
                         json={"labour_amount": "80", "signed_name": "王女士", "signature": PNG})
    assert signed.status_code == 201, signed.get_data(as_text=True)
    assert signed.get_json()["totals"] == {"total": "440.00", "paid": "0.00", "balance_due": "440.00"}
    _problem(client.post(f"{API}/work-orders/{job}/quote", json={"labour_amount": "80", "signed_name": "王女士",
                                                                   "signature": PNG}, headers=tech), "state")
    payments = "SELECT count(*), sum(amount) FROM payments WHERE tenant_id = :t"
    _problem(client.post(f"{API}/work-orders/{job}/quote/payment", json={"method": "cash", "amount": "500"},
                         headers=tech), "amount")
    _problem(client.post(f"{API}/work-orders/{job}/quote/payment", json={"method": "barter", "amount": "4"},
                         headers=tech), "method")
    assert _rows(system_db, payments, alpha.id)[0][0] == 0
    for _n in range(2):  # the same request retried: one payment
        paid = client.post(f"{API}/work-orders/{job}/quote/payment", json={"method": "wechat_pay", "amount": "440"},
                           headers={**tech, "Idempotency-Key": "pay-1"})
        assert paid.status_code == 201 and paid.get_json()["totals"]["balance_due"] == "0.00"
    assert tuple(_rows(system_db, payments, alpha.id)[0]) == (1, Decimal("440.00"))
    assert _rows(system_db, sales, alpha.id)[0][0] == 1

    for method, url in (("get", "quote"), ("post", "quote"), ("post", "quote/payment")):
        answer = getattr(client, method)(f"{API}/work-orders/{job_b}/{url}", headers=tech,
                                         json={} if method == "post" else None)
        assert answer.status_code == 404, url

    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/smart-home/engineer/day", "/smart-home/work-orders/{order_id}/quote",
                 "/smart-home/work-orders/{order_id}/quote/payment", "/smart-home/transfer-requests",
                 "/smart-home/transfer-requests/{request_id}/approve", "/smart-home/part-returns",
                 "/smart-home/part-returns/{return_id}/{step}"):
        assert any(p.endswith(path) for p in spec["paths"]), path


def test_transfer_requests_page_by_keyset_and_a_double_approve_loads_the_van_once(app, make_tenant, in_tenant,
                                                                                  api_token, system_db):
    from storecrm.sdk import create_stock_location, get_catalog_item, receive_stock

    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    ids = installer(alpha, in_tenant)
    first = _on_site(alpha, in_tenant, ids, transfer=True)["transfer"]
    second = _on_site(alpha, in_tenant, ids, transfer=True)["transfer"]
    with in_tenant(alpha):
        warehouse = create_stock_location(None, {"store_id": alpha.stores[0], "kind": "warehouse", "name": "中心仓"})
        receive_stock(get_catalog_item(ids["module"]), warehouse, 10, unit_cost=Decimal("90"))
        warehouse_id = warehouse.id
    ids_b = installer(beta, in_tenant, suffix="B")
    transfer_b = _on_site(beta, in_tenant, ids_b, transfer=True)["transfer"]
    client, manager = app.test_client(), api_token(alpha, "manager")
    url = f"{API}/transfer-requests"

    page = client.get(f"{url}?per_page=1", headers=manager).get_json()
    assert page["total"] == 2 and [r["id"] for r in page["items"]] == [second] and page["next_after_id"] == second
    rest = client.get(f"{url}?per_page=1&after_id={page['next_after_id']}", headers=manager).get_json()
    assert [r["id"] for r in rest["items"]] == [first] and rest["items"][0]["item_name"] == "指纹识别模组"
    assert rest["items"][0]["reason"] == "part_request" and rest["items"][0]["quantity"] == "2.000"
    _problem(client.get(f"{url}?state=lost", headers=manager), "state")
    assert client.get(url, headers=api_token(alpha, "technician")).status_code == 403

    levels = "SELECT location_id, on_hand FROM stock_levels WHERE tenant_id = :t"
    before = dict(_rows(system_db, levels, alpha.id))
    _problem(client.post(f"{url}/{first}/approve", json={}, headers=manager), "source_location_id")
    _problem(client.post(f"{url}/{first}/approve", json={"source_location_id": ids["vans"][ids["tech"]]},
                         headers=manager), "source_location_id")  # a van is not a warehouse
    assert dict(_rows(system_db, levels, alpha.id)) == before
    assert client.get(f"{url}?state=open", headers=manager).get_json()["total"] == 2

    done = client.post(f"{url}/{first}/approve", json={"source_location_id": warehouse_id}, headers=manager)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.get_json()["state"] == "approved" and done.get_json()["transfer_id"]
    _problem(client.post(f"{url}/{first}/approve", json={"source_location_id": warehouse_id}, headers=manager),
             "state")  # the double click: refused, nothing moved again
    keyed = {**manager, "Idempotency-Key": "approve-2"}
    answers = [client.post(f"{url}/{second}/approve", json={"source_location_id": warehouse_id}, headers=keyed)
               for _n in range(2)]  # a retry with the same key: the first answer again
    assert [a.status_code for a in answers] == [200, 200] and answers[1].headers.get("Idempotent-Replayed") == "true"
    after = dict(_rows(system_db, levels, alpha.id))
    assert after[warehouse_id] == Decimal("6") and after[ids["vans"][ids["tech"]]] == Decimal("9")  # 2 + 2 loaded
    assert _rows(system_db, "SELECT count(*) FROM stock_transfers WHERE tenant_id = :t", alpha.id)[0][0] == 2
    assert client.get(f"{url}?state=approved", headers=manager).get_json()["total"] == 2

    assert client.post(f"{url}/{transfer_b}/approve", json={"source_location_id": warehouse_id},
                       headers=manager).status_code == 404


def test_part_returns_move_only_along_their_states(app, make_tenant, in_tenant, api_token, system_db):
    from storecrm.sdk import create_stock_location

    alpha, beta = make_tenant("alpha"), make_tenant("beta")
    ids = installer(alpha, in_tenant)
    kept = _on_site(alpha, in_tenant, ids, part_return=True)["return"]
    scrapped = _on_site(alpha, in_tenant, ids, part_return=True)["return"]
    with in_tenant(alpha):
        warehouse_id = create_stock_location(None, {"store_id": alpha.stores[0], "kind": "warehouse",
                                                    "name": "中心仓"}).id
    ids_b = installer(beta, in_tenant, suffix="B")
    return_b = _on_site(beta, in_tenant, ids_b, part_return=True)["return"]
    client, manager = app.test_client(), api_token(alpha, "manager")
    url = f"{API}/part-returns"

    page = client.get(f"{url}?per_page=1&state=pending", headers=manager).get_json()
    assert page["total"] == 2 and [r["id"] for r in page["items"]] == [scrapped]
    rest = client.get(f"{url}?per_page=1&after_id={page['next_after_id']}", headers=manager).get_json()
    assert [(r["id"], r["serial"], r["state"]) for r in rest["items"]] == [(kept, "FP-OLD-1", "pending")]
    _problem(client.get(f"{url}?state=lost", headers=manager), "state")

    state = f"SELECT state, location_id, supplier FROM smart_home_part_returns WHERE tenant_id = :t AND id = {kept}"
    _problem(client.post(f"{url}/{kept}/return-to-supplier", json={"supplier": "鹿客科技"}, headers=manager), "to")
    _problem(client.post(f"{url}/{kept}/scrap", json={}, headers=manager), "to")  # not received yet
    _problem(client.post(f"{url}/{kept}/receive", json={}, headers=manager), "location_id")
    _problem(client.post(f"{url}/{kept}/receive", json={"location_id": ids["vans"][ids["tech"]]}, headers=manager),
             "location_id")
    assert tuple(_rows(system_db, state, alpha.id)[0]) == ("pending", None, None)
    assert client.post(f"{url}/{kept}/lose", json={}, headers=manager).status_code == 404

    received = client.post(f"{url}/{kept}/receive", json={"location_id": warehouse_id}, headers=manager)
    assert received.status_code == 200 and received.get_json()["state"] == "received"
    _problem(client.post(f"{url}/{kept}/receive", json={"location_id": warehouse_id}, headers=manager), "to")
    _problem(client.post(f"{url}/{kept}/return-to-supplier", json={"supplier": " "}, headers=manager), "supplier")
    back = client.post(f"{url}/{kept}/return-to-supplier", json={"supplier": "鹿客科技"}, headers=manager)
    assert back.status_code == 200 and back.get_json()["closed_at"]
    assert tuple(_rows(system_db, state, alpha.id)[0]) == ("returned", warehouse_id, "鹿客科技")
    client.post(f"{url}/{scrapped}/receive", json={"location_id": warehouse_id}, headers=manager)
    assert client.post(f"{url}/{scrapped}/scrap", json={"note": "进水"}, headers=manager).get_json()["state"] == \
        "scrapped"
    assert client.get(f"{url}?state=pending", headers=manager).get_json()["total"] == 0

    for step in ("receive", "return-to-supplier", "scrap"):
        assert client.post(f"{url}/{return_b}/{step}", json={"location_id": warehouse_id},
                           headers=manager).status_code == 404, step


def test_two_managers_approving_at_the_same_moment_load_the_van_once(app, make_tenant, in_tenant, api_token,
                                                                      system_db):
    from storecrm.sdk import create_stock_location, get_catalog_item, receive_stock

    alpha = make_tenant("alpha", locale="zh_CN")
    ids = installer(alpha, in_tenant)
    wanted = _on_site(alpha, in_tenant, ids, transfer=True)["transfer"]
    with in_tenant(alpha):
        warehouse = create_stock_location(None, {"store_id": alpha.stores[0], "kind": "warehouse", "name": "中心仓"})
        receive_stock(get_catalog_item(ids["module"]), warehouse, 10, unit_cost=Decimal("90"))
        warehouse_id = warehouse.id
    headers = [api_token(alpha, "manager"), api_token(alpha, "owner")]
    start, answers = threading.Barrier(2), [None, None]

    def approve(n):
        client = app.test_client()
        start.wait()
        answers[n] = client.post(f"{API}/transfer-requests/{wanted}/approve", headers=headers[n],
                                 json={"source_location_id": warehouse_id})

    threads = [threading.Thread(target=approve, args=(n,)) for n in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert sorted(a.status_code for a in answers) == [200, 422]
    refused = next(a for a in answers if a.status_code == 422)
    assert list(refused.get_json()["errors"]) == ["state"]
    levels = dict(_rows(system_db, "SELECT location_id, on_hand FROM stock_levels WHERE tenant_id = :t", alpha.id))
    assert levels[warehouse_id] == Decimal("8") and levels[ids["vans"][ids["tech"]]] == Decimal("7")
    assert _rows(system_db, "SELECT count(*) FROM stock_transfers WHERE tenant_id = :t", alpha.id)[0][0] == 1
    day = app.test_client().get(f"{API}/engineer/day?date=2001-01-01", headers=api_token(alpha, "technician"))
    assert day.status_code == 422 and day.get_json()["errors"]["date"][0].startswith("只能查看今天的行程")  # zh_CN
