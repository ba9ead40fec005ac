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


def test_a_plate_typed_on_a_new_car_moves_from_the_old_one_only_when_confirmed(two_tenants, login, system_db):
    """The BYD 汉 lost 沪G84804 when it was typed on a new Model Y: now the form asks first, naming the car it
    leaves, and the move is audited."""
    alpha, _ = two_tenants
    b = login(alpha, "advisor")
    customer = alpha.customers[0]
    han = _new_vehicle(b, alpha, customer, name="比亚迪 汉", id_vin="", id_plate="沪G84804")
    assert han.status_code == 302
    url = f"/t/alpha/customers/{customer}/assets/new"
    model_y = {"type": "vehicle", "name": "特斯拉 Model Y", "id_plate": "沪G84804", "save": "1"}
    asked = b.post(url, model_y)
    page = asked.get_data(as_text=True)
    assert asked.status_code == 422
    assert "比亚迪 汉" in page and 'data-testid="move-plate"' in page
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM assets WHERE name='特斯拉 Model Y'")).scalar() == 0
        owner_of_plate = conn.execute(text("SELECT a.name FROM customer_identities i JOIN assets a ON "
                                           "a.tenant_id=i.tenant_id AND a.id=i.asset_id WHERE i.value='沪G84804'")).scalar()
    assert owner_of_plate == "比亚迪 汉"
    moved = b.post(url, {**model_y, "move_identifiers": "plate"})
    assert moved.status_code == 302, moved.get_data(as_text=True)[-1500:]
    with system_db.connect() as conn:
        owner_of_plate = conn.execute(text("SELECT a.name FROM customer_identities i JOIN assets a ON "
                                           "a.tenant_id=i.tenant_id AND a.id=i.asset_id WHERE i.value='沪G84804'")).scalar()
        audit = conn.execute(text("SELECT summary, before, after FROM audit_log WHERE action='move' "
                                  "AND entity_type='identity'")).one()
    assert owner_of_plate == "特斯拉 Model Y"
    assert "比亚迪 汉 → 特斯拉 Model Y" in audit.summary and audit.before["asset"] == "比亚迪 汉"


def test_the_api_moves_an_identifier_between_a_customers_assets_only_when_asked(two_tenants, api_token, app):
    alpha, _ = two_tenants
    client, headers = app.test_client(), api_token(alpha, "owner")
    first = client.post("/api/v1/assets", json={"customer_id": alpha.customers[1], "type": "device", "name": "旧网关",
                                                "identifiers": {"serial": "SN-9"}}, headers=headers).get_json()
    refused = client.post("/api/v1/assets", json={"customer_id": alpha.customers[1], "type": "device",
                                                  "name": "新网关", "identifiers": {"serial": "SN-9"}}, headers=headers)
    assert refused.status_code == 422
    assert "旧网关" in str(refused.get_json())
    taken = client.post("/api/v1/assets", json={"customer_id": alpha.customers[1], "type": "device", "name": "新网关",
                                                "identifiers": {"serial": "SN-9"}, "move_identifiers": ["serial"]},
                        headers=headers)
    assert taken.status_code == 201 and taken.get_json()["identifiers"] == {"serial": "SN-9"}
    assert client.get(f"/api/v1/assets/{first['id']}", headers=headers).get_json()["identifiers"] == {}
