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
from storecrm.leads.models import Lead, LeadChannel
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
