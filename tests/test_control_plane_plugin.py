"""The control plane is a system plugin of the core: on for every tenant, not a module, and the core reaches it only
through hooks — check_quota, quota_room, request_guard, page_banners, register_public_blueprints — which any plugin
may implement. Without it the product is a plain self-hosted install."""
import types

import pytest
from flask import Blueprint
from marshmallow import ValidationError
from sqlalchemy import text
from werkzeug.exceptions import Forbidden

from storecrm.hooks import hookimpl
from storecrm.hooks.contrib import Banner
from storecrm.hooks.info import PluginInfo


def test_the_control_plane_is_a_system_plugin_no_admin_can_switch(two_tenants, login, api_token, app):
    from storecrm.hooks.runtime import host

    info = host(app).infos["control_plane"]
    assert info.system
    alpha, _ = two_tenants
    admin = login(alpha, "admin")
    assert "control_plane" not in admin.get("/t/alpha/modules/").get_data(as_text=True)
    assert admin.post("/t/alpha/modules/control_plane/disable").status_code == 404
    client, headers = app.test_client(), api_token(alpha, "owner")
    assert "control_plane" not in {p["name"] for p in client.get("/api/v1/plugins", headers=headers).get_json()}
    assert client.post("/api/v1/plugins/control_plane/disable", headers=headers).status_code == 404
    assert client.get("/signup/").status_code == 200  # its public pages are mounted at the root


def test_without_the_control_plane_the_core_is_a_self_hosted_install(storecrm_services, app):
    from storecrm.app import create_app

    bare = create_app({"STORECRM_LOAD_PLUGINS": False, "TESTING": True})
    client = bare.test_client()
    assert client.get("/signup/").status_code == 404
    assert client.get("/ops/login").status_code == 404
    assert "control_plane" not in bare.extensions["storecrm"].infos
    assert "billing.index" not in bare.view_functions


@pytest.fixture
def gatekeeper(app):
    """A plugin that implements the control plane's hooks its own way (any plugin may)."""
    from storecrm.hooks.runtime import host

    module = types.ModuleType("gatekeeper")
    module.PLUGIN = PluginInfo(name="gatekeeper", label={"en": "Gate"}, version="1", core=">=0")

    def check_quota(resource, adding, field):
        if resource == "stores":
            raise ValidationError({field: ["gatekeeper: no more stores"]})

    def request_guard(tenant, api):
        from flask import request

        if request.headers.get("X-Gate") == "closed":
            raise Forbidden(description="gatekeeper closed")

    module.check_quota = hookimpl(check_quota)
    module.quota_room = hookimpl(lambda resource: 1 if resource == "customers" else None)
    module.request_guard = hookimpl(request_guard)
    module.page_banners = hookimpl(lambda user: [Banner("gate", "info", f"hello {user.display_name}")])
    registered = host(app)
    registered.pm.register(module, name="gatekeeper")
    registered.infos["gatekeeper"] = module.PLUGIN
    try:
        yield module
    finally:
        registered.pm.unregister(name="gatekeeper")
        registered.infos.pop("gatekeeper")


def test_plugins_may_refuse_additions_guard_requests_and_show_banners(two_tenants, login, api_token, in_tenant,
                                                                         enable_plugin, gatekeeper, app, system_db):
    alpha, beta = two_tenants
    enable_plugin(alpha, "gatekeeper")
    owner = login(alpha, "owner")
    # check_quota: the store form refuses, with the plugin's words, and writes nothing
    owner.get("/t/alpha/stores/new")
    resp = owner.post("/t/alpha/stores/new", {"code": "S9", "name": "Nine", "active": "y"})
    assert "gatekeeper: no more stores" in resp.get_data(as_text=True)
    with system_db.connect() as conn:
        assert conn.execute(text("SELECT count(*) FROM stores WHERE code = 'S9'")).scalar() == 0
    # quota_room: a bulk import stops at the room the plugin gives
    from storecrm.quotas import room

    with in_tenant(alpha):
        assert room("customers") == 1 and room("stores") is None
    # request_guard: pages and the API
    assert owner.get("/t/alpha/customers/", headers={"X-Gate": "closed"}).status_code == 403
    api = app.test_client().get("/api/v1/customers", headers={**api_token(alpha, "owner"), "X-Gate": "closed"})
    assert api.status_code == 403 and "gatekeeper closed" in api.get_data(as_text=True)
    # page_banners
    assert 'data-testid="gate-banner"' in owner.get("/t/alpha/").get_data(as_text=True)
    # a tenant without the plugin is untouched by all of it
    other = login(beta, "owner")
    assert other.get("/t/beta/customers/", headers={"X-Gate": "closed"}).status_code == 200
    assert 'data-testid="gate-banner"' not in other.get("/t/beta/").get_data(as_text=True)
    with in_tenant(beta):
        assert room("customers") is None


def test_public_blueprints_are_mounted_at_the_root(storecrm_services, app):
    from storecrm.app import create_app

    public = Blueprint("gate_public", __name__, url_prefix="/gate")
    public.add_url_rule("/ping", "ping", lambda: "pong")
    module = types.ModuleType("gate_site")
    module.PLUGIN = PluginInfo(name="gate_site", label={"en": "Gate"}, version="1", core=">=0")
    module.register_public_blueprints = hookimpl(lambda: [public])
    site = create_app({"STORECRM_LOAD_PLUGINS": False, "STORECRM_EXTRA_PLUGINS": [module], "TESTING": True})
    assert site.test_client().get("/gate/ping").get_data(as_text=True) == "pong"
