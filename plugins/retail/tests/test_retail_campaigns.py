"""Campaigns with a random held-out control group and the uplift report; complaints routed by kind with a 2-hour
first response through the core's timers."""
import random
from datetime import timedelta

import pytest
from marshmallow import ValidationError
from sqlalchemy import select, text

from storecrm.sdk import db, utcnow

from storecrm.plugins.retail import campaigns, complaints, coupons, members
from storecrm.plugins.retail.models import CampaignMember, Coupon
from retail_testkit import buy, member

pytestmark = pytest.mark.storecrm_plugins("retail")


def test_a_campaign_holds_out_a_random_control_group_and_reports_the_uplift(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        people = [member(alpha, n) for n in range(20)]
        with pytest.raises(ValidationError) as err:
            campaigns.create({"name": "空", "control_pct": 10})
        assert "message" in err.value.messages
        campaign = campaigns.create({"name": "春季回馈", "template": "WINBACK", "control_pct": 25, "window_days": 30})
        assert campaigns.launch(campaign, rng=random.Random(7)) == {"treatment": 15, "control": 5}
        with pytest.raises(ValidationError):
            campaigns.launch(campaign)
        groups = dict(db.session.execute(select(CampaignMember.member_id, CampaignMember.control)).all())
        given = {c.member_id for c in db.session.scalars(select(Coupon).where(Coupon.campaign_id == campaign.id))}
        assert given == {m for m, control in groups.items() if not control}    # the control group got nothing
        treated = [m for m in people if not groups[m.id]]
        held = [m for m in people if groups[m.id]]
        for m in treated[:6]:
            buy(alpha, m, "88.00")
        buy(alpha, held[0], "88.00")
        report = campaigns.report(campaign)
        assert report["treatment"]["rate"] == pytest.approx(40) and report["control"]["rate"] == pytest.approx(20)
        assert report["uplift"] == pytest.approx(20)


def test_complaints_are_routed_and_a_missed_first_response_escalates(two_tenants, in_tenant, system_db, app):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 1)
        quality = complaints.intake(None, {"customer_id": m.customer_id, "store_id": alpha.stores[0],
                                           "kind": "quality", "description": "围巾掉色"}, source="member")
        attitude = complaints.intake(None, {"customer_id": m.customer_id, "store_id": alpha.stores[0],
                                            "kind": "attitude", "description": "店员态度差"})
        assert quality.assignee_id == alpha.users["admin"] and attitude.assignee_id == alpha.users["manager"]
        with pytest.raises(ValidationError) as err:
            complaints.intake(None, {"customer_id": m.customer_id, "store_id": alpha.stores[0], "kind": "x",
                                     "description": ""})
        assert {"kind", "description"} <= set(err.value.messages)
        complaints.respond(None, attitude, "已致电道歉")
        quality_id = quality.id
        # two hours pass: the timer of the unanswered one is due, the answered one's was cancelled
        db.session.execute(text("UPDATE timers SET due_at = now() - interval '1 minute' "
                                "WHERE key ~ '^retail-complaint-[0-9]+$'"))
    from storecrm.sdk import AUTOMATION  # noqa: F401
    with in_tenant(alpha):
        from storecrm.plugins.retail.complaints import TIMER
        due = db.session.execute(text("SELECT id, kind FROM timers WHERE fired_at IS NULL AND due_at <= now()")).all()
        assert [k for _i, k in due] == [TIMER]
        from storecrm.timers import fire  # core test hook: run the due timer as the dispatcher's job would
        fire(due[0][0])
    with in_tenant(alpha):
        row = complaints.get(quality_id)
        assert row.overdue is True
        assert [e.kind for e in complaints.events_of(quality_id)] == ["created", "overdue"]
        complaints.transfer(None, row, alpha.users["manager"], "请门店跟进")
        complaints.resolve(None, row, "已退款并赠送优惠券")
        assert complaints.get(quality_id).status == "resolved"
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM notifications WHERE title LIKE 'Complaint without%'")).scalar() == 1


def test_kpis_count_members_coupons_and_liabilities(two_tenants, in_tenant, api_token, app):
    from storecrm.plugins.retail import wallet

    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 1)                                  # + its welcome coupon
        wallet.top_up(m, {"amount": "300", "method": "alipay"})
        buy(alpha, m, "100.00", coupon_code=coupons.coupons_of(m.id)[0][0].code)
        member(alpha, 2)
    client, headers = app.test_client(), api_token(alpha, "manager")
    value = lambda code: client.get(f"/api/v1/kpis/{code}/value?period=month", headers=headers).get_json()  # noqa: E731
    assert value("retail.members")["value"] == 2
    assert value("retail.active_members")["value"] == 1
    assert float(value("retail.coupon_redemption")["value"]) == 50
    assert float(value("retail.points_liability")["value"]) == 80
    assert float(value("retail.stored_value_liability")["value"]) == 300


def test_the_daily_till_file_imports_each_receipt_once(two_tenants, in_tenant):
    from datetime import date

    from storecrm.plugins.retail.importing import PurchaseRow, import_purchase
    from storecrm.plugins.retail.models import Member, PointBatch

    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 1)
        row = PurchaseRow().load({"member_no": m.member_no, "receipt_no": "JA01-20260301-0007", "store": "ALPHA Store One",
                                  "amount": "256.00", "bought_on": "2026-03-01", "method": "微信"})
        assert import_purchase(None, row) == "created"
        assert import_purchase(None, row) == "updated"
        db.session.refresh(m)
        assert m.points_balance == 256
        assert db.session.scalar(select(PointBatch.expires_on).where(PointBatch.member_id == m.id)) == date(2027, 3, 1)
        with pytest.raises(ValidationError) as err:
            PurchaseRow().load({"member_no": "999999999", "receipt_no": "x", "store": "nowhere", "amount": "-1",
                                "bought_on": "not a date"})
        assert {"member_no", "store", "amount", "bought_on"} <= set(err.value.messages)


def test_stored_value_settles_between_the_stores_of_a_chain(two_tenants, in_tenant, api_token, app):
    from storecrm.plugins.retail import wallet

    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 1)
        wallet.top_up(m, {"amount": "500", "method": "wechat_pay", "store_id": alpha.stores[0]})  # +50 bonus
        buy(alpha, m, "200.00", stored_value="200", store_id=alpha.stores[1])
    client, headers = app.test_client(), api_token(alpha, "admin")
    from storecrm.sdk import tenant_today  # noqa: F401
    rows = client.get("/api/v1/retail/stored-value/settlement?start=2000-01-01&end=2100-01-01", headers=headers).get_json()
    by_store = {r["store_id"]: r for r in rows}
    assert by_store[alpha.stores[0]]["owed_to_store"] == "-500.00"        # took the money in, owes it to HQ
    assert by_store[alpha.stores[1]]["owed_to_store"] == "200.00"         # served the member from the card
    bad = client.get("/api/v1/retail/stored-value/settlement?start=2026-02-01&end=2026-01-01", headers=headers)
    assert bad.status_code == 422


def test_the_birthday_gift_follows_the_tier(two_tenants, in_tenant):
    from storecrm.plugins.retail.setup import TIER_BIRTHDAY, issue_coupon_action

    alpha, _ = two_tenants
    with in_tenant(alpha):
        normal, gold = member(alpha, 1), member(alpha, 2)
        gold.tier_code = "GOLD"
        for m in (normal, gold):
            issue_coupon_action(members.customer_of(m), {"template": TIER_BIRTHDAY})
        names = {m.id: [t.code for c, t in coupons.coupons_of(m.id)] for m in (normal, gold)}
        assert "BIRTHDAY" in names[normal.id] and "BIRTHDAY_VIP" in names[gold.id]
