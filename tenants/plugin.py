"""The SaaS control plane as a plugin of the core: signup, plans and their limits, Stripe billing and dunning, the
operator console. A system plugin (on for every tenant, not a module an admin switches), registered through the
`storecrm.plugins` entry point like any other; the core knows it only through these hooks, so an installation
without it — or with it and billing off — is a plain self-hosted StoreCRM."""
from __future__ import annotations

from flask import current_app, url_for
from flask_babel import format_datetime
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from ..extensions import csrf
from ..hooks.contrib import Permission
from ..hooks import hookimpl
from ..hooks.contrib import Banner, DashboardWidget
from ..hooks.info import PluginInfo
from ..web.nav import NavItem
from . import billing, jobs, models  # noqa: F401  (maps the tables; declares Stripe and dunning actors)
from . import entitlements
from .api import blp, signup_blp
from .checklist import steps
from .cli import operators_cli, tenants_cli
from .guards import guard
from .ops_views import bp as ops_bp
from .views import billing_bp, signup_bp, stripe_bp

PLUGIN = PluginInfo(
    name="control_plane", label={"zh_CN": "注册、套餐与计费", "en": "Signup, plans and billing"}, version="1.0",
    core=">=0", description={"zh_CN": "自助注册、套餐限额、Stripe 计费与催缴、运营后台",
                             "en": "Self-serve signup, plan limits, Stripe billing and dunning, the operator console"},
    system=True, translations=None, migrations=None)

@hookimpl
def register_permissions():
    return [Permission("billing.manage", _l("See the plan and usage, manage billing"), _l("Administration"))]


@hookimpl
def register_public_blueprints():
    csrf.exempt(stripe_bp)  # Stripe signs its requests; there is no form and no session
    return [signup_bp, stripe_bp, ops_bp]


@hookimpl
def register_blueprints():
    return [billing_bp]


@hookimpl
def register_api_blueprints():
    return [blp, signup_blp]


@hookimpl
def register_cli_commands():
    return [tenants_cli, operators_cli]


def _billing_shown() -> bool:
    """A billing page exists where Stripe is configured, or where an operator gave the tenant a plan with limits."""
    return current_app.config["STORECRM"].billing_enabled or entitlements.plan() is not None


@hookimpl
def register_nav_items():
    # in the sidebar's administration and in the user menu, which is where an owner on a phone looks for billing
    return [NavItem("billing.index", _l("Plan and billing"), "credit-card", "billing.manage", 55, "admin",
                    shown=_billing_shown),
            NavItem("billing.index", _l("Plan and billing"), "credit-card", "billing.manage", 10, "account",
                    shown=_billing_shown)]


@hookimpl
def register_dashboard_widgets():
    return [DashboardWidget("control_plane.checklist", _l("Get your workspace ready"), "tenants/_checklist.html",
                            context=lambda user: (lambda found: None if found is None else {"steps": found})(
                                steps(user)), position="top", order=0)]


@hookimpl
def plugin_allowed(tenant, plugin_name):
    return entitlements.plugin_allowed(plugin_name)


@hookimpl
def check_quota(resource, adding, field):
    entitlements.ensure_room(resource, adding, field=field)


@hookimpl
def quota_room(resource):
    allowed = entitlements.limit(resource)
    return None if allowed is None else max(0, allowed - entitlements.usage(resource))


@hookimpl
def request_guard(tenant, api):
    guard(tenant, api)


@hookimpl
def page_banners(user):
    acct = entitlements.account()
    if acct is None or not (acct.read_only or acct.billing_status == "past_due"):
        return []
    if acct.read_only:
        level, message = "danger", _("This workspace is read-only: the last invoice is unpaid. Your data is kept.")
    else:
        when = format_datetime(acct.grace_until, "short") if acct.grace_until else "—"
        level, message = "warning", _("The last payment failed. Please pay before %(when)s to keep working.", when=when)
    link = user.has_permission("billing.manage")
    return [Banner("billing", level, message, url=url_for("billing.index") if link else None,
                   link_label=_("Plan and billing") if link else None)]


