"""Every hook StoreCRM offers. Each docstring says when it is called, with what, and what it returns.

Two kinds of hook:
- registration hooks (`register_*`, `validate_config`) run once at start-up for every
  *installed* plugin; what they return is remembered together with the plugin's name, so
  that the core can hide it for tenants that have not enabled the plugin;
- tenant hooks (lifecycle and data events) run inside a tenant's scope and reach only the
  plugins *enabled* for that tenant.

An implementation may accept only the arguments it needs. The data classes named here are imported from
`storecrm.sdk`, the one module a plugin uses. The core registers its own
permissions, navigation and pages through these same hooks (`storecrm.core_plugin`).
docs/plugins.md has the reference; tests/test_hooks_documented.py keeps the two in step.
"""
from . import hookspec

# --- start-up ------------------------------------------------------------------------------


@hookspec
def validate_config(config):
    """At start-up, with the Flask config. Return a list of error strings (empty when fine); the app refuses to start."""


# --- registration (once, for installed plugins) --------------------------------------------


@hookspec
def register_permissions():
    """Return a list of `Permission` (storecrm.sdk) this plugin defines."""


@hookspec
def register_default_grants():
    """Return {built-in role code: [permission codes]}; applied to a tenant's roles when the plugin is first enabled."""


@hookspec
def register_blueprints():
    """Return Flask blueprints of tenant pages; mounted under /t/<tenant>; 404 for tenants without the plugin."""


@hookspec
def register_api_blueprints():
    """Return flask-smorest blueprints; mounted under /api/v1 (+ their url_prefix); 404 without the plugin."""


@hookspec
def register_nav_items():
    """Return `NavItem` objects; shown to users holding their permission, where the plugin is on."""


@hookspec
def register_asset_types():
    """Return `AssetType` objects (vehicle, audio system, smart device …)."""


@hookspec
def register_identity_kinds():
    """Return `IdentityKind` objects (code, label, normalize) for One-ID matching."""


@hookspec
def register_extensible_entities():
    """Return `ExtensibleEntity` objects: this plugin's records that take custom fields.

    The plugin stores values in a JSONB column of its own table and validates them with
    `storecrm.sdk.validate_custom_values(entity_code, raw, user=…, current=…)`.
    """


@hookspec
def register_field_presets():
    """Return `FieldPreset` objects: custom fields seeded when the plugin is enabled."""


@hookspec
def register_engine_entities():
    """Return `EngineEntity` objects: record types workflows and automation rules work on."""


@hookspec
def register_workflows():
    """Return `WorkflowDefinition` objects offered as defaults to tenants."""


@hookspec
def register_rule_triggers():
    """Return `RuleTrigger` objects the automation rules may start from."""


@hookspec
def register_rule_conditions():
    """Return `RuleCondition` objects usable in rule condition trees."""


@hookspec
def register_rule_actions():
    """Return `RuleAction` objects (e.g. issue a coupon) that rules may run."""


@hookspec
def register_notification_channels():
    """Return `NotificationChannel` objects (e.g. an SMS provider)."""


@hookspec
def register_message_templates():
    """Return `MessageTemplate` objects: the messages this plugin sends with `send_template` (editable wording)."""


@hookspec
def register_kpis():
    """Return `Kpi` objects: a definition and a function computing the value in SQL."""


@hookspec
def register_report_sources():
    """Return `ReportSource` objects: record types the report builder offers, with their dimensions and measures."""


@hookspec
def register_dashboard_widgets():
    """Return `DashboardWidget` objects shown on the home dashboard."""


@hookspec
def register_customer_panels():
    """Return `CustomerPanel` objects rendered on the customer page."""


@hookspec
def register_timeline_sources():
    """Return `TimelineSource` objects: your records on a customer's timeline, as selects the core unions into one
    statement per page."""


@hookspec
def register_asset_panels():
    """Return `AssetPanel` objects rendered on an asset's page."""


@hookspec
def register_lead_panels():
    """Return `LeadPanel` objects rendered on a lead's page."""


@hookspec
def register_import_mappings():
    """Return `ImportMapping` objects: column maps for imports of this plugin's data."""


@hookspec
def register_cli_commands():
    """Return click commands or groups; added to the `flask` command line."""


@hookspec
def register_demo_tenants():
    """Return `DemoTenant` objects: demo tenants with this plugin on that `flask demo load` (and so `make run`)
    creates once each, next to the core's `demo` tenant."""


@hookspec
def register_periodic_jobs():
    """Return `PeriodicJob` objects; each runs on its schedule once per tenant with the plugin on."""


# --- tenant hooks (only plugins enabled for the current tenant) ----------------------------


@hookspec
def plugin_enabled(tenant, first_time):
    """Called on this plugin alone when a tenant enables it, inside that tenant; seed defaults when first_time is True."""


@hookspec
def plugin_disabled(tenant):
    """Called on this plugin alone when a tenant disables it, inside that tenant. Data must be kept."""


@hookspec
def plugin_upgraded(tenant, from_version, to_version):
    """Called on this plugin alone, inside a tenant that ran `from_version` of it, once `to_version` is installed
    (at `flask db upgrade`, or when the tenant switches it back on); new default grants are already applied."""


@hookspec
def storecrm_event(event):
    """Every event (`storecrm.events`: the core's, and plugins' own), in the transaction of the change. Return nothing."""


@hookspec
def customer_created(customer):
    """After a customer is created (same transaction). Return nothing."""


@hookspec
def customer_changed(customer, changes):
    """After a customer is changed (same transaction); changes is {field: [before, after]}. Return nothing."""


@hookspec
def customer_merged(survivor, merged):
    """After customer `merged` was merged into `survivor` (same transaction). Move this plugin's rows over."""


@hookspec
def customer_unmerged(survivor, restored):
    """After a merge was undone (same transaction): `restored` lives again. Move back what this plugin moved."""


@hookspec
def asset_created(asset):
    """After an asset is created (same transaction). Return nothing."""


@hookspec
def asset_changed(asset, changes):
    """After an asset is changed, not created (same transaction); changes is {field: [before, after]}."""


@hookspec
def customer_timeline(customer, before, limit):
    """For entries no select can give (an outside service's): return up to `limit` `TimelineEntry`, newest first,
    older than `before` (None: now). Records in your tables belong in `register_timeline_sources`: each
    implementation of this hook costs every page a statement of its own."""


@hookspec
def dispatch_signals(job, user_ids):
    """Dispatch ranking: return `{user_id: (points, reason)}` to add to the candidates `user_ids` for `job` (a dict:
    store_id, skills, region, at, customer_id, asset_id); the reason is shown to staff in their language."""


@hookspec
def customer_erasure(customer):
    """Before a customer is erased for good (PIPL request): delete or anonymise this plugin's personal data."""


# --- entitlements ---------------------------------------------------------------------------


@hookspec(firstresult=True)
def plugin_allowed(tenant, plugin_name):
    """Whether `tenant` may enable `plugin_name` (billing plans answer this). Return True/False, or None for no opinion."""


@hookspec
def check_quota(resource, adding, field):
    """Before `adding` more of `resource` ("stores", "seats", "customers") are added in the current tenant: raise
    `marshmallow.ValidationError({field: [message]})` to refuse (a plan's limit). Return nothing."""


@hookspec(firstresult=True)
def quota_room(resource):
    """How many more of `resource` the current tenant may add (a bulk import stops there); None for no limit."""


# --- requests and pages ---------------------------------------------------------------------


@hookspec
def register_public_blueprints():
    """Return Flask blueprints mounted at the site root, outside every tenant (signup, payment webhooks, a console)."""


@hookspec
def request_guard(tenant, api):
    """Before each request inside `tenant` (pages; API calls once the token is checked, with `api` True): raise a
    werkzeug `HTTPException` (e.g. `Forbidden(description=…)`) to refuse it. Return nothing."""


@hookspec
def page_banners(user):
    """On every signed-in page: return `Banner(code, level, message)` objects shown above the content."""


# --- customers' own pages and online payment (added for the China channels) ----------------------------------------


@hookspec(firstresult=True)
def public_visitor(customer):
    """A customer's own public page (member card, booking, survey, tracking, quote) is about to be shown: return a
    response to send instead (e.g. a redirect to sign in with WeChat and bind the visitor) or None."""


@hookspec(firstresult=True)
def online_payment_url(purpose, reference_id, customer, amount, return_url):
    """A page offers the customer to pay online for `purpose` of record `reference_id`: return the URL of the payment
    page (amount None: the customer chooses), or None when no payment provider is on."""


# --- oa25: a customer's address on a plugin's channel ------------------------------------------------------------


@hookspec(firstresult=True)
def customer_address(customer, channel):
    """Return the recipient of `customer` on notification `channel` that this plugin delivers (the WeChat openid
    bound to them for "wechat"), or None: the core's own messages (booking confirmations, reminders) then also go
    there."""


# --- pay25: online refunds of quote deposits, collecting at the till ------------------------------------------------


@hookspec(firstresult=True)
def online_payment_refund(method, reference, amount, reason):
    """Staff give back `amount` of money a customer paid online by `method` ("wechat_pay"; `reference` the provider's
    transaction id): ask the provider and return True (it confirms later), or None when `method` is not yours.
    Raise marshmallow.ValidationError to refuse."""


@hookspec(firstresult=True)
def till_payment_url(purpose, reference_id, amount):
    """Staff collect `amount` for `purpose` of record `reference_id` at the till (e.g. a WeChat Pay QR code the customer
    scans): return the URL the staff page's form posts to, or None when no payment provider is on."""
