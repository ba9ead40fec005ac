"""A store's day with members: register, buy, earn points, use a coupon and stored value, refund."""
from datetime import date, timedelta
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select, text

from storecrm.sdk import db

from storecrm.plugins.retail import coupons, members, points, purchases, tiers, wallet
from storecrm.plugins.retail.models import Member, PointBatch, PointEntry, StoredValueEntry
from retail_testkit import buy, member

pytestmark = pytest.mark.storecrm_plugins("retail")


def test_register_buy_earn_and_one_id(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 1, birthday="1990-05-01")
        again = members.register(None, {"name": "别名", "mobile": "138 0013 0001", "store_id": alpha.stores[0],
                                         "consent": True}, source="qr")
        assert again.id == m.id                                  # One-ID: the same mobile, the same card
        p = buy(alpha, m, "123.45", key="till-1")
        assert buy(alpha, m, "123.45", key="till-1").id == p.id  # a till's retry records nothing more
        db.session.refresh(m)
        assert p.points_earned == 123 and m.points_balance == 123
        assert members.by_number(m.member_no).id == m.id
        from storecrm.sdk import find_customer_by_identity
        assert find_customer_by_identity("retail_card", m.member_no).id == m.customer_id
        # the welcome coupon came from the seeded rule on joining
        assert [t.code for c, t in coupons.coupons_of(m.id)] == ["WELCOME"]
        with pytest.raises(ValidationError) as err:
            members.register(None, {"name": "", "mobile": "12", "store_id": alpha.stores[0]})
        assert {"name", "mobile"} <= set(err.value.messages)


def test_coupon_and_stored_value_pay_a_purchase_without_points_on_them(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 2)
        wallet.top_up(m, {"amount": "500", "method": "wechat_pay"})
        db.session.refresh(m)
        assert m.stored_balance == Decimal("550.00")             # 500 + the 50 bonus step
        code = coupons.coupons_of(m.id)[0][0].code              # WELCOME: 20 off from 100
        p = buy(alpha, m, "200.00", coupon_code=code, stored_value="80")
        assert p.amount == Decimal("180.00") and p.paid_stored_value == Decimal("80.00")
        assert p.points_earned == 100                           # only the 100 paid with money earns
        with pytest.raises(ValidationError) as err:
            buy(alpha, m, "200.00", coupon_code=code)
        assert "coupon_code" in err.value.messages
        with pytest.raises(ValidationError) as err:
            buy(alpha, m, "50.00", stored_value="9999")
        assert "stored_value" in err.value.messages


def test_refund_after_the_points_were_spent_leaves_a_debt_paid_by_the_next_purchase(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 3)
        p = buy(alpha, m, "300.00")
        points.redeem(m.id, 250, "兑换保温杯")
        purchases.refund(None, p, Decimal("300.00"), "退货")
        db.session.refresh(m)
        assert m.points_balance == -250                          # the stated rule: claw back, may go negative
        buy(alpha, m, "400.00")
        db.session.refresh(m)
        assert m.points_balance == 150
        remaining = db.session.scalar(select(func.sum(PointBatch.remaining)).where(PointBatch.member_id == m.id))
        ledger = db.session.scalar(select(func.sum(PointEntry.points)).where(PointEntry.member_id == m.id))
        assert remaining == ledger == 150


def test_batches_expire_on_their_own_day_in_the_tenant_zone(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 4)
        points.earn(m.id, 10, today=date(2026, 1, 31))        # 12 months: expires after 2027-01-31
        points.earn(m.id, 20, today=date(2026, 3, 1))
        assert points.expire_due(date(2027, 1, 31)) == 0
        assert points.expire_due(date(2027, 2, 1)) == 10
        db.session.refresh(m)
        assert m.points_balance == 20
        points.redeem(m.id, 5)
        assert [b.remaining for b in points.batches_of(m.id)] == [0, 15]


def test_top_up_refund_claws_back_the_bonus_and_limits_hold(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 5)
        topup = wallet.top_up(m, {"amount": "1000", "method": "alipay"})   # +120 bonus
        buy(alpha, m, "200.00", stored_value="200")
        back = wallet.refund_topup(m, topup.id)
        db.session.refresh(m)
        assert back == Decimal("800.00") and m.stored_balance == Decimal("0.00")
        assert wallet.ledger_sum(m.id) == m.stored_balance
        with pytest.raises(ValidationError) as err:
            wallet.top_up(m, {"amount": "6000", "method": "transfer"})
        assert "amount" in err.value.messages                   # a registered card holds at most 5,000
        with pytest.raises(ValidationError) as err:
            wallet.top_up(m, {"amount": "abc", "method": "cash"})
        assert "amount" in err.value.messages
