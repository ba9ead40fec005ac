"""The core's own contributions, registered through the same hooks plugins use."""
from flask import g
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from .access.views import bp as access_bp
from .activities import timeline as activities
from .activities.services import open_tasks_of_customer
from .activities.views import bp as activities_bp
from .api import core_blueprints
from .assets.models import Asset
from .assets.schemas import AssetSchema
from .assets.services import asset_types, assets_of, identifiers_of, update_asset
from .assets.types import CORE_TYPES
from .assets.views import bp as assets_bp
from .shell.audit_page import bp as audit_bp
from .auth.views import bp as auth_bp
from .customers import services as customers
from .customers.models import Customer
from .customers.schemas import CustomerSchema
from .customers.services import update_customer
from .customers.views import bp as customers_bp
from .erasure.views import bp as erasure_bp
from .fields.views import bp as fields_bp
from .files.views import bp as files_bp
from .hooks.contrib import AssetPanel, CustomerPanel, EngineEntity, Kpi, Permission
from .hooks import hookimpl
from .imports.views import bp as imports_bp
from .notifications.template_views import bp as templates_bp
from .notifications.views import bp as notifications_bp
from .notifications.webhook_views import bp as webhooks_bp
from .plugin_host.views import bp as plugins_bp
from .rules import timeline as rules
from .rules.views import bp as rules_bp
from .shell.views import bp as web_bp
from .stores.views import bp as stores_bp
from .users.services import list_users
from .users.views import bp as users_bp
from .web.nav import NavItem
from .workflow.builtins import BUILTINS
from .workflow.views import bp as workflow_bp
from .workflow.views import panel_context
from .workspace.views import bp as tenancy_bp

G_ADMIN = _l("Administration")
G_CUSTOMERS = _l("Customers")


@hookimpl
def register_permissions():
    return [
        Permission("tenant.settings", _l("Edit tenant settings"), G_ADMIN),
        Permission("stores.view", _l("View stores"), G_ADMIN),
        Permission("stores.manage", _l("Create and edit stores"), G_ADMIN),
        Permission("users.view", _l("View staff"), G_ADMIN),
        Permission("users.manage", _l("Create and edit staff"), G_ADMIN),
        Permission("roles.manage", _l("Edit roles and permissions"), G_ADMIN),
        Permission("audit.view", _l("View the audit log"), G_ADMIN),
        Permission("fields.manage", _l("Define custom fields"), G_ADMIN),
        Permission("plugins.manage", _l("Switch modules on and off, edit their settings"), G_ADMIN),
        Permission("webhooks.manage", _l("Manage webhooks to other systems"), G_ADMIN),
        Permission("workflows.manage", _l("Define workflows; send any item back"), G_ADMIN),
        Permission("rules.manage", _l("Define automation rules"), G_ADMIN),
        Permission("customers.view", _l("View customers"), G_CUSTOMERS),
        Permission("customers.manage", _l("Create and edit customers"), G_CUSTOMERS),
        Permission("customers.contact", _l("See customers' full phone and email"), G_CUSTOMERS),
        # PIPL erasure cannot be undone: owner and admin only by default (docs/customers.md, "Erasure (PIPL)")
        Permission("customers.erase", _l("Erase a customer's personal data for good (PIPL)"), G_CUSTOMERS),
    ]


@hookimpl
def register_default_grants():
    # owner always holds every permission; these are the starting sets, editable per tenant.
    everything_but_roles = ["tenant.settings", "stores.view", "stores.manage", "users.view", "users.manage",
                            "audit.view", "customers.view", "customers.manage", "customers.contact",
                            "plugins.manage", "fields.manage", "webhooks.manage", "workflows.manage", "rules.manage"]
    return {
        "admin": everything_but_roles + ["roles.manage", "customers.erase"],
        "manager": ["stores.view", "users.view", "audit.view", "customers.view", "customers.manage",
                    "customers.contact"],
        "advisor": ["stores.view", "customers.view", "customers.manage", "customers.contact"],
        "technician": ["stores.view", "customers.view"],
    }


@hookimpl
def register_nav_items():
    return [
        NavItem("customers.index", _l("Customers"), "people", "customers.view", 10),
        NavItem("assets.index", _l("Assets"), "car-front", "customers.view", 12),
        NavItem("activities.my_tasks", _l("My tasks"), "check2-square", None, 15),
        NavItem("workflow.queue", _l("My queue"), "kanban", None, 16),
        NavItem("stores.index", _l("Stores"), "shop", "stores.view", 10, "admin"),
        NavItem("users.index", _l("Staff"), "person-badge", "users.view", 20, "admin"),
        NavItem("access.roles", _l("Roles"), "shield-lock", "roles.manage", 30, "admin"),
        NavItem("audit.index", _l("Audit log"), "journal-text", "audit.view", 40, "admin"),
        NavItem("fields.index", _l("Custom fields"), "ui-checks", "fields.manage", 42, "admin"),
        NavItem("plugins.index", _l("Modules"), "puzzle", "plugins.manage", 45, "admin"),
        NavItem("workflow.index", _l("Workflows"), "diagram-3", "workflows.manage", 43, "admin"),
        NavItem("rules.index", _l("Automation rules"), "lightning-charge", "rules.manage", 44, "admin"),
        NavItem("webhooks.index", _l("Webhooks"), "broadcast", "webhooks.manage", 47, "admin"),
        NavItem("templates.index", _l("Message templates"), "chat-square-text", "tenant.settings", 48, "admin"),
        NavItem("tenancy.settings", _l("Settings"), "gear", "tenant.settings", 50, "admin"),
    ]


@hookimpl
def register_blueprints():
    return [web_bp, auth_bp, stores_bp, users_bp, access_bp, audit_bp, customers_bp, activities_bp, assets_bp,
            imports_bp, fields_bp, files_bp, notifications_bp, webhooks_bp, templates_bp, tenancy_bp, plugins_bp,
            workflow_bp, rules_bp, erasure_bp]


@hookimpl
def register_api_blueprints():
    return core_blueprints()


@hookimpl
def register_kpis():
    return [
        Kpi("customers.total", _l("Customers"), _l("Live customer records you may see."),
            lambda user: customers.count_customers(user), "customers.view"),
        Kpi("customers.new_this_month", _l("New this month"),
            _l("Customers created since the first day of this month (tenant time zone)."),
            lambda user: customers.count_new_this_month(user), "customers.view"),
    ]


@hookimpl
def register_asset_types():
    return CORE_TYPES


@hookimpl
def register_engine_entities():
    def change_customer(user, customer, data):
        # rules and workflow steps send raw values: the same schema as the customer form checks them

        plain = {k: v for k, v in data.items() if k != "custom"}
        checked = CustomerSchema(partial=True).load(plain) if plain else {}
        if "custom" in data:
            checked["custom"] = data["custom"]
        return update_customer(user, customer, {"store_id": customer.store_id, **checked})

    def change_asset(user, asset, data):
        plain = {k: v for k, v in data.items() if k != "custom"}
        checked = AssetSchema(partial=True).load(plain) if plain else {}
        current = {k: getattr(asset, k) for k in ("type", "name", "store_id", "purchased_on", "installed_on",
                                                    "warranty_until", "notes")}
        return update_asset(user, asset, {**current, "attributes": asset.attributes,
                                          "identifiers": identifiers_of([asset.id]).get(asset.id, {}), **checked,
                                          **({"custom": data["custom"]} if "custom" in data else {})})

    customer_fields = {
        "name": (_l("Name"), "text"), "level": (_l("Level"), "text"), "tags": (_l("Tags"), "tags"),
        "status": (_l("Status"), "text"), "store_id": (_l("Store"), "store"), "city": (_l("City"), "text"),
        "source": (_l("Source"), "text"), "gender": (_l("Gender"), "text"), "birthday": (_l("Birthday"), "date"),
        "created_at": (_l("Created"), "datetime"),
    }
    asset_fields = {
        "type": (_l("Type"), "text"), "name": (_l("Name"), "text"), "store_id": (_l("Store"), "store"),
        "purchased_on": (_l("Purchased on"), "date"), "installed_on": (_l("Installed on"), "date"),
        "warranty_until": (_l("Warranty until"), "date"), "created_at": (_l("Created"), "datetime"),
    }
    return [
        EngineEntity("customer", _l("Customers"), Customer, customer_fields, lambda c: c.name,
                     lambda c: f"/customers/{c.id}", customer_id=lambda c: c.id,
                     update=change_customer),
        EngineEntity("asset", _l("Assets"), Asset, asset_fields, lambda a: a.name,
                     lambda a: f"/assets/{a.id}", customer_id=lambda a: a.customer_id,
                     update=change_asset),
    ]


@hookimpl
def register_workflows():
    return list(BUILTINS)


def _assets_panel(customer) -> dict:
    owned = assets_of(customer.id)
    return {"assets": owned, "asset_identifiers": identifiers_of([a.id for a in owned]), "asset_types": asset_types()}


def _activities_panel(customer) -> dict:
    form, errors = g.get("activity_errors") or (None, {})  # set when a task or interaction was refused
    return {"open_tasks": open_tasks_of_customer(customer.id), "form": form, "errors": errors,
            "staff": [u for u in list_users(current_user) if u.active]}


@hookimpl
def register_customer_panels():
    return [
        CustomerPanel("assets.list", _l("Assets"), "assets/_customer_panel.html", _assets_panel, None, 10,
                      position="summary", framed=False),
        CustomerPanel("activities.open", _l("Open tasks"), "activities/_customer_panel.html", _activities_panel,
                      None, 20, position="summary", framed=False),
        CustomerPanel("workflow.items", _l("Workflows"), "workflow/_panel.html",
                      lambda customer: panel_context("customer", customer), None, 20),
    ]


@hookimpl
def register_asset_panels():
    return [AssetPanel("workflow.items", _l("Workflows"), "workflow/_panel.html",
                       lambda asset: panel_context("asset", asset), None, 20)]


@hookimpl
def customer_timeline(customer, before, limit):
    """The core's own timeline sources besides the record's changes: interactions, tasks and rule firings."""
    return activities.timeline_entries(customer, before, limit) + rules.timeline_entries(customer, before, limit)
