"""Assets: a customer's car with VIN and plate, typed attributes, and the car changing hands."""
import re

from sqlalchemy import text

VIN = "LSVAA4182E2184847"


def _new_vehicle(b, world, customer, **extra):
    url = f"/t/{world.slug}/customers/{customer}/assets/new"
    b.get(url)
    form = {"type": "vehicle", "name": "2021 大众帕萨特", "id_vin": VIN, "id_plate": "沪A·88888", "attr_brand": "大众",
            "attr_year": "2021", "attr_odometer_km": "35000", "installed_on": "2024-03-01",
            "warranty_until": "2027-03-01", "save": "1", **extra}
    return b.post(url, form)


def test_advisor_adds_a_car_whose_vin_and_plate_identify_the_owner(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "advisor")
    resp = _new_vehicle(b, alpha, alpha.customers[0])
    assert resp.status_code == 302, resp.get_data(as_text=True)[-1500:]
    page = b.get(resp.headers["Location"]).get_data(as_text=True)
    assert VIN in page and "沪A88888" in page and "35000" in page
    with system_db.connect() as conn:
        kinds = dict(conn.execute(text("SELECT kind, customer_id FROM customer_identities WHERE asset_id IS NOT NULL")).all())
    assert kinds == {"vin": alpha.customers[0], "plate": alpha.customers[0]}
    assert "ALPHA-customer-0" in b.get("/t/alpha/search?q=88888").get_data(as_text=True)
    assert "2021 大众帕萨特" in b.get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)


def test_bad_asset_input_is_refused_with_field_errors(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "advisor")
    resp = _new_vehicle(b, alpha, alpha.customers[0], id_vin="LSVAA4182E2184848", attr_year="1800",
                        attr_odometer_km="-5", name="", warranty_until="2020-01-01", purchased_on="2021-01-01")
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for field in ("id_vin", "attr_year", "attr_odometer_km", "name", "warranty_until"):
        assert f'data-error-for="{field}"' in html, field
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM assets")).scalar() == 0


def test_the_car_is_sold_to_another_customer_and_history_is_kept(two_tenants, login, system_db):
    alpha, _ = two_tenants
    b = login(alpha, "advisor")
    location = _new_vehicle(b, alpha, alpha.customers[0]).headers["Location"]
    asset_id = re.search(r"/assets/(\d+)", location).group(1)
    b.get(location)
    bad = b.post(f"/t/alpha/assets/{asset_id}/transfer", {"customer_id": "999999"})
    assert bad.status_code == 422
    ok = b.post(f"/t/alpha/assets/{asset_id}/transfer", {"customer_id": str(alpha.customers[2]), "note": "二手转让"})
    assert ok.status_code == 302
    page = b.get(location).get_data(as_text=True)
    assert "ALPHA-customer-0" in page and "ALPHA-customer-2" in page and "二手转让" in page
    with system_db.connect() as conn:
        owners = set(conn.execute(text("SELECT customer_id FROM customer_identities WHERE asset_id=:a"),
                                  {"a": asset_id}).scalars())
        history = conn.execute(text("SELECT count(*) FROM asset_ownerships WHERE asset_id=:a"), {"a": asset_id}).scalar()
    assert owners == {alpha.customers[2]} and history == 2
    assert "ALPHA-customer-2" in b.get("/t/alpha/search?q=沪A88888").get_data(as_text=True)


def test_assets_through_the_api(two_tenants, api_token, app):
    alpha, _ = two_tenants
    client, headers = app.test_client(), api_token(alpha, "owner")
    created = client.post("/api/v1/assets", json={"customer_id": alpha.customers[1], "type": "device",
                                                  "name": "客厅音箱", "identifiers": {"serial": "SN-001"},
                                                  "attributes": {"model": "HomePod"}}, headers=headers)
    assert created.status_code == 201, created.get_json()
    body = created.get_json()
    assert body["identifiers"] == {"serial": "SN-001"} and body["attributes"] == {"model": "HomePod"}
    assert client.post("/api/v1/assets", json={"customer_id": alpha.customers[1], "type": "spaceship", "name": "x"},
                       headers=headers).status_code == 422
    assert client.post("/api/v1/assets", json={"customer_id": alpha.customers[1], "type": "device", "name": "x",
                                               "identifiers": {"vin": VIN}}, headers=headers).status_code == 422
    patched = client.patch(f"/api/v1/assets/{body['id']}", json={"warranty_until": "2030-12-31"}, headers=headers)
    assert patched.status_code == 200 and patched.get_json()["identifiers"] == {"serial": "SN-001"}
    moved = client.post(f"/api/v1/assets/{body['id']}/transfer", json={"customer_id": alpha.customers[0]},
                        headers=headers)
    assert moved.status_code == 200 and moved.get_json()["customer_id"] == alpha.customers[0]
    listed = client.get(f"/api/v1/assets?type=device&customer_id={alpha.customers[0]}", headers=headers).get_json()
    assert [a["name"] for a in listed] == ["客厅音箱"]
