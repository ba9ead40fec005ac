"""What the registration hooks return reaches the tenants that have the plugin on, and only them — one test per
hook that no other test exercised by name (tests/test_hooks_documented.py asks that every hook has one)."""
import types
from contextlib import contextmanager

import click
import pytest
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import text

from storecrm.hooks import hookimpl
from storecrm.hooks.contrib import (AssetType, EngineEntity, FieldPreset, NotificationChannel, PeriodicJob,
                                    RuleCondition, RuleTrigger, WorkflowDefinition)
from storecrm.hooks.info import PluginInfo
from storecrm.hooks.manager import PluginError

from .test_imports import _run_worker

TICKS = []


def _policy_number(raw: str) -> str:
    value = raw.strip().upper()
    if not value.startswith("PL") or not value[2:].isdigit():
        raise ValidationError("A policy number is PL and digits.")
    return value


def _probe():
    from storecrm.customers.identity import IdentityKind
    from storecrm.customers.models import Customer

    module = types.ModuleType("probe")
    module.PLUGIN = PluginInfo(name="probe", label={"en": "Probe", "zh_CN": "探针"}, version="1.0", core=">=0")
    hooks = {
        "register_identity_kinds": lambda: [IdentityKind("policy", _l("Policy number"), _policy_number)],
        "register_notification_channels": lambda: [NotificationChannel("pager", "Pager", lambda message: None)],
        "register_asset_types": lambda: [AssetType("boat", "Boat")],
        "register_field_presets": lambda: [FieldPreset("customer", "probe_size", "Size", "text")],
        "register_workflows": lambda: [WorkflowDefinition("probe.flow", "Probe flow", "customer",
                                                          {"initial": "new", "states": [], "transitions": []})],
        "register_engine_entities": lambda: [EngineEntity("probe_thing", "Probe thing", Customer, {},
                                                          lambda record: record.name, lambda record: "/")],
        "register_rule_triggers": lambda: [RuleTrigger("probe.pinged", "Pinged", "customer")],
        "register_rule_conditions": lambda: [RuleCondition("probe.always", "Always", lambda record, value: True)],
        "register_periodic_jobs": lambda: [PeriodicJob("tick", "0 4 * * *", _tick)],
    }
    for hook, fn in hooks.items():
        setattr(module, hook, hookimpl(fn))
    return module, hooks


def _tick():
    from storecrm.tenancy.context import current_tenant_id

    TICKS.append(current_tenant_id())


@contextmanager
def _installed(app, module, hooks):
    """Install `module` into the running app for one test, as an entry point would at start-up."""
    from storecrm.hooks.runtime import host

    registered = host(app)
    registered.pm.register(module, name=module.PLUGIN.name)
    registered.infos[module.PLUGIN.name] = module.PLUGIN
    saved = {hook: list(items) for hook, items in registered.contributions.items()}
    for hook in hooks:
        registered.collect(hook)
    try:
        yield
    finally:
        registered.pm.unregister(name=module.PLUGIN.name)
        registered.infos.pop(module.PLUGIN.name)
        registered.contributions.clear()
        registered.contributions.update(saved)


def _contributions():
    """What the tenant in context gets from each registration hook, by code."""
    from storecrm import conditions
    from storecrm.assets.services import asset_types
    from storecrm.customers.identities import kinds
    from storecrm.notifications.channels import channels
    from storecrm.rules.spec import plugin_triggers
    from storecrm.workflow.engine import templates

    return {"register_identity_kinds": "policy" in kinds(), "register_notification_channels": "pager" in channels(),
            "register_asset_types": "boat" in asset_types(), "register_workflows": "probe.flow" in templates(),
            "register_engine_entities": "probe_thing" in conditions.entities(),
            "register_rule_triggers": "probe.pinged" in plugin_triggers(),
            "register_rule_conditions": "probe.always" in conditions._plugin_conditions()}


def test_registration_hooks_reach_only_the_tenants_with_the_plugin_on(two_tenants, in_tenant, app, system_db):
    from storecrm.customers.identities import normalize
    from storecrm.plugin_host.services import enable

    alpha, beta = two_tenants
    module, hooks = _probe()
    with _installed(app, module, hooks):
        with in_tenant(alpha):
            enable("probe")
        with in_tenant(alpha):
            assert _contributions() == dict.fromkeys(_contributions(), True)
            assert normalize("policy", " pl123 ") == "PL123"  # One-ID uses the plugin's normal form
        with in_tenant(beta):
            assert _contributions() == dict.fromkeys(_contributions(), False)
            with pytest.raises(ValidationError):
                normalize("policy", "PL123")
        with system_db.connect() as conn:  # register_field_presets: seeded where the plugin was first enabled
            presets = conn.execute(text("SELECT tenant_id FROM field_definitions WHERE code = 'probe_size'")).all()
        assert [tuple(row) for row in presets] == [(alpha.id,)]


def test_register_periodic_jobs_runs_once_in_each_tenant_with_the_plugin_on(two_tenants, in_tenant, app):
    from storecrm.plugin_host.jobs import fan_out
    from storecrm.plugin_host.services import enable

    alpha, _ = two_tenants
    module, hooks = _probe()
    TICKS.clear()
    with _installed(app, module, hooks):
        with in_tenant(alpha):
            enable("probe")
        with app.app_context():
            assert fan_out("probe", "tick") == 1
        _run_worker()
    assert TICKS == [alpha.id]


def test_validate_config_refuses_the_start_and_register_cli_commands_join_flask(storecrm_services):
    """`validate_config` errors stop the start; `register_cli_commands` commands are added to `flask`."""
    from storecrm.app import create_app

    def _plugin(name, **hooks):
        module = types.ModuleType(name)
        module.PLUGIN = PluginInfo(name=name, label={"en": name, "zh_CN": name}, version="1.0", core=">=0")
        for hook, fn in hooks.items():
            setattr(module, hook, hookimpl(fn))
        return module

    picky = _plugin("picky", validate_config=lambda config: [] if config.get("PICKY_KEY") else ["PICKY_KEY is unset"])
    with pytest.raises(PluginError, match="configuration refused: PICKY_KEY is unset"):
        create_app({"STORECRM_LOAD_PLUGINS": False, "STORECRM_EXTRA_PLUGINS": [picky]})
    tools = _plugin("tools", register_cli_commands=lambda: [click.Command("probe-tools", callback=lambda: None)])
    started = create_app({"STORECRM_LOAD_PLUGINS": False, "STORECRM_EXTRA_PLUGINS": [picky, tools],
                          "PICKY_KEY": "set"})
    assert "probe-tools" in started.cli.commands


def test_register_blueprints_and_register_api_blueprints_answer_only_where_the_plugin_is_on(
        two_tenants, login, api_token, enable_plugin, app):
    """`register_blueprints` pages and `register_api_blueprints` endpoints of the car wash example."""
    alpha, beta = two_tenants
    enable_plugin(alpha, "carwash")
    client = app.test_client()
    assert login(alpha, "admin").get("/t/alpha/carwash/").status_code == 200
    assert client.get("/api/v1/carwash/washes", headers=api_token(alpha, "admin")).status_code == 200
    assert login(beta, "admin").get("/t/beta/carwash/").status_code == 404
    assert client.get("/api/v1/carwash/washes", headers=api_token(beta, "admin")).status_code == 404
