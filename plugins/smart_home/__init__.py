"""Smart home (智能家居): installation and maintenance of smart-home devices — properties, devices, work orders with
regional dispatch and on-site check-in, spare parts from the engineers' vans, maintenance contracts, knowledge base."""
from pathlib import Path

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from storecrm.sdk import (AssetPanel, AssetType, CustomerPanel, DemoTenant, FieldPreset, NavItem, PeriodicJob,
                          Permission, PluginInfo, RuleTrigger, StockBelowReorderLevel, SurveyAnswered, hookimpl)

# pytest's package collector (plugins/ is on testpaths) imports this file a second time as `plugins.smart_home`;
# only the installed name maps the tables, so they are never defined twice on the metadata.
if __name__ == "storecrm.plugins.smart_home":
    from . import models  # noqa: F401  (maps the tables when the plugin loads)

HERE = Path(__file__).resolve().parent


class SmartHomeSettings(Schema):
    auto_dispatch = fields.Boolean(load_default=True, metadata={"label": _l("Dispatch new work orders automatically")})
    plan_months_ahead = fields.Integer(load_default=6, validate=validate.Range(min=1, max=24),
                                       metadata={"label": _l("Plan contract visits this many months ahead")})
    average_speed_kmh = fields.Integer(load_default=25, validate=validate.Range(min=5, max=120),
                                       metadata={"label": _l("Average driving speed in the city (km/h), for travel "
                                                             "times")})
    renewal_days_before = fields.Integer(load_default=30, validate=validate.Range(min=1, max=365),
                                         metadata={"label": _l("Renewal task this many days before a contract ends")})


PLUGIN = PluginInfo(
    name="smart_home",
    label={"zh_CN": "智能家居", "en": "Smart home"},
    version="1.0.0",
    core=">=0.1,<1",
    description={"zh_CN": "房产与设备档案、自助报修、工单派发与上门打卡、备件核销、维保合同、知识库。",
                 "en": "Properties and devices, self-service requests, work orders with dispatch and check-in, "
                       "spare parts, maintenance contracts, knowledge base."},
    author="StoreCRM",
    settings_schema=SmartHomeSettings,
    migrations=str(HERE / "migrations"),
    translations=str(HERE / "translations"),
)

GROUP = _l("Smart home")


@hookimpl
def register_permissions():
    return [Permission("smart_home.view", _l("View work orders, properties and devices"), GROUP),
            Permission("smart_home.manage", _l("Create work orders, properties and devices"), GROUP),
            Permission("smart_home.dispatch", _l("Dispatch work orders"), GROUP),
            Permission("smart_home.work", _l("Work on assigned jobs (engineer)"), GROUP),
            Permission("smart_home.contracts", _l("Manage maintenance contracts"), GROUP),
            Permission("smart_home.knowledge", _l("Edit the knowledge base"), GROUP)]


@hookimpl
def register_default_grants():
    everything = ["smart_home.view", "smart_home.manage", "smart_home.dispatch", "smart_home.work",
                  "smart_home.contracts", "smart_home.knowledge"]
    return {"admin": everything, "manager": everything,
            "advisor": ["smart_home.view", "smart_home.manage", "smart_home.contracts"],
            "technician": ["smart_home.view", "smart_home.work"]}


@hookimpl
def register_nav_items():
    return [NavItem("smart_home.index", _l("Work orders"), "tools", "smart_home.view", 22),
            NavItem("smart_home.engineer_jobs", _l("My jobs"), "phone", "smart_home.work", 23),
            NavItem("smart_home.engineer_day", _l("My day"), "map", "smart_home.work", 23),
            NavItem("smart_home.transfers", _l("Van transfer requests"), "truck", "smart_home.dispatch", 24),
            NavItem("smart_home.part_returns", _l("Defective parts"), "recycle", "smart_home.dispatch", 24),
            NavItem("smart_home.contracts", _l("Maintenance contracts"), "file-earmark-text", "smart_home.contracts", 24),
            NavItem("smart_home.knowledge", _l("Knowledge base"), "book", "smart_home.view", 25)]


@hookimpl
def register_blueprints():
    from .public import bp as public_bp
    from .views import bp

    return [bp, public_bp]


@hookimpl
def register_api_blueprints():
    from .api import blp

    return [blp]


@hookimpl
def register_asset_types():
    from .services import DeviceAttributes

    return [AssetType("smart_device", _l("Smart device"), DeviceAttributes, ("serial",))]


@hookimpl
def register_asset_panels():
    from . import services

    return [AssetPanel("smart_home.device_history", _l("Repair history and replaced parts"),
                       "smart_home/asset_panel.html", lambda asset: services.device_history(asset.id),
                       "smart_home.view", 40)]


@hookimpl
def register_customer_panels():
    from . import services

    return [CustomerPanel("smart_home.properties", _l("Properties and devices"), "smart_home/customer_panel.html",
                          services.customer_panel, "smart_home.view", 30, position="summary")]


@hookimpl
def register_kpis():
    from .kpis import kpis

    return kpis()


@hookimpl
def register_rule_triggers():
    return [RuleTrigger("smart_home.work_order_changed", _l("A work order changed state"), "customer")]


@hookimpl
def register_field_presets():
    return [FieldPreset("customer", "sh_access_notes", _l("Access and parking notes"), "text")]


@hookimpl
def register_timeline_sources():
    from . import services

    return services.TIMELINE


@hookimpl
def register_periodic_jobs():
    from . import services

    return [PeriodicJob("plan_contract_visits", "15 2 * * *", services.plan_contract_visits)]


@hookimpl
def register_demo_tenants():
    from .demo import load_demo

    return [DemoTenant(slug="smart-home", name="智享家智能家居安装服务", load=load_demo,
                       description="全屋智能安装与维保：三名工程师，各有一辆备件车。",
                       stores=({"code": "SH01", "name": "浦东服务中心", "city": "上海"},))]


@hookimpl
def plugin_enabled(tenant, first_time):
    from . import services

    if first_time:
        services.seed_defaults()


@hookimpl
def storecrm_event(event):
    if isinstance(event, SurveyAnswered):
        from . import services

        services.survey_answered(event.response)
    elif isinstance(event, StockBelowReorderLevel) and getattr(event.location, "kind", None) == "van":
        from . import services

        services.van_fell_below_minimum(event.level, event.item, event.location)


@hookimpl
def customer_erasure(customer):
    from . import services

    services.erase_customer_data(customer.id)


@hookimpl
def register_message_templates():
    from .messages import TEMPLATES

    return list(TEMPLATES)


@hookimpl
def register_report_sources():
    from .report_sources import sources

    return sources()
