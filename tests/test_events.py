"""One event path (`storecrm.events`): every change a service makes reaches outbound webhooks, automation rules and
the plugins enabled for the tenant from one `emit`, inside the business transaction."""
import types

import pytest
from sqlalchemy import text

from storecrm.sdk import PluginInfo, hookimpl


def _rows(system_db, sql, **params):
    with system_db.connect() as conn:
        return conn.execute(text(sql), params).all()


@pytest.fixture
def spy(app):
    """A plugin `spy` listening to the generic hook and to the typed ones; it writes an audit entry for every
    event it hears, so what it did can be looked for in the database too."""
    from storecrm.audit.services import record
    from storecrm.hooks.runtime import host
    from storecrm.tenancy.context import current_tenant

    heard = []
    module = types.ModuleType("spy_events")
    module.PLUGIN = PluginInfo(name="spy", label={"en": "Spy"}, version="1", core=">=0")

    def storecrm_event(event):
        heard.append((current_tenant().slug, type(event).__name__))
        record("heard", "spy", None, type(event).__name__)

    module.storecrm_event = hookimpl(storecrm_event)
    # the typed conveniences (pluggy reads the argument names, so each has the hook's own signature)
    module.customer_created = hookimpl(lambda customer: heard.append((current_tenant().slug, "customer_created")))
    module.customer_changed = hookimpl(lambda customer, changes: heard.append((current_tenant().slug,
                                                                              "customer_changed")))
    module.customer_merged = hookimpl(lambda survivor, merged: heard.append((current_tenant().slug,
                                                                            "customer_merged")))
    module.customer_unmerged = hookimpl(lambda survivor, restored: heard.append((current_tenant().slug,
                                                                                "customer_unmerged")))
    module.asset_created = hookimpl(lambda asset: heard.append((current_tenant().slug, "asset_created")))
    module.asset_changed = hookimpl(lambda asset, changes: heard.append((current_tenant().slug, "asset_changed")))
    plugin_host = host(app)
    plugin_host.pm.register(module, name="spy")
    plugin_host.infos["spy"] = module.PLUGIN
    try:
        yield heard
    finally:
        plugin_host.pm.unregister(name="spy")
        plugin_host.infos.pop("spy")


def _endpoint():
    """A webhook endpoint wanting every event (written directly: its URL is never called here)."""
    from storecrm.extensions import db
    from storecrm.notifications.models import WebhookEndpoint

    endpoint = WebhookEndpoint(url="https://erp.example.com/hook", events=[], secret="whsec_test", active=True)
    db.session.add(endpoint)
    db.session.flush()
    return endpoint


def _rule(name, entity, trigger, tag):
    from storecrm.rules.engine import save

    return save(None, {"name": name, "entity": entity, "enabled": True, "run_hour": 0, "trigger": trigger,
                       "conditions": None, "actions": [{"type": "add_tag", "tag": tag}]})


def _user(world, role):
    from storecrm.extensions import db
    from storecrm.users.models import User

    return db.session.get(User, (world.id, world.users[role]))


def _a_day_of_changes(world):
    """What a store does in a day, through the services: every core event once."""
    from storecrm.activities.services import create_task
    from storecrm.assets.services import create_asset, update_asset
    from storecrm.audit.services import Actor, acting_as
    from storecrm.customers.merging import merge, unmerge
    from storecrm.customers.services import create_customer, get_customer, update_customer
    from storecrm.workflow import engine as workflows

    owner = _user(world, "owner")
    with acting_as(Actor(owner.id, "owner")):
        customer = create_customer(owner, {"name": "王先生", "store_id": world.stores[0], "mobile": "+8613900000001"})
        update_customer(owner, customer, {"store_id": customer.store_id, "city": "杭州"})
        asset = create_asset(owner, customer, {"type": "vehicle", "name": "Model Y", "store_id": world.stores[0]})
        update_asset(owner, asset, {"type": "vehicle", "name": "Model Y 2024", "store_id": world.stores[0],
                                    "attributes": asset.attributes})
        create_task(owner, {"title": "回访", "customer_id": customer.id})
        workflows.start(owner, "customer", customer, "lead")
        other = get_customer(owner, world.customers[0])
        unmerge(merge(customer, other, {}))
    return customer.id


def _prepare(world, in_tenant, *, rules=True):
    from storecrm.workflow import engine as workflows

    with in_tenant(world):
        _endpoint()
        workflows.copy_template(_user(world, "owner"), "lead")
    if rules:
        with in_tenant(world):
            return {
                "created": _rule("new", "customer", {"type": "event", "event": "created"}, "new").id,
                "changed": _rule("moved", "customer", {"type": "event", "event": "field_changed", "field": "city"},
                                 "moved").id,
                "asset created": _rule("asset new", "asset", {"type": "event", "event": "created"}, "car").id,
                "asset changed": _rule("asset changed", "asset", {"type": "event", "event": "changed"},
                                       "car changed").id,
                "state": _rule("lead", "customer", {"type": "event", "event": "state_entered", "workflow": "lead",
                                                    "state": "new"}, "lead").id,
            }


WEBHOOK_EVENTS = ["customer.created", "customer.changed", "asset.created", "asset.changed", "task.created",
                  "customer.merged", "customer.unmerged"]


def test_every_core_event_reaches_webhooks_rules_and_only_enabled_plugins(two_tenants, in_tenant, enable_plugin,
                                                                          spy, system_db):
    alpha, beta = two_tenants
    enable_plugin(alpha, "spy")  # installed for both, enabled for alpha only
    rules = {world.slug: _prepare(world, in_tenant) for world in (alpha, beta)}
    for world in (alpha, beta):
        with in_tenant(world):
            _a_day_of_changes(world)

    for world in (alpha, beta):
        sent = [r[0] for r in _rows(system_db, "SELECT payload->'event'->>'type' FROM outbox_messages WHERE "
                                               "channel = 'webhook' AND tenant_id = :t ORDER BY id", t=world.id)]
        # rules' own changes (tags added) are events too: each event name is there, in the order things happened
        assert [e for e in dict.fromkeys(sent)] == WEBHOOK_EVENTS, (world.slug, sent)
        fired = {r[0] for r in _rows(system_db, "SELECT rule_id FROM rule_firings WHERE tenant_id = :t "
                                                "AND status = 'done'", t=world.id)}
        assert fired == set(rules[world.slug].values()), world.slug

    heard = [name for slug, name in spy]
    assert {slug for slug, _name in spy} == {"alpha"}  # beta has the plugin installed but not enabled
    for generic, typed in (("CustomerCreated", "customer_created"), ("CustomerChanged", "customer_changed"),
                           ("AssetCreated", "asset_created"), ("AssetChanged", "asset_changed"),
                           ("CustomerMerged", "customer_merged"), ("CustomerUnmerged", "customer_unmerged")):
        assert generic in heard and typed in heard, (generic, typed)
    assert "TaskCreated" in heard and "WorkflowStateEntered" in heard
    assert heard.index("CustomerMerged") < heard.index("CustomerUnmerged")


def test_a_rolled_back_transaction_delivers_nothing(two_tenants, in_tenant, enable_plugin, spy, system_db, app):
    from storecrm.extensions import db
    from storecrm.tenancy.context import TenantRef, tenant_context

    alpha, _ = two_tenants
    enable_plugin(alpha, "spy")
    _prepare(alpha, in_tenant)
    with app.app_context(), tenant_context(TenantRef(alpha.id, alpha.slug)):
        try:
            _a_day_of_changes(alpha)
            assert spy  # heard while the transaction was open …
        finally:
            db.session.rollback()
            db.session.remove()
    # … and nothing of it is left: no webhook to send, no rule firing, no plugin row, no customer
    assert _rows(system_db, "SELECT count(*) FROM outbox_messages WHERE channel = 'webhook'") == [(0,)]
    assert _rows(system_db, "SELECT count(*) FROM rule_firings") == [(0,)]
    assert _rows(system_db, "SELECT count(*) FROM audit_log WHERE entity_type = 'spy'") == [(0,)]
    assert _rows(system_db, "SELECT count(*) FROM customers WHERE name = '王先生'") == [(0,)]


def test_asset_created_fires_on_creation_only_and_asset_changed_on_change_only(two_tenants, in_tenant,
                                                                             enable_plugin, spy, system_db):
    from storecrm.assets.services import create_asset, transfer, update_asset
    from storecrm.customers.services import get_customer

    alpha, _ = two_tenants
    enable_plugin(alpha, "spy")
    with in_tenant(alpha):
        _endpoint()
    with in_tenant(alpha):
        owner = _user(alpha, "owner")
        customer = get_customer(owner, alpha.customers[0])
        asset = create_asset(owner, customer, {"type": "vehicle", "name": "Model 3", "store_id": alpha.stores[0]})
    assert [name for _slug, name in spy] == ["AssetCreated", "asset_created"]
    spy.clear()
    with in_tenant(alpha) as s:
        from storecrm.assets.models import Asset

        owner = _user(alpha, "owner")
        asset = s.get(Asset, (alpha.id, asset.id))
        update_asset(owner, asset, {"type": "vehicle", "name": "Model 3 (white)", "store_id": alpha.stores[0],
                                    "attributes": asset.attributes})
        update_asset(owner, asset, {"type": "vehicle", "name": "Model 3 (white)", "store_id": alpha.stores[0],
                                    "attributes": asset.attributes})  # nothing changed: no event
        transfer(owner, asset, get_customer(owner, alpha.customers[2]))
    assert [name for _slug, name in spy] == ["AssetChanged", "asset_changed"] * 2
    sent = [r[0] for r in _rows(system_db, "SELECT payload->'event' FROM outbox_messages WHERE channel = 'webhook' "
                                           "ORDER BY id")]
    assert [e["type"] for e in sent] == ["asset.created", "asset.changed", "asset.changed"]
    assert sent[0]["data"] == {"asset_id": asset.id, "customer_id": alpha.customers[0]}
    assert sent[2]["data"]["changed"] == ["customer_id"]


def test_undoing_a_merge_emits_customer_unmerged(two_tenants, in_tenant, enable_plugin, spy, system_db):
    from storecrm.audit.services import Actor, acting_as
    from storecrm.customers.merging import merge, unmerge
    from storecrm.customers.services import get_customer

    alpha, _ = two_tenants
    enable_plugin(alpha, "spy")
    with in_tenant(alpha):
        _endpoint()
    with in_tenant(alpha):
        owner = _user(alpha, "owner")
        with acting_as(Actor(owner.id, "owner")):
            merge_id = merge(get_customer(owner, alpha.customers[0]), get_customer(owner, alpha.customers[2]), {}).id
    spy.clear()
    with in_tenant(alpha):
        from storecrm.customers.merging import get_merge

        with acting_as(Actor(alpha.users["owner"], "owner")):
            unmerge(get_merge(merge_id))
    assert [name for _slug, name in spy] == ["CustomerUnmerged", "customer_unmerged"]
    sent = _rows(system_db, "SELECT payload->'event'->'data' FROM outbox_messages WHERE channel = 'webhook' AND "
                            "payload->'event'->>'type' = 'customer.unmerged'")
    assert sent == [({"customer_id": alpha.customers[0], "restored_id": alpha.customers[2]},)]


def test_a_plugin_event_emitted_through_the_sdk_fires_a_rule_with_the_plugins_trigger(two_tenants, in_tenant,
                                                                                     enable_plugin, spy, system_db):
    from storecrm_carwash.services import CarWashed, record_wash

    from storecrm.sdk import RecordEvent

    alpha, _ = two_tenants
    enable_plugin(alpha, "carwash")
    enable_plugin(alpha, "spy")
    with in_tenant(alpha):
        rule_id = _rule("washed", "customer", {"type": "event", "event": "carwash.washed"}, "washed").id
    with in_tenant(alpha):
        record_wash(alpha.customers[0], "basic")
    assert _rows(system_db, "SELECT rule_id, record_id, status FROM rule_firings") == \
        [(rule_id, alpha.customers[0], "done")]
    assert _rows(system_db, "SELECT tags FROM customers WHERE id = :c", c=alpha.customers[0]) == [(["washed"],)]
    assert issubclass(CarWashed, RecordEvent)
    assert ("alpha", "CarWashed") in spy  # other plugins hear it through the generic hook


def test_emit_rule_event_is_a_record_event(two_tenants, in_tenant, enable_plugin, spy):
    from storecrm.customers.models import Customer
    from storecrm.sdk import emit_rule_event

    alpha, _ = two_tenants
    enable_plugin(alpha, "spy")
    with in_tenant(alpha) as s:
        emit_rule_event("customer", s.get(Customer, (alpha.id, alpha.customers[0])), "changed", {"city": [None, "x"]})
    assert spy == [("alpha", "RecordEvent")]


def test_a_bulk_import_stays_one_event_but_reaches_everyone_per_customer(two_tenants, in_tenant, enable_plugin,
                                                                           spy, system_db):
    from storecrm.customers.services import create_many

    alpha, _ = two_tenants
    enable_plugin(alpha, "spy")
    with in_tenant(alpha):
        _endpoint()
        rule_id = _rule("new", "customer", {"type": "event", "event": "created"}, "new").id
    with in_tenant(alpha):
        owner = _user(alpha, "owner")
        errors = create_many(owner, [({"name": f"导入{n}", "store_id": alpha.stores[0]}, {}) for n in range(3)])
    assert errors == {}
    made = [r[0] for r in _rows(system_db, "SELECT id FROM customers WHERE name LIKE '导入%' ORDER BY id")]
    sent = _rows(system_db, "SELECT payload->'event'->'data'->>'customer_id' FROM outbox_messages "
                            "WHERE channel = 'webhook' AND payload->'event'->>'type' = 'customer.created' ORDER BY id")
    assert [int(r[0]) for r in sent] == made
    assert sorted(r[0] for r in _rows(system_db, "SELECT record_id FROM rule_firings WHERE rule_id = :r",
                                      r=rule_id)) == made
    assert [name for _slug, name in spy if name in ("CustomerCreated", "customer_created")] == \
        ["CustomerCreated", "customer_created"] * 3


def test_emit_takes_only_events(app_ctx):
    from storecrm.events import emit

    with pytest.raises(TypeError):
        emit("customer.created")
