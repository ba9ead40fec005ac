"""Leads, second part: conversion that prepares the sale (customer, vehicle, draft quote through the sales service),
the public pool (公海) with returns, claims and a daily limit under concurrency, tenant stages with time in stage,
first-contact deadlines in the store's opening hours, and round robin under 1,000 concurrent captures."""
from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from marshmallow import ValidationError
from sqlalchemy import select, text

from storecrm import timers
from storecrm.calendar import tenant_zone
from storecrm.extensions import db
from storecrm.leads import services, setup
from storecrm.leads.funnel import stage_funnel
from storecrm.leads.models import Lead, LeadChannel, LeadStageVisit
from storecrm.scheduling.models import ScheduleException
from storecrm.stores.models import Store
from storecrm.tenancy.context import TenantRef, tenant_context
from storecrm.tenancy.models import utcnow
from storecrm.users.models import User
from tests.test_leads import _rows, capture, make_channel, on_shift_all_week


def _user(session, world, role):
    return session.get(User, (world.id, world.users[role]))


def test_conversion_makes_customer_vehicle_and_a_draft_quote_of_the_interests(two_tenants, in_tenant, system_db):
    from storecrm.catalog.models import CatalogItem
    from storecrm.sales.models import Quote
    from storecrm.sales.services import lines_of

    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        advisor = _user(session, alpha, "advisor")
        session.add(CatalogItem(kind="product", sku="MY-LR", name="Model Y 长续航", list_price=Decimal("263900"),
                                unit="台"))
        channel = make_channel(session, alpha)
        lead = capture(channel, mobile="+8613900007701", interest="Model Y 长续航")[0]
        capture(channel, mobile="+8613900007701", interest="贴膜套餐")  # a repeat enquiry adds an interest
        customer = services.convert(advisor, lead, asset={"name": "Model Y", "identifiers": {"vin": ""}}, quote=True)
        assert lead.status == "won" and lead.customer_id == customer.id
        assert lead.asset_id and lead.quote_id
        quote = session.get(Quote, (alpha.id, lead.quote_id))
        assert quote.state == "draft" and quote.customer_id == customer.id and quote.asset_id == lead.asset_id
        assert (quote.source_type, quote.source_id) == ("lead", lead.id)
        lines = lines_of(quote)
        assert [(ln.description, ln.unit_price) for ln in lines] == [("Model Y 长续航", Decimal("263900.00")),
                                                                    ("贴膜套餐", Decimal("0.00"))]
        converted = [h for h in services.history_of(lead) if h.kind == "converted"][0]
        assert converted.data["quote_id"] == quote.id and converted.data["asset_id"] == lead.asset_id

        # a refused part writes nothing: no customer is left behind by a failed conversion
        other = capture(channel, mobile="+8613900007702", interest=None)[0]
        with pytest.raises(ValidationError) as err:
            services.convert(advisor, other, asset={"name": ""}, quote=True)
        assert "asset.name" in err.value.messages
        assert other.is_open and other.customer_id is None
    assert _rows(system_db, "SELECT count(*) FROM customers WHERE tenant_id = :t AND mobile = '+8613900007702'",
                 t=alpha.id) == [(0,)]


def test_pool_return_claim_daily_limit_and_history(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        on_shift_all_week(session, alpha, "advisor")
        advisor, technician = _user(session, alpha, "advisor"), _user(session, alpha, "technician")
        services.save_settings({"claims_per_day": 2, "pool_after_hours": 24})
        channel = make_channel(session, alpha)
        leads = [capture(channel, mobile=f"+86139000088{n:02d}")[0] for n in range(3)]
        with pytest.raises(ValidationError) as err:
            services.to_pool(advisor, leads[0], "")
        assert "reason" in err.value.messages
        for lead in leads:
            services.to_pool(advisor, lead, "no_answer", note="三次未接")
        assert [ld.id for ld in services.pool_leads(technician)] == [ld.id for ld in leads]
        assert all(ld.owner_id is None and ld.pool_reason == "no_answer" for ld in leads)
        services.claim(technician, leads[0])
        services.claim(technician, leads[1])
        assert leads[0].owner_id == technician.id and leads[0].pooled_at is None
        with pytest.raises(ValidationError) as err:
            services.claim(technician, leads[2])
        assert "lead_id" in err.value.messages and leads[2].pooled_at is not None
        with pytest.raises(ValidationError):
            services.claim(advisor, leads[0])  # taken already
        # the next tenant day the limit starts again
        services.claim(technician, leads[2], now=utcnow() + timedelta(days=1))
        kinds = [h.kind for h in services.history_of(leads[0])]
        assert kinds[:2] == ["claimed", "pooled"]
        # a rule with the pool strategy sends its leads straight to the pool
        setup.save_rule(None, {"name": "进公海", "position": 0, "strategy": "pool", "channel_id": channel.id})
        pooled = capture(channel, mobile="+8613900008899")[0]
        assert pooled.owner_id is None and pooled.pooled_at is not None and pooled.pool_reason == "rule"


def test_two_claims_of_one_pool_lead_at_once_one_wins(two_tenants, in_tenant, app):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        channel = make_channel(session, alpha)
        lead = capture(channel, mobile="+8613900009901")[0]
        services.to_pool(_user(session, alpha, "manager"), lead, "not_ready")
        lead_id = lead.id
    barrier, outcomes, lock = threading.Barrier(2), [], threading.Lock()

    def claim(role):
        with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
            try:
                user = db.session.get(User, (alpha.id, alpha.users[role]))
                target = db.session.get(Lead, (alpha.id, lead_id))
                barrier.wait(timeout=10)
                try:
                    services.claim(user, target)
                    db.session.commit()
                    outcome = "won"
                except ValidationError:
                    db.session.rollback()
                    outcome = "refused"
            finally:
                db.session.remove()
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=claim, args=(r,)) for r in ("advisor", "technician")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["refused", "won"]
    with in_tenant(alpha) as session:
        lead = session.get(Lead, (alpha.id, lead_id))
        assert lead.owner_id in (alpha.users["advisor"], alpha.users["technician"]) and lead.pooled_at is None
        assert [h.kind for h in services.history_of(lead)].count("claimed") == 1


def test_a_lead_not_followed_up_in_time_returns_to_the_pool_by_the_timer(two_tenants, in_tenant, app, system_db):
    from tests.test_imports import _run_worker

    alpha, _beta = two_tenants
    now = utcnow()
    with in_tenant(alpha) as session:
        on_shift_all_week(session, alpha, "advisor")
        services.save_settings({"pool_after_hours": 4})
        advisor = _user(session, alpha, "advisor")
        channel = make_channel(session, alpha)
        # controllable clock: assigned five hours ago, nobody followed it up
        stale = services.capture(channel, {"name": "无人跟进", "mobile": "+8613900001201"},
                                 now=now - timedelta(hours=5))[0]
        # also five hours old, but followed up an hour ago: its pool clock started again
        kept = services.capture(channel, {"name": "跟进中", "mobile": "+8613900001202"},
                                now=now - timedelta(hours=5))[0]
        services.follow_up(advisor, kept, {"method": "call", "summary": "在考虑"}, now=now - timedelta(hours=1))
        stale_id, kept_id = stale.id, kept.id
    with app.app_context():
        timers.dispatch_due()
    _run_worker()
    with in_tenant(alpha) as session:
        stale, kept = session.get(Lead, (alpha.id, stale_id)), session.get(Lead, (alpha.id, kept_id))
        assert stale.pooled_at is not None and stale.owner_id is None and stale.pool_reason == "not_followed_up"
        assert kept.pooled_at is None and kept.owner_id == alpha.users["advisor"]
    titles = [r[0] for r in _rows(system_db, "SELECT title FROM notifications WHERE tenant_id = :t AND user_id = :u",
                                  t=alpha.id, u=alpha.users["advisor"])]
    assert "Returned to the public pool: 无人跟进" in titles


def test_tenant_stages_record_time_in_stage_and_feed_the_stage_funnel(two_tenants, in_tenant):
    from storecrm.calendar import tenant_today

    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        advisor = _user(session, alpha, "advisor")
        invited = services.save_stage(None, {"name": "已邀约", "position": 1})
        drive = services.save_stage(None, {"name": "已试驾", "position": 2})
        with pytest.raises(ValidationError):
            services.save_stage(None, {"name": "已邀约", "position": 3})
        channel = make_channel(session, alpha)
        t0 = utcnow() - timedelta(hours=10)
        lead = services.capture(channel, {"name": "试驾客户", "mobile": "+8613900001301"}, now=t0)[0]
        services.act(advisor, lead, "contact", now=t0 + timedelta(hours=1))
        services.move_to_stage(advisor, lead, invited.id, now=t0 + timedelta(hours=3))
        services.move_to_stage(advisor, lead, drive.id, now=t0 + timedelta(hours=9))
        assert lead.status == "qualified" and services.step_of(lead) == f"stage:{drive.id}"
        assert services.time_in_stage(lead, now=t0 + timedelta(hours=10)) == timedelta(hours=1)
        visits = session.scalars(select(LeadStageVisit).where(LeadStageVisit.lead_id == lead.id)
                                 .order_by(LeadStageVisit.entered_at)).all()
        assert [(v.status, v.stage_id, (v.left_at - v.entered_at) if v.left_at else None) for v in visits] == [
            ("new", None, timedelta(hours=1)), ("contacted", None, timedelta(hours=2)),
            ("qualified", invited.id, timedelta(hours=6)), ("qualified", drive.id, None)]
        other = services.capture(channel, {"name": "只联系", "mobile": "+8613900001302"}, now=t0)[0]
        services.act(advisor, other, "contact", now=t0 + timedelta(hours=2))
        rows = {r.key: r for r in stage_funnel(None, tenant_today() - timedelta(days=1), tenant_today())}
        assert [k for k in rows] == ["new", "contacted", "qualified", f"stage:{invited.id}", f"stage:{drive.id}",
                                     "won"]
        assert (rows["new"].reached, rows["contacted"].reached, rows[f"stage:{invited.id}"].reached) == (2, 2, 1)
        assert rows["new"].avg_hours == 1.5  # one hour and two hours
        assert rows[f"stage:{invited.id}"].avg_hours == 6.0 and rows[f"stage:{invited.id}"].now == 0
        assert rows[f"stage:{drive.id}"].now == 1
        with pytest.raises(ValidationError):
            services.move_to_stage(advisor, lead, 10**12)
    with in_tenant(beta) as session:  # another tenant's stage cannot be used
        lead = services.capture(make_channel(session, beta), {"name": "B", "mobile": "+8613900001303"})[0]
        with pytest.raises(ValidationError):
            services.move_to_stage(None, lead, invited.id)


def test_first_contact_deadline_counts_only_opening_hours_across_a_night_and_a_closure(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store = session.get(Store, (alpha.id, alpha.stores[0]))
        store.opens_at, store.closes_at = time(9), time(18)
        channel = make_channel(session, alpha, first_contact_minutes=30)
        zone = tenant_zone()
        monday = datetime(2026, 11, 30, tzinfo=zone)  # a Monday
        late = datetime.combine(monday.date(), time(23), tzinfo=zone)
        lead = services.capture(channel, {"name": "夜里留资", "mobile": "+8613900001401"}, now=late)[0]
        assert lead.first_contact_deadline == datetime.combine(monday.date() + timedelta(days=1), time(9, 30),
                                                               tzinfo=zone)
        # 17:50 with 30 minutes: 10 today, 20 tomorrow morning
        evening = datetime.combine(monday.date(), time(17, 50), tzinfo=zone)
        lead = services.capture(channel, {"name": "傍晚", "mobile": "+8613900001402"}, now=evening)[0]
        assert lead.first_contact_deadline == datetime.combine(monday.date() + timedelta(days=1), time(9, 20),
                                                               tzinfo=zone)
        # Tuesday is a store holiday (a closure in the scheduling calendar): Wednesday 09:30
        tuesday = monday.date() + timedelta(days=1)
        session.add(ScheduleException(kind="closure", store_id=store.id,
                                      starts_at=datetime.combine(tuesday, time(0), tzinfo=zone),
                                      ends_at=datetime.combine(tuesday + timedelta(days=1), time(0), tzinfo=zone)))
        session.flush()
        lead = services.capture(channel, {"name": "节假日", "mobile": "+8613900001403"}, now=late)[0]
        assert lead.first_contact_deadline == datetime.combine(tuesday + timedelta(days=1), time(9, 30),
                                                               tzinfo=zone)
        # the timer fires at that deadline
        timer = session.scalar(select(timers.Timer).where(timers.Timer.key == f"lead:{lead.id}:first_contact"))
        assert timer.due_at == lead.first_contact_deadline


def _round_robin_spread(app, in_tenant, world, count, workers=8):
    with in_tenant(world) as session:
        roles = ("advisor", "technician", "manager", "admin")
        for role in roles:
            on_shift_all_week(session, world, role)
        channel = make_channel(session, world, name="汽车之家")
        setup.save_rule(None, {"name": "轮流", "position": 1, "strategy": "round_robin", "store_id": world.stores[0],
                               "staff_ids": [world.users[r] for r in roles]})
        channel_id, staff = channel.id, {world.users[r] for r in roles}

    def one(n):
        with app.app_context(), tenant_context(TenantRef(world.id, world.slug)):
            try:
                channel = db.session.get(LeadChannel, (world.id, channel_id))
                lead, created = services.capture(channel, {"name": f"客户{n}", "mobile": f"+86137{n:08d}"},
                                                 source="api")
                db.session.commit()
                return lead.id, lead.owner_id, created
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        results = list(pool.map(one, range(count)))
    assert all(created for _i, _o, created in results) and len({i for i, _o, _c in results}) == count
    with in_tenant(world) as session:
        counts = dict(session.execute(text("SELECT owner_id, count(*) FROM leads GROUP BY owner_id")).all())
        assigned = session.execute(text("SELECT count(*) FROM lead_history WHERE kind = 'assigned'")).scalar()
    assert set(counts) == staff and sum(counts.values()) == count == assigned
    assert max(counts.values()) - min(counts.values()) <= 1, counts


def test_round_robin_spreads_concurrent_leads_evenly_with_none_lost(two_tenants, in_tenant, app):
    """The issue's acceptance is 1,000 leads: `make scale-test` runs this with STORECRM_LEADS_SCALE=1000 (46 s idle
    on a 2-core machine); the suite runs 100 over the same 8 concurrent sessions."""
    alpha, _beta = two_tenants
    _round_robin_spread(app, in_tenant, alpha, int(os.environ.get("STORECRM_LEADS_SCALE", "100")))


def test_pool_stage_and_conversion_through_pages_and_api(two_tenants, in_tenant, login, api_token, app, system_db):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        channel = make_channel(session, alpha)
        lead_id = capture(channel, mobile="+8613900001501", interest="Model 3")[0].id
        other_id = capture(channel, mobile="+8613900001502", interest="Model Y")[0].id
    owner = login(alpha, "owner")
    # settings and stages: bad input names the field, nothing written
    bad = owner.post("/t/alpha/leads/settings", {"pool_after_hours": "0", "claims_per_day": "3"})
    assert bad.status_code == 422 and "is-invalid" in bad.get_data(as_text=True)
    assert owner.post("/t/alpha/leads/settings", {"pool_after_hours": "12", "claims_per_day": "1"}).status_code == 302
    assert owner.post("/t/alpha/leads/stages", {"name": ""}).status_code == 422
    assert owner.post("/t/alpha/leads/stages", {"name": "已邀约", "position": "1", "active": "1"}).status_code == 302
    stage_id = _rows(system_db, "SELECT id FROM lead_stages WHERE tenant_id = :t", t=alpha.id)[0][0]
    assert owner.post(f"/t/alpha/leads/{lead_id}/stage", {"stage_id": str(stage_id)}).status_code == 302
    board = owner.get("/t/alpha/leads/board").get_data(as_text=True)
    assert f'data-testid="column-stage-{stage_id}"' in board and "本阶段已停留" not in board  # en tenant
    assert "In this stage" in board
    # return to the pool with a reason; the pool page masks the mobile
    assert owner.post(f"/t/alpha/leads/{other_id}/release", {"reason": ""}).status_code == 302
    assert _rows(system_db, "SELECT pooled_at FROM leads WHERE id = :i", i=other_id) == [(None,)]
    owner.post(f"/t/alpha/leads/{other_id}/release", {"reason": "not_ready", "note": "明年再买"})
    page = owner.get("/t/alpha/leads/pool").get_data(as_text=True)
    assert "139****1502" in page and "13900001502" not in page
    shown = owner.get(f"/t/alpha/leads/{other_id}").get_data(as_text=True)
    assert 'data-testid="masked-mobile"' in shown and "tel:+8613900001502" not in shown
    headers = api_token(alpha, "advisor")
    client = app.test_client()
    pool = client.get("/api/v1/leads/pool", headers=headers).get_json()
    assert [i["mobile_masked"] for i in pool["items"]] == ["139****1502"] and pool["claims_per_day"] == 1
    assert client.post(f"/api/v1/leads/{other_id}/claim", headers=headers).status_code == 200
    again = client.post(f"/api/v1/leads/{other_id}/claim", headers=headers)
    assert again.status_code == 422 and "lead_id" in again.get_json()["errors"]
    # conversion through the API: a vehicle by plate and a draft quote
    wrong = client.post(f"/api/v1/leads/{other_id}/convert", headers=headers, json={"asset": {"vin": "123"},
                                                                                  "quote": True})
    assert wrong.status_code == 422 and any(k.startswith("asset.") for k in wrong.get_json()["errors"]), \
        wrong.get_json()
    assert _rows(system_db, "SELECT count(*) FROM customers WHERE mobile = '+8613900001502'") == [(0,)]
    done = client.post(f"/api/v1/leads/{other_id}/convert", headers=headers,
                       json={"asset": {"name": "Model Y", "plate": "沪A88888"}, "quote": True})
    assert done.status_code == 200, done.get_json()
    body = done.get_json()
    assert body["asset_id"] and body["quote_id"] and body["lead"]["status"] == "won"
    assert _rows(system_db, "SELECT source_type, source_id, asset_id FROM sales_documents WHERE tenant_id = :t",
                 t=alpha.id) == [("lead", other_id, body["asset_id"])]
    from datetime import date

    first, last = date.today() - timedelta(days=2), date.today() + timedelta(days=2)
    steps = client.get(f"/api/v1/leads/stage-funnel?start={first}&end={last}", headers=headers).get_json()
    assert [s["key"] for s in steps] == ["new", "contacted", "qualified", f"stage:{stage_id}", "won"]
    assert steps[0]["reached"] == 2 and steps[-1]["reached"] == 1
    stages = client.get("/api/v1/lead-stages", headers=headers).get_json()
    assert [s["name"] for s in stages] == ["已邀约"]
    assert client.put("/api/v1/lead-settings", headers=headers,
                      json={"pool_after_hours": 5, "claims_per_day": 2}).status_code == 403
