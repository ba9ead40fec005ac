"""Leads, third part: weighted and by-field assignment with condition trees (fair by weight under concurrency),
the lost-leads pool, the pool clock in opening hours, repeat enquiries on closed leads, manual merge and the bulk
handover when an advisor leaves."""
from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, time, timedelta

import pytest
from marshmallow import ValidationError
from sqlalchemy import select, text

from storecrm import timers
from storecrm.activities.models import Task
from storecrm.calendar import tenant_zone
from storecrm.extensions import db
from storecrm.leads import merging, services, setup
from storecrm.catalog.models import CatalogItem
from storecrm.leads.models import Lead, LeadChannel
from storecrm.sales import services as sales
from storecrm.sales.models import Quote
from storecrm.stores.models import Store
from storecrm.tenancy.context import TenantRef, tenant_context
from storecrm.tenancy.models import utcnow
from storecrm.users.models import User
from tests.test_leads import _rows, capture, make_channel, on_shift_all_week


def _user(session, world, role):
    return session.get(User, (world.id, world.users[role]))


def test_weighted_rule_is_fair_by_weight_under_concurrent_captures(two_tenants, in_tenant, app):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        roles = ("advisor", "technician", "manager")
        for role in roles:
            on_shift_all_week(session, alpha, role)
        channel_id = make_channel(session, alpha, name="懂车帝").id
        weights = {str(alpha.users["advisor"]): 3, str(alpha.users["technician"]): 2, str(alpha.users["manager"]): 1}
        setup.save_rule(None, {"name": "按权重", "position": 1, "strategy": "weighted", "store_id": alpha.stores[0],
                               "staff_ids": [alpha.users[r] for r in roles], "weights": weights})

    def one(n):
        with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
            try:
                channel = db.session.get(LeadChannel, (alpha.id, channel_id))
                lead, created = services.capture(channel, {"name": f"客户{n}", "mobile": f"+86136{n:08d}"},
                                                 source="api")
                db.session.commit()
                return lead.owner_id, created
            finally:
                db.session.remove()

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(one, range(60)))
    assert all(created for _o, created in results)
    with in_tenant(alpha) as session:
        counts = dict(session.execute(text("SELECT owner_id, count(*) FROM leads GROUP BY owner_id")).all())
    # 60 leads over weights 3:2:1 — exactly 30, 20 and 10: the smooth weighted round robin under the rule's row lock
    assert counts == {alpha.users["advisor"]: 30, alpha.users["technician"]: 20, alpha.users["manager"]: 10}


def test_by_field_sends_a_model_to_its_specialist_and_conditions_pick_the_rule(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        for role in ("advisor", "technician", "manager"):
            on_shift_all_week(session, alpha, role)
        channel = make_channel(session, alpha)
        setup.save_rule(None, {"name": "车型专员", "position": 1, "strategy": "by_field", "field": "interest",
                               "field_map": {"Model Y": alpha.users["technician"], "Model 3": alpha.users["advisor"]}})
        # a region condition tree: leads from 杭州 go to the manager, others fall through
        setup.save_rule(None, {"name": "杭州", "position": 2, "strategy": "round_robin",
                               "staff_ids": [alpha.users["manager"]],
                               "conditions": {"all": [{"field": "region", "op": "eq", "value": "杭州"}]}})
        y = capture(channel, mobile="+8613900007701", interest="Model Y 长续航")[0]
        three = capture(channel, mobile="+8613900007702", interest="model 3")[0]
        hz = capture(channel, mobile="+8613900007703", interest="理想L7", region="杭州")[0]
        assert (y.owner_id, three.owner_id, hz.owner_id) == (
            alpha.users["technician"], alpha.users["advisor"], alpha.users["manager"])
        assert hz.rule_id == setup.list_rules()[1].id
        with pytest.raises(ValidationError) as err:  # a tree naming an unknown field is refused, nothing saved
            setup.save_rule(None, {"name": "坏", "strategy": "round_robin",
                                   "conditions": {"field": "salary", "op": "eq", "value": 1}})
        assert "conditions" in err.value.messages
        with pytest.raises(ValidationError) as err:
            setup.save_rule(None, {"name": "空", "strategy": "by_field", "field": "interest", "field_map": {}})
        assert "field_map" in err.value.messages
        assert len(setup.list_rules()) == 2


def test_lost_leads_wait_in_the_lost_pool_and_a_claim_reopens_them(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        on_shift_all_week(session, alpha, "advisor")
        advisor, manager = _user(session, alpha, "advisor"), _user(session, alpha, "manager")
        channel = make_channel(session, alpha)
        lead = capture(channel, mobile="+8613900008801")[0]
        services.act(advisor, lead, "contact")
        services.act(advisor, lead, "lose", reason="price", note="贵")
        assert [x.id for x in services.pool_leads(manager, pool="lost")] == [lead.id]
        assert services.pool_leads(manager, pool="open") == []
        claimed = services.claim(manager, lead)
        assert claimed.status == "contacted" and claimed.owner_id == manager.id and claimed.pool is None
        assert claimed.lost_reason is None and services.pool_leads(manager, pool="lost") == []
        kinds = [h.kind for h in services.history_of(claimed)][:2]
        assert kinds == ["claimed", "reopened"]
        # a lost lead whose mobile meanwhile has an open lead cannot be reactivated: merge instead
        services.act(manager, claimed, "lose", reason="competitor")
        services.save_settings({"repeat_mode": "new"})
        fresh, created = capture(channel, mobile="+8613900008801")
        assert created and fresh.id != lead.id
        assert services.history_of(fresh)[-1].data["previous_lead_id"] == lead.id
        with pytest.raises(ValidationError) as err:
            services.claim(manager, lead)
        assert "merge" in str(err.value.messages["lead_id"][0])


def test_pool_return_clock_counts_opening_hours(two_tenants, in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        store = session.get(Store, (alpha.id, alpha.stores[0]))
        store.opens_at, store.closes_at = time(9), time(18)
        on_shift_all_week(session, alpha, "advisor")
        services.save_settings({"pool_after_hours": 4})
        channel = make_channel(session, alpha)
        zone = tenant_zone()
        friday_evening = datetime(2026, 12, 4, 17, 0, tzinfo=zone)  # 1 working hour left on Friday
        lead = services.capture(channel, {"name": "周五傍晚", "mobile": "+8613900009901"}, now=friday_evening)[0]
        timer = session.scalar(select(timers.Timer).where(timers.Timer.key == f"lead:{lead.id}:pool"))
        # 1 h on Friday, then 3 h from Saturday 09:00 (the store opens every day): Saturday 12:00, not Friday 21:00
        assert timer.due_at == datetime(2026, 12, 5, 12, 0, tzinfo=zone)


def test_repeat_enquiry_on_a_recently_won_lead_stays_in_its_history_and_later_opens_a_new_sale(two_tenants,
                                                                                           in_tenant):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        on_shift_all_week(session, alpha, "advisor")
        advisor = _user(session, alpha, "advisor")
        channel = make_channel(session, alpha)
        won = capture(channel, mobile="+8613900006611")[0]
        services.convert(advisor, won, now=utcnow() - timedelta(days=40))
        services.save_settings({"won_repeat_days": 60})
        again, created = capture(channel, mobile="+8613900006611", interest="保养")
        assert not created and again.id == won.id and again.status == "won" and again.enquiries == 2
        services.save_settings({"won_repeat_days": 30, "repeat_mode": "reopen"})
        reopened, created = capture(channel, mobile="+8613900006611", interest="换车")
        assert not created and reopened.id == won.id and reopened.status == "new"
        assert reopened.owner_id == advisor.id and reopened.first_contact_deadline > utcnow()
        # never two open leads for one mobile
        assert session.scalar(select(text("count(*)")).select_from(Lead).where(
            Lead.mobile == "+8613900006611", Lead.status.in_(("new", "contacted", "qualified")))) == 1


def test_merge_moves_history_tasks_and_enquiries_and_refuses_other_customers(two_tenants, in_tenant, system_db):
    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        on_shift_all_week(session, alpha, "advisor")
        advisor = _user(session, alpha, "advisor")
        channel = make_channel(session, alpha)
        keep = capture(channel, mobile="+8613900005511", name="李四")[0]
        dup = capture(channel, mobile="+8613900005512", name="李四")[0]
        services.follow_up(advisor, dup, {"method": "call", "summary": "回电", "next_step": "再联系",
                                          "due_at": utcnow() + timedelta(days=1)})
        assert [c.id for c in services.merge_candidates(advisor, keep)] == [dup.id]
        merging.merge(advisor, keep, dup)
        assert dup.status == "lost" and dup.lost_reason == "merged" and dup.merged_into_id == keep.id
        assert keep.enquiries == 2 and keep.first_contacted_at is not None
        kinds = [h.kind for h in services.history_of(keep)]
        assert kinds[0] == "merged" and "follow_up" in kinds and services.history_of(dup) == []
        task = session.scalar(select(Task).where(Task.related_type == "lead"))
        assert task.related_id == keep.id
        with pytest.raises(ValidationError):
            merging.merge(advisor, keep, keep)
        a = capture(channel, mobile=session.execute(text("SELECT mobile FROM customers WHERE id = :c"),
                                                    {"c": alpha.customers[0]}).scalar())[0]
        b = capture(channel, mobile=session.execute(text("SELECT mobile FROM customers WHERE id = :c"),
                                                    {"c": alpha.customers[1]}).scalar())[0]
        with pytest.raises(ValidationError) as err:
            merging.merge(advisor, a, b)
        assert "different customers" in err.value.messages["other_id"][0]
        keep_id = keep.id
    audit = _rows(system_db, "SELECT action FROM audit_log WHERE tenant_id = :t AND entity_type = 'lead' "
                             "AND entity_id = :l AND action = 'merge'", t=alpha.id, l=keep_id)
    assert audit == [("merge",)]
    with in_tenant(beta) as session:  # B cannot name A's lead: it is not found, like a wrong id
        assert services.get_lead(None, keep_id) is None


def test_handover_moves_open_leads_and_tasks_in_one_go_and_notifies_each_new_owner(two_tenants, in_tenant,
                                                                                  system_db):
    alpha, _beta = two_tenants
    with in_tenant(alpha) as session:
        on_shift_all_week(session, alpha, "advisor")
        advisor, manager = _user(session, alpha, "advisor"), _user(session, alpha, "manager")
        channel = make_channel(session, alpha)
        leads = [capture(channel, mobile=f"+861390000441{n}")[0] for n in range(3)]
        assert {lead.owner_id for lead in leads} == {advisor.id}
        services.follow_up(advisor, leads[0], {"method": "call", "summary": "约试驾", "next_step": "试驾",
                                               "due_at": utcnow() + timedelta(days=2)})
        services.act(advisor, leads[2], "lose", reason="price")
        with pytest.raises(ValidationError):
            merging.handover(manager, advisor.id, advisor.id)
        given = merging.handover(manager, advisor.id, manager.id)
        assert given == {manager.id: 2}
        assert [lead.owner_id for lead in leads[:2]] == [manager.id, manager.id]
        assert leads[2].owner_id == advisor.id  # closed leads keep their history's owner
        task = session.scalar(select(Task).where(Task.related_type == "lead", Task.related_id == leads[0].id))
        assert task.assignee_id == manager.id
        assert services.history_of(leads[0])[0].kind == "handed_over"
    notes = _rows(system_db, "SELECT title FROM notifications WHERE tenant_id = :t AND user_id = :u AND title LIKE "
                             "'%handed over%'", t=alpha.id, u=alpha.users["manager"])
    assert notes == [("2 leads handed over to you from " + _rows(
        system_db, "SELECT display_name FROM users WHERE id = :u", u=alpha.users["advisor"])[0][0],)]
    assert _rows(system_db, "SELECT count(*) FROM outbox_messages WHERE tenant_id = :t AND subject LIKE "
                            "'%handed over%'", t=alpha.id) == [(1,)]
    with in_tenant(alpha) as session:  # to the round robin: the person leaving is never dealt a lead again
        on_shift_all_week(session, alpha, "technician")
        manager, technician = _user(session, alpha, "manager"), _user(session, alpha, "technician")
        setup.save_rule(None, {"name": "轮流", "position": 1, "strategy": "round_robin",
                               "staff_ids": [manager.id, technician.id], "store_id": alpha.stores[0]})
        given = merging.handover(_user(session, alpha, "owner"), manager.id, None)
        assert given == {technician.id: 2}


def test_board_drag_and_drop_moves_forward_refuses_the_rest_and_pages_work(two_tenants, in_tenant, login, api_token,
                                                                           app, system_db):
    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        channel = make_channel(session, alpha)
        lead_id = capture(channel, mobile="+8613900002201")[0].id
        dup_id = capture(channel, mobile="+8613900002202")[0].id
    owner = login(alpha, "owner")
    board = owner.get("/t/alpha/leads/board").get_data(as_text=True)
    assert "js/leads.js" in board and f'data-move-url="/t/alpha/leads/{lead_id}/move"' in board
    assert "<script>" not in board  # CSP: the script is a static file
    json_headers = {"Accept": "application/json"}
    moved = owner.post(f"/t/alpha/leads/{lead_id}/move", {"step": "contacted"}, headers=json_headers)
    assert moved.status_code == 200 and moved.get_json() == {"ok": True, "step": "contacted"}
    back = owner.post(f"/t/alpha/leads/{lead_id}/move", {"step": "new"}, headers=json_headers)
    assert back.status_code == 422 and back.get_json()["message"] == "A lead cannot move back in the pipeline."
    won = owner.post(f"/t/alpha/leads/{lead_id}/move", {"step": "won"}, headers=json_headers)
    assert won.status_code == 422 and "convert" in won.get_json()["message"]
    assert _rows(system_db, "SELECT status FROM leads WHERE id = :i", i=lead_id) == [("contacted",)]
    # without JavaScript: a plain post comes back to the board with the message
    plain = owner.post(f"/t/alpha/leads/{lead_id}/move", {"step": "lost"})
    assert plain.status_code == 302 and plain.headers["Location"].endswith("/leads/board")
    # the rule form: weights and a by-field map from the page's inputs
    form = {"name": "专员", "position": "1", "strategy": "by_field", "field": "interest", "active": "1",
            "map_value_0": "Model Y", "map_user_0": str(alpha.users["technician"]), "cond_region": "上海"}
    assert owner.post("/t/alpha/leads/rules", form).status_code == 302
    rule = _rows(system_db, "SELECT strategy, field_map, conditions FROM lead_assignment_rules WHERE tenant_id = :t",
                 t=alpha.id)
    assert rule == [("by_field", {"Model Y": alpha.users["technician"]},
                     {"all": [{"field": "region", "op": "eq", "value": "上海"}]})]
    bad = owner.post("/t/alpha/leads/rules", {"name": "权重", "strategy": "weighted", "active": "1",
                                              f"weight_{alpha.users['advisor']}": "500"})
    assert bad.status_code == 422 and "is-invalid" in bad.get_data(as_text=True) or "text-danger" in \
        bad.get_data(as_text=True)
    # merge through the API; another tenant's lead id is not found
    api = app.test_client()
    headers = api_token(alpha)
    with in_tenant(beta) as session:
        beta_lead = capture(make_channel(session, beta), mobile="+8613900002203")[0].id
    refused = api.post(f"/api/v1/leads/{lead_id}/merge", json={"other_id": beta_lead}, headers=headers)
    assert refused.status_code == 422 and refused.content_type.startswith("application/problem+json")
    merged = api.post(f"/api/v1/leads/{lead_id}/merge", json={"other_id": dup_id}, headers=headers)
    assert merged.status_code == 200 and merged.get_json()["enquiries"] == 2
    # the handover page and API
    page = owner.get("/t/alpha/leads/handover")
    assert page.status_code == 200 and 'data-testid="handover-form"' in page.get_data(as_text=True)
    assert owner.post("/t/alpha/leads/handover", {"from_user_id": ""}).status_code == 422
    done = api.post("/api/v1/leads/handover", json={"from_user_id": alpha.users["advisor"],
                                                            "to_user_id": alpha.users["manager"]}, headers=headers)
    assert done.status_code == 200 and done.get_json()["handed_over"] == 0
    lost_pool = owner.get("/t/alpha/leads/pool?pool=lost")
    assert lost_pool.status_code == 200 and 'data-testid="pool-lost"' in lost_pool.get_data(as_text=True)


def test_leads_kpis_are_hand_checked_and_drill_down_lists_exactly_what_they_count(two_tenants, in_tenant):
    from decimal import Decimal

    from storecrm.reports import engine
    from storecrm.reports.periods import period_of

    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        zone_day = datetime(2026, 11, 10, 10, 0, tzinfo=tenant_zone())  # captured at 10:00 Shanghai time
        on_shift_all_week(session, alpha, "advisor")
        advisor, owner = _user(session, alpha, "advisor"), _user(session, alpha, "owner")
        channel = make_channel(session, alpha, first_contact_minutes=30)
        web = make_channel(session, alpha, name="懂车帝", first_contact_minutes=30)
        made = []
        for n, (ch, reply_after) in enumerate([(channel, 10), (channel, 20), (channel, 60), (web, None)]):
            lead = services.capture(ch, {"name": f"K{n}", "mobile": f"+86139000071{n:02d}"}, now=zone_day)[0]
            if reply_after is not None:
                services.act(advisor, lead, "contact", now=zone_day + timedelta(minutes=reply_after))
            made.append(lead)
        services.convert(advisor, made[0], now=zone_day + timedelta(hours=2))
        november = period_of("month", date_of(zone_day))

        def result(code, **filters):
            kpi = engine.get_kpi(owner, code)
            scope = engine.scope_for(owner, november, **filters)
            value = engine.evaluate([kpi], scope)[code]
            rows = engine.records(kpi, scope, limit=None)
            assert value.n == len(rows), (code, value.n, len(rows))  # the number and its list are one query
            return value.value, rows, kpi, scope

        assert result("leads.captured")[0] == 4
        assert result("leads.contact_rate")[0] == Decimal("75.0")
        assert result("leads.first_response_avg")[0] == Decimal("30.00")  # (10 + 20 + 60) / 3
        assert result("leads.first_response_median")[0] == Decimal("20.00")
        # breached: the 60-minute reply and the never-contacted lead (its deadline long past) of four
        value, rows, _k, _s = result("leads.sla_breach_rate")
        assert value == Decimal("50.0") and sorted(r["name"] for r in rows if r["breached"]) == ["K2", "K3"]
        value, _rows, kpi, scope = result("leads.conversion_rate")
        assert value == Decimal("25.0")
        by_channel = {label: v for _k, label, v, _n in engine.breakdown(kpi, scope, "channel_id")}
        assert by_channel == {"官网": Decimal("33.3"), "懂车帝": Decimal("0.0")}
        leaderboard = {label: n for _k, label, _v, n in engine.breakdown(
            engine.get_kpi(owner, "leads.captured"), scope, "owner_id")}
        assert sum(leaderboard.values()) == 4 and leaderboard[advisor.display_name] == 4
        # the leaderboard's activity and revenue: two follow-ups by the advisor, one by the owner; the won lead's
        # quote becomes an order paid 1,000 with 200 refunded, so its deal brought in 800
        for who, n in ((advisor, 0), (advisor, 1), (owner, 2)):
            services.follow_up(who, made[1], {"method": "call", "summary": f"回访 {n}"},
                               now=zone_day + timedelta(days=1, hours=n))
        value, rows, kpi, scope = result("leads.follow_ups")
        assert value == 3 and {r["method"] for r in rows} == {"call"}
        by_person = {label: n for _k, label, _v, n in engine.breakdown(kpi, scope, "owner_id")}
        assert by_person == {advisor.display_name: 2, owner.display_name: 1}
        assert result("leads.won_revenue")[0] == Decimal("0")  # K0 was won without a quote

        session.add(CatalogItem(kind="service", sku="K4-CAR", name="K4 车型", list_price=Decimal("1000"), unit="台"))
        won = services.capture(channel, {"name": "K4", "mobile": "+8613900007199", "interest": "K4 车型"},
                               now=zone_day)[0]
        services.convert(advisor, won, quote=True, now=zone_day + timedelta(hours=3))
        quote = session.get(Quote, (alpha.id, won.quote_id))
        sales.send_quote(advisor, quote)
        order = sales.accept_quote(quote, {"name": "K4"}, user=advisor)
        sales.confirm_order(advisor, order)
        sales.record_payment(advisor, order, {"method": "cash", "amount": Decimal("1000")})
        sales.record_refund(advisor, order, {"method": "cash", "amount": Decimal("200"), "note": "退差价"})
        value, rows, kpi, scope = result("leads.won_revenue")
        assert value == Decimal("800.00") and sorted(r["name"] for r in rows) == ["K0", "K4"]
    with in_tenant(beta) as session:  # the other tenant counts none of them
        other = _user(session, beta, "owner")
        kpi = engine.get_kpi(other, "leads.captured")
        assert engine.evaluate([kpi], engine.scope_for(other, november))["leads.captured"].value == 0


def date_of(moment: datetime):
    return moment.date()  # already in the tenant's zone
