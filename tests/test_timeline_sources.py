"""The customer timeline as one statement: every `register_timeline_sources` source of the tenant's enabled plugins
unioned per page, the tenant criteria compiled in; a plugin's `customer_timeline` entries merged after."""
import types
from datetime import datetime, timedelta, timezone

from sqlalchemy import func, select

from storecrm.hooks import hookimpl
from storecrm.hooks.contrib import TimelineEntry, TimelineSource
from storecrm.hooks.info import PluginInfo

from .test_hook_contract import _installed
from .test_query_counts import count_queries

LEGACY_AT = datetime(2001, 1, 1, tzinfo=timezone.utc)


def _probe():
    from storecrm.activities.models import Interaction

    def rows(customer_id):
        # a plugin's select over its own records; here the core's notes, so the test needs no table of its own
        return (select(Interaction.occurred_at.label("at"), func.jsonb_build_object("text", Interaction.body)
                       .label("data")).where(Interaction.customer_id == customer_id, Interaction.kind == "note"))

    def entry(at, data):
        return TimelineEntry(at, "probe", "Probe: " + data["text"], None, None)

    module = types.ModuleType("probe")
    module.PLUGIN = PluginInfo(name="probe", label={"en": "Probe", "zh_CN": "探针"}, version="1.0", core=">=0")
    hooks = {"register_timeline_sources": lambda: [TimelineSource("probe.notes", "probe", rows, entry)],
             "customer_timeline": lambda customer, before, limit: [
                 TimelineEntry(LEGACY_AT, "probe_legacy", f"From outside for #{customer.id}", None, None)]
             if before is None or LEGACY_AT < before else []}
    for hook, fn in hooks.items():
        setattr(module, hook, hookimpl(fn))
    return module, hooks


def _note(in_tenant, world, body, at):
    from storecrm.activities.models import Interaction

    with in_tenant(world) as session:
        session.add(Interaction(customer_id=world.customers[0], kind="note", body=body, occurred_at=at))


def test_a_plugins_timeline_source_reaches_only_the_tenants_with_the_plugin_on(two_tenants, in_tenant, app):
    from storecrm.customers.timeline import timeline
    from storecrm.plugin_host.services import enable

    alpha, beta = two_tenants
    now = datetime.now(timezone.utc)
    _note(in_tenant, alpha, "小区门禁要提前登记", now - timedelta(minutes=5))
    _note(in_tenant, beta, "beta 的备注", now - timedelta(minutes=5))
    module, hooks = _probe()
    with _installed(app, module, [h for h in hooks if h.startswith("register_")]):
        with in_tenant(alpha):
            enable("probe")
        with in_tenant(alpha) as session:
            customer = _customer(session, alpha)
            page, _next = timeline(customer, limit=100)
            titles = [e.title for e in page]
            assert "Probe: 小区门禁要提前登记" in titles and f"From outside for #{customer.id}" in titles
            assert "Probe: beta 的备注" not in titles
            # filtering by kind asks only the sources of that kind
            only, _next = timeline(customer, kinds={"probe"}, limit=100)
            assert [e.title for e in only] == ["Probe: 小区门禁要提前登记"]
            # older than the cursor: the legacy hook's entry is still merged, in time order
            older, _next = timeline(customer, before=now - timedelta(minutes=6), limit=100)
            assert older[-1].title == f"From outside for #{customer.id}"
            assert all(e.at < now - timedelta(minutes=6) for e in older)
        with in_tenant(beta) as session:
            page, _next = timeline(_customer(session, beta), limit=100)
            assert not [e for e in page if e.kind.startswith("probe")]


def _customer(session, world):
    from storecrm.customers.models import Customer

    return session.get(Customer, (world.id, world.customers[0]))


def test_a_page_is_one_statement_whatever_the_sources_with_the_tenant_wall_compiled_in(two_tenants, in_tenant, app):
    from storecrm.customers.timeline import page_statement, sources, timeline

    alpha, beta = two_tenants
    with in_tenant(alpha) as session:
        chosen = sources()
        assert len(chosen) >= 10
        statement = page_statement(chosen, True)
        # every table of every source carries the tenant's own criteria besides RLS
        tables = {"audit_log", "interactions", "tasks", "rule_firings", "appointments", "payments",
                  "sales_documents", "lead_history", "survey_invitations", "survey_responses"}
        for table in tables:
            assert f"{table}.tenant_id = %(tenant_wall)s" in statement.sql, table
        customer = _customer(session, alpha)
        with count_queries(app) as sent:
            page, cursor = timeline(customer, limit=5)
            timeline(customer, before=cursor, limit=5)
        assert len(sent) == 2, sent
        # another tenant's customer id, asked in this tenant, finds nothing: both walls hold
        rows = statement.execute(session, {"customer_id": beta.customers[0], "limit": 50,
                                           "before": datetime.now(timezone.utc) + timedelta(days=1)}).all()
        assert rows == []
