"""Catalog and stock through the REST API and the staff pages: the same services, field errors, no 500s."""
import threading

from sqlalchemy import text

from tests.test_stock import _ledger_matches


def _count(system_db, table):
    with system_db.connect() as conn:
        return conn.execute(text(f"SELECT count(*) FROM {table}")).scalar()


def _setup(app, alpha, headers, quantity="10"):
    client = app.test_client()
    item = client.post("/api/v1/catalog/items", json={"kind": "product", "sku": "AMP-1", "name": "功放",
                                                      "list_price": "2999.00", "cost": "1500"}, headers=headers)
    assert item.status_code == 201, item.get_json()
    locations = client.get("/api/v1/stock/locations", headers=headers).get_json()
    if not locations:
        made = client.post("/api/v1/stock/locations", json={"store_id": alpha.stores[0], "kind": "store",
                                                             "name": "前台"}, headers=headers)
        assert made.status_code == 201, made.get_json()
        locations = [made.get_json()]
    item_id, location_id = item.get_json()["id"], locations[0]["id"]
    received = client.post("/api/v1/stock/receipts", json={"item_id": item_id, "location_id": location_id,
                                                           "quantity": quantity, "unit_cost": "1500"}, headers=headers)
    assert received.status_code == 201, received.get_json()
    return item_id, location_id


def test_twenty_parallel_api_requests_take_exactly_the_ten_units_in_stock(two_tenants, api_token, app, system_db):
    alpha, _ = two_tenants
    headers = api_token(alpha, "advisor")
    item_id, location_id = _setup(app, alpha, api_token(alpha, "owner"))
    statuses, barrier = [], threading.Barrier(20)

    def take():
        client = app.test_client()
        barrier.wait()
        resp = client.post("/api/v1/stock/issues", json={"item_id": item_id, "location_id": location_id,
                                                         "quantity": 1}, headers=headers)
        statuses.append((resp.status_code, resp.get_json()))

    threads = [threading.Thread(target=take) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    codes = sorted(code for code, _body in statuses)
    assert codes == [201] * 10 + [422] * 10, statuses
    refused = next(body for code, body in statuses if code == 422)
    assert "quantity" in refused["errors"] and "available" in refused["errors"]["quantity"][0]
    level = app.test_client().get(f"/api/v1/stock/levels?item_id={item_id}", headers=headers).get_json()
    assert level[0]["on_hand"] == "0.000" and level[0]["available"] == "0.000"
    with system_db.connect() as conn:
        assert _ledger_matches(conn)
        assert conn.execute(text("SELECT count(*), sum(unit_cost) FROM stock_movements WHERE kind = 'issue'")).one() \
            == (10, 15000)


def test_bad_quantities_and_prices_are_field_errors_and_write_nothing(two_tenants, api_token, app, system_db):
    alpha, beta = two_tenants
    headers = api_token(alpha, "owner")
    item_id, location_id = _setup(app, alpha, headers)
    client = app.test_client()
    before = _count(system_db, "stock_movements")
    for quantity in (-1, "-1", "abc", 0, "1e999", None, [1], "0.0001"):
        resp = client.post("/api/v1/stock/issues", json={"item_id": item_id, "location_id": location_id,
                                                         "quantity": quantity}, headers=headers)
        assert resp.status_code == 422, (quantity, resp.status_code)
        assert resp.mimetype == "application/problem+json" and "quantity" in resp.get_json()["errors"], quantity
    for cost in ("-5", "x", "1.00001"):
        resp = client.post("/api/v1/stock/receipts", json={"item_id": item_id, "location_id": location_id,
                                                           "quantity": 1, "unit_cost": cost}, headers=headers)
        assert resp.status_code == 422 and "unit_cost" in resp.get_json()["errors"], cost
    for price in ("-1", "abc", "1.001", "1e999", True):
        resp = client.post("/api/v1/catalog/items", json={"kind": "product", "sku": f"X-{price}", "name": "x",
                                                          "list_price": price}, headers=headers)
        assert resp.status_code == 422 and "list_price" in resp.get_json()["errors"], price
    assert _count(system_db, "stock_movements") == before and _count(system_db, "catalog_items") == 1
    # another tenant's item: a field error, never its data
    beta_headers = api_token(beta, "owner")
    beta_item = client.post("/api/v1/catalog/items", json={"kind": "product", "sku": "B-1", "name": "BETA amp"},
                            headers=beta_headers).get_json()["id"]
    resp = client.post("/api/v1/stock/issues", json={"item_id": beta_item, "location_id": location_id,
                                                     "quantity": 1}, headers=headers)
    assert resp.status_code == 422 and "item_id" in resp.get_json()["errors"]
    assert client.get(f"/api/v1/catalog/items/{beta_item}", headers=headers).status_code == 404


def test_a_retried_receipt_with_the_same_idempotency_key_is_recorded_once(two_tenants, api_token, app, system_db):
    alpha, _ = two_tenants
    headers = api_token(alpha, "owner")
    item_id, location_id = _setup(app, alpha, headers)
    client = app.test_client()
    body = {"item_id": item_id, "location_id": location_id, "quantity": "3", "unit_cost": "1000"}
    first = client.post("/api/v1/stock/receipts", json=body, headers={**headers, "Idempotency-Key": "grn-0001"})
    again = client.post("/api/v1/stock/receipts", json=body, headers={**headers, "Idempotency-Key": "grn-0001"})
    assert first.status_code == again.status_code == 201 and first.get_json() == again.get_json()
    level = client.get(f"/api/v1/stock/levels?item_id={item_id}", headers=headers).get_json()[0]
    assert level["on_hand"] == "13.000" and level["avg_cost"] == "1384.6154"


def test_movements_page_by_keyset_and_the_api_is_documented(two_tenants, api_token, app):
    alpha, _ = two_tenants
    headers = api_token(alpha, "owner")
    item_id, location_id = _setup(app, alpha, headers, quantity="5")
    client = app.test_client()
    for _n in range(4):
        client.post("/api/v1/stock/issues", json={"item_id": item_id, "location_id": location_id, "quantity": 1},
                    headers=headers)
    first = client.get("/api/v1/stock/movements?per_page=3", headers=headers).get_json()
    rest = client.get(f"/api/v1/stock/movements?per_page=3&after_id={first[-1]['id']}", headers=headers).get_json()
    assert [m["kind"] for m in first + rest] == ["issue"] * 4 + ["receive"]
    paths = client.get("/api/v1/openapi.json").get_json()["paths"]
    for path in ("/api/v1/catalog/items", "/api/v1/catalog/categories", "/api/v1/stock/locations",
                 "/api/v1/stock/levels", "/api/v1/stock/movements", "/api/v1/stock/issues",
                 "/api/v1/stock/transfers/{transfer_id}/receive"):
        assert path in paths, path


def test_staff_create_an_item_receive_it_and_see_it_on_the_stock_pages(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "manager")
    bad = b.post("/t/alpha/catalog/new", {"kind": "product", "sku": "AMP-1", "name": "", "list_price": "-3",
                                          "tax_rate": "abc", "active": "1"})
    assert bad.status_code == 422
    html = bad.get_data(as_text=True)
    for field in ("name", "list_price", "tax_rate"):
        assert f'data-error-for="{field}"' in html, field
    assert _count(system_db, "catalog_items") == 0
    ok = b.post("/t/alpha/catalog/new", {"kind": "product", "sku": "AMP-1", "name": "功放 DSP-8", "brand": "JBL",
                                         "list_price": "2999", "cost": "1500", "tax_rate": "0.13", "active": "1"})
    assert ok.status_code == 302, ok.get_data(as_text=True)[-2000:]
    assert "功放 DSP-8" in b.get("/t/alpha/catalog/?q=dsp").get_data(as_text=True)
    page = b.get("/t/alpha/stock/receive").get_data(as_text=True)
    assert "AMP-1" in page
    with system_db.connect() as conn:
        location_id = conn.execute(text("SELECT id FROM stock_locations ORDER BY id LIMIT 1")).scalar()
    refused = b.post("/t/alpha/stock/receive", {"location_id": str(location_id), "sku": "AMP-1", "quantity": "-2"})
    assert refused.status_code == 422 and 'data-error-for="quantity"' in refused.get_data(as_text=True)
    done = b.post("/t/alpha/stock/receive", {"location_id": str(location_id), "sku": "AMP-1", "quantity": "4",
                                             "unit_cost": "1450"})
    assert done.status_code == 302
    levels = b.get("/t/alpha/stock/").get_data(as_text=True)
    assert "功放 DSP-8" in levels and "1,450.00" in levels
    assert "功放 DSP-8" in b.get("/t/alpha/stock/movements").get_data(as_text=True)
    for url in ("/t/alpha/stock/reorder", "/t/alpha/stock/transfers/", "/t/alpha/stock/transfers/new",
                "/t/alpha/stock/counts/", "/t/alpha/stock/locations", "/t/alpha/stock/adjust",
                "/t/alpha/catalog/categories"):
        assert b.get(url).status_code == 200, url
    tech = login(alpha, "technician")
    assert tech.get("/t/alpha/catalog/new").status_code == 403
    assert tech.get("/t/alpha/stock/").status_code == 200


def test_catalog_and_stock_pages_run_a_fixed_number_of_queries(two_tenants, login, in_tenant, app):
    from storecrm.catalog import services as catalog
    from storecrm.catalog.schemas import ItemSchema
    from storecrm.stock import services as stock
    from storecrm.stores.models import Store
    from tests.test_query_counts import count_queries

    alpha, _ = two_tenants
    b = login(alpha, "manager")
    pages = ("/t/alpha/catalog/", "/t/alpha/stock/", "/t/alpha/stock/movements", "/t/alpha/stock/reorder")
    counts = []
    for n in (2, 12):
        with in_tenant(alpha) as session:
            shelf = stock.location_for_store(session.get(Store, (alpha.id, alpha.stores[0])))
            for i in range(n - (2 if n == 12 else 0)):
                item = catalog.create_item(None, ItemSchema().load({"kind": "part", "sku": f"P-{n}-{i}", "name": f"件{i}",
                                                                    "brand": f"牌{i % 3}"}))
                stock.receive(item, shelf, 5)
                stock.set_reorder_level(item, shelf, 10)
        for path in pages:
            b.get(path)  # warm caches
        measured = []
        for path in pages:
            with count_queries(app) as statements:
                assert b.get(path).status_code == 200
            measured.append(len(statements))
        counts.append(measured)
    assert counts[0] == counts[1], dict(zip(pages, zip(*counts)))
