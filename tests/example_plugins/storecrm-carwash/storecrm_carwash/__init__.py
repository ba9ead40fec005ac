"""Car wash (洗车): an example third-party StoreCRM plugin — a model, a page, an API, a rule action, a KPI."""
from pathlib import Path

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from storecrm.sdk import (CustomerPanel, DemoTenant, ImportMapping, Kpi, NavItem, PeriodicJob, Permission, PluginInfo,
                          RuleAction, RuleCondition, RuleTrigger, hookimpl)

from . import models  # noqa: E402,F401  (maps the tables when the plugin loads)

HERE = Path(__file__).resolve().parent


class CarWashSettings(Schema):
    default_price = fields.Decimal(load_default="39.00", as_string=True, places=2,
                                   validate=validate.Range(min=0, max=10000),
                                   metadata={"label": _l("Default price")})
    loyalty_every = fields.Integer(load_default=10, validate=validate.Range(min=2, max=100),
                                   metadata={"label": _l("Every Nth wash is free")})
    send_receipt = fields.Boolean(load_default=True, metadata={"label": _l("Send a receipt by SMS")})
    # a credential: sealed at rest, shown as a mask, never audited in clear (docs/plugins.md "Settings")
    receipt_api_key = fields.String(load_default="", validate=validate.Length(max=200),
                                    metadata={"label": _l("Receipt printer API key"), "secret": True})


PLUGIN = PluginInfo(
    name="carwash",
    label={"zh_CN": "洗车", "en": "Car wash"},
    version="1.0.0",
    core=">=0.1,<1",
    description={"zh_CN": "登记洗车服务，统计洗车次数与收入。", "en": "Record washes, count them and their revenue."},
    author="StoreCRM examples",
    settings_schema=CarWashSettings,
    migrations=str(HERE / "migrations"),
    translations=str(HERE / "translations"),
)


@hookimpl
def register_permissions():
    return [Permission("carwash.view", _l("View car washes"), _l("Car wash")),
            Permission("carwash.record", _l("Record car washes"), _l("Car wash"))]


@hookimpl
def register_default_grants():
    return {"admin": ["carwash.view", "carwash.record"], "manager": ["carwash.view", "carwash.record"],
            "advisor": ["carwash.view", "carwash.record"], "technician": ["carwash.view"]}


@hookimpl
def register_nav_items():
    return [NavItem("carwash.index", _l("Car wash"), "droplet", "carwash.view", 20)]


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def register_api_blueprints():
    from .api import blp

    return [blp]


@hookimpl
def register_kpis():
    from . import services

    return [Kpi("carwash.washes_this_month", _l("Washes this month"),
                _l("Car washes recorded since the first day of this month."),
                lambda user: services.washes_this_month(), "carwash.view")]


@hookimpl
def register_rule_actions():
    from . import services

    class Params(Schema):
        wash_type = fields.String(load_default="basic", validate=validate.OneOf(["basic", "premium"]))

    return [RuleAction("carwash.free_wash", _l("Give a free car wash"), Params,
                       lambda customer, params: services.record_wash(customer.id, params["wash_type"], free=True))]


@hookimpl
def register_rule_triggers():
    return [RuleTrigger("carwash.washed", _l("A car wash was recorded"), "customer")]


@hookimpl
def register_rule_conditions():
    from . import services

    return [RuleCondition("carwash.washes_at_least", _l("Washed at least N times"),
                          lambda customer, value: services.wash_count(customer.id) >= int(value or 0),
                          lambda model, value: services.wash_count_sql(model) >= int(value or 0))]


@hookimpl
def register_customer_panels():
    from . import services

    return [CustomerPanel("carwash.history", _l("Car washes"), "carwash/panel.html",
                          lambda customer: {"washes": services.washes_of(customer.id)}, "carwash.view", 50)]


@hookimpl
def register_import_mappings():
    from . import services

    return [ImportMapping(
        "carwash.washes", _l("Car washes"),
        columns={"手机号": "mobile", "客户手机": "mobile", "洗车类型": "wash_type", "类型": "wash_type",
                 "wash type": "wash_type", "洗车日期": "washed_on", "日期": "washed_on", "date": "washed_on",
                 "价格": "price", "金额": "price", "price": "price"},
        fields={"mobile": _l("Customer mobile"), "wash_type": _l("Wash type"), "washed_on": _l("Wash date"),
                "price": _l("Price")},
        schema=services.WashImportRow, upsert=services.import_wash, customer_by=("mobile",),
        permission="carwash.record")]


@hookimpl
def register_periodic_jobs():
    from . import services

    return [PeriodicJob("monthly_summary", "0 3 1 * *", services.monthly_summary)]


@hookimpl
def register_demo_tenants():
    from . import services

    return [DemoTenant(slug="carwash-demo", name="亮晶晶洗车", load=services.load_demo,
                       stores=({"code": "JA01", "name": "静安店", "city": "上海"},))]


@hookimpl
def plugin_enabled(tenant, first_time):
    from . import services

    if first_time:
        services.seed_wash_types()


@hookimpl
def customer_erasure(customer):
    from . import services

    services.erase_customer_data(customer.id)
