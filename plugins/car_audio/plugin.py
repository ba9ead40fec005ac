"""The car-audio plugin's metadata and hook implementations (re-exported by the package, which pluggy registers)."""
from pathlib import Path

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields

from storecrm.sdk import (AssetPanel, AssetType, CustomerPanel, DemoTenant, EngineEntity, FieldPreset, NavItem,
                          PeriodicJob, Permission, PluginInfo, QuoteAccepted, RuleTrigger, SurveyAnswered, hookimpl)

from . import models  # noqa: F401  (maps the tables when the plugin loads)
from . import labels, services  # services registers the follow-up timer handler

HERE = Path(__file__).resolve().parent


PLUGIN = PluginInfo(
    name="car_audio",
    label={"zh_CN": "汽车音响改装", "en": "Car audio install"},
    version="0.1.0",
    core=">=0.1,<1",
    description={"zh_CN": "方案报价、施工派工、调音记录、完工验收、售后回访与满意度看板。",
                 "en": "Package quotes, install jobs with bays and technicians, tuning records, acceptance, "
                       "follow-up and satisfaction dashboards."},
    author="StoreCRM",
    requires=(),
    migrations=str(HERE / "migrations"),
    translations=str(HERE / "translations"),
)

VIEW, WORK, MANAGE = "car_audio.view", "car_audio.work", "car_audio.manage"


@hookimpl
def register_permissions():
    group = _l("Car audio")
    return [Permission(VIEW, _l("View install jobs"), group),
            Permission(WORK, _l("Work on install jobs (install, tune, photos)"), group),
            Permission(MANAGE, _l("Quote, book, QC and deliver install jobs"), group)]


@hookimpl
def register_default_grants():
    return {"admin": [VIEW, WORK, MANAGE], "manager": [VIEW, WORK, MANAGE], "advisor": [VIEW, MANAGE],
            "technician": [VIEW, WORK]}


@hookimpl
def register_nav_items():
    return [NavItem("car_audio.jobs", _l("Car audio"), "speaker", VIEW, 25)]


@hookimpl
def register_blueprints():
    from .views import bp
    return [bp]


@hookimpl
def register_api_blueprints():
    from .api import blp
    return [blp]


class AudioSystemAttributes(Schema):
    vehicle_id = fields.Integer(load_default=None, allow_none=True, metadata={"label": _l("Vehicle")})


@hookimpl
def register_asset_types():
    return [AssetType("audio_system", _l("Audio system"), AudioSystemAttributes)]


@hookimpl
def register_field_presets():
    return [FieldPreset("customer", "music_preference", _l("Music preference"), "multi_select", labels.MUSIC),
            FieldPreset("customer", "budget_range", _l("Budget range"), "select", labels.BUDGETS),
            FieldPreset("customer", "preferred_brands", _l("Preferred brands"), "text")]


@hookimpl
def register_engine_entities():
    from .models import InstallJob
    return [EngineEntity(
        "car_audio_job", _l("Install jobs"), InstallJob,
        {"status": (_l("Status"), "text"), "delivered_on": (_l("Delivered on"), "date"),
         "package_tier": (_l("Package"), "text"), "rework_count": (_l("Reworks"), "number"),
         "store_id": (_l("Store"), "store")},
        lambda job: job.number or str(job.id), lambda job: f"/car-audio/jobs/{job.id}",
        customer_id=lambda job: job.customer_id, store_id=lambda job: job.store_id, workflow=False,
        view_permission=VIEW)]


@hookimpl
def register_rule_triggers():
    return [RuleTrigger("car_audio_job_changed", _l("Install job changed"), "car_audio_job")]


@hookimpl
def register_kpis():
    from . import reports
    return reports.kpis()


@hookimpl
def register_dashboard_widgets():
    from . import reports
    return reports.widgets()


@hookimpl
def register_customer_panels():
    return [CustomerPanel("car_audio.jobs", _l("Car audio install jobs"), "car_audio/_customer_panel.html",
                          lambda customer: {"jobs": services.jobs_of_customer(customer.id),
                                            "statuses": labels.STATUSES, "tiers": labels.TIERS}, VIEW, 40)]


@hookimpl
def register_asset_panels():
    def context(asset):
        system_id = asset.id if asset.type == "audio_system" else None
        if system_id is None:
            jobs = services.jobs_of_asset(asset.id)
            system_id = next((j.audio_system_id for j in jobs if j.audio_system_id), None)
        from flask import request
        from flask_login import current_user

        from .views import cards_of
        components = services.components_of(system_id)
        return {"components": components, "cards": cards_of(components), "next": request.path,
                "work": current_user.has_permission("car_audio.work"),
                "tunings": services.tunings_of(system_id)[:3],
                "jobs": services.jobs_of_asset(asset.id), "kinds": labels.COMPONENT_KINDS,
                "positions": labels.POSITIONS, "statuses": labels.STATUSES}
    return [AssetPanel("car_audio.system", _l("Audio system"), "car_audio/_asset_panel.html", context, VIEW, 30)]


@hookimpl
def register_periodic_jobs():
    return [PeriodicJob("warranty_reminders", "0 2 * * *", services.warranty_reminders)]


@hookimpl
def register_demo_tenants():
    from . import demo
    return [DemoTenant(slug="car-audio", name="声浪汽车音响改装", load=demo.load,
                       stores=({"code": "XH01", "name": "徐汇店", "city": "上海"},
                               {"code": "PD02", "name": "浦东店", "city": "上海"}),
                       description="汽车音响改装连锁：套餐报价、施工派工、调音记录、回访满意度")]


@hookimpl
def plugin_enabled(tenant, first_time):
    if first_time:
        from . import seeding
        seeding.seed()


@hookimpl
def storecrm_event(event):
    if isinstance(event, QuoteAccepted):
        services.quote_accepted(event)
    elif isinstance(event, SurveyAnswered):
        services.survey_answered(event)


@hookimpl
def customer_erasure(customer):
    services.erase_customer_data(customer.id)
