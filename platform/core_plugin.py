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
from .catalog import services as catalog
from .catalog import transfer as catalog_sheets
from .catalog.views import bp as catalog_bp
from .auth.views import bp as auth_bp
from .customers import services as customers
from .customers import timeline as customers_timeline
from .customers.models import Customer
from .customers.schemas import CustomerSchema
from .customers.services import update_customer
from .customers.views import bp as customers_bp
from .erasure.views import bp as erasure_bp
from .fields.views import bp as fields_bp
from .files.views import bp as files_bp
from .hooks.contrib import (AssetPanel, CustomerPanel, DashboardWidget, EngineEntity, ExtensibleEntity, ImportMapping,
                            Kpi, Permission, RuleAction, RuleTrigger)
from .hooks import hookimpl
from .imports.views import bp as imports_bp
from .leads import services as leads
from .leads import timeline as lead_timeline
from .leads import kpis as lead_kpis
from .leads.entity import LEAD as LEAD_ENTITY
from .leads.importing import MAPPING as LEAD_IMPORT
from .leads.public import bp as lead_public_bp
from .leads.views import bp as leads_bp
from .notifications.template_views import bp as templates_bp
from .notifications.views import bp as notifications_bp
from .notifications.webhook_views import bp as webhooks_bp
from .plugin_host.views import bp as plugins_bp
from .reports import core_kpis, rfm, sales_kpis
from .reports.sources import core_sources as report_sources
from .reports.views import bp as reports_bp
from .reports.widgets import my_day
from .rules import timeline as rules
from .rules.views import bp as rules_bp
from .scheduling import timeline as scheduling
from .scheduling.public import bp as booking_bp
from .scheduling.views import bp as scheduling_bp
from .sales import registration as sales
from .sales import timeline as sales_timeline
from .sales.views import bp as sales_bp
from .sales.views import public_bp as sales_public_bp
from .shell.audit_page import bp as audit_bp
from .shell.views import bp as web_bp
from .stock import services as stock
from .stock.models import StockLevel
from .stock.views import bp as stock_bp
from .stores.views import bp as stores_bp
from .surveys import kpis as survey_kpis
from .surveys import services as surveys
from .surveys import timeline as survey_timeline
from .surveys.schemas import SendSurveyParams
from .surveys.views import bp as surveys_bp
from .surveys.views import public_bp as survey_page_bp
from .users.services import list_users
from .users.views import bp as users_bp
from .web.nav import NavItem
from .workflow.builtins import BUILTINS
from .workflow.views import bp as workflow_bp
from .workflow.views import panel_context
from .workspace.views import bp as tenancy_bp

G_ADMIN = _l("Administration")
G_CUSTOMERS = _l("Customers")
G_STOCK = _l("Catalog and stock")
G_SCHEDULING = _l("Appointments")
G_REPORTS = _l("Reports and surveys")
G_LEADS = _l("Leads")


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
        Permission("catalog.view", _l("View the catalog and prices"), G_STOCK),
        Permission("catalog.manage", _l("Create and edit catalog items, categories and prices"), G_STOCK),
        Permission("stock.view", _l("View stock levels and movements"), G_STOCK),
        Permission("stock.move", _l("Receive, issue and transfer stock"), G_STOCK),
        Permission("stock.manage", _l("Manage locations, adjust stock, post counts, set reorder levels"), G_STOCK),
        Permission("scheduling.view", _l("See appointments, the calendar and dispatch"), G_SCHEDULING),
        Permission("scheduling.book", _l("Book, move and progress appointments"), G_SCHEDULING),
        Permission("scheduling.manage", _l("Set up resources, services and shifts"), G_SCHEDULING),
        Permission("reports.view", _l("View KPIs, dashboards and their records"), G_REPORTS),
        Permission("reports.manage", _l("Compose dashboards, set KPI alerts"), G_REPORTS),
        Permission("reports.build", _l("Build and save reports (report builder)"), G_REPORTS),
        Permission("surveys.view", _l("View satisfaction surveys and answers"), G_REPORTS),
        Permission("surveys.manage", _l("Define and send satisfaction surveys"), G_REPORTS),
        Permission("leads.view", _l("See leads, the pipeline and the funnel"), G_LEADS),
        Permission("leads.work", _l("Capture leads, follow up, change their status, convert, hand over"), G_LEADS),
        Permission("leads.setup", _l("Set up lead channels, campaigns and assignment rules"), G_LEADS),
    ] + sales.PERMISSIONS


@hookimpl
def register_default_grants():
    # owner always holds every permission; these are the starting sets, editable per tenant.
    everything_but_roles = ["tenant.settings", "stores.view", "stores.manage", "users.view", "users.manage",
                            "audit.view", "customers.view", "customers.manage", "customers.contact",
                            "plugins.manage", "fields.manage", "webhooks.manage", "workflows.manage", "rules.manage",
                            "catalog.view", "catalog.manage", "stock.view", "stock.move", "stock.manage",
                            "scheduling.view", "scheduling.book", "scheduling.manage",
                            "reports.view", "reports.manage", "reports.build", "surveys.view", "surveys.manage",
                            "leads.view", "leads.work", "leads.setup"]
    grants = {
        "admin": everything_but_roles + ["roles.manage", "customers.erase"],
        "manager": ["stores.view", "users.view", "audit.view", "customers.view", "customers.manage",
                    "customers.contact", "catalog.view", "catalog.manage", "stock.view", "stock.move", "stock.manage",
                    "scheduling.view", "scheduling.book", "scheduling.manage", "reports.view", "reports.build",
                    "surveys.view", "leads.view", "leads.work", "leads.setup"],
        "advisor": ["stores.view", "customers.view", "customers.manage", "customers.contact", "catalog.view",
                    "stock.view", "stock.move", "scheduling.view", "scheduling.book", "reports.view",
                    "leads.view", "leads.work"],
        # technicians take parts from their van (备件核销)
        "technician": ["stores.view", "customers.view", "catalog.view", "stock.view", "stock.move", "scheduling.view",
                       "scheduling.book"],
    }
    return {role: codes + sales.GRANTS.get(role, []) for role, codes in grants.items()}


@hookimpl
def register_nav_items():
    return [
        NavItem("customers.index", _l("Customers"), "people", "customers.view", 10),
        NavItem("assets.index", _l("Assets"), "car-front", "customers.view", 12),
        NavItem("scheduling.day", _l("Appointments"), "calendar-week", "scheduling.view", 13),
        NavItem("scheduling.my_day", _l("My day"), "person-workspace", "scheduling.view", 14),
        NavItem("leads.mine", _l("Leads"), "funnel", "leads.view", 11),
        NavItem("activities.my_tasks", _l("My tasks"), "check2-square", None, 15),
        NavItem("workflow.queue", _l("My queue"), "kanban", None, 16),
        NavItem("reports.index", _l("Reports"), "graph-up", "reports.view", 18),
        NavItem("surveys.index", _l("Surveys"), "emoji-smile", "surveys.view", 19),
        NavItem("catalog.index", _l("Catalog"), "tags", "catalog.view", 20),
        NavItem("stock.levels", _l("Stock"), "box-seam", "stock.view", 21),
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
    ] + sales.NAV


@hookimpl
def register_blueprints():
    return [web_bp, auth_bp, stores_bp, users_bp, access_bp, audit_bp, customers_bp, activities_bp, assets_bp,
            imports_bp, fields_bp, files_bp, notifications_bp, webhooks_bp, templates_bp, tenancy_bp, plugins_bp,
            workflow_bp, rules_bp, erasure_bp, catalog_bp, stock_bp, scheduling_bp, booking_bp, sales_bp,
            sales_public_bp, reports_bp, surveys_bp, survey_page_bp,
            leads_bp, lead_public_bp]


@hookimpl
def register_api_blueprints():
    return core_blueprints()


@hookimpl
def register_kpis():
    return [
        Kpi("customers.total", _l("Customers"), _l("Live customer records you may see."),
            lambda user: customers.count_customers(user), "customers.view"),
        Kpi("scheduling.wait_booked", _l("Waiting time, booked (min)"),
            _l("Average minutes from arrival to done of appointments completed this month (客户等待时长)."),
            lambda user: scheduling.average_wait(user, walk_in=False), "scheduling.view"),
        Kpi("scheduling.wait_walk_in", _l("Waiting time, walk-in (min)"),
            _l("Average minutes from arrival to done of walk-ins completed this month."),
            lambda user: scheduling.average_wait(user, walk_in=True), "scheduling.view"),
        Kpi("scheduling.no_show_rate", _l("No-show rate"),
            _l("No-shows among this month's booked appointments whose customer came or did not."),
            lambda user: scheduling.no_show_rate(user), "scheduling.view"),
        Kpi("leads.new_this_month", _l("New leads this month"),
            _l("Leads captured since the first day of this month (tenant time zone); repeat enquiries not counted."),
            lambda user: lead_timeline.new_this_month(user), "leads.view"),
        Kpi("leads.conversion_this_month", _l("Lead conversion"),
            _l("Won among the leads captured this month."),
            lambda user: lead_timeline.conversion_this_month(user), "leads.view"),
        Kpi("leads.first_contact_minutes", _l("First contact (min)"),
            _l("Average minutes from capture to first contact of this month's contacted leads."),
            lambda user: lead_timeline.average_first_contact(user), "leads.view"),
    ] + core_kpis.kpis() + lead_kpis.kpis() + sales_kpis.kpis() + survey_kpis.kpis() + rfm.kpis()


@hookimpl
def register_report_sources():
    return report_sources()


@hookimpl
def register_dashboard_widgets():
    return [DashboardWidget("core.my_day", _l("My day"), "reports/_my_day.html", None, my_day, "top", 10)]


@hookimpl
def register_rule_actions():
    return [RuleAction("surveys.send", _l("Send a satisfaction survey"), SendSurveyParams, surveys.send_from_rule)]


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
        # spend, maintained by storecrm.sales with every payment and refund
        "lifetime_spend": (_l("Lifetime spend"), "number"), "order_count": (_l("Orders"), "number"),
        "average_order_value": (_l("Average order value"), "number"),
        "first_purchase_at": (_l("First purchase"), "datetime"), "last_purchase_at": (_l("Last purchase"), "datetime"),
    }
    asset_fields = {
        "type": (_l("Type"), "text"), "name": (_l("Name"), "text"), "store_id": (_l("Store"), "store"),
        "purchased_on": (_l("Purchased on"), "date"), "installed_on": (_l("Installed on"), "date"),
        "warranty_until": (_l("Warranty until"), "date"), "created_at": (_l("Created"), "datetime"),
    }
    stock_level_fields = {
        "on_hand": (_l("On hand"), "number"), "reserved": (_l("Reserved"), "number"),
        "reorder_level": (_l("Reorder level"), "number"),
    }
    return [
        EngineEntity("customer", _l("Customers"), Customer, customer_fields, lambda c: c.name,
                     lambda c: f"/customers/{c.id}", customer_id=lambda c: c.id,
                     update=change_customer),
        EngineEntity("asset", _l("Assets"), Asset, asset_fields, lambda a: asset_titles([a])[a.id],
                     lambda a: f"/assets/{a.id}", customer_id=lambda a: a.customer_id,
                     update=change_asset, titles=asset_titles),
        # rules on stock levels start from `below_reorder_level` (the StockBelowReorderLevel event)
        EngineEntity("stock_level", _l("Stock levels"), StockLevel, stock_level_fields, stock.level_title,
                     lambda level: f"/stock/?item_id={level.item_id}", store_id=stock.level_store_id,
                     workflow=False),
        LEAD_ENTITY,
    ] + sales.ENTITIES


def asset_titles(assets) -> dict:
    """An asset as people name it: "Model Y · 沪A12345" (the plate, else the VIN), in one query for many."""
    identifiers = identifiers_of([a.id for a in assets])
    out = {}
    for asset in assets:
        ids = identifiers.get(asset.id, {})
        mark = ids.get("plate") or ids.get("vin")
        out[asset.id] = f"{asset.name} · {mark}" if mark else asset.name
    return out


@hookimpl
def register_extensible_entities():
    return [ExtensibleEntity(catalog.ENTITY, _l("Catalog items"), catalog.files_in_use)]


@hookimpl
def register_import_mappings():
    # the catalog through the core's import engine: upsert by SKU (docs/commerce.md, "Import and export")
    return [ImportMapping("catalog.items", _l("Catalog items"), columns=catalog_sheets.COLUMNS,
                          fields=catalog_sheets.FIELDS, schema=catalog_sheets.CatalogImportRow,
                          upsert=catalog_sheets.upsert, permission="catalog.manage"), LEAD_IMPORT]


@hookimpl
def register_rule_triggers():
    appointments = [RuleTrigger(code, label, "customer") for code, label in (
        ("appointment.booked", _l("Appointment booked")), ("appointment.confirmed", _l("Appointment confirmed")),
        ("appointment.arrived", _l("Customer arrived for an appointment")),
        ("appointment.completed", _l("Appointment completed")), ("appointment.no_show", _l("Appointment no-show")),
        ("appointment.cancelled", _l("Appointment cancelled")),
        ("lead.captured", _l("Lead captured (existing customer)")),
        ("lead.enquiry_repeated", _l("Lead enquired again")), ("lead.assigned", _l("Lead assigned")),
        ("lead.contacted", _l("Lead contacted")), ("lead.converted", _l("Lead converted")),
        ("lead.lost", _l("Lead lost")), ("lead.first_contact_overdue", _l("Lead first contact overdue")))]
    surveys_ = [RuleTrigger("survey_answered", _l("A satisfaction survey was answered"), "customer"),
                RuleTrigger("survey_low_score", _l("A satisfaction survey got a low score"), "customer")]
    return [RuleTrigger("below_reorder_level", _l("Stock fell to the reorder level"), "stock_level")] + \
        sales.RULE_TRIGGERS + appointments + surveys_


@hookimpl
def register_workflows():
    return list(BUILTINS) + [sales.QUOTE_APPROVAL]



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
        CustomerPanel("surveys.results", _l("Satisfaction surveys"), "surveys/_panel.html",
                      surveys.panel_context, "surveys.view", 30),
        CustomerPanel("leads", _l("Leads"), "leads/_panel.html", leads.customer_panel, "leads.view", 25),
    ] + sales.PANELS


@hookimpl
def register_asset_panels():
    return [AssetPanel("workflow.items", _l("Workflows"), "workflow/_panel.html",
                       lambda asset: panel_context("asset", asset), None, 20)]


@hookimpl
def register_timeline_sources():
    """The core's own lines of a customer's timeline: the record's changes, interactions, tasks, rule firings,
    appointments, sales, leads and surveys."""
    return (customers_timeline.SOURCES + activities.SOURCES + rules.SOURCES + scheduling.SOURCES + sales_timeline.SOURCES
            + lead_timeline.SOURCES + survey_timeline.SOURCES)
