"""Dealership (4S店) after-sales and sales: vehicles, service appointments on bays, repair orders (工单) with skill
dispatch and QC, settlement, 24-hour follow-up surveys, CSI/NPS/first-time-fix KPIs, maintenance and insurance
rules. A built-in plugin that reaches the core only through `storecrm.sdk` (docs/plugins/dealership.md)."""
from pathlib import Path

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from storecrm.sdk import (AssetPanel, CustomerPanel, DashboardWidget, DemoTenant, FieldPreset, LeadPanel, NavItem,
                          PeriodicJob, Permission, PluginInfo, RuleTrigger, hookimpl)

# maps the tables when the plugin loads; absolute, because pytest also imports this folder as `plugins.dealership`
# (collecting the tests beside it) and the tables must be defined once, by storecrm.plugins.dealership.models
import storecrm.plugins.dealership.models  # noqa: E402,F401
from storecrm.plugins.dealership.labels import STATE_LABELS  # noqa: E402

from storecrm.plugins.dealership import churn  # noqa: E402

HERE = Path(__file__).resolve().parent


class DealershipSettings(Schema):
    labour_rate = fields.Decimal(load_default="180.00", as_string=True, places=2,
                                 validate=validate.Range(min=0, max=10000), metadata={"label": _l("Labour rate per hour")})
    follow_up_hours = fields.Integer(load_default=24, validate=validate.Range(min=1, max=240),
                                     metadata={"label": _l("Follow-up survey after delivery (hours)")})
    maintenance_parts = fields.String(load_default="", validate=validate.Length(max=300), metadata={
        "label": _l("Parts reserved the evening before a maintenance appointment (SKU*quantity, comma-separated)")})
    repeat_hours = fields.Integer(load_default=48, validate=validate.Range(min=1, max=720),
                                  metadata={"label": _l("Same fault back within (hours): not fixed first time")})


PLUGIN = PluginInfo(
    name="dealership",
    label={"zh_CN": "汽车4S店", "en": "Car dealership"},
    version="1.1.0",  # 1.1: contracts, test drives on demo cars, "vehicle not sold" in the churn rule
    core=">=0.1,<1",
    description={"zh_CN": "车辆档案、预约与工位、维修工单（派工、质检、结算）、回访与CSI/NPS/一次修复率、保养与续保提醒。",
                 "en": "Vehicles, service appointments on bays, repair orders with dispatch, QC and settlement, "
                       "follow-up surveys, CSI/NPS/first-time-fix KPIs, maintenance and insurance reminders."},
    author="StoreCRM",
    settings_schema=DealershipSettings,
    migrations=str(HERE / "migrations"),
    translations=str(HERE / "translations"),
)

GROUP = _l("Dealership")


@hookimpl
def register_permissions():
    return [Permission("dealership.view", _l("View repair orders"), GROUP),
            Permission("dealership.reception", _l("Receive cars, dispatch and deliver"), GROUP),
            Permission("dealership.work", _l("Work on repair orders (technician)"), GROUP),
            Permission("dealership.qc", _l("Quality check repair orders"), GROUP)]


@hookimpl
def register_default_grants():
    everything = ["dealership.view", "dealership.reception", "dealership.work", "dealership.qc"]
    return {"admin": everything, "manager": everything,
            "advisor": ["dealership.view", "dealership.reception"],
            "technician": ["dealership.view", "dealership.work", "dealership.qc"]}


@hookimpl
def register_nav_items():
    return [NavItem("dealership.index", _l("Repair orders"), "wrench-adjustable", "dealership.view", 16),
            NavItem("dealership.my_jobs", _l("My jobs"), "tools", "dealership.work", 17),
            NavItem("dealership.test_drives", _l("Test drives"), "car-front", "dealership.view", 18),
            NavItem("dealership.contracts_index", _l("Sales contracts"), "file-earmark-text", "dealership.view", 19)]


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def register_api_blueprints():
    from .api import blp

    return [blp]


@hookimpl
def register_field_presets():
    return [FieldPreset("asset", "trim", _l("Trim"), "text"),
            FieldPreset("asset", "commercial_insurance_until", _l("Commercial insurance until"), "date"),
            FieldPreset("asset", "compulsory_insurance_until", _l("Compulsory insurance until"), "date"),
            FieldPreset("asset", "insurer", _l("Insurer"), "text"),
            FieldPreset("asset", "loan_until", _l("Loan ends"), "date"),
            churn.SOLD,
            FieldPreset("customer", "household", _l("Household"), "text"),
            FieldPreset("customer", "interests", _l("Interests"), "text")]


@hookimpl
def register_rule_triggers():
    return [RuleTrigger("dealership.delivered", _l("A repaired car was delivered"), "customer")]


@hookimpl
def register_rule_conditions():
    return [churn.condition()]


@hookimpl
def register_lead_panels():
    from . import lead_panel

    return [LeadPanel("dealership.sales", _l("Car purchase"), "dealership/lead_panel.html", lead_panel.context,
                      "dealership.view", 40)]


@hookimpl
def register_kpis():
    from . import kpis, sales_kpis

    return kpis.kpis() + sales_kpis.kpis()


@hookimpl
def register_dashboard_widgets():
    from . import kpis, sales

    return [DashboardWidget("dealership.workshop", _l("Workshop today"), "dealership/widget.html",
                            "dealership.view", kpis.workshop_widget, "main", 30),
            DashboardWidget("dealership.sales", _l("Sales this month"), "dealership/sales_widget.html",
                            "dealership.view", sales.sales_widget, "main", 31)]


@hookimpl
def register_customer_panels():
    from . import services

    return [CustomerPanel("dealership.repairs", _l("Repair orders"), "dealership/panel.html",
                          lambda customer: {"orders": services.orders_of_customer(customer.id),
                                           "states": STATE_LABELS},
                          "dealership.view", 40)]


@hookimpl
def register_asset_panels():
    from . import services

    return [AssetPanel("dealership.history", _l("Service history"), "dealership/panel.html",
                       lambda asset: {"orders": services.orders_of_vehicle(asset.id), "states": STATE_LABELS}, "dealership.view", 30)]


@hookimpl
def dispatch_signals(job, user_ids):
    from . import services

    return services.dispatch_signals(job, user_ids)


@hookimpl
def storecrm_event(event):
    from . import services

    from . import contracts

    services.on_event(event)
    contracts.on_quote_accepted(event)


@hookimpl
def register_periodic_jobs():
    from . import services

    return [PeriodicJob("follow_up", "*/15 * * * *", services.send_due_follow_ups),
            PeriodicJob("reserve_parts", "0 18 * * *", services.reserve_parts_for_tomorrow)]


@hookimpl
def register_demo_tenants():
    from .demo import STORES, load_demo

    return [DemoTenant(slug="dealer", name="申城汽车集团", stores=STORES, load=load_demo,
                       description="4S店：预约、维修工单、质检、回访与CSI")]


@hookimpl
def plugin_enabled(tenant, first_time):
    from . import seed

    if first_time:
        seed.seed_defaults()


@hookimpl
def register_message_templates():
    from .messages import TEMPLATES

    return list(TEMPLATES)


@hookimpl
def register_report_sources():
    from .report_sources import sources

    return sources()


@hookimpl
def plugin_upgraded(tenant, from_version, to_version):
    from . import seed

    seed.upgrade(from_version)
