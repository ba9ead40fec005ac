"""`storecrm.sdk` — the one public API for plugins.

A plugin (built-in vertical, third-party package or scaffolded project) imports from here and from nothing else in
`storecrm` (its tests may also use the pytest plugin `storecrm.testing`); an import-linter contract in StoreCRM's
suite enforces it. Everything else in `storecrm` is private and may change between releases; what is here keeps its
name and behaviour, and docs/plugins.md ("The SDK") documents every name with an example.

Services here are the same functions the core's own pages, API and jobs call: they check permissions where they
take a `user`, validate (raising `marshmallow.ValidationError` with field → messages), write the audit log, emit
events and run inside the current tenant and the current transaction. None of them commits: the request or job
around them does.
"""
from __future__ import annotations

# --- the contract: plugin metadata, hook marker, the data objects hooks return -----------------------------------
from ..hooks.contrib import Permission
from ..customers.identity import IdentityKind
from ..hooks import hookimpl
from ..hooks.contrib import (AssetPanel, AssetType, Banner, CustomerPanel, DashboardWidget, EngineEntity, ExtensibleEntity,
                             DemoContext, DemoTenant, FieldPreset, ImportMapping, Kpi, NotificationChannel, PeriodicJob, RuleAction,
                             RuleCondition, RuleTrigger, TimelineEntry, WorkflowDefinition)
from ..hooks.info import PluginInfo
from ..web.nav import NavItem

# --- data: the session, tenant-scoped models and their rules ------------------------------------------------------
from ..extensions import db
from ..tenancy.context import current_tenant_id
from ..tenancy.models import TenantScoped, Timestamped, as_id, get_scoped, tenant_fk, utcnow

# the core's records a plugin links to (foreign keys through `tenant_fk`, relationships, reading attributes)
from ..activities.models import Interaction, Task
from ..assets.models import Asset
from ..customers.models import Customer
from ..stores.models import Store
from ..users.models import User

# --- the tenant's calendar and money ------------------------------------------------------------------------------
from ..calendar import money, tenant_currency, tenant_now, tenant_today, tenant_zone

# --- customers, identities, assets -------------------------------------------------------------------------------
from ..customers.identities import add as add_identity
from ..customers.identities import identities_of, owners
from ..customers.identities import normalize as normalize_identity
from ..customers.services import create_customer, get_customer, search_customers, update_customer
from ..customers.services import visible as visible_customers
from ..erasure.services import scrub_audit
from ..assets.services import assets_of, create_asset, get_asset, update_asset
from ..fields.engine import definitions as custom_field_definitions
from ..fields.engine import validate_values as validate_custom_values
from ..fields.forms import custom_from_form

# --- catalog and stock (docs/commerce.md) ------------------------------------------------------------------------
from ..catalog.models import CatalogItem
from ..catalog.services import expand_package, price_for
from ..catalog.services import get_item as get_catalog_item
from ..catalog.services import item_by_sku as find_item_by_sku
from ..events import StockBelowReorderLevel
from ..stock.models import Location as StockLocation
from ..stock.services import InsufficientStock
from ..stock.services import available as stock_available
from ..stock.services import issue as issue_stock
from ..stock.services import location_for_store as stock_location_for_store
from ..stock.services import receive as receive_stock
from ..stock.services import release as release_stock
from ..stock.services import reserve as reserve_stock
from ..stock.services import return_to_stock

# --- staff, tasks, interactions -----------------------------------------------------------------------------------
from ..activities.services import create_task, log_interaction, update_task
from ..users.services import default_assignee, get_user, staff_with_role

# --- leads: capture with One-ID dedupe, lead events -----------------------------------------------------------------
from ..events import (LeadAssigned, LeadCaptured, LeadContacted, LeadConverted, LeadEnquiryRepeated, LeadEvent,
                      LeadFirstContactOverdue, LeadLost, LeadQualified)
from ..leads.models import Lead, LeadChannel
from ..leads.schemas import CaptureSchema as _CaptureSchema
from ..leads.services import capture as _capture
from ..leads.services import get_lead
from flask_babel import gettext as _gettext
from marshmallow import ValidationError as _ValidationError

# --- scheduling: shifts, free slots, booking, dispatch --------------------------------------------------------------
from ..scheduling.availability import Slot
from ..scheduling.availability import availability as free_slots
from ..scheduling.booking import SlotTaken
from ..scheduling.booking import act as appointment_action
from ..scheduling.booking import book as book_appointment
from ..scheduling.booking import reschedule as reschedule_appointment
from ..scheduling.dispatch import Recommendation, rank_technicians
from ..scheduling.models import Appointment, Resource, ServiceType
from ..scheduling.roster import on_shift, staff_on_shift

# --- audit, events, workflows, notifications, timers, files, jobs ------------------------------------------------
from ..audit.services import record as record_audit
from ..events import (AppointmentArrived, AppointmentBooked, AppointmentCancelled, AppointmentCompleted,
                      AppointmentEvent, AppointmentNoShow, AssetChanged, AssetCreated, CustomerChanged,
                      CustomerCreated, CustomerMerged, CustomerUnmerged, Event, KpiThresholdCrossed, RecordEvent,
                      SurveyAnswered, TaskCreated, WorkflowStateEntered)
from ..events import emit as emit_event
from ..rules.actions import RULE_USER as AUTOMATION
from ..workflow.engine import items_of as workflow_items_of
from ..workflow.engine import start as start_workflow
from ..notifications.outbox import send as send_message
from ..notifications.services import notify_user
from ..notifications.templates import render as render_message
from ..timers import cancel as cancel_timer
from ..timers import handler as timer_handler
from ..timers import schedule as schedule_timer
from ..files.services import accept_upload, get_file
from ..jobs import actor
from ..jobs.after_commit import after_commit
from ..plugin_host.services import plugin_settings

# --- sales: quotes and orders for a plugin's records (install jobs, repair orders, work orders) --------------------
from ..events import OrderConfirmed, OrderPaid, OrderRefunded, QuoteAccepted, QuoteExpired, QuoteSent
from ..sales import services as _sales
from ..sales.schemas import DocumentSchema as _DocumentSchema
from ..sales.services import add_line as add_document_line
from ..sales.services import confirm_order, fulfil_order
from ..sales.services import documents_from as sales_documents_of
# --- reports: the scope a KPI's query is limited to, periods in the tenant's calendar ----------------------------
from ..reports.engine import KpiScope
from ..reports.periods import Period, period_of

# --- pages and API ------------------------------------------------------------------------------------------------
from ..api.auth import api_user
from ..api.auth import requires as api_requires
from ..api.common import PageArgs, page_schema, paged, patch_load, unprocessable
from ..keyset import page as keyset_page
from ..validation import BoundedDecimal, Phone, Trimmed, finite_number, normalize_phone
from ..web.forms import flash_errors, flatten_errors, load_form, requires
from ..web.redirects import safe_next
from ..web.transactions import refuse

# --- added for smart_home ---
from ..catalog.schemas import CatalogItemSchema as _CatalogItemSchema
from ..catalog.services import create_item as _create_item
from ..stock.services import save_location as create_stock_location
from ..stock.services import send_transfer as send_stock_transfer
from ..scheduling.setup import set_staff_profile as _set_staff_profile
from ..scheduling.setup import staff_profile as _staff_profile
from ..scheduling.booking import customer_for_booking as _customer_for_booking
from ..surveys.models import SurveyInvitation, SurveyResponse
from ..surveys.services import create_survey, send_survey
from ..surveys.services import get_survey as _get_survey
from ..extensions import limiter
from ..validation import mask_phone as _mask_phone

__all__ = [
    # contract
    "PluginInfo", "hookimpl", "Permission", "NavItem", "IdentityKind", "AssetType", "ExtensibleEntity",
    "FieldPreset", "EngineEntity", "WorkflowDefinition", "RuleTrigger", "RuleCondition", "RuleAction",
    "NotificationChannel", "Kpi", "DashboardWidget", "CustomerPanel", "AssetPanel", "ImportMapping", "PeriodicJob", "Banner",
    "DemoTenant", "DemoContext",
    "TimelineEntry",
    # data
    "db", "TenantScoped", "Timestamped", "tenant_fk", "get_scoped", "as_id", "utcnow", "current_tenant_id",
    "Customer", "Asset", "Task", "Interaction", "User", "Store", "AUTOMATION",
    # calendar and money
    "tenant_zone", "tenant_now", "tenant_today", "tenant_currency", "money",
    # customers
    "get_customer", "visible_customers", "search_customers", "create_customer", "update_customer",
    "find_customer_by_identity", "add_identity", "identities_of", "normalize_identity", "scrub_audit",
    "get_asset", "assets_of", "create_asset", "update_asset", "custom_field_definitions", "validate_custom_values",
    "custom_from_form",
    # catalog and stock
    "CatalogItem", "StockLocation", "get_catalog_item", "find_item_by_sku", "price_for", "expand_package",
    "stock_location_for_store", "stock_available", "receive_stock", "issue_stock", "reserve_stock", "release_stock",
    "return_to_stock", "InsufficientStock", "StockBelowReorderLevel",
    # staff and activities
    "get_user", "staff_with_role", "default_assignee", "create_task", "update_task", "log_interaction",
    # scheduling
    "free_slots", "Slot", "book_appointment", "reschedule_appointment", "appointment_action", "SlotTaken",
    "on_shift", "staff_on_shift", "rank_technicians", "Recommendation", "Appointment", "ServiceType", "Resource",
    "AppointmentEvent", "AppointmentBooked", "AppointmentArrived", "AppointmentCompleted", "AppointmentNoShow",
    "AppointmentCancelled",
    # leads
    "capture_lead", "get_lead", "Lead", "LeadChannel", "LeadEvent", "LeadCaptured", "LeadEnquiryRepeated",
    "LeadAssigned", "LeadContacted", "LeadQualified", "LeadConverted", "LeadLost", "LeadFirstContactOverdue",
    # audit, events, workflows, notifications, timers, files, jobs, settings
    "record_audit", "emit_event", "Event", "RecordEvent", "CustomerCreated", "CustomerChanged", "CustomerMerged",
    "CustomerUnmerged", "AssetCreated", "AssetChanged", "TaskCreated", "WorkflowStateEntered", "SurveyAnswered",
    "KpiThresholdCrossed", "emit_rule_event",
    "start_workflow", "workflow_items_of", "notify_user", "send_message",
    "render_message", "schedule_timer", "cancel_timer", "timer_handler", "accept_upload", "get_file", "actor",
    "after_commit", "plugin_settings",
    # sales
    "create_sales_document", "add_document_line", "document_totals", "confirm_order", "fulfil_order",
    "sales_documents_of", "QuoteSent", "QuoteAccepted", "QuoteExpired", "OrderConfirmed", "OrderPaid",
    "OrderRefunded",
    # reports
    "KpiScope", "Period", "period_of",
    # pages and API
    "requires", "load_form", "flash_errors", "flatten_errors", "refuse", "safe_next", "api_requires", "api_user",
    "unprocessable", "patch_load", "PageArgs", "page_schema", "paged", "keyset_page", "Phone", "Trimmed",
    "BoundedDecimal", "finite_number", "normalize_phone",
    # --- added for smart_home ---
    "create_catalog_item", "create_stock_location", "send_stock_transfer", "staff_profile", "set_staff_profile",
    "create_staff_member", "customer_for_public_request", "SurveyInvitation", "SurveyResponse", "create_survey",
    "get_survey", "send_survey", "limiter", "mask_phone", "tenant_locale",
]


def find_customer_by_identity(kind: str, raw: str) -> Customer | None:
    """The live customer holding identity `kind` = `raw` (mobile, email, vin, plate, wechat or a plugin's kind),
    normalised first; None when nobody holds it. ValidationError when `raw` is not a valid value of `kind`.

        customer = find_customer_by_identity("mobile", "138 0013 8000")
    """
    value = normalize_identity(kind, raw)
    customer_id = owners([(kind, value)]).get((kind, value))
    customer = get_scoped(Customer, customer_id) if customer_id else None
    if customer is None or customer.deleted_at is not None or customer.merged_into_id is not None:
        return None
    return customer


def emit_rule_event(entity: str, record, event: str, changes: dict | None = None) -> None:
    """Shorthand for `emit_event(RecordEvent(entity, record, event, changes or {}))`: tell automation rules (and
    every other listener) that `event` — "created", "changed" or your `RuleTrigger` code — happened to `record`.

        emit_rule_event("install_job", job, "changed", {"status": ["booked", "done"]})
    """
    emit_event(RecordEvent(entity, record, event, changes or {}))


def create_sales_document(user, kind: str, *, customer_id: int, source: tuple[str, int] | None = None,
                          store_id: int | None = None, asset_id: int | None = None, lines=(), **header):
    """A draft quote (`kind="quote"`) or order (`kind="order"`) for a customer, linked to your record by `source`
    = (record type, id). `lines` are dicts as `add_document_line` takes them; the customer must be one `user` may
    see (pass `AUTOMATION` from jobs). ValidationError with field errors when something is wrong; nothing written.

        order = create_sales_document(user, "order", customer_id=job.customer_id, source=("install_job", job.id),
                                      lines=[{"item_id": package_id, "quantity": 1},
                                             {"description": "工时费", "quantity": 2, "unit_price": "150.00"}])
    """
    if kind not in ("quote", "order"):
        raise ValueError("kind is 'quote' or 'order'")
    source_type, source_id = source if source else (None, None)
    data = _DocumentSchema().load({"customer_id": customer_id, "store_id": store_id, "asset_id": asset_id,
                                   "source_type": source_type, "source_id": source_id, "lines": list(lines),
                                   **header})
    actor = None if user is AUTOMATION else user
    return (_sales.create_quote if kind == "quote" else _sales.create_order)(actor, data)


def document_totals(document) -> dict:
    """The figures of a quote or order as Decimals: subtotal, discount_total, tax_total, total, paid (net of
    refunds) and balance_due (the rule: docs/commerce.md, "Totals").

        document_totals(order)["balance_due"]   # Decimal('1280.00')
    """
    return {"subtotal": document.subtotal, "discount_total": document.discount_total,
            "tax_total": document.tax_total, "total": document.total, "paid": document.net_paid,
            "balance_due": document.balance_due}


def capture_lead(channel_id: int, data: dict, *, source: str = "staff", user=None) -> tuple[Lead, bool]:
    """Capture an enquiry into lead channel `channel_id` (name, mobile in any spelling, optional interest, notes,
    store_id, campaign_id, consent), validated like the public form; returns (lead, created). One-ID: a mobile with an
    open lead adds the enquiry to that lead's history and re-notifies its owner (`created` False). ValidationError
    with field messages on bad input or an unknown / switched-off channel.

        lead, created = capture_lead(channel_id, {"name": "王先生", "mobile": "139 0000 1111",
                                                  "interest": "DSP 升级", "consent": True}, source="api")
    """
    channel = get_scoped(LeadChannel, channel_id)
    if channel is None:
        raise _ValidationError({"channel_id": [_gettext("Choose one of the listed options.")]})
    return _capture(channel, _CaptureSchema().load(data), source=source, user=user)


# --- added for smart_home ---

def create_catalog_item(user, data: dict) -> CatalogItem:
    """A catalog item (a device model, a spare part) from plain data, validated like the catalog form (kind,
    sku, name, list_price, cost, unit, serial_tracked …); ValidationError with field errors, nothing written.

        lock = create_catalog_item(user, {"kind": "product", "sku": "LOCK-X1", "name": "智能门锁 X1",
                                          "list_price": "1999"})
    """
    return _create_item(None if user is AUTOMATION else user, _CatalogItemSchema().load(data))


def create_staff_member(actor, *, name: str, role: str, store_ids, password: str, email: str | None = None,
                        mobile: str | None = None) -> User:
    """A staff account with the built-in role `role` (owner, admin, manager, advisor, technician) working in
    `store_ids`, checked like the staff form (seats quota, unique sign-in); ValidationError with field errors.

        engineer = create_staff_member(None, name="张工", role="technician", store_ids=[store.id],
                                       password="s3cret-pass", mobile="+8613900000001")
    """
    from ..access.models import Role
    from ..users.services import create_user
    from sqlalchemy import select as _select

    role_row = db.session.scalar(_select(Role).where(Role.code == role))
    return create_user({"display_name": name, "email": email, "mobile": mobile, "password": password,
                        "role_id": role_row.id if role_row else None, "store_ids": list(store_ids)},
                       actor if actor is not AUTOMATION else None)


def customer_for_public_request(store, name: str, mobile: str) -> Customer:
    """One-ID for a public page (a service request, a booking): the customer holding this mobile, or a new one
    (name, mobile, store). Never tell the visitor which of the two happened.

        customer = customer_for_public_request(store, "王女士", "13900001111")
    """
    return _customer_for_booking(None, store, name, mobile)


def staff_profile(user_id: int) -> dict:
    """The dispatch profile of a staff member: `{"skills": {skill: level 1–5}, "regions": [district, …]}`.

        staff_profile(engineer.id)   # {"skills": {"门锁": 3}, "regions": ["浦东新区"]}
    """
    return _staff_profile(user_id)


def set_staff_profile(staff: User, data: dict) -> dict:
    """Replace a staff member's skills and service regions (what `rank_technicians` ranks by); audited.

        set_staff_profile(engineer, {"skills": {"门锁": 3, "安装": 2}, "regions": ["浦东新区", "徐汇区"]})
    """
    return _set_staff_profile(staff, data)


def get_survey(survey_id):
    """A satisfaction survey of the current tenant, or None (another tenant's id included).

        survey = get_survey(settings["survey_id"])
    """
    return _get_survey(survey_id)


def mask_phone(e164: str | None) -> str:
    """A phone number for showing to someone who must not read it whole: +8613912345678 → 139****5678.

        mask_phone(customer.mobile)
    """
    return _mask_phone(e164)


def tenant_locale() -> str:
    """The current tenant's language (`zh_CN` by default): for text you store for everyone to read later (a history
    note written by a job), written with `flask_babel.force_locale(tenant_locale())`.

        with force_locale(tenant_locale()):
            note = gettext("Dispatched automatically")
    """
    from ..tenancy.models import current_tenant_row

    return current_tenant_row().locale or "zh_CN"
