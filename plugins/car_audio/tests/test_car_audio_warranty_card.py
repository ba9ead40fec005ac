"""The electronic warranty card per serial: a public signed link with the shop, the component, the masked car, the
dates and a QR of itself; staff see it on the job page, send it by SMS, and the API gives its URL."""
import re

import pytest
from sqlalchemy import select, text

from car_audio_testkit import job_at, shop, user
from storecrm.sdk import Customer, create_asset, db

pytestmark = pytest.mark.storecrm_plugins("car_audio")


def _job_with_card(world, in_tenant):
    from storecrm.plugins.car_audio.models import Component
    from storecrm.plugins.car_audio.services import card_token
    with in_tenant(world):
        shop(world)
        customer = db.session.get(Customer, (world.id, world.customers[0]))
        car = create_asset(user(world, "owner"), customer, {
            "type": "vehicle", "name": "2022 宝马 5系", "store_id": customer.store_id,
            "identifiers": {"plate": "沪A12345", "vin": "LSVAB2BM6MN001234"}})
        job = job_at(world, "qc", vehicle=car)
        component = db.session.scalar(select(Component).where(Component.job_id == job.id,
                                                             Component.serial == "FOCAL-0001"))
        return {"job": job.id, "component": component.id, "token": card_token(component),
                "system": job.audio_system_id, "order": job.order_id}


def test_the_warranty_card_shows_the_facts_in_chinese_and_refuses_tampered_or_foreign_tokens(
        app, two_tenants, in_tenant, login, api_token):
    alpha, beta = two_tenants
    a, b = _job_with_card(alpha, in_tenant), _job_with_card(beta, in_tenant)
    anyone = app.test_client()  # the customer's card needs no login
    with anyone.session_transaction() as session:
        session["locale"] = "zh_CN"
    page = anyone.get(f"/t/{alpha.slug}/car-audio/warranty/{a['token']}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    for fact in ("FOCAL-0001", "沪A·***45", "LSV***1234", "电子保修卡", "保修中", "<svg"):
        assert fact in html, fact
    assert "12345" not in html and "LSVAB2BM6MN001234" not in html
    visible = re.sub(r"<svg.*?</svg>|<script.*?</script>|<style.*?</style>|<[^>]+>", " ", html, flags=re.S)
    for data_name in (f"Chain {alpha.slug.upper()}", f"{alpha.slug.upper()} Store One", "StoreCRM"):  # test data, brand
        visible = visible.replace(data_name, " ")
    english = {w for w in re.findall(r"\b[A-Za-z]{4,}\b", visible)} - {"FOCAL", "Focal", "Helix", "HELIX", "English"}
    assert not english, english

    # tampered, or tenant B's token on tenant A's address: 404
    assert anyone.get(f"/t/{alpha.slug}/car-audio/warranty/{a['token'][:-2]}xx").status_code == 404
    assert anyone.get(f"/t/{alpha.slug}/car-audio/warranty/{b['token']}").status_code == 404
    assert anyone.get(f"/t/{alpha.slug}/car-audio/warranty/not-a-token").status_code == 404

    # staff: the link and QR on the job page, sent by SMS through the outbox; the API gives the URL
    browser = login(alpha, "owner")
    job_page = browser.get(f"/t/{alpha.slug}/car-audio/jobs/{a['job']}").get_data(as_text=True)
    assert f"car-audio/warranty/{a['token']}" in job_page, job_page[-3000:]
    assert "Warranty card" in job_page  # 保修卡 in zh
    sent = browser.post(f"/t/{alpha.slug}/car-audio/components/{a['component']}/send-card", {})
    assert sent.status_code in (302, 303)
    with in_tenant(alpha):
        bodies = db.session.scalars(text("SELECT body FROM outbox_messages WHERE channel = 'sms'")).all()
    assert any(a["token"] in body for body in bodies)
    api = app.test_client().get(f"/api/v1/car-audio/audio-systems/{a['system']}", headers=api_token(alpha, "owner"))
    urls = [c["card_url"] for c in api.get_json()["components"]]
    assert any(u and u.endswith(a["token"]) for u in urls)
