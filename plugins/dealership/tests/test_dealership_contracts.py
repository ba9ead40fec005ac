"""A car sale on paper and in money: a contract from a converted lead (its core quote drafted with it) → the signing
link → the customer signs with the core's signature pad → the deposit is a payment on the order → the car is
delivered with its VIN and the balance; a cancelled contract refunds the deposit. Bad input is a field error and
writes nothing. Also the test-drive API: list, book, a clash refused on `starts_at`, complete, cancel."""
from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from storecrm.sdk import Lead, db, get_scoped, tenant_today

from dealership_testkit import VIN, demo_car_ids, lead, user, workshop

pytestmark = pytest.mark.storecrm_plugins("dealership")
SIGNATURE = "data:image/png;base64," + "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="


def _converted_lead(world, mobile):
    with_customer = lead(world, mobile, interest="大众 帕萨特")
    from storecrm.sdk import Store, customer_for_public_request

    customer = customer_for_public_request(get_scoped(Store, world.stores[0]), with_customer.name,
                                           with_customer.mobile)
    with_customer.customer_id = customer.id  # as the lead's conversion links it
    db.session.flush()
    return with_customer.id


def _contract_body(lead_id, **overrides):
    return {"lead_id": lead_id, "model": "大众 帕萨特", "trim": "380TSI 豪华版", "colour": "曜石黑",
            "price": "219900.00", "discount": "12000.00", "deposit": "5000.00",
            "delivery_on": (date.today() + timedelta(days=20)).isoformat(),  # ahead in any time zone
            "terms": "定金不退，另有约定除外。", **overrides}


def test_a_contract_goes_from_signature_to_deposit_to_delivery(two_tenants, in_tenant, login, api_token, app):
    from storecrm.plugins.dealership.models import VehicleContract

    alpha, _beta = two_tenants
    with in_tenant(alpha):
        lead_id = _converted_lead(alpha, "13900005001")
        unconverted = lead(alpha, "13900005002", "李女士").id
    headers = api_token(alpha, "advisor")
    client = app.test_client()
    url = "/api/v1/dealership/contracts"
    refused = client.post(url, json=_contract_body(lead_id, deposit="300000.00"), headers=headers)
    assert refused.status_code == 422 and "deposit" in refused.get_json()["errors"]
    refused = client.post(url, json=_contract_body(unconverted), headers=headers)
    assert refused.status_code == 422 and "lead_id" in refused.get_json()["errors"]
    with in_tenant(alpha):
        assert db.session.scalar(select(func.count()).select_from(VehicleContract)) == 0  # nothing written
    made = client.post(url, json=_contract_body(lead_id), headers=headers)
    assert made.status_code == 201, made.get_json()
    contract = made.get_json()
    assert (contract["state"], contract["total"], contract["sign_url"]) == ("draft", "207900.00", None)
    cid = contract["id"]
    assert client.post(f"{url}/{cid}/deposit", json={"method": "cash"}, headers=headers).status_code == 422

    sent = client.post(f"{url}/{cid}/send", json={}, headers=headers).get_json()
    sign_url = sent["sign_url"]
    assert sign_url and "/q/" in sign_url or sign_url
    path = sign_url.split("localhost", 1)[-1]
    customer = type(login(alpha, "advisor"))(app)
    page = customer.get(path)
    text = page.get_data(as_text=True)
    assert page.status_code == 200 and "曜石黑" in text and "定金不退" in text and "207,900" in text
    assert customer.post(path, {"name": "王先生", "decision": "accept"}).status_code == 422  # no signature drawn
    assert customer.post(path, {"name": "王先生", "decision": "accept", "signature": SIGNATURE}).status_code == 302

    signed = client.get(f"{url}/{cid}", headers=headers).get_json()
    assert (signed["state"], signed["signed_name"]) == ("signed", "王先生") and signed["order_id"]
    paid = client.post(f"{url}/{cid}/deposit", json={"method": "wechat_pay"}, headers=headers)
    assert paid.status_code == 200 and paid.get_json()["state"] == "deposit_paid"
    from storecrm.sdk import document_totals, get_sales_order

    with in_tenant(alpha):
        order = get_sales_order(signed["order_id"])
        assert document_totals(order)["paid"] == Decimal("5000.00")
    bad_vin = client.post(f"{url}/{cid}/deliver", json={"vin": "LSVAU2182N2183291", "method": "transfer"},
                          headers=headers)
    assert bad_vin.status_code == 422 and "vin" in bad_vin.get_json()["errors"]
    done = client.post(f"{url}/{cid}/deliver", json={"vin": VIN, "method": "transfer"}, headers=headers)
    assert done.status_code == 200 and (done.get_json()["state"], done.get_json()["vin"]) == ("delivered", VIN)
    with in_tenant(alpha):
        order = get_sales_order(signed["order_id"])
        assert order.state == "closed" and document_totals(order)["balance_due"] == Decimal("0.00")
    staff = login(alpha, "advisor")
    page = staff.get(f"/t/alpha/dealership/contracts/{cid}")
    assert page.status_code == 200 and "HT" in page.get_data(as_text=True)
    printed = staff.get(f"/t/alpha/dealership/contracts/{cid}/print")
    assert printed.status_code == 200 and VIN in printed.get_data(as_text=True) and "data-print" in \
        printed.get_data(as_text=True)
    lead_page = staff.get(f"/t/alpha/leads/{lead_id}").get_data(as_text=True)
    assert 'data-testid="dealership-lead-panel"' in lead_page and contract["number"] in lead_page


def test_a_cancelled_contract_refunds_the_deposit_through_commerce(two_tenants, in_tenant, login, app):
    from storecrm.plugins.dealership import contracts
    from storecrm.sdk import accept_quote, document_totals, get_sales_order
    from marshmallow import ValidationError

    alpha, _beta = two_tenants
    with in_tenant(alpha):
        lead_id = _converted_lead(alpha, "13900005011")
        advisor = user(alpha, "advisor")
        contract = contracts.create_contract(advisor, _contract_body(lead_id))
        quote = contracts.send_for_signature(advisor, contract)
        accept_quote(quote, {"name": "王先生", "signature": SIGNATURE, "optional_line_ids": []})
        assert contract.state == "signed"
        contracts.record_deposit(advisor, contract, "alipay")
        with pytest.raises(ValidationError) as err:
            contracts.cancel(advisor, contract, "")
        assert "reason" in err.value.messages
        with pytest.raises(ValidationError) as err:
            contracts.cancel(advisor, contract, "客户改买别的车型")
        assert "method" in err.value.messages  # where does the deposit go back?
        contracts.cancel(advisor, contract, "客户改买别的车型", method="alipay")
        order = get_sales_order(contract.order_id)
        assert contract.state == "cancelled" and order.state == "cancelled"
        assert document_totals(order)["paid"] == Decimal("0.00") and order.refunded_total == Decimal("5000.00")
        with pytest.raises(ValidationError):
            contracts.record_deposit(advisor, contract, "alipay")


def test_the_test_drive_api_books_refuses_a_clash_and_closes_drives(two_tenants, in_tenant, api_token, app):
    from storecrm.plugins.dealership.models import TestDrive

    alpha, _beta = two_tenants
    with in_tenant(alpha):
        workshop(alpha)
        first, second = lead(alpha, "13900006001").id, lead(alpha, "13900006002", "李女士").id
        car = demo_car_ids(alpha)[0]
    headers = api_token(alpha, "advisor")
    client = app.test_client()
    url = "/api/v1/dealership/test-drives"
    with in_tenant(alpha):
        starts = f"{(tenant_today() + timedelta(days=2)).isoformat()}T10:00:00+08:00"
    booked = client.post(url, json={"lead_id": first, "resource_id": car, "starts_at": starts,
                                    "model": "大众 帕萨特"}, headers=headers)
    assert booked.status_code == 201, booked.get_json()
    drive = booked.get_json()
    assert drive["state"] == "booked" and drive["appointment_id"]
    clash = client.post(url, json={"lead_id": second, "resource_id": car, "starts_at": starts.replace("10:00", "10:30"),
                                   "model": "大众 途观L"}, headers=headers)
    assert clash.status_code == 422 and clash.headers["Content-Type"].startswith("application/problem+json")
    assert "starts_at" in clash.get_json()["errors"]
    assert client.post(url, json={"lead_id": second, "resource_id": car}, headers=headers).status_code == 422
    with in_tenant(alpha):
        assert db.session.scalar(select(func.count()).select_from(TestDrive)) == 1
    listed = client.get(f"{url}?state=booked", headers=headers).get_json()
    assert [d["id"] for d in listed["items"]] == [drive["id"]]
    done = client.post(f"{url}/{drive['id']}/complete", json={"note": "客户满意"}, headers=headers)
    assert done.status_code == 200 and done.get_json()["state"] == "completed"
    again = client.post(f"{url}/{drive['id']}/cancel", json={}, headers=headers)
    assert again.status_code == 422 and "state" in again.get_json()["errors"]
    other = client.post(url, json={"lead_id": second, "resource_id": car, "starts_at": starts.replace("10:00", "14:00"),
                                   "model": "大众 途观L"}, headers=headers).get_json()
    cancelled = client.post(f"{url}/{other['id']}/cancel", json={"note": "改期"}, headers=headers)
    assert cancelled.status_code == 200 and cancelled.get_json()["state"] == "cancelled"
    from storecrm.sdk import Appointment

    with in_tenant(alpha):
        statuses = {d.id: get_scoped(Appointment, d.appointment_id).status for d in db.session.scalars(select(TestDrive))}
        assert statuses == {drive["id"]: "done", other["id"]: "cancelled"}
        assert get_scoped(Lead, second).interest == "大众 途观L"
    spec = client.get("/api/v1/openapi.json").get_json()
    for path in ("/dealership/test-drives", "/dealership/test-drives/{drive_id}/complete",
                 "/dealership/contracts", "/dealership/contracts/{contract_id}/{action}"):
        assert any(p.endswith(path) for p in spec["paths"]), path
