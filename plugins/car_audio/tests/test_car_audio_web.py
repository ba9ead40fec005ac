"""Car-audio pages and API: tenant isolation over every route, 404 where the module is off, disable and re-enable
keep the data and seed nothing twice, forms answer with field errors, the API pages by keyset."""
import pytest
from sqlalchemy import func, select, text

from car_audio_testkit import job_at, shop
from storecrm.sdk import CatalogItem, db
from storecrm.testing import assert_plugin_isolated

pytestmark = pytest.mark.storecrm_plugins("car_audio")


def _beta_ids(in_tenant, beta):
    from storecrm.plugins.car_audio.models import Component, TuningRecord
    with in_tenant(beta):
        shop(beta)
        job = job_at(beta, "qc")
        tuning = db.session.scalar(select(TuningRecord.id).where(TuningRecord.job_id == job.id))
        component = db.session.scalar(select(Component).where(Component.job_id == job.id))
        from storecrm.plugins.car_audio.services import card_token
        return {"card": card_token(component), "job": job.id, "order": job.order_id, "tuning": tuning,
                "system": job.audio_system_id,
                "component": component.id}


def test_car_audio_routes_are_isolated_between_tenants(app, two_tenants, login, api_token, system_db, in_tenant):
    alpha, beta = two_tenants
    ids = _beta_ids(in_tenant, beta)
    job = lambda b: {"job_id": ids["job"]}  # noqa: E731
    assert_plugin_isolated(app, "car_audio", alpha, beta, login=login, api_token=api_token, system_db=system_db,
                           b_ids={"car_audio.job_for_order": lambda b: {"order_id": ids["order"]},
                                  "car_audio.job": job, "car_audio.tuning": job,
                                  "car_audio.job_action": lambda b: {"job_id": ids["job"], "action": "qc_pass"},
                                  "car_audio.tuning_record": lambda b: {"tuning_id": ids["tuning"]},
                                  "car_audio.warranty_swap": lambda b: {"component_id": ids["component"]},
                                  "car_audio.send_warranty_card": lambda b: {"component_id": ids["component"]},
                                  "car_audio.warranty_card": lambda b: {"token": ids["card"]},
                                  "api_car_audio.get_job": job, "api_car_audio.list_tunings": job,
                                  "api_car_audio.create_tuning": job,
                                  "api_car_audio.get_tuning": lambda b: {"tuning_id": ids["tuning"]},
                                  "api_car_audio.audio_system": lambda b: {"asset_id": ids["system"]}})


def test_without_the_module_every_route_is_404_and_reenabling_keeps_data_without_reseeding(
        app, make_tenant, login, api_token, in_tenant):
    gamma = make_tenant("gamma", plugins=())
    browser, headers = login(gamma, "owner"), api_token(gamma, "owner")
    for url in ("/car-audio/", "/car-audio/quote", "/car-audio/jobs/1", "/car-audio/upgrades", "/car-audio/tunings/1"):
        assert browser.get(f"/t/gamma{url}").status_code == 404, url
    client = app.test_client()
    for url in ("/api/v1/car-audio/jobs", "/api/v1/car-audio/jobs/1", "/api/v1/car-audio/audio-systems/1"):
        assert client.get(url, headers=headers).status_code == 404, url

    assert client.post("/api/v1/plugins/car_audio/enable", headers=headers).status_code < 300
    with in_tenant(gamma):
        shop(gamma)
        job = job_at(gamma, "booked")
        job_id = job.id
        package = db.session.scalar(select(CatalogItem).where(CatalogItem.sku == "CA-PKG-MID"))
        package.name = "中端套餐（店里改过的名字）"
        items = db.session.scalar(select(func.count()).select_from(CatalogItem))
    assert client.post("/api/v1/plugins/car_audio/disable", headers=headers).status_code < 300
    assert browser.get(f"/t/gamma/car-audio/jobs/{job_id}").status_code == 404
    assert client.post("/api/v1/plugins/car_audio/enable", headers=headers).status_code < 300
    with in_tenant(gamma):
        assert db.session.scalar(select(func.count()).select_from(CatalogItem)) == items
        assert db.session.scalar(select(CatalogItem.name).where(CatalogItem.sku == "CA-PKG-MID")) == "中端套餐（店里改过的名字）"
        rules = db.session.execute(select(func.count()).select_from(db.metadata.tables["rules"])).scalar()
        assert rules == 3
    page = browser.get(f"/t/gamma/car-audio/jobs/{job_id}")
    assert page.status_code == 200 and "SG" in page.get_data(as_text=True)


def test_pages_answer_field_errors_and_the_api_pages_by_keyset(app, make_tenant, login, api_token, in_tenant):
    alpha = make_tenant("alpha")
    with in_tenant(alpha):
        shop(alpha)
        first = job_at(alpha, "installing")
        job_id, vehicle_id, customer_id, number = first.id, first.vehicle_id, first.customer_id, first.number
        second = job_at(alpha, "new")
    browser = login(alpha, "manager")
    customer_page = browser.get(f"/t/alpha/customers/{customer_id}").get_data(as_text=True)
    assert 'data-testid="car-audio-panel"' in customer_page and number in customer_page
    car_page = browser.get(f"/t/alpha/assets/{vehicle_id}").get_data(as_text=True)
    assert 'data-testid="audio-system-panel"' in car_page
    page = browser.get(f"/t/alpha/car-audio/jobs/{job_id}")
    assert page.status_code == 200
    bad = browser.post(f"/t/alpha/car-audio/jobs/{job_id}/component", {"item_id": "", "kind": "speaker"})
    assert bad.status_code == 422 and 'data-error-for="item_id"' in bad.get_data(as_text=True)
    bad = browser.post(f"/t/alpha/car-audio/jobs/{job_id}/tuning", {"eq-0-freq_hz": "5", "eq-0-channel": "front_left"})
    assert bad.status_code == 422
    bad = browser.post(f"/t/alpha/car-audio/jobs/{job_id}/submit_qc", {})
    assert bad.status_code == 422 and 'data-error-for="photos"' in bad.get_data(as_text=True)
    assert browser.post(f"/t/alpha/car-audio/jobs/{job_id}/nonsense", {}).status_code == 404
    assert browser.get("/t/alpha/car-audio/quote?q=ALPHA").status_code == 200
    assert browser.get(f"/t/alpha/car-audio/quote?customer_id={alpha.customers[0]}").status_code == 200
    bad = browser.post("/t/alpha/car-audio/quote", {"customer_id": str(alpha.customers[0]), "vehicle_id": "",
                                                     "discount_pct": "90"})
    assert bad.status_code == 422 and 'data-error-for="discount_pct"' in bad.get_data(as_text=True)
    assert browser.get("/t/alpha/car-audio/upgrades").status_code == 200
    tech = login(alpha, "technician")
    assert tech.post(f"/t/alpha/car-audio/jobs/{job_id}/qc_pass", {}).status_code == 403

    client, headers = app.test_client(), api_token(alpha, "technician")
    page1 = client.get("/api/v1/car-audio/jobs?per_page=1", headers=headers).get_json()
    assert [j["id"] for j in page1["items"]] == [second.id] and page1["next_after_id"] == second.id
    page2 = client.get(f"/api/v1/car-audio/jobs?per_page=1&after_id={second.id}", headers=headers).get_json()
    assert [j["id"] for j in page2["items"]] == [job_id]
    bad = client.post(f"/api/v1/car-audio/jobs/{job_id}/tunings", headers=headers,
                      json={"crossovers": [{"channel": "front_left", "type": "hp", "freq_hz": 80, "slope": 7}]})
    assert bad.status_code == 422 and bad.content_type.startswith("application/problem+json")
    made = client.post(f"/api/v1/car-audio/jobs/{job_id}/tunings", headers=headers,
                       json={"channels": {"sub": {"delay_ms": 3.5, "phase": 180, "gain_db": -6}}})
    assert made.status_code == 201 and made.get_json()["version"] == 1
    job = client.get(f"/api/v1/car-audio/jobs/{job_id}", headers=headers).get_json()
    system = client.get(f"/api/v1/car-audio/audio-systems/{job['audio_system_id']}", headers=headers).get_json()
    assert system["tunings"][0]["data"]["channels"]["sub"]["phase"] == 180


def test_list_pages_in_chinese_show_no_english_of_the_catalog(make_tenant, login, in_tenant):
    from pathlib import Path

    from babel.messages.pofile import read_po
    alpha = make_tenant("alpha")
    with in_tenant(alpha) as s:
        s.execute(text("UPDATE tenants SET locale = 'zh_CN' WHERE id = :t"), {"t": alpha.id})
        s.execute(text("UPDATE users SET locale = 'zh_CN' WHERE tenant_id = :t"), {"t": alpha.id})
        shop(alpha)
        job_id = job_at(alpha, "installing").id
    po = Path(__file__).resolve().parents[1] / "translations" / "zh_Hans_CN" / "LC_MESSAGES" / "messages.po"
    with po.open("rb") as f:
        english = {m.id for m in read_po(f) if m.id and m.string != m.id and len(m.id) > 3 and "%" not in m.id}
    browser = login(alpha, "manager")
    for url in ("/car-audio/", "/car-audio/upgrades", "/car-audio/quote", f"/car-audio/jobs/{job_id}"):
        page = browser.get(f"/t/alpha{url}")
        assert page.status_code == 200, url
        body = page.get_data(as_text=True)
        left = [m for m in english if f">{m}<" in body]
        assert not left, (url, left)
