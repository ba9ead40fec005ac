"""Complaint KPIs in the reports engine (value and drill-down are the same complaints), and campaigns aimed at an
RFM segment or a saved customer view whose audience is exactly that segment / view, control group kept."""
import random
from datetime import date, datetime, time, timedelta

import pytest
from marshmallow import ValidationError
from sqlalchemy import select, update

from storecrm.sdk import Customer, Store, db, get_user, kpi_breakdown, period_of, rfm_customer_ids, tenant_zone
from storecrm.customers.bulk import save_view
from storecrm.timers import Timer, fire

from storecrm.plugins.retail import campaigns, complaints
from storecrm.plugins.retail.models import CampaignMember, Purchase
from retail_testkit import buy, member

pytestmark = pytest.mark.storecrm_plugins("retail")

MONDAY = date(2026, 11, 30)
WEEK = "period=custom&start=2026-11-30&end=2026-12-06"


def at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=tenant_zone())


def test_complaint_kpis_count_store_hours_and_drill_down_to_the_complaints(two_tenants, in_tenant, api_token, app):
    alpha, beta = two_tenants
    with in_tenant(alpha):
        store = db.session.get(Store, (alpha.id, alpha.stores[0]))
        store.opens_at, store.closes_at = time(10), time(22)
        m = member(alpha, 1)
        for _ in range(4):
            buy(alpha, m, "100.00")
        db.session.execute(update(Purchase).values(at=at(MONDAY, 12)))
        new = lambda kind, when: complaints.intake(None, {"customer_id": m.customer_id, "store_id": store.id,  # noqa: E731
                                                          "kind": kind, "description": "x"}, now=when)
        c1, c2, c3 = new("quality", at(MONDAY, 10)), new("attitude", at(MONDAY, 21, 30)), new("quality", at(MONDAY + timedelta(days=1), 10))
        complaints.respond(None, c1, "已回电", now=at(MONDAY, 10, 30))
        complaints.resolve(None, c1, "已退款", now=at(MONDAY, 14))
        complaints.rate(None, complaints.get(c1.id), "4")
        complaints.respond(None, c3, "已回电", now=at(MONDAY + timedelta(days=1), 11))
        overdue_timer = db.session.scalar(select(Timer.id).where(Timer.key == f"retail-complaint-{c2.id}"))
        ids = c1.id, c2.id, c3.id
    with in_tenant(alpha):
        fire(overdue_timer)
    with in_tenant(beta):                                   # another tenant's complaint counts nowhere here
        other = member(beta, 1)
        complaints.intake(None, {"customer_id": other.customer_id, "store_id": beta.stores[0], "kind": "quality",
                                 "description": "B"}, now=at(MONDAY, 11))
    client, headers = app.test_client(), api_token(alpha, "manager")

    def value(code):
        return client.get(f"/api/v1/kpis/{code}/value?{WEEK}", headers=headers).get_json()["value"]

    def drill(code):
        body = client.get(f"/api/v1/kpis/{code}/records?{WEEK}", headers=headers).get_json()
        return {row["id"] for row in body["items"]}

    assert float(value("retail.complaints_per_100_orders")) == pytest.approx(75)    # 3 complaints, 4 orders
    assert float(value("retail.complaint_first_response")) == pytest.approx(45)     # 30 and 60 store minutes
    assert float(value("retail.complaint_sla_breach")) == pytest.approx(33.3)
    assert float(value("retail.complaint_resolution_time")) == pytest.approx(4)
    assert float(value("retail.complaint_satisfaction")) == pytest.approx(4)
    assert drill("retail.complaints_per_100_orders") == set(ids)
    assert drill("retail.complaint_sla_breach") == set(ids)
    assert drill("retail.complaint_first_response") == {ids[0], ids[2]}
    assert drill("retail.complaint_resolution_time") == drill("retail.complaint_satisfaction") == {ids[0]}
    with in_tenant(alpha):
        by_kind = {key: float(v) for key, _label, v, _n in kpi_breakdown(
            get_user(alpha.users["manager"]), "retail.complaints_per_100_orders",
            period_of("custom", None, MONDAY, MONDAY + timedelta(days=6)), "kind")}
        assert by_kind == {"quality": pytest.approx(50), "attitude": pytest.approx(25)}


def test_a_campaign_on_an_rfm_segment_reaches_exactly_that_segment(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        people = [member(alpha, n) for n in range(8)]
        for m in people[:3]:                      # three orders, 6,000 in all, this week: high value
            for _ in range(3):
                buy(alpha, m, "2000.00")
        for m in people[3:6]:                     # one small order: potential
            buy(alpha, m, "50.00")
        segment = set(db.session.scalars(rfm_customer_ids("high_value")))
        assert segment == {m.customer_id for m in people[:3]}
        campaign = campaigns.create({"name": "高价值回馈", "message": "感谢支持", "segment": "rfm", "rfm": "high_value",
                                     "control_pct": 34})
        assert campaigns.launch(campaign, rng=random.Random(3)) == {"treatment": 2, "control": 1}
        reached = set(db.session.scalars(select(CampaignMember.member_id).where(CampaignMember.campaign_id == campaign.id)))
        assert reached == {m.id for m in people[:3]}
        with pytest.raises(ValidationError) as err:
            campaigns.create({"name": "x", "message": "x", "segment": "rfm", "rfm": "nope"})
        assert "rfm" in err.value.messages


def test_a_campaign_on_a_saved_view_reaches_exactly_the_members_it_lists(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        manager = get_user(alpha.users["manager"])
        people = [member(alpha, n) for n in range(6)]
        for m in people[::2]:
            db.session.get(Customer, (alpha.id, m.customer_id)).tags = ["VIP"]
        db.session.flush()
        view = save_view(manager, "VIP 客户", {"tag": "VIP"}, shared=False)
        campaign = campaigns.create({"name": "VIP 专享", "template": "GIFT", "segment": "view", "view_id": view.id,
                                     "control_pct": 0}, manager)
        campaigns.launch(campaign, user=manager)
        reached = set(db.session.scalars(select(CampaignMember.member_id).where(CampaignMember.campaign_id == campaign.id)))
        assert reached == {m.id for m in people[::2]}
        # someone else's personal view is not theirs to use
        admin = get_user(alpha.users["admin"])
        with pytest.raises(ValidationError) as err:
            campaigns.create({"name": "y", "message": "y", "segment": "view", "view_id": view.id}, admin)
        assert "view_id" in err.value.messages
