"""The dealership's pages and API: tenant isolation over every route, 404 without the plugin, disable and re-enable
keep the data and seed nothing again, the REST API (keyset paging, problem+json field errors), form errors by field."""
from __future__ import annotations

import io
import re
from datetime import datetime, time, timedelta

import pytest
from PIL import Image
from sqlalchemy import func, select, text

from storecrm.sdk import Rule, ServiceType, Survey, accept_upload, db, get_scoped, tenant_today, tenant_zone



def _png() -> bytes:
    """A real small PNG, for the upload checks (they open the image)."""
    out = io.BytesIO()
    Image.new("RGB", (8, 8), (200, 30, 30)).save(out, "PNG")
    return out.getvalue()


PNG = _png()

from dealership_testkit import VIN, demo_car_ids, lead, repair, user, vehicle, workshop

pytestmark = pytest.mark.storecrm_plugins("dealership")


def _a_repair(in_tenant, world):
    from storecrm.plugins.dealership.services import lines_of

    with in_tenant(world):
        workshop(world)
        car = vehicle(world, 0, "沪C66666")
        base = datetime.combine(tenant_today() - timedelta(days=1), time(10), tzinfo=tenant_zone())
        ro = repair(world, car, arrived=base, delivered=base + timedelta(hours=1), mileage=100)
        from storecrm.plugins.dealership.models import AddOn
        from storecrm.plugins.dealership.services import progress_token

        add_on = AddOn(repair_order_id=ro.id, description="更换雨刮", amount=120, state="pending")
        db.session.add(add_on)
        db.session.flush()
        return {"ro_id": ro.id, "line_id": lines_of(ro)[0].id, "asset_id": car.id, "token": progress_token(ro),
                "add_on_id": add_on.id}


def _a_sale(world, lead_id, repair_ids):
    """Inside `world`: a test drive and a signed contract for the lead, and a photo on the repair order."""
    from storecrm.plugins.dealership import contracts, sales, services
    from storecrm.plugins.dealership.models import RepairOrder
    from storecrm.sdk import Lead, Store, accept_quote, customer_for_public_request

    advisor = user(world, "advisor")
    the_lead = get_scoped(Lead, lead_id)
    start = datetime.combine(tenant_today() + timedelta(days=3), time(10), tzinfo=tenant_zone())
    drive = sales.book_test_drive(advisor, the_lead, {"resource_id": demo_car_ids(world)[0], "starts_at": start})
    the_lead.customer_id = customer_for_public_request(get_scoped(Store, world.stores[0]), the_lead.name,
                                                       the_lead.mobile).id
    contract = contracts.create_contract(advisor, {"lead_id": lead_id, "model": "大众 帕萨特", "price": "200000",
                                                   "deposit": "5000"})
    accept_quote(contracts.send_for_signature(advisor, contract), {"name": "王", "signature": None,
                                                                  "optional_line_ids": []}, user=advisor)
    ro = get_scoped(RepairOrder, repair_ids["ro_id"])
    photo = accept_upload(advisor, "car.png", PNG, images_only=True)
    ro.photos = [photo.id]
    db.session.flush()
    return {"drive_id": drive.id, "contract_id": contract.id, "photo_sig": services.photo_signature(ro, photo.id)}


def test_every_route_is_isolated(app, two_tenants, in_tenant, login, api_token, system_db):
    from storecrm.testing import assert_plugin_isolated

    alpha, beta = two_tenants
    _a_repair(in_tenant, alpha)
    ids = _a_repair(in_tenant, beta)
    ro = lambda b: {"ro_id": ids["ro_id"]}  # noqa: E731
    b_ids = {f"dealership.{name}": ro for name in ("show", "add_line", "dispatch", "start", "finish",
                                                   "quality_check", "deliver", "cancel", "complaint")}
    b_ids["dealership.remove_line"] = lambda b: {"ro_id": ids["ro_id"], "line_id": ids["line_id"]}
    b_ids["dealership.progress"] = lambda b: {"token": ids["token"]}
    b_ids["dealership.propose_add_on"] = ro
    b_ids["dealership.answer_add_on"] = lambda b: {"token": ids["token"], "add_on_id": ids["add_on_id"]}
    b_ids["api_dealership.get_repair_order"] = ro
    b_ids["api_dealership.get_vehicle"] = lambda b: {"asset_id": ids["asset_id"]}
    with in_tenant(beta):
        beta_lead = lead(beta, "13900003001").id
        sales_ids = _a_sale(beta, beta_lead, ids)
    b_ids["dealership.lead_model"] = lambda b: {"lead_id": beta_lead}
    drive = lambda b: {"drive_id": sales_ids["drive_id"]}  # noqa: E731
    contract = lambda b: {"contract_id": sales_ids["contract_id"]}  # noqa: E731
    b_ids["dealership.close_test_drive"] = lambda b: {"drive_id": sales_ids["drive_id"], "outcome": "complete"}
    b_ids["api_dealership.get_test_drive"] = drive
    b_ids["api_dealership.complete_test_drive"] = drive
    b_ids["api_dealership.cancel_test_drive"] = drive
    for name in ("dealership.contract", "dealership.print_contract", "api_dealership.get_contract"):
        b_ids[name] = contract
    for name in ("dealership.contract_action", "api_dealership.contract_action"):
        b_ids[name] = lambda b: {"contract_id": sales_ids["contract_id"], "action": "deposit"}
    b_ids["dealership.progress_photo"] = lambda b: {"token": ids["token"], "signature": sales_ids["photo_sig"]}
    assert_plugin_isolated(app, "dealership", alpha, beta, login=login, api_token=api_token, system_db=system_db,
                           b_ids=b_ids)


@pytest.mark.storecrm_plugins()
def test_a_tenant_without_the_plugin_gets_404(make_tenant, login, api_token):
    gamma = make_tenant("gamma")
    browser = login(gamma, "owner")
    for path in ("/t/gamma/dealership/", "/t/gamma/dealership/new", "/t/gamma/dealership/my-jobs",
                 "/t/gamma/dealership/kpis", "/t/gamma/dealership/1", "/t/gamma/dealership/test-drives",
                 "/t/gamma/dealership/contracts", "/t/gamma/dealership/contracts/new",
                 "/t/gamma/dealership/contracts/1", "/t/gamma/dealership/contracts/1/print"):
        assert browser.get(path).status_code == 404, path
    client = browser.client
    for path in ("/api/v1/dealership/repair-orders", "/api/v1/dealership/test-drives",
                 "/api/v1/dealership/contracts"):
        assert client.get(path, headers=api_token(gamma)).status_code == 404, path


def test_disable_and_re_enable_keep_the_data_and_seed_nothing_again(app, two_tenants, in_tenant, api_token,
                                                                  system_db):
    alpha, _beta = two_tenants
    ids = _a_repair(in_tenant, alpha)

    def counts():
        with system_db.connect() as conn:
            return {table: conn.execute(text(f"SELECT count(*) FROM {table} WHERE tenant_id = :t"),
                                        {"t": alpha.id}).scalar()
                    for table in ("dealer_service_kinds", "dealer_repair_orders", "service_types", "resources",
                                  "rules", "surveys", "field_definitions")}

    before = counts()
    assert before["dealer_service_kinds"] == 4 and before["rules"] == 4 and before["surveys"] == 2
    client, headers = app.test_client(), api_token(alpha, "owner")
    assert client.post("/api/v1/plugins/dealership/disable", headers=headers).status_code == 200
    assert client.get(f"/api/v1/dealership/repair-orders/{ids['ro_id']}", headers=headers).status_code == 404
    assert client.post("/api/v1/plugins/dealership/enable", headers=headers).status_code == 200
    assert counts() == before
    assert client.get(f"/api/v1/dealership/repair-orders/{ids['ro_id']}", headers=headers).status_code == 200


def test_the_api_receives_a_walk_in_and_pages_repair_orders(app, two_tenants, in_tenant, api_token):
    alpha, _beta = two_tenants
    with in_tenant(alpha):
        workshop(alpha)
    client, headers = app.test_client(), api_token(alpha, "advisor")
    bad = client.post("/api/v1/dealership/repair-orders", headers=headers,
                      json={"store_id": alpha.stores[0], "service_kind": "maintenance", "mileage": -5,
                            "complaint_category": "engine"})
    assert bad.status_code == 422 and bad.content_type.startswith("application/problem+json")
    assert "mileage" in bad.get_data(as_text=True)
    refused = client.post("/api/v1/dealership/repair-orders", headers=headers,
                          json={"store_id": alpha.stores[0], "service_kind": "maintenance", "mileage": 100,
                                "complaint_category": "engine", "mobile": "13900001111", "name": "李先生",
                                "plate": "沪A12340", "vin": "LSVAU2180N2183290"})
    assert refused.status_code == 422 and "vin" in refused.get_data(as_text=True)
    made = []
    for n in range(3):
        resp = client.post("/api/v1/dealership/repair-orders", headers=headers,
                           json={"store_id": alpha.stores[0], "service_kind": "maintenance", "mileage": 1000 + n,
                                 "complaint_category": "maintenance", "mobile": "139 0000 1111", "name": "李先生",
                                 "plate": "沪A8888" + str(n), **({"vin": VIN} if n == 0 else {})})
        assert resp.status_code == 201, resp.get_data(as_text=True)
        made.append(resp.get_json())
    assert made[0]["walk_in"] is True and made[0]["state"] == "reception"
    page = client.get("/api/v1/dealership/repair-orders?per_page=2", headers=headers).get_json()
    assert [r["id"] for r in page["items"]] == [made[2]["id"], made[1]["id"]] and page["next_after_id"]
    rest = client.get(f"/api/v1/dealership/repair-orders?per_page=2&after_id={page['next_after_id']}",
                      headers=headers).get_json()
    assert [r["id"] for r in rest["items"]] == [made[0]["id"]] and rest["next_after_id"] is None
    cars = client.get("/api/v1/dealership/vehicles", headers=headers).get_json()["items"]
    assert {c["vin"] for c in cars} >= {VIN}
    one = client.get(f"/api/v1/dealership/vehicles/{made[0]['asset_id']}", headers=headers).get_json()
    assert one["plate"] == "沪A88880"


def test_pages_show_field_errors_and_the_workshop(two_tenants, in_tenant, login):
    alpha, _beta = two_tenants
    ids = _a_repair(in_tenant, alpha)
    browser = login(alpha, "advisor")
    resp = browser.post("/t/alpha/dealership/new", {"store_id": str(alpha.stores[0]), "mobile": "12",
                                                     "mileage": "x", "complaint_category": ""})
    assert resp.status_code == 422
    html = resp.get_data(as_text=True)
    for field in ("mileage", "complaint_category", "service_kind"):
        assert f'data-error-for="{field}"' in html or f"f-{field}" in html
    for path in ("/t/alpha/dealership/", f"/t/alpha/dealership/{ids['ro_id']}", "/t/alpha/dealership/kpis",
                 "/t/alpha/dealership/new"):
        assert browser.get(path).status_code == 200, path
    assert login(alpha, "technician").get("/t/alpha/dealership/my-jobs").status_code == 200
    anyone = browser.client.application.test_client()  # the customer's progress link needs no login
    page = anyone.get(f"/t/alpha/dealership/progress/{ids['token']}")
    assert page.status_code == 200 and 'data-testid="progress-state"' in page.get_data(as_text=True)
    assert anyone.get("/t/alpha/dealership/progress/not-a-token").status_code == 404
    with in_tenant(alpha):
        # 保养, 维修, 钣喷, 检测 and the sales test drive
        assert db.session.scalar(select(func.count()).select_from(ServiceType)) == 5
        assert db.session.scalar(select(func.count()).select_from(Rule)) == 4
        assert db.session.scalar(select(func.count()).select_from(Survey)) == 2


def test_add_on_work_is_approved_by_the_customer_on_the_progress_link(app, two_tenants, in_tenant, login,
                                                                      system_db):
    from storecrm.plugins.dealership import services

    alpha, _beta = two_tenants
    with in_tenant(alpha):
        workshop(alpha)
        car = vehicle(alpha, 0, "沪D12345")
        ro = services.receive(user(alpha, "advisor"), {"asset_id": car.id, "customer_id": car.customer_id,
                                                       "store_id": alpha.stores[0], "service_kind": "repair",
                                                       "complaint_category": "engine", "mileage": 5000})
        ro_id, token = ro.id, services.progress_token(ro)
    advisor = login(alpha, "advisor")
    bad = advisor.post(f"/t/alpha/dealership/{ro_id}/add-ons", {"description": "", "amount": "x"})
    assert bad.status_code == 422
    for description in ("更换火花塞", "清洗节气门"):
        resp = advisor.post(f"/t/alpha/dealership/{ro_id}/add-ons", {"description": description, "amount": "260"})
        assert resp.status_code == 302
    with system_db.connect() as conn:
        sms = conn.execute(text("SELECT body FROM outbox_messages WHERE channel = 'sms' AND tenant_id = :t "
                                "AND body LIKE '%progress%' ORDER BY id"), {"t": alpha.id}).scalars().all()
    assert len(sms) == 2 and token in sms[0]
    with in_tenant(alpha):
        first, second = [a.id for a in services.add_ons_of(services.get_repair_order(user(alpha, "owner"), ro_id))]
    customer = app.test_client()  # no login: the link is the key
    page = customer.get(f"/t/alpha/dealership/progress/{token}")
    assert page.status_code == 200 and f'data-testid="add-on-{first}"' in page.get_data(as_text=True)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True)).group(1)
    url = f"/t/alpha/dealership/progress/{token}/add-ons"
    assert customer.post(f"{url}/{first}", data={"answer": "approve", "csrf_token": csrf}).status_code == 302
    assert customer.post(f"{url}/{second}", data={"answer": "decline", "csrf_token": csrf}).status_code == 302
    assert customer.post(f"{url}/{first}", data={"answer": "decline", "csrf_token": csrf}).status_code == 302
    with in_tenant(alpha):
        ro = services.get_repair_order(user(alpha, "owner"), ro_id)
        assert [a.state for a in services.add_ons_of(ro)] == ["approved", "declined"]
        assert [(ln.description, ln.amount) for ln in services.lines_of(ro)] == [("更换火花塞", 260)]


def test_a_recall_vin_list_flags_the_car_at_reception(two_tenants, in_tenant, login):
    alpha, _beta = two_tenants
    with in_tenant(alpha):
        workshop(alpha)
        car = vehicle(alpha, 0, "沪D54321", vin=VIN)
        car_id = car.id
    advisor = login(alpha, "advisor")
    bad = advisor.post("/t/alpha/dealership/campaigns", {"code": "RC-2026-01", "title": "燃油泵召回",
                                                         "kind": "recall", "vins": f"{VIN}\nLSVAU2180N2183290"})
    assert bad.status_code == 422 and "LSVAU2180N2183290" in bad.get_data(as_text=True)
    ok = advisor.post("/t/alpha/dealership/campaigns", {"code": "RC-2026-01", "title": "燃油泵召回", "kind": "recall",
                                                        "vins": f"{VIN}, LFV2A21K2H3041234"})
    assert ok.status_code == 302
    with in_tenant(alpha):
        from storecrm.plugins.dealership import services

        (campaign,) = services.campaigns_for_vehicle(car_id)
        ro = services.receive(user(alpha, "advisor"), {"asset_id": car_id, "customer_id": car.customer_id,
                                                       "store_id": alpha.stores[0], "service_kind": "inspection",
                                                       "complaint_category": "other", "mileage": 100})
        ro_id = ro.id
    page = advisor.get(f"/t/alpha/dealership/{ro_id}").get_data(as_text=True)
    assert f'data-testid="campaign-{campaign.id}"' in page and "燃油泵召回" in page


def test_progress_photos_are_served_only_with_a_fresh_signature_for_that_order(app, two_tenants, in_tenant, login):
    """The customer's progress page shows the reception photos through signed URLs of that order, valid half an
    hour: a forged or expired signature, another order's signature, and the staff file URL without a login are
    refused."""
    from storecrm.plugins.dealership import services
    from storecrm.plugins.dealership.models import RepairOrder
    from storecrm.sdk import utcnow

    alpha, _beta = two_tenants
    first, second = _a_repair(in_tenant, alpha), None
    with in_tenant(alpha):
        ro = get_scoped(RepairOrder, first["ro_id"])
        photo = accept_upload(user(alpha, "advisor"), "car.png", PNG, images_only=True)
        ro.photos = [photo.id]
        car = vehicle(alpha, 0, "沪C77777")
        base = datetime.combine(tenant_today() - timedelta(days=1), time(14), tzinfo=tenant_zone())
        other = repair(alpha, car, arrived=base, delivered=base + timedelta(hours=1), mileage=10)
        second = services.progress_token(other)
        expired = services.photo_signature(ro, photo.id, now=utcnow() - timedelta(minutes=31))
        photo_id = photo.id
        db.session.commit()
    customer = app.test_client()
    page = customer.get(f"/t/alpha/dealership/progress/{first['token']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and 'data-testid="progress-photos"' in html
    urls = re.findall(r'src="([^"]*/photos/[^"]+)"', html)
    assert len(urls) == 1 and f"/files/{photo_id}" not in html
    shown = customer.get(urls[0].replace("&amp;", "&"))
    assert shown.status_code == 200 and shown.headers["Content-Type"].startswith("image/")
    signature = urls[0].split("/photos/")[1].split("?")[0]
    assert customer.get(f"/t/alpha/dealership/progress/{first['token']}/photos/{signature}").status_code == 200
    for token, sig in ((first["token"], signature[:-2] + ("AA" if not signature.endswith("AA") else "BB")),
                       (first["token"], expired), (second, signature)):
        assert customer.get(f"/t/alpha/dealership/progress/{token}/photos/{sig}").status_code == 404
    assert customer.get(f"/t/alpha/files/{photo_id}").status_code in (302, 401, 404)  # staff only


def test_the_technician_recommendation_reads_in_words(two_tenants, in_tenant, login, system_db):
    from storecrm.plugins.dealership import services

    alpha, _beta = two_tenants
    with system_db.begin() as conn:  # the advisor reads Chinese
        conn.execute(text("UPDATE users SET locale = 'zh_CN' WHERE tenant_id = :t"), {"t": alpha.id})
    with in_tenant(alpha):
        workshop(alpha)
        car = vehicle(alpha, 0, "沪C88888")
        ro = services.receive(user(alpha, "advisor"), {"store_id": alpha.stores[0], "customer_id": car.customer_id,
                                                       "asset_id": car.id, "service_kind": "repair",
                                                       "complaint_category": "engine", "mileage": 100})
        ranked = services.recommend(ro)
        ro_id = ro.id
        db.session.commit()
    html = login(alpha, "advisor").get(f"/t/alpha/dealership/{ro_id}").get_data(as_text=True)
    badges = re.findall(r'data-testid="fit">([^<]+)<', html)
    assert badges and badges[0] == "最合适" and set(badges) <= {"最合适", "可派", "不在班", "缺少所需技能"}
    assert not re.search(r'badge[^>]*>\s*-?\d+\s*<', html)  # no raw score
    assert "机修" in html  # the skill match, in words
    assert ranked[0].score > services.LACKS_SKILL_BELOW
