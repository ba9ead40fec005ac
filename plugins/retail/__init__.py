"""Retail membership (门店会员): member cards and tiers, points with expiry, coupons redeemed exactly once, stored value
(储值) and purchases from the till. A built-in vertical shaped like a third-party plugin: it imports only storecrm.sdk."""
from pathlib import Path

from flask_babel import lazy_gettext as _l

from storecrm.sdk import PluginInfo, hookimpl  # noqa: F401

from . import models  # noqa: F401  (maps the tables when the plugin loads)
from . import complaints  # noqa: F401,E402  (registers the first-response timer handler)
from .settings import RetailSettings

HERE = Path(__file__).resolve().parent

PLUGIN = PluginInfo(
    name="retail",
    label={"zh_CN": "门店会员", "en": "Retail membership"},
    version="1.0.0",
    core=">=0.1,<1",
    description={"zh_CN": "会员卡与等级、积分（分批有效期）、优惠券、储值、收银台消费、营销活动对照组。",
                 "en": "Member cards and tiers, points with expiry, coupons, stored value, till purchases, campaigns."},
    author="StoreCRM",
    settings_schema=RetailSettings,
    migrations=str(HERE / "migrations"),
    translations=str(HERE / "translations"),
)


@hookimpl
def register_permissions():
    from storecrm.sdk import Permission

    group = _l("Retail membership")
    return [Permission("retail.view", _l("View members, points, coupons and stored value"), group),
            Permission("retail.till", _l("Serve members at the till (register, sell, top up, redeem)"), group),
            Permission("retail.manage", _l("Manage tiers, coupon templates and refunds of top-ups"), group)]


@hookimpl
def register_default_grants():
    return {"admin": ["retail.view", "retail.till", "retail.manage"],
            "manager": ["retail.view", "retail.till", "retail.manage"],
            "advisor": ["retail.view", "retail.till"], "technician": ["retail.view"]}


@hookimpl
def register_nav_items():
    from storecrm.sdk import NavItem

    return [NavItem("retail.index", _l("Members"), "person-badge", "retail.view", 25)]


@hookimpl
def register_blueprints():
    from .views import bp

    return [bp]


@hookimpl
def register_api_blueprints():
    from .api import blp

    return [blp]


@hookimpl
def register_identity_kinds():
    from storecrm.sdk import IdentityKind

    from .members import IDENTITY_KIND, normalize_member_no

    return [IdentityKind(IDENTITY_KIND, _l("Member number"), normalize_member_no)]


@hookimpl
def register_rule_actions():
    from marshmallow import Schema, fields

    from storecrm.sdk import RuleAction

    from .setup import issue_coupon_action

    class IssueCouponParams(Schema):
        template = fields.String(required=True, metadata={"label": _l("Coupon template code")})

    return [RuleAction("retail.issue_coupon", _l("Issue a member coupon"), IssueCouponParams, issue_coupon_action)]


@hookimpl
def register_rule_triggers():
    from storecrm.sdk import RuleTrigger

    return [RuleTrigger("retail.joined", _l("A customer became a member"), "customer"),
            RuleTrigger("retail.purchased", _l("A member bought at a till"), "customer"),
            RuleTrigger("retail.tier_changed", _l("A member's tier changed"), "customer"),
            RuleTrigger("retail.points_expiring", _l("A member's points expire in 30 days"), "customer")]


@hookimpl
def register_kpis():
    from .setup import kpis

    return kpis()


@hookimpl
def register_customer_panels():
    from .setup import customer_panel

    return [customer_panel()]


@hookimpl
def register_periodic_jobs():
    from storecrm.sdk import PeriodicJob

    from .setup import daily_points_job, daily_tier_job

    # the scheduler runs each inside the tenant; "which day" is the tenant's (tenant_today), so a batch that ends
    # on the 31st in Shanghai expires on the first run of the 1st there
    return [PeriodicJob("points_expiry", "10 * * * *", daily_points_job),
            PeriodicJob("tier_evaluation", "30 2 * * *", daily_tier_job)]


@hookimpl
def register_demo_tenants():
    from datetime import time

    from storecrm.sdk import DemoTenant

    from .setup import load_demo

    return [DemoTenant(slug="retail", name="悦享生活连锁", load=load_demo, description="门店会员：积分、优惠券、储值",
                       stores=({"code": "JA01", "name": "静安寺店", "city": "上海", "opens_at": time(10), "closes_at": time(22)},
                               {"code": "XJH2", "name": "徐家汇店", "city": "上海", "opens_at": time(10), "closes_at": time(22)},
                               {"code": "LJZ3", "name": "陆家嘴店", "city": "上海", "opens_at": time(10), "closes_at": time(22)}))]


@hookimpl
def plugin_enabled(tenant, first_time):
    if first_time:
        from flask_babel import force_locale

        from .setup import seed_defaults

        with force_locale(getattr(tenant, "locale", None) or "zh_CN"):   # rule names and texts in the tenant's words
            seed_defaults()


@hookimpl
def customer_erasure(customer):
    from sqlalchemy import select

    from storecrm.sdk import db, scrub_audit

    from .models import Member

    ids = list(db.session.scalars(select(Member.id).where(Member.customer_id == customer.id)))
    scrub_audit("retail_member", ids)


@hookimpl
def customer_merged(survivor, merged):
    """The merged record's card moves to the survivor when the survivor has none (one person, one card); when both
    were members, both cards stay, each on its own record history, and staff see the survivor's."""
    from sqlalchemy import update

    from storecrm.sdk import db

    from .members import member_of_customer
    from .models import Complaint, Member

    if member_of_customer(survivor.id) is None:
        db.session.execute(update(Member).where(Member.customer_id == merged.id).values(customer_id=survivor.id)
                           .execution_options(synchronize_session=False))
    db.session.execute(update(Complaint).where(Complaint.customer_id == merged.id).values(customer_id=survivor.id)
                       .execution_options(synchronize_session=False))


@hookimpl
def register_import_mappings():
    from storecrm.sdk import ImportMapping

    from .importing import COLUMNS, FIELDS, PurchaseRow, import_purchase

    return [ImportMapping("retail.purchases", _l("Member purchases (daily till file)"), columns=COLUMNS, fields=FIELDS,
                          schema=PurchaseRow, upsert=import_purchase, permission="retail.till")]


@hookimpl
def register_message_templates():
    from .messages import TEMPLATES

    return list(TEMPLATES)


@hookimpl
def storecrm_event(event):
    from storecrm.sdk import OnlinePaymentReceived, OnlinePaymentRefunded, OnlinePaymentRefundRequested

    if getattr(event, "purpose", None) != "retail.topup":
        return
    from .wallet import apply_online_refund, apply_online_topup, check_online_refund

    if isinstance(event, OnlinePaymentReceived):
        apply_online_topup(event)
    elif isinstance(event, OnlinePaymentRefundRequested):
        check_online_refund(event)        # raises ValidationError to refuse before WeChat Pay is asked
    elif isinstance(event, OnlinePaymentRefunded):
        apply_online_refund(event)
