"""Sales extensions on the core leads: a test drive books a demo car through the scheduling core, a clash is refused
with a field error, the lead moves to 已试驾 and carries the car model; the home page shows funnel and leaderboard."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from storecrm.sdk import Lead, LeadStage, db, get_scoped, tenant_today

from dealership_testkit import demo_car_ids, lead, user, workshop

pytestmark = pytest.mark.storecrm_plugins("dealership")


def test_a_test_drive_books_a_demo_car_and_a_clash_is_refused(two_tenants, in_tenant, login):
    from storecrm.plugins.dealership.models import TestDrive

    alpha, _beta = two_tenants
    with in_tenant(alpha):
        workshop(alpha)
        first, second = lead(alpha, "13900002001").id, lead(alpha, "13900002002", "李女士").id
        car = demo_car_ids(alpha)[0]
        advisor = user(alpha, "advisor").id
        tomorrow = (tenant_today() + timedelta(days=1)).isoformat()
    browser = login(alpha, "advisor")
    assert browser.get("/t/alpha/dealership/test-drives").status_code == 200
    booked = browser.post("/t/alpha/dealership/test-drives", {
        "lead_id": str(first), "resource_id": str(car), "advisor_id": str(advisor), "model": "大众 帕萨特 2024款",
        "starts_at": f"{tomorrow}T10:00"})
    assert booked.status_code == 302, booked.get_data(as_text=True)
    clash = browser.post("/t/alpha/dealership/test-drives", {
        "lead_id": str(second), "resource_id": str(car), "advisor_id": str(advisor), "model": "大众 途观L",
        "starts_at": f"{tomorrow}T10:30"})
    assert clash.status_code == 422
    html = clash.get_data(as_text=True)
    assert 'id="f-starts_at"' in html and "is-invalid" in html.split('id="f-starts_at"')[0].rsplit("<input", 1)[1]
    with in_tenant(alpha):
        assert db.session.scalar(select(func.count()).select_from(TestDrive)) == 1
        booked_lead, other = get_scoped(Lead, first), get_scoped(Lead, second)
        assert booked_lead.status == "qualified" and booked_lead.interest == "大众 帕萨特 2024款"
        assert get_scoped(LeadStage, booked_lead.stage_id).name == "已试驾"
        assert other.stage_id is None and other.interest == "大众 帕萨特"
        drive = db.session.scalar(select(TestDrive))
        assert drive.resource_id == car and drive.advisor_id == advisor and drive.appointment_id
    # the model alone, from the lead page's side
    moved = browser.post(f"/t/alpha/dealership/leads/{second}/model", {"model": "大众 途观L"})
    assert moved.status_code == 302
    with in_tenant(alpha):
        assert get_scoped(Lead, second).interest == "大众 途观L"
    home = login(alpha, "owner").get("/t/alpha/")
    assert home.status_code == 200 and 'data-testid="sales-leaderboard"' in home.get_data(as_text=True)
