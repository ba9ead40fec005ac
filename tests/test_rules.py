"""Automation rules: triggers, conditions (Python and SQL agree), actions, idempotent firing, loops, preview."""
from datetime import date, timedelta

import pytest
from sqlalchemy import select, text

from tests.test_imports import _run_worker


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


def _asset(session, world, customer_id, name, installed_on, type_="car", **extra):
    from storecrm.assets.models import Asset

    asset = Asset(customer_id=customer_id, type=type_, name=name, installed_on=installed_on,
                  store_id=world.stores[0], attributes={}, **extra)
    session.add(asset)
    session.flush()
    return asset


def _rule(data):
    from storecrm.rules.engine import save

    return save(None, {"enabled": True, "run_hour": 0, **data})


ANNIVERSARY = {"name": "Anniversary", "entity": "asset",
               "trigger": {"type": "date", "field": "installed_on", "offset_days": 365},
               "conditions": {"field": "type", "op": "eq", "value": "car"},
               "actions": [{"type": "create_task", "to": "owner", "title": "Check-up {name}", "due_in_days": 3}]}


def test_preview_of_365_days_after_install_lists_exactly_the_seeded_records(two_tenants, in_tenant, app):
    from storecrm.rules.engine import local_today, preview

    alpha, beta = two_tenants
    with in_tenant(alpha) as s:
        today = local_today()
        c = alpha.customers[0]
        due_today = _asset(s, alpha, c, "due today", today - timedelta(days=365))
        due_35_ago = _asset(s, alpha, c, "due 35 days ago", today - timedelta(days=400))
        _asset(s, alpha, c, "due tomorrow", today - timedelta(days=364))
        _asset(s, alpha, c, "due 91 days ago", today - timedelta(days=456))
        _asset(s, alpha, c, "a phone, not a car", today - timedelta(days=365), type_="other")
        from storecrm.tenancy.models import utcnow

        _asset(s, alpha, c, "deleted", today - timedelta(days=365), deleted_at=utcnow())
        _asset(s, alpha, c, "never installed", None)
        expected = {due_today.id: today, due_35_ago.id: today - timedelta(days=35)}
    with in_tenant(beta) as s:
        _asset(s, beta, beta.customers[0], "other tenant", today - timedelta(days=365))
    with in_tenant(alpha):
        rule = _rule({**ANNIVERSARY, "enabled": False})
        result = preview(rule)
        assert {record.id: due for record, due, _fired in result["rows"]} == expected
        assert result["total"] == 2


def test_a_date_sweep_fires_once_per_record_and_occurrence_and_shows_on_the_timeline(two_tenants, in_tenant, app,
                                                                                   system_db, login):
    from storecrm.rules.engine import local_today, sweep

    alpha, _ = two_tenants
    with in_tenant(alpha) as s:
        today = local_today()
        due = _asset(s, alpha, alpha.customers[0], "Model Y", today - timedelta(days=365))
        _asset(s, alpha, alpha.customers[0], "old", today - timedelta(days=400))  # before the rule was enabled
        rule = _rule(ANNIVERSARY)
    with in_tenant(alpha):
        assert sweep(rule) == 1
    with in_tenant(alpha):
        from storecrm.rules.models import Rule

        assert sweep(s.get(Rule, (alpha.id, rule.id))) == 0  # a second sweep (or a second scheduler) finds nothing
    assert _rows(system_db, "SELECT record_id, occurrence, status FROM rule_firings") == \
        [(due.id, today.isoformat(), "done")]
    assert _rows(system_db, "SELECT title, assignee_id, related_type FROM tasks") == \
        [("Check-up Model Y", alpha.users["manager"], "asset")]  # nobody owns the customer: the store manager
    page = login(alpha, "owner").get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
    assert "Anniversary" in page  # the firing is on the customer's timeline


def test_event_rule_with_conditions_runs_actions_and_the_audit_names_the_rule(two_tenants, in_tenant, app, system_db,
                                                                           login):
    alpha, beta = two_tenants
    with in_tenant(alpha):
        _rule({"name": "Tag VIP leads", "entity": "customer", "trigger": {"type": "event", "event": "created"},
               "conditions": {"all": [{"field": "source", "op": "eq", "value": "抖音"},
                                      {"not": {"field": "tags", "op": "has", "value": "spam"}}]},
               "actions": [{"type": "add_tag", "tag": "新线索"}, {"type": "set_level", "level": "A"},
                           {"type": "notify", "channel": "in_app", "to": "role:manager", "subject": "New lead {name}",
                            "body": "{name} came from Douyin"}]})
    owner = login(alpha, "owner")
    for name, source in (("王小明", "抖音"), ("李雷", "walk-in")):
        resp = owner.post("/t/alpha/customers/new", {"name": name, "mobile": f"1391234{len(name)}{ord(name[0]) % 1000:03d}",
                                                     "store_id": alpha.stores[0], "source": source})
        assert resp.status_code == 302, resp.get_data(as_text=True)[:3000]
    assert _rows(system_db, "SELECT name, tags, level FROM customers WHERE source IS NOT NULL ORDER BY name") == \
        [("李雷", [], None), ("王小明", ["新线索"], "A")]
    assert _rows(system_db, "SELECT title FROM notifications WHERE user_id = :u", u=alpha.users["manager"]) == \
        [("New lead 王小明",)]
    assert ("rule: Tag VIP leads",) in _rows(system_db, "SELECT actor_label FROM audit_log WHERE action = 'update'")
    with in_tenant(beta):  # another tenant's rules never run here
        from storecrm.rules.engine import rules_for

        assert rules_for("customer") == []


def test_threshold_fires_once_when_crossed_and_rule_chains_stop(two_tenants, in_tenant, app, system_db):
    from storecrm.customers.models import Customer
    from storecrm.customers.services import update_customer
    from storecrm.fields.services import save as save_field
    from storecrm.rules.actions import RULE_USER

    alpha, _ = two_tenants
    with in_tenant(alpha):
        save_field(None, {"entity": "customer", "code": "lifetime_spend", "label_zh": "累计消费", "label_en": "Spend",
                          "type": "money", "options": []})
        _rule({"name": "VIP", "entity": "customer",
               "trigger": {"type": "threshold", "field": "custom.lifetime_spend", "value": 20000},
               "actions": [{"type": "set_level", "level": "VIP"}]})
        # two rules that trigger each other through "changed" forever, were it not for the loop cut
        _rule({"name": "ping", "entity": "customer", "trigger": {"type": "event", "event": "changed"},
               "actions": [{"type": "add_tag", "tag": "ping"}, {"type": "remove_tag", "tag": "pong"}]})
        _rule({"name": "pong", "entity": "customer", "trigger": {"type": "event", "event": "changed"},
               "actions": [{"type": "add_tag", "tag": "pong"}, {"type": "remove_tag", "tag": "ping"}]})
    for spend in (19000, 21000, 25000, 10000, 30000):
        with in_tenant(alpha) as s:
            customer = s.get(Customer, (alpha.id, alpha.customers[0]))
            update_customer(RULE_USER, customer, {"store_id": customer.store_id,
                                                  "custom": {**customer.custom, "lifetime_spend": spend}})
    assert _rows(system_db, "SELECT level FROM customers WHERE id = :c", c=alpha.customers[0]) == [("VIP",)]
    fired = _rows(system_db, "SELECT r.name, count(*) FROM rule_firings f JOIN rules r ON r.id = f.rule_id "
                             "GROUP BY r.name ORDER BY r.name")
    assert fired == [("VIP", 1), ("ping", 5), ("pong", 5)]  # each once per change (transaction), never endlessly


def test_inactivity_and_usage_rules_find_who_is_due(two_tenants, in_tenant, app):
    from storecrm.activities.models import Interaction
    from storecrm.assets.models import AssetReading
    from storecrm.customers.models import Customer
    from storecrm.rules.engine import local_today, preview
    from storecrm.tenancy.models import utcnow

    alpha, _ = two_tenants
    with in_tenant(alpha) as s:
        today = local_today()
        long_ago = utcnow() - timedelta(days=500)
        for cid in alpha.customers:
            s.get(Customer, (alpha.id, cid)).created_at = long_ago
        s.add(Interaction(customer_id=alpha.customers[0], kind="visit", body="came in",
                          occurred_at=utcnow() - timedelta(days=370)))
        s.add(Interaction(customer_id=alpha.customers[1], kind="visit", body="came in",
                          occurred_at=utcnow() - timedelta(days=20)))
        s.add(Interaction(customer_id=alpha.customers[1], kind="call", body="old call",
                          occurred_at=utcnow() - timedelta(days=400)))
        car = _asset(s, alpha, alpha.customers[0], "Golf", today - timedelta(days=400))
        s.add_all([AssetReading(asset_id=car.id, read_on=today - timedelta(days=100), value=10000, service=True),
                   AssetReading(asset_id=car.id, read_on=today - timedelta(days=10), value=17600)])
        slow = _asset(s, alpha, alpha.customers[1], "Polo", today - timedelta(days=400))
        s.add_all([AssetReading(asset_id=slow.id, read_on=today - timedelta(days=100), value=10000, service=True),
                   AssetReading(asset_id=slow.id, read_on=today - timedelta(days=10), value=10900)])
    with in_tenant(alpha):
        dormant = _rule({"name": "dormant", "entity": "customer",
                         "trigger": {"type": "inactivity", "days": 365, "kinds": ["visit"]},
                         "actions": [{"type": "add_tag", "tag": "沉睡"}]})
        rows = preview(dormant)["rows"]
        # customer 0: last visit 370 days ago (due 5 days ago); customer 2: never visited, created 500 days ago
        # (due 135 days ago: outside the 90 days); customer 1 visited 20 days ago
        assert [(r.id, due) for r, due, _f in rows] == [(alpha.customers[0], (utcnow() - timedelta(days=5)).date())] \
            or [(r.id, due) for r, due, _f in rows] == [(alpha.customers[0], today - timedelta(days=5))]
        service = _rule({"name": "service", "entity": "asset", "trigger": {"type": "usage", "months": 5, "km": 8000},
                         "actions": [{"type": "add_tag", "tag": "保养"}]})
        rows = preview(service)["rows"]
        # Golf: 7,600 km in 90 days (84.4/day); 400 km left at the last reading → 5 days later = 5 days ago.
        # Polo: 10 km/day → the 5 months come first (service + 5 months), which is still ahead.
        assert [(r.id, due) for r, due, _f in rows] == [(car.id, today - timedelta(days=5))]


@pytest.mark.parametrize("tree", [
    {"field": "level", "op": "eq", "value": "VIP"},
    {"field": "level", "op": "ne", "value": "VIP"},
    {"field": "level", "op": "empty"},
    {"field": "level", "op": "not_empty"},
    {"field": "tags", "op": "has", "value": "老客"},
    {"field": "tags", "op": "not_has", "value": "老客"},
    {"field": "name", "op": "contains", "value": "customer-1"},
    {"field": "birthday", "op": "lt", "value": "1990-01-01"},
    {"field": "birthday", "op": "gte", "value": "1990-01-01"},
    {"field": "custom.budget", "op": "gt", "value": 5000},
    {"field": "custom.budget", "op": "lte", "value": 5000},
    {"field": "custom.budget", "op": "empty"},
    {"field": "custom.color", "op": "in", "value": ["红", "黑"]},
    {"field": "custom.color", "op": "not_in", "value": ["红"]},
    {"any": [{"field": "level", "op": "eq", "value": "VIP"}, {"not": {"field": "city", "op": "eq", "value": "上海"}}]},
    {"field": "store_id", "op": "eq", "value": "__store0__"},
])
def test_python_and_sql_agree_on_every_operator(two_tenants, in_tenant, app, tree):
    import json

    from storecrm import conditions
    from storecrm.customers.models import Customer
    from storecrm.extensions import db
    from storecrm.fields.services import save as save_field

    alpha, _ = two_tenants
    tree = json.loads(json.dumps(tree).replace('"__store0__"', str(alpha.stores[0])))
    with in_tenant(alpha) as s:
        save_field(None, {"entity": "customer", "code": "budget", "label_zh": "预算", "label_en": "Budget",
                          "type": "number", "options": []})
        save_field(None, {"entity": "customer", "code": "color", "label_zh": "颜色", "label_en": "Colour",
                          "type": "select", "options": ["红", "黑", "白"]})
        values = [("VIP", ["老客"], date(1985, 5, 1), {"budget": 8000, "color": "红"}, "上海"),
                  (None, [], date(1995, 5, 1), {"budget": 5000, "color": "白"}, None),
                  ("", ["新客"], None, {}, "北京")]
        for cid, (level, tags, birthday, custom, city) in zip(alpha.customers, values):
            c = s.get(Customer, (alpha.id, cid))
            c.level, c.tags, c.birthday, c.custom, c.city = level, tags, birthday, custom, city
    with in_tenant(alpha):
        checked = conditions.check("customer", tree)
        in_python = {cid for cid in alpha.customers
                     if conditions.evaluate("customer", checked, db.session.get(Customer, (alpha.id, cid)))}
        in_sql = set(db.session.scalars(select(Customer.id).where(conditions.compile("customer", checked))))
        assert in_python == in_sql


def test_bad_rules_are_refused_field_by_field(two_tenants, in_tenant, app):
    from marshmallow import ValidationError

    from storecrm.rules.engine import save

    alpha, _ = two_tenants
    with in_tenant(alpha):
        cases = [
            ({"trigger": {"type": "date", "field": "name"}}, "trigger.field"),
            ({"trigger": {"type": "usage", "months": 5}, "entity": "customer"}, "trigger.type"),
            ({"conditions": {"field": "nope", "op": "eq", "value": 1}}, "conditions"),
            ({"conditions": {"field": "birthday", "op": "gt", "value": "not a date"}}, "conditions"),
            ({"actions": [{"type": "notify", "channel": "sms", "to": "customer", "body": "Hi {password}"}]},
             "actions.0.body"),
            ({"actions": [{"type": "create_task", "to": "role:nobody", "title": "x"}]}, "actions.0.to"),
            ({"actions": []}, "actions"),
            ({"name": ""}, "name"),
        ]
        base = {"name": "ok", "entity": "customer", "trigger": {"type": "event", "event": "created"},
                "actions": [{"type": "add_tag", "tag": "x"}]}
        for change, key in cases:
            with pytest.raises(ValidationError) as err:
                save(None, {**base, **change})
            assert key in err.value.messages, (change, err.value.messages)


def test_templates_copy_disabled_and_a_rule_runs_through_the_real_worker(two_tenants, in_tenant, app, system_db):
    from storecrm.rules.builtins import TEMPLATES
    from storecrm.rules.engine import copy_template

    alpha, _ = two_tenants
    with in_tenant(alpha):
        for code in TEMPLATES:
            rule = copy_template(code)
            assert rule.enabled is False and rule.template == code
    assert _rows(system_db, "SELECT count(*) FROM rules WHERE tenant_id = :t", t=alpha.id) == [(len(TEMPLATES),)]
    with in_tenant(alpha) as s:
        from storecrm.customers.models import Customer
        from storecrm.rules.models import Rule
        from storecrm.tenancy.models import utcnow

        birthday = s.scalar(select(Rule).where(Rule.template == "birthday"))
        birthday.enabled, birthday.enabled_at, birthday.run_hour = True, utcnow(), 0
        from storecrm.rules.engine import local_today

        c = s.get(Customer, (alpha.id, alpha.customers[0]))
        today = local_today()
        c.birthday = date(1992, 2, 29) if (today.month, today.day) == (2, 29) else today.replace(year=1990)
        c.consents = {"sms": {"granted": True}}
    from storecrm.rules.jobs import fan_out

    with app.app_context():
        assert fan_out() == 1
    _run_worker()
    sent = _rows(system_db, "SELECT channel, recipient, status FROM outbox_messages")
    assert len(sent) == 1 and sent[0][0] == "sms" and sent[0][2] == "sent"


def test_a_plugins_trigger_condition_and_action_work_in_rules(two_tenants, in_tenant, app, system_db, enable_plugin):
    from storecrm import conditions
    from storecrm.customers.models import Customer
    from storecrm.extensions import db

    alpha, beta = two_tenants
    enable_plugin(alpha, "carwash")
    with in_tenant(alpha):
        _rule({"name": "Regulars", "entity": "customer", "trigger": {"type": "event", "event": "carwash.washed"},
               "conditions": {"plugin": "carwash.washes_at_least", "value": 3},
               "actions": [{"type": "add_tag", "tag": "洗车常客"},
                           {"type": "plugin", "action": "carwash.free_wash", "params": {"wash_type": "premium"}}]})
    from storecrm_carwash.services import record_wash

    for _ in range(3):
        with in_tenant(alpha):
            record_wash(alpha.customers[0], "basic")
    assert _rows(system_db, "SELECT tags FROM customers WHERE id = :c", c=alpha.customers[0]) == [(["洗车常客"],)]
    # the free premium wash the rule gave is itself a wash: the rule saw it, but fires once per transaction
    assert _rows(system_db, "SELECT wash_type, free FROM carwash_washes WHERE customer_id = :c ORDER BY id",
                 c=alpha.customers[0])[-1] == ("premium", True)
    assert _rows(system_db, "SELECT status FROM rule_firings") == [("done",)]
    with in_tenant(alpha):
        tree = conditions.check("customer", {"plugin": "carwash.washes_at_least", "value": 3})
        assert set(db.session.scalars(select(Customer.id).where(conditions.compile("customer", tree)))) == \
            {alpha.customers[0]}
    with in_tenant(beta):  # not enabled there: the condition does not exist for beta
        from marshmallow import ValidationError

        with pytest.raises(ValidationError):
            conditions.check("customer", {"plugin": "carwash.washes_at_least", "value": 3})


def test_delivery_follow_up_template_brings_its_workflow_and_fires_on_delivery(two_tenants, in_tenant, app, system_db):
    from storecrm.assets.models import Asset
    from storecrm.files.models import StoredFile
    from storecrm.rules.engine import copy_template, save
    from storecrm.users.models import User
    from storecrm.workflow import engine as workflows

    alpha, _ = two_tenants
    with in_tenant(alpha) as s:
        rule = copy_template("delivery_follow_up")
        assert workflows.current_definition("install_qc") is not None
        save(rule, {**{k: getattr(rule, k) for k in ("name", "entity", "trigger", "conditions", "actions",
                                                      "run_hour")}, "enabled": True})
        manager = s.get(User, (alpha.id, alpha.users["manager"]))
        car = Asset(customer_id=alpha.customers[0], type="vehicle", name="Model 3", store_id=alpha.stores[0],
                    attributes={})
        s.add(car)
        s.flush()
        photo = StoredFile(filename="qc.jpg", content_type="image/jpeg", size=1, key="x/qc.jpg", uploaded_by=manager.id)
        s.add(photo)
        s.flush()
        item = workflows.start(manager, "asset", car, "install_qc")
        workflows.move(manager, item, "begin")
        workflows.move(manager, item, "to_qc", files=[photo.id])
        assert _rows(system_db, "SELECT count(*) FROM tasks") == [(0,)]
        workflows.move(manager, item, "pass")
    titles = sorted(t for (t,) in _rows(system_db, "SELECT title FROM tasks"))
    assert titles == ["24-hour follow-up: Model 3", "7-day follow-up: Model 3"]


def test_set_field_actions_are_checked_like_the_form_and_a_failing_action_stands_alone(two_tenants, in_tenant, app,
                                                                                      system_db):
    from storecrm.customers.models import Customer
    from storecrm.customers.services import update_customer
    from storecrm.rules.actions import RULE_USER

    alpha, _ = two_tenants
    with in_tenant(alpha):
        _rule({"name": "Mark lost", "entity": "customer",
               "trigger": {"type": "event", "event": "field_changed", "field": "city", "to": "火星"},
               "actions": [{"type": "update_field", "field": "status", "value": "on mars"},
                           {"type": "update_field", "field": "level", "value": "太空"},
                           {"type": "add_tag", "tag": "火星"}]})
    with in_tenant(alpha) as s:
        c = s.get(Customer, (alpha.id, alpha.customers[0]))
        update_customer(RULE_USER, c, {"store_id": c.store_id, "city": "火星"})
    assert _rows(system_db, "SELECT status, level, tags, city FROM customers WHERE id = :c", c=alpha.customers[0]) == \
        [("active", "太空", ["火星"], "火星")]
    (outcome,) = _rows(system_db, "SELECT outcome FROM rule_firings")[0]
    assert [o["ok"] for o in outcome] == [False, True, True] and "status" in outcome[0]["detail"]
    assert _rows(system_db, "SELECT status FROM rule_firings") == [("failed",)]
