"""A plugin cannot take a tenant down, and nothing is half-written: broken nav endpoints stop the start naming the
plugin, a raising panel / KPI / widget becomes an error card, enabling with requirements is all or nothing, a
refusing handler that redirects keeps nothing it wrote, and every registration hook of the contract is collected."""
import logging
import types
from contextlib import contextmanager

import pytest
from flask_babel import lazy_gettext as _l
from sqlalchemy import text

from storecrm.hooks import hookimpl
from storecrm.hooks.contrib import AssetPanel, CustomerPanel, DashboardWidget, Kpi
from storecrm.hooks.info import PluginInfo
from storecrm.hooks.manager import PluginError


@contextmanager
def _plugin(app, module):
    """Install `module` as a plugin into the running app for one test (as an entry point would at start-up)."""
    from storecrm.hooks.runtime import host

    registered = host(app)
    registered.pm.register(module, name=module.PLUGIN.name)
    registered.infos[module.PLUGIN.name] = module.PLUGIN
    saved = {hook: list(items) for hook, items in registered.contributions.items()}
    for hook in ("register_customer_panels", "register_asset_panels", "register_kpis", "register_dashboard_widgets"):
        registered.collect(hook)
    try:
        yield registered
    finally:
        registered.pm.unregister(name=module.PLUGIN.name)
        registered.infos.pop(module.PLUGIN.name)
        registered.contributions.update(saved)


def _module(name, **hooks):
    module = types.ModuleType(name)
    module.PLUGIN = PluginInfo(name=name, label={"en": name, "zh_CN": name}, version="1.0", core=">=0",
                               requires=hooks.pop("requires", ()))
    for hook, fn in hooks.items():
        setattr(module, hook, hookimpl(fn))
    return module


def _boom(*_args, **_kwargs):
    raise RuntimeError("plugin bug")


def test_a_nav_item_pointing_nowhere_stops_the_start_naming_the_plugin(storecrm_services):
    from storecrm.app import create_app
    from storecrm.web.nav import NavItem

    broken = _module("typo", register_nav_items=lambda: [NavItem("typo.indx", _l("Typo"))])
    with pytest.raises(PluginError) as err:
        create_app({"STORECRM_LOAD_PLUGINS": False, "STORECRM_EXTRA_PLUGINS": [broken]})
    assert "plugin typo" in str(err.value) and "'typo.indx'" in str(err.value)


def test_a_raising_panel_kpi_or_widget_leaves_the_page_up_with_an_error_card(
        two_tenants, login, in_tenant, app, caplog):
    alpha, beta = two_tenants
    faulty = _module(
        "faulty",
        register_customer_panels=lambda: [
            CustomerPanel("faulty.ctx", _l("Broken context"), "customers/_missing.html", _boom),
            CustomerPanel("faulty.template", _l("Missing template"), "faulty/none.html"),
            CustomerPanel("faulty.sql", _l("Bad SQL"), "customers/_missing.html",
                          lambda customer: __import__("storecrm.extensions").extensions.db.session.execute(
                              text("SELECT * FROM no_such_table")))],
        register_kpis=lambda: [Kpi("faulty.kpi", _l("Broken KPI"), _l("Raises."), _boom)],
        register_dashboard_widgets=lambda: [DashboardWidget("faulty.widget", _l("Broken widget"), "faulty/none.html")])
    caplog.set_level(logging.ERROR, logger="storecrm.plugins")
    with _plugin(app, faulty):
        from storecrm.plugin_host.services import enable

        with in_tenant(alpha):
            enable("faulty")
        owner = login(alpha, "owner")
        page = owner.get(f"/t/alpha/customers/{alpha.customers[0]}")
        html = page.get_data(as_text=True)
        assert page.status_code == 200
        assert html.count('data-testid="block-error" data-plugin="faulty"') == 3
        assert 'data-panel="workflow.items"' in html and 'data-testid="workflow-panel"' in html  # the core's panel
        home = owner.get("/t/alpha/")
        body = home.get_data(as_text=True)
        assert home.status_code == 200 and body.count('data-plugin="faulty"') == 2
        assert 'data-kpi="customers.total"' in body and "kpi-value" in body
        # a tenant without the plugin sees none of it
        assert 'data-plugin="faulty"' not in login(beta, "owner").get("/t/beta/").get_data(as_text=True)
    failures = [r.getMessage() for r in caplog.records if r.name == "storecrm.plugins"]
    assert any("plugin faulty: panel faulty.sql failed" in m for m in failures)
    assert any("plugin faulty: KPI faulty.kpi failed" in m for m in failures)
    assert any("plugin faulty: widget faulty.widget failed" in m for m in failures)


def test_a_dashboard_widget_is_rendered_on_the_home_page(two_tenants, login, in_tenant, app):
    from jinja2 import ChoiceLoader, DictLoader

    alpha, _ = two_tenants
    widget = _module("widgety", register_dashboard_widgets=lambda: [
        DashboardWidget("widgety.hello", _l("Hello"), "widgety/hello.html")])
    original = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([DictLoader({"widgety/hello.html": "<b data-hello>{{ user.display_name }}</b>"}),
                                         original])
    try:
        with _plugin(app, widget):
            from storecrm.plugin_host.services import enable

            with in_tenant(alpha):
                enable("widgety")
            html = login(alpha, "owner").get("/t/alpha/").get_data(as_text=True)
    finally:
        app.jinja_env.loader = original
    assert 'data-widget="widgety.hello"' in html and "<b data-hello>alpha owner</b>" in html


def test_asset_panels_and_summary_panels_are_drawn_where_their_plugin_says(two_tenants, login, in_tenant, app):
    from jinja2 import ChoiceLoader, DictLoader

    from storecrm.assets.services import create_asset
    from storecrm.customers.models import Customer
    from storecrm.extensions import db
    from storecrm.plugin_host.services import enable
    from storecrm.users.models import User

    alpha, beta = two_tenants
    panels = _module(
        "panelled",
        register_asset_panels=lambda: [
            AssetPanel("panelled.parts", _l("Components"), "panelled/parts.html", lambda asset: {"n": len(asset.name)}),
            AssetPanel("panelled.broken", _l("Broken"), "panelled/parts.html", _boom)],
        register_customer_panels=lambda: [
            CustomerPanel("panelled.car", _l("Car"), "panelled/car.html", position="summary", framed=False)])
    original = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([DictLoader({
        "panelled/parts.html": "<i data-parts>{{ asset.name }}:{{ ctx.n }}</i>",
        "panelled/car.html": '<section data-own-card>{{ customer.name }}</section>'}), original])
    try:
        with _plugin(app, panels):
            with in_tenant(alpha):
                enable("panelled")
                owner = db.session.get(User, (alpha.id, alpha.users["owner"]))
                asset_id = create_asset(owner, db.session.get(Customer, (alpha.id, alpha.customers[0])),
                                        {"type": "vehicle", "name": "Model Y"}).id
                db.session.commit()
            browser = login(alpha, "owner")
            page = browser.get(f"/t/alpha/assets/{asset_id}")
            html = page.get_data(as_text=True)
            assert page.status_code == 200
            assert "<i data-parts>Model Y:7</i>" in html  # rendered with its context, in a card headed by its label
            assert 'data-panel="panelled.parts"' in html and "Components" in html
            assert 'data-testid="block-error" data-plugin="panelled"' in html  # the raising one
            assert html.index('data-panel="workflow.items"') < html.index('data-panel="panelled.parts"')  # by order
            customer = browser.get(f"/t/alpha/customers/{alpha.customers[0]}").get_data(as_text=True)
            # a summary panel sits above the timeline, unframed: its template draws its own card
            assert customer.index("<section data-own-card>") < customer.index('data-testid="timeline"')
            assert 'data-panel="panelled.car"><section' in customer.replace("\n", "")
            # the core's own panels: assets and open tasks in the summary, workflows below the timeline
            assert (customer.index('data-testid="assets"') < customer.index('data-testid="open-tasks"')
                    < customer.index('data-testid="timeline"') < customer.index('data-panel="workflow.items"'))
            other = login(beta, "owner").get(f"/t/beta/customers/{beta.customers[0]}").get_data(as_text=True)
            assert "data-own-card" not in other
    finally:
        app.jinja_env.loader = original


def test_enabling_with_requirements_is_all_or_nothing(two_tenants, login, in_tenant, app, system_db):
    alpha, _ = two_tenants
    base = _module("base_ok")
    paid = _module("paid_extra")
    bundle = _module("bundle", requires=("base_ok", "paid_extra"))
    gate = types.ModuleType("gate")
    gate.plugin_allowed = hookimpl(lambda tenant, plugin_name: False if plugin_name == "paid_extra" else None)
    from storecrm.hooks.runtime import host

    registered = host(app)
    registered.pm.register(gate, name="gate")
    try:
        with _plugin(app, base), _plugin(app, paid), _plugin(app, bundle):
            from marshmallow import ValidationError

            from storecrm.plugin_host.services import enable, enabled_names

            with in_tenant(alpha):
                with pytest.raises(ValidationError) as err:
                    enable("bundle")
                assert "paid_extra" in str(err.value.messages)
                assert enabled_names() == set()
            admin = login(alpha, "admin")
            admin.get("/t/alpha/modules/")
            resp = admin.post("/t/alpha/modules/bundle/enable")
            assert resp.status_code == 302
            with system_db.connect() as conn:
                assert conn.execute(text("SELECT count(*) FROM tenant_plugins")).scalar() == 0
    finally:
        registered.pm.unregister(name="gate")


def test_a_refusing_handler_that_redirects_keeps_nothing_it_wrote(two_tenants, app, system_db):
    from flask import redirect
    from marshmallow import ValidationError

    from storecrm.customers.models import Customer
    from storecrm.extensions import db
    from storecrm.tenancy.context import TenantRef, tenant_context
    from storecrm.web.forms import flash_errors

    alpha, _ = two_tenants
    for refused in (True, False):
        with app.test_request_context("/t/alpha/anything", method="POST"):
            with tenant_context(TenantRef(alpha.id, alpha.slug)):
                db.session.add(Customer(name=f"written-{refused}", store_id=alpha.stores[0]))
                db.session.flush()
                if refused:
                    flash_errors(ValidationError({"name": ["refused after writing"]}))
                app.process_response(redirect("/t/alpha/customers/"))
            db.session.remove()
    with system_db.connect() as conn:
        names = set(conn.execute(text("SELECT name FROM customers WHERE name LIKE 'written-%'")).scalars())
    assert names == {"written-False"}


def test_every_registration_hook_of_the_contract_is_collected(app):
    from storecrm.hooks.runtime import MOUNTED, host, registration_hooks

    hooks = registration_hooks()
    assert "register_extensible_entities" in hooks and "register_import_mappings" in hooks
    assert set(hooks) - set(MOUNTED) <= set(host(app).contributions)


def test_trace_covers_collected_hooks_and_lifecycle_calls(storecrm_services, monkeypatch, caplog):
    from storecrm.app import create_app

    monkeypatch.setenv("STORECRM_TRACE_PLUGINS", "1")
    caplog.set_level(logging.INFO, logger="storecrm.plugins")
    traced = create_app({"STORECRM_LOAD_PLUGINS": False})
    from storecrm.hooks.runtime import host

    host(traced).call_one("core", "register_kpis")
    messages = [r.getMessage() for r in caplog.records]
    assert any(m.startswith("hook register_customer_panels -> ['core'] in") for m in messages)
    assert sum(m.startswith("hook register_kpis -> ['core'] in") for m in messages) == 2
