"""The complaint clocks run on the store's opening hours (closures skipped), stop while waiting for the customer,
breach through the timers with an escalation in the outbox; remedies are issued from the complaint in one
transaction. Every time here is a fixed moment in the tenant's zone (a controllable clock), never the local hour."""
from datetime import date, datetime, time, timedelta
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from sqlalchemy import func, select, text

from storecrm.sdk import Store, db, plugin_settings, tenant_zone
from storecrm.scheduling.models import ScheduleException
from storecrm.timers import Timer, fire

from storecrm.plugins.retail import complaints, coupons, points, remedies
from storecrm.plugins.retail.models import ComplaintRemedy, Coupon, Member
from retail_testkit import buy, member

pytestmark = pytest.mark.storecrm_plugins("retail")

MONDAY = date(2026, 11, 30)


def at(day, hour, minute=0):
    return datetime.combine(day, time(hour, minute), tzinfo=tenant_zone())


def _store_open_10_to_22(alpha):
    store = db.session.get(Store, (alpha.id, alpha.stores[0]))
    store.opens_at, store.closes_at = time(10), time(22)
    db.session.flush()
    return store


def _complaint(alpha, m, now, kind="attitude"):
    return complaints.intake(None, {"customer_id": m.customer_id, "store_id": alpha.stores[0], "kind": kind,
                                    "description": "店员态度差"}, now=now)


def test_late_evening_complaint_is_due_next_morning_and_a_closed_day_is_skipped(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        _store_open_10_to_22(alpha)
        m = member(alpha, 1)
        # 21:30 with 2 store hours: 30 minutes tonight, 90 tomorrow from 10:00
        late = _complaint(alpha, m, at(MONDAY, 21, 30))
        assert late.first_response_due == at(MONDAY + timedelta(days=1), 11, 30)
        # 48 store hours at 12 a day: 0.5 h tonight + 47.5 h = 3 full days + 11.5 h → Friday 21:30
        assert late.resolution_due == at(MONDAY + timedelta(days=4), 21, 30)
        timer = db.session.scalar(select(Timer).where(Timer.key == f"retail-complaint-{late.id}"))
        assert timer.due_at == late.first_response_due
        # Tuesday the store is closed (a holiday in the scheduling calendar): Wednesday 11:30
        tuesday = MONDAY + timedelta(days=1)
        db.session.add(ScheduleException(kind="closure", store_id=alpha.stores[0], starts_at=at(tuesday, 0),
                                         ends_at=at(tuesday + timedelta(days=1), 0)))
        db.session.flush()
        holiday = _complaint(alpha, m, at(MONDAY, 21, 30))
        assert holiday.first_response_due == at(MONDAY + timedelta(days=2), 11, 30)
        # a night complaint (after closing) starts counting at opening
        night = _complaint(alpha, m, at(MONDAY, 23, 10))
        assert night.first_response_due == at(MONDAY + timedelta(days=2), 12, 0)
        # the response time is counted in store hours too: answered Wednesday 10:45 → 45 minutes
        complaints.respond(None, night, "已致电道歉", now=at(MONDAY + timedelta(days=2), 10, 45))
        assert complaints.get(night.id).response_minutes == 45


def test_waiting_for_the_customer_stops_the_resolution_clock(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        _store_open_10_to_22(alpha)
        m = member(alpha, 1)
        row = _complaint(alpha, m, at(MONDAY, 10), kind="quality")
        assert row.resolution_due == at(MONDAY + timedelta(days=3), 22)            # 48 h = 4 days of 12 h
        # Monday 14:00 staff ask for a photo: 4 store hours used, 44 left; the resolution timer is cancelled
        complaints.wait_for_customer(None, row, "请提供照片", now=at(MONDAY, 14))
        row = complaints.get(row.id)
        assert (row.status, row.resolution_due, row.resolution_left) == ("waiting", None, 44 * 60)
        assert row.first_responded_at == at(MONDAY, 14)                            # asking is a response
        assert db.session.scalar(select(Timer).where(Timer.key == f"retail-complaint-resolution-{row.id}")) is None
        with pytest.raises(ValidationError):
            complaints.wait_for_customer(None, row, "again", now=at(MONDAY, 15))
        # the photo comes Tuesday 12:00: 44 h from there (10 + 12 + 12 + 10) → Friday 20:00, not Thursday 22:00
        complaints.resume(None, row, "照片已收到", now=at(MONDAY + timedelta(days=1), 12))
        row = complaints.get(row.id)
        assert row.resolution_due == at(MONDAY + timedelta(days=4), 20)
        assert row.waited_minutes == (8 + 2) * 60
        timer = db.session.scalar(select(Timer).where(Timer.key == f"retail-complaint-resolution-{row.id}"))
        assert timer.due_at == row.resolution_due and timer.fired_at is None
        # resolved Wednesday 10:00: open 4 + 12 + 12 + 0 … store hours minus the 10 waited
        complaints.resolve(None, row, "已换货", now=at(MONDAY + timedelta(days=2), 10))
        row = complaints.get(row.id)
        assert row.resolution_minutes == (12 + 12) * 60 - 10 * 60
        assert db.session.scalar(select(Timer).where(Timer.key == f"retail-complaint-resolution-{row.id}")) is None


def test_a_missed_resolution_target_escalates_through_the_outbox(two_tenants, in_tenant, system_db):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        _store_open_10_to_22(alpha)
        m = member(alpha, 1)
        row = _complaint(alpha, m, at(MONDAY, 10))
        complaints.respond(None, row, "已回电", now=at(MONDAY, 10, 30))
        complaint_id = row.id
        timer_id = db.session.scalar(select(Timer.id).where(Timer.key == f"retail-complaint-resolution-{row.id}"))
    with in_tenant(alpha):
        fire(timer_id)                      # what the dispatcher does when the due time comes
    with in_tenant(alpha):
        row = complaints.get(complaint_id)
        assert row.resolution_overdue is True and row.overdue is False
        assert [e.kind for e in complaints.events_of(complaint_id)][-1] == "resolution_overdue"
    with system_db.connect() as conn:
        # the manager's bell and an email in the outbox, once
        assert conn.execute(text("SELECT count(*) FROM notifications WHERE title LIKE 'Complaint not resolved%'")).scalar() == 1
        assert conn.execute(text("SELECT count(*) FROM outbox_messages WHERE channel = 'email' AND subject LIKE "
                                 "'Complaint not resolved%'")).scalar() == 1


def test_remedies_are_issued_from_the_complaint_in_one_transaction(two_tenants, in_tenant):
    alpha, _ = two_tenants
    with in_tenant(alpha):
        m = member(alpha, 1)
        purchase = buy(alpha, m, "200.00")
        points_before = db.session.get(Member, (alpha.id, m.id)).points_balance
        row = complaints.intake(None, {"customer_id": m.customer_id, "store_id": alpha.stores[0], "kind": "quality",
                                       "description": "围巾掉色"})
        coupon = remedies.issue(None, row, {"kind": "coupon", "template": "GIFT", "note": "致歉礼品"})
        assert db.session.get(Coupon, (alpha.id, coupon.coupon_id)).member_id == m.id
        refund = remedies.issue(None, row, {"kind": "refund", "purchase_id": purchase.id, "amount": "50",
                                            "note": "部分退款"})
        assert refund.amount == Decimal("50.00") and refund.points_reversed == 50
        assert db.session.get(Member, (alpha.id, m.id)).points_balance == points_before - 50
        from storecrm.sdk import get_sales_order, order_lines
        line = order_lines(get_sales_order(purchase.order_id))[0]
        back = remedies.issue(None, row, {"kind": "return", "purchase_id": purchase.id,
                                          "lines": [{"line_id": line.id, "quantity": "0.5"}], "note": "退回半件"})
        assert back.amount == Decimal("100.00") and back.returned[0]["line_id"] == line.id
        assert [r.kind for r in remedies.remedies_of(row.id)] == ["coupon", "refund", "return"]
        assert [e.kind for e in complaints.events_of(row.id)].count("remedy") == 3
        # more than is left to refund: refused, and nothing of it written (no remedy, no points change)
        with pytest.raises(ValidationError) as err:
            with db.session.begin_nested():          # the request's transaction, as a savepoint here
                remedies.issue(None, row, {"kind": "refund", "purchase_id": purchase.id, "amount": "60", "note": "x"})
        assert "amount" in err.value.messages
        assert db.session.scalar(select(func.count()).select_from(ComplaintRemedy)) == 3
        # another member's purchase cannot be refunded through this complaint; a bad template is a field error
        other = buy(alpha, member(alpha, 2), "80.00")
        with pytest.raises(ValidationError) as err:
            remedies.issue(None, row, {"kind": "refund", "purchase_id": other.id, "amount": "10", "note": "x"})
        assert "purchase_id" in err.value.messages
        with pytest.raises(ValidationError) as err:
            remedies.issue(None, row, {"kind": "coupon", "template": "NOPE", "note": "x"})
        assert "template" in err.value.messages
