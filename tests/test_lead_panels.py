"""`register_lead_panels`: a plugin's card on the lead page, drawn with its context for the tenants that have the
plugin on and users holding its permission; a raising panel becomes an error card and the page stays up."""
import types
from contextlib import contextmanager

from flask_babel import lazy_gettext as _l

from storecrm.hooks import hookimpl
from storecrm.hooks.contrib import LeadPanel
from storecrm.hooks.info import PluginInfo


@contextmanager
def _plugin(app, module):
    from storecrm.hooks.runtime import host

    registered = host(app)
    registered.pm.register(module, name=module.PLUGIN.name)
    registered.infos[module.PLUGIN.name] = module.PLUGIN
    saved = {hook: list(items) for hook, items in registered.contributions.items()}
    registered.collect("register_lead_panels")
    try:
        yield
    finally:
        registered.pm.unregister(name=module.PLUGIN.name)
        registered.infos.pop(module.PLUGIN.name)
        registered.contributions.clear()
        registered.contributions.update(saved)


def _boom(_lead):
    raise RuntimeError("plugin bug")


def _lead(in_tenant, world, mobile):
    from storecrm.extensions import db
    from storecrm.leads.models import LeadChannel
    from storecrm.sdk import capture_lead

    with in_tenant(world):
        channel = LeadChannel(name="展厅", secret="test-secret", store_id=world.stores[0])
        db.session.add(channel)
        db.session.flush()
        lead, _created = capture_lead(channel.id, {"name": "王先生", "mobile": mobile, "interest": "帕萨特",
                                                   "store_id": world.stores[0]})
        return lead.id


def test_a_plugin_panel_is_drawn_on_the_lead_page_of_its_tenants_only(two_tenants, in_tenant, login, app):
    from jinja2 import ChoiceLoader, DictLoader

    from storecrm.plugin_host.services import enable

    alpha, beta = two_tenants
    module = types.ModuleType("leadpanelled")
    module.PLUGIN = PluginInfo(name="leadpanelled", label={"en": "LP", "zh_CN": "LP"}, version="1.0", core=">=0")
    module.register_lead_panels = hookimpl(lambda: [
        LeadPanel("leadpanelled.model", _l("Car model"), "leadpanelled/model.html",
                  lambda lead: {"chars": len(lead.interest or "")}, order=10),
        LeadPanel("leadpanelled.secret", _l("Secret"), "leadpanelled/model.html", permission="leadpanelled.nobody"),
        LeadPanel("leadpanelled.broken", _l("Broken"), "leadpanelled/model.html", _boom, order=20)])
    original = app.jinja_env.loader
    app.jinja_env.loader = ChoiceLoader([DictLoader({
        "leadpanelled/model.html": "<i data-model>{{ lead.interest }}:{{ ctx.chars }}</i>"}), original])
    a_lead, b_lead = _lead(in_tenant, alpha, "13900009001"), _lead(in_tenant, beta, "13900009002")
    try:
        with _plugin(app, module):
            with in_tenant(alpha):
                enable("leadpanelled")
            page = login(alpha, "manager").get(f"/t/alpha/leads/{a_lead}")
            html = page.get_data(as_text=True)
            assert page.status_code == 200
            assert "<i data-model>帕萨特:3</i>" in html and 'data-panel="leadpanelled.model"' in html
            assert 'data-testid="block-error" data-plugin="leadpanelled"' in html  # the raising one
            assert html.index('data-panel="leadpanelled.model"') < html.index('data-panel="leadpanelled.broken"')
            assert 'data-panel="leadpanelled.secret"' not in html  # a permission nobody holds
            other = login(beta, "owner").get(f"/t/beta/leads/{b_lead}")
            assert other.status_code == 200 and "data-model" not in other.get_data(as_text=True)
    finally:
        app.jinja_env.loader = original
