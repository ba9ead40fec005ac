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
                             DemoContext, LeadPanel, DemoTenant, FieldPreset, ImportMapping, Kpi, NotificationChannel, PeriodicJob, RuleAction,
                             RuleCondition, RuleTrigger, TimelineEntry, TimelineSource,
                             WorkflowDefinition)
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
from ..hooks.contrib import ReportField, ReportSource

# --- pages and API ------------------------------------------------------------------------------------------------
from ..api.auth import api_user
from ..api.auth import requires as api_requires
from ..api.common import PageArgs, page_schema, paged, patch_load, unprocessable
from ..keyset import page as keyset_page
from ..validation import BoundedDecimal, Phone, Trimmed, finite_number, normalize_phone
from ..web.forms import flash_errors, flatten_errors, load_form, requires
from ..web.redirects import safe_next
from ..web.transactions import refuse
# --- added for retail ---
from ..sales.models import Order as _SalesOrder
from ..sales.schemas import PaymentSchema as _PaymentSchema
from ..sales.schemas import RefundSchema as _RefundSchema

# --- added for dealership ---
from ..assets.services import add_reading as _add_reading
from ..assets.services import readings_of as _readings_of
from ..reports import engine as _reports
from ..rules import engine as _rules
from ..rules import preview as _rule_preview
from ..rules.models import Rule
from ..sales.services import record_payment as _record_payment
from ..scheduling import setup as _scheduling_setup
from ..scheduling.schemas import ResourceSchema as _ResourceSchema
from ..scheduling.schemas import ServiceTypeSchema as _ServiceTypeSchema
from ..scheduling.tokens import store_token as _store_token
from ..surveys import services as _surveys
from ..surveys.models import Survey, SurveyAnswer, SurveyInvitation, SurveyResponse
from ..catalog.schemas import CatalogItemSchema as _CatalogItemSchema
from ..catalog.services import create_item as _create_item

# --- added for dealership sales ---
from sqlalchemy import select as _select_stage
from ..leads.models import LeadStage
from ..leads.services import move_to_stage as _move_to_stage
from ..leads.services import save_stage as _save_stage
from ..leads.services import update_lead as _update_lead

# --- added for smart_home ---
from ..stock.services import save_location as create_stock_location
from ..stock.services import send_transfer as send_stock_transfer
from ..scheduling.setup import set_staff_profile as _set_staff_profile
from ..scheduling.setup import staff_profile as _staff_profile
from ..scheduling.booking import customer_for_booking as _customer_for_booking
from ..extensions import limiter
from ..validation import mask_phone as _mask_phone
from ..rules.engine import sweep_tenant
from ..tenancy.models import current_tenant_row
from ..sales.services import lines_of
from ..access.models import Role
from ..users.services import create_user

# --- added for car_audio (warranty card) ---
from ..assets.services import identifiers_of as _identifiers_of

__all__ = [
    # contract
    "PluginInfo", "hookimpl", "Permission", "NavItem", "IdentityKind", "AssetType", "ExtensibleEntity",
    "FieldPreset", "EngineEntity", "WorkflowDefinition", "RuleTrigger", "RuleCondition", "RuleAction",
    "NotificationChannel", "Kpi", "DashboardWidget", "CustomerPanel", "AssetPanel", "ImportMapping", "PeriodicJob", "Banner",
    "DemoTenant", "DemoContext",
    "TimelineEntry",
    "TimelineSource",
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
    "KpiScope", "Period", "period_of", "ReportSource", "ReportField",
    # pages and API
    "requires", "load_form", "flash_errors", "flatten_errors", "refuse", "safe_next", "api_requires", "api_user",
    "unprocessable", "patch_load", "PageArgs", "page_schema", "paged", "keyset_page", "Phone", "Trimmed",
    "BoundedDecimal", "finite_number", "normalize_phone",
    # --- added for retail ---
    "get_sales_order", "record_order_payment", "record_order_refund", "set_order_discount", "order_lines", "sweep_rules",
    # --- added for dealership ---
    "record_payment", "add_odometer_reading", "odometer_readings", "save_service_type", "save_resource",
    "add_working_pattern", "set_staff_skills", "public_booking_path", "Survey", "SurveyInvitation",
    "SurveyResponse", "SurveyAnswer", "create_survey", "send_survey", "answer_survey", "Rule", "save_rule",
    "preview_rule", "sweep_rule", "kpi_result", "kpi_breakdown", "create_catalog_item", "answer_invitation",
    # --- added for car_audio ---
    "CatalogCategory", "CatalogBrand", "catalog_categories", "create_catalog_category", "catalog_brand",
    "set_package_components", "StaffSkill",
    "SalesDocument", "get_quote", "get_order", "submit_quote_for_approval",
    "send_quote", "accept_quote", "quote_approval_state", "vote_on_quote", "document_lines",
    "copy_workflow_template", "workflow_definition", "rule_action_available", "get_survey",
    # --- added for smart_home ---
    "create_stock_location", "send_stock_transfer", "staff_profile", "set_staff_profile",
    "create_staff_member", "customer_for_public_request", "limiter", "mask_phone", "tenant_locale",
    # --- added for car_audio (warranty card) ---
    "asset_identifiers",
    # --- added for dealership sales ---
    "LeadStage", "ensure_lead_stage", "move_lead_to_stage", "set_lead_interest",
    # --- added for dealer3 ---
    "LeadPanel", "cancel_sales_order", "send_stored_file", "ensure_field_presets", "transfer_asset",
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


# --- added for retail ---
def get_sales_order(order_id):
    """An order of the current tenant by id, whoever may see it (None for other tenants' ids and for quotes); for
    code that made the order itself (a till purchase) and keeps its id.

        order = get_sales_order(purchase.order_id)
    """
    order = get_scoped(_SalesOrder, as_id(order_id))
    return order if order is not None and order.kind == "order" else None


def record_order_payment(user, order, method: str, amount, *, reference: str | None = None,
                         note: str | None = None, request_key: str | None = None):
    """Record money received on an order (`method` one of cash, wechat_pay, alipay, bank_card, transfer,
    stored_value), never above its balance due; the customer's spend follows. The same `request_key` twice returns
    the first payment. ValidationError with field messages (amount, method, state); pass `AUTOMATION` from jobs.

        record_order_payment(user, order, "stored_value", Decimal("88.00"), reference="member 100023")
    """
    data = _PaymentSchema().load({"method": method, "amount": str(amount), "reference": reference, "note": note})
    return _sales.record_payment(None if user is AUTOMATION else user, order, data, request_key=request_key)


def record_order_refund(user, order, method: str, amount, note: str, *, request_key: str | None = None,
                        returns=None):
    """Give money back on an order (never more than was paid and not yet refunded); the customer's spend follows
    and `OrderRefunded` is emitted. `note` says why. Same `request_key` twice: the first refund. `returns`
    ([{"line_id", "quantity"}], delivered catalog lines) brings the goods back to the store's stock with it.

        record_order_refund(user, order, "wechat_pay", Decimal("20.00"), "退货：尺码不合适")
    """
    data = _RefundSchema().load({"method": method, "amount": str(amount), "note": note,
                                 "returns": [{"line_id": r["line_id"], "quantity": str(r["quantity"])}
                                             for r in returns or ()]})
    return _sales.record_refund(None if user is AUTOMATION else user, order, data, request_key=request_key)


def set_order_discount(user, order, percent):
    """Set a draft order's header discount (a percentage, two decimals, 0–100) and recompute its totals: a member's
    tier discount, a coupon turned into a percentage of the subtotal. ValidationError when the order is not a draft.

        set_order_discount(user, order, Decimal("12.50"))
    """
    from decimal import Decimal as _Decimal

    pct = _Decimal(str(percent)).quantize(_Decimal("0.01"))
    if not (_Decimal(0) <= pct <= _Decimal(100)):
        raise _ValidationError({"header_discount_pct": [_gettext("Enter a percentage from 0 to 100.")]})
    return _sales.update_header(None if user is AUTOMATION else user, order, {"header_discount_pct": pct})


def order_lines(document) -> list:
    """The lines of a quote or order in their order (a package's components as their own lines), each with its
    figures: `item_id`, `quantity`, `unit_price`, `amount`, `header_discount`, `tax`.

        paid_for = sum(line.amount - line.header_discount for line in order_lines(order))
    """
    return _sales.lines_of(document)


def sweep_rules(now=None) -> dict:
    """Run the current tenant's date, usage and inactivity rules whose hour has come — what the hourly job does —
    now (or as at `now`, an aware datetime); returns {rule id: records fired}. For a plugin's "run now" and for tests.

        sweep_rules(datetime(2026, 5, 1, 10, tzinfo=tenant_zone()))
    """

    return sweep_tenant(now)


# --- added for dealership ---

def record_payment(user, order, data: dict, *, request_key: str | None = None):
    """Record money received on an order: `data` is {"method": "cash" | "card" | "wechat" | …, "amount": "120.00",
    "reference", "note"}, checked like the order page's form (ValidationError by field; never above the balance due).
    The same `request_key` twice records one payment. A fulfilled order paid in full closes.

        record_payment(user, order, {"method": "wechat", "amount": document_totals(order)["balance_due"]})
    """
    return _record_payment(user, order, _PaymentSchema().load(data), request_key=request_key)


def add_odometer_reading(user, asset, value: int, *, read_on=None, service: bool = False):
    """An odometer reading of `asset` in km (on `read_on`, default today); `service=True` marks the reading taken at
    a service, from which service-due rules ("5 months or 8,000 km") count. ValidationError when it goes backwards.

        add_odometer_reading(user, car, 45210, service=True)
    """
    return _add_reading(user, asset, {"value": value, "read_on": read_on, "service": service})


def odometer_readings(asset_id: int, limit: int = 20) -> list:
    """The asset's odometer readings, newest first (`read_on`, `value` in km, `service`)."""
    return _readings_of(asset_id, limit)


def save_service_type(data: dict, service=None):
    """Create (or change `service`) a bookable service type: name, duration_minutes, buffer_minutes, required_skills
    ({skill: level}), needs_staff, resource_kind (bay, lift, van, room, demo_car), min_notice_minutes,
    max_days_ahead, public.

        save_service_type({"name": "保养", "duration_minutes": 60, "resource_kind": "bay", "needs_staff": False})
    """
    return _scheduling_setup.save_service_type(service, _ServiceTypeSchema().load(data))


def save_resource(user, data: dict, resource=None):
    """Create (or change) a store's resource: store_id, name, kind (bay, lift, van, room, demo_car), capacity."""
    return _scheduling_setup.save_resource(user, resource, _ResourceSchema().load(data))


def add_working_pattern(user, data: dict):
    """A weekly shift: user_id, store_id, weekday (0 = Monday), starts_at, ends_at (`datetime.time`, tenant zone)."""
    return _scheduling_setup.add_pattern(user, data)


def set_staff_skills(staff, skills: dict, regions=()):
    """Replace a staff member's skills ({skill: level 1–5}) and service regions; dispatch ranks by them."""
    return _scheduling_setup.set_staff_profile(staff, {"skills": skills, "regions": list(regions)})


def public_booking_path(store_id: int) -> str:
    """The path (under the tenant, e.g. "/book/<token>") of a store's public booking page."""
    return f"/book/{_store_token(store_id)}"


def create_survey(data: dict):
    """A satisfaction survey: {"name", "kind": "csat" | "nps", "questions": [{"code", "label_zh", "label_en"}],
    "low_score", "escalation_hours", "throttle_days", "message"}. Low scores make a call-back task."""
    return _surveys.create_survey(data)


def send_survey(survey, customer, *, related=None, staff_id=None, store_id=None):
    """Invite `customer` to answer `survey` about `related` = (record type, id): the SMS link goes through the
    outbox. None when throttled or already asked about that record."""
    return _surveys.send_survey(survey, customer, related=related, staff_id=staff_id, store_id=store_id)


def answer_survey(token: str, scores: dict, comment: str | None = None):
    """Answer the invitation of a survey link's `token` as the customer would ({question code: score}); None when
    the token is unknown, answered or expired."""
    invitation = _surveys.invitation_for_token(token)
    return _surveys.answer(invitation, scores, comment) if invitation is not None else None


def answer_invitation(invitation, scores: dict, comment: str | None = None):
    """Record the answer to `invitation` (a `SurveyInvitation`) as given by phone or on paper ({question code:
    score}); None when it was answered already or expired. Demo loaders and call-centre imports use it."""
    return _surveys.answer(invitation, scores, comment)


def save_rule(data: dict, rule=None):
    """Create (or change) an automation rule from its JSON (docs/rules.md): name, entity, trigger, conditions,
    actions, enabled, run_hour. Checked whole (ValidationError by key); plugins seed their rules with it."""
    return _rules.save(rule, data)


def preview_rule(rule, *, today=None, days: int = 90) -> dict:
    """Which records the rule would fire for (docs/rules.md, "Preview"): {"rows", "total", "note", …}."""
    return _rule_preview.run(rule, today=today, days=days)


def sweep_rule(rule, today=None) -> int:
    """Run a swept rule (date, usage, inactivity) for `today` (default the tenant's): how many records fired."""
    return _rules.sweep(rule, today)


def kpi_result(user, code: str, period, *, store_id=None, staff_id=None):
    """The value of KPI `code` over `period` (a `Period`) as `user` sees it: a result with `value`, `n`,
    `previous`; None when the user may not see the KPI."""
    kpi = _reports.get_kpi(user, code)
    if kpi is None:
        return None
    scope = _reports.scope_for(user, period, store_id=store_id, staff_id=staff_id)
    return _reports.evaluate([kpi], scope)[code]


def kpi_breakdown(user, code: str, period, column: str, *, store_id=None) -> list:
    """[(key, label, value, n)] of KPI `code` grouped by `column` (one of its `group_by`), e.g. by store or advisor."""
    kpi = _reports.get_kpi(user, code)
    return _reports.breakdown(kpi, _reports.scope_for(user, period, store_id=store_id), column)


def create_catalog_item(user, data: dict):
    """A catalog item from `data` as the catalog form takes it (kind product | part | service | package, sku, name,
    list_price, cost, tax_rate, unit …); checked (ValidationError by field), SKU unique, audited.

        oil = create_catalog_item(user, {"kind": "part", "sku": "OIL-5W30-4L", "name": "机油 5W-30 4L",
                                         "list_price": "380.00"})
    """
    return _create_item(user, _CatalogItemSchema().load(data))
# --- added for car_audio ---
from ..catalog.models import Brand as CatalogBrand  # noqa: E402
from ..catalog.models import Category as CatalogCategory  # noqa: E402
from ..catalog.services import brand_named as catalog_brand  # noqa: E402
from ..catalog.services import categories as _catalog_categories  # noqa: E402
from ..catalog.services import create_category as _create_category  # noqa: E402
from ..catalog.services import set_package_lines as _set_package_lines  # noqa: E402
from ..catalog.schemas import CategorySchema as _CategorySchema  # noqa: E402
from ..catalog.schemas import PackageLineSchema as _PackageLineSchema  # noqa: E402
from ..scheduling.models import StaffSkill  # noqa: E402
from ..scheduling.setup import add_pattern as _add_pattern  # noqa: E402
from ..scheduling.setup import save_resource as _save_resource  # noqa: E402
from ..scheduling.setup import save_service_type as _save_service_type  # noqa: E402
from ..sales.models import SalesDocument  # noqa: E402
from ..sales.services import accept_quote, send_quote  # noqa: E402
from ..sales.services import get_order as _get_order  # noqa: E402
from ..sales.services import get_quote as _get_quote  # noqa: E402
from ..sales.services import approval_item as _quote_approval_item  # noqa: E402
from ..sales.services import approval_state as quote_approval_state  # noqa: E402
from ..sales.services import submit_for_approval as submit_quote_for_approval  # noqa: E402
from ..workflow.engine import copy_template as _copy_workflow_template  # noqa: E402
from ..workflow.engine import vote as _workflow_vote  # noqa: E402
from ..workflow.engine import current_definitions as _workflow_definitions  # noqa: E402
from ..rules.engine import save as _save_rule  # noqa: E402
from ..rules.spec import plugin_actions as _plugin_actions  # noqa: E402
from ..surveys.services import answer as _answer_survey  # noqa: E402
from ..surveys.services import get_survey as _get_survey  # noqa: E402


def catalog_categories() -> list:
    """The tenant's catalog categories, in their order (`CatalogCategory` rows: name, parent_id, position)."""
    return _catalog_categories()


def get_quote(user, quote_id):
    """A quote `user` may see (its store), or None (other stores', other tenants', unknown ids)."""
    return _get_quote(user, quote_id)


def get_order(user, order_id):
    """An order `user` may see (its store), or None (other stores', other tenants', unknown ids)."""
    return _get_order(user, order_id)


def document_lines(document) -> list:
    """The lines of a quote or order in their order: `item_id`, `sku`, `description`, `quantity`, `unit_price`,
    `amount`, and for the components of a package `package_item_id` / `package_name`."""
    return lines_of(document)


def get_survey(survey_id):
    """A survey of the current tenant, or None."""
    return _get_survey(survey_id)


def create_catalog_category(data: dict) -> CatalogCategory:
    """A catalog category (name, optional parent_id, position), validated like the catalog's form; audited.

        speakers = create_catalog_category({"name": "扬声器"})
    """
    return _create_category(_CategorySchema().load(data))


def set_package_components(package: CatalogItem, lines: list[dict]):
    """Replace a package's components with `lines` ([{"component_id": id, "quantity": 1}, …]); validated."""
    return _set_package_lines(package, [_PackageLineSchema().load(line) for line in lines])


def vote_on_quote(user, quote, approve: bool = True, comment: str = ""):
    """`user` (a manager or owner the amount tier asks) approves or declines the quote's pending approval, as on
    the quote's page; ValidationError when nothing awaits this user's vote."""
    item = _quote_approval_item(quote)
    if item is None:
        raise _ValidationError({"approval": [_gettext("Nothing here awaits your approval.")]})
    return _workflow_vote(user, item, approve, comment)


def copy_workflow_template(user, code: str):
    """The tenant's own workflow copied from template `code` (core's or a plugin's `register_workflows`)."""
    return _copy_workflow_template(user, code)


def workflow_definition(entity: str):
    """The tenant's first active workflow on `entity` ("quote", "customer", your engine entity), or None."""
    found = _workflow_definitions(entity, active_only=True)
    return found[0] if found else None


def rule_action_available(code: str) -> bool:
    """Whether a plugin rule action (`"retail.issue_coupon"`) is there for the current tenant (its plugin on)."""
    return code in _plugin_actions()
# --- added for smart_home ---

def create_staff_member(actor, *, name: str, role: str, store_ids, password: str, email: str | None = None,
                        mobile: str | None = None) -> User:
    """A staff account with the built-in role `role` (owner, admin, manager, advisor, technician) working in
    `store_ids`, checked like the staff form (seats quota, unique sign-in); ValidationError with field errors.

        engineer = create_staff_member(None, name="张工", role="technician", store_ids=[store.id],
                                       password="s3cret-pass", mobile="+8613900000001")
    """
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
    return current_tenant_row().locale or "zh_CN"


# --- added for car_audio (warranty card) ---
def asset_identifiers(asset_ids: list[int]) -> dict[int, dict[str, str]]:
    """The identifiers of assets, `{asset id: {kind: value}}` (a car's `plate` and `vin`); an asset without any
    gets `{}`."""
    return _identifiers_of(list(asset_ids))

# --- added for dealership sales ---

def ensure_lead_stage(name: str, position: int = 100) -> LeadStage:
    """The tenant's lead stage called `name` (已试驾 …), created (active, at `position`) when the tenant has none.

        stage = ensure_lead_stage("已试驾", 30)
    """
    stage = db.session.scalar(_select_stage(LeadStage).where(LeadStage.name == name))
    return stage or _save_stage(None, {"name": name, "position": position, "active": True})


def move_lead_to_stage(user, lead: Lead, stage_id: int, *, now=None) -> Lead:
    """Put an open lead into one of the tenant's stages, as the lead page's button does (status "qualified", a
    history line, time in stage). ValidationError on `stage_id` (unknown, switched off) or `status` (lead closed)."""
    return _move_to_stage(user, lead, stage_id, now=now)


def set_lead_interest(user, lead: Lead, interest: str) -> Lead:
    """Set what the lead is interested in (a car model, a package; cut to 120 characters), shown on the lead page
    and used by the conversion's draft quote; audited. ValidationError on `interest` when empty."""
    interest = (interest or "").strip()
    if not interest:
        raise _ValidationError({"interest": [_gettext("This field is required.")]})
    return _update_lead(user, lead, {"interest": interest[:120]})


# --- added for retail3 ---
from ..leads import sla as _sla  # noqa: E402
from ..reports import rfm as _rfm  # noqa: E402
from ..customers import bulk as _customer_views  # noqa: E402
from ..customers import listing as _customer_listing  # noqa: E402

RFM_SEGMENTS = _rfm.SEGMENTS
__all__ += ["store_deadline", "store_working_minutes", "RFM_SEGMENTS", "rfm_customer_ids", "saved_customer_views",
            "saved_view_customer_ids"]


def store_deadline(store, start, minutes: int):
    """`start` + `minutes` counted in `store`'s opening hours (its opens_at / closes_at in the tenant's zone), its
    closures (scheduling exceptions of kind "closure": holidays, refits) skipped — the clock the leads' first-contact
    promise runs on. A store without opening hours counts plain minutes.

        due = store_deadline(store, utcnow(), 120)   # 21:30 at a store open 10–22 → 11:30 next morning
    """
    return _sla.deadline(store, start, minutes)


def store_working_minutes(store, start, end) -> int:
    """Whole minutes of `store`'s opening hours (closures skipped) between `start` and `end`: what a stopped clock
    has used, or a response time in the hours somebody could have answered. The inverse of `store_deadline`.

        left = promised - store_working_minutes(store, complaint.created_at, utcnow())
    """
    return _sla.working_minutes(store, start, end)


def rfm_customer_ids(segment: str, as_of=None):
    """A SELECT of the ids of the customers in RFM segment `segment` (one of `RFM_SEGMENTS`: high_value, potential,
    at_risk, win_back, lost) as at `as_of` (default now), with the tenant's thresholds — the same rule as the
    "RFM segments" KPI, over every store. ValidationError on an unknown segment or when RFM is switched off.

        ids = db.session.scalars(rfm_customer_ids("at_risk")).all()
    """
    if segment not in _rfm.SEGMENTS or not _rfm.available():
        raise _ValidationError({"rfm": [_gettext("Choose one of the listed options.")]})
    as_of = as_of or utcnow()
    source = _rfm._source().subquery("purchases")
    code = _rfm.segment_of(source.c.last_purchase_at, source.c.order_count, source.c.spend, as_of, _rfm.thresholds())
    return (_select_stage(source.c.customer_id)
            .join(Customer, Customer.id == source.c.customer_id)
            .where(Customer.deleted_at.is_(None), source.c.last_purchase_at < as_of, code == segment))


def saved_customer_views(user) -> list:
    """The saved customer-list views `user` may use (their own and the shared ones), by name: `id`, `name`."""
    return _customer_views.views_for(user)


def saved_view_customer_ids(user, view_id):
    """A SELECT of the ids of the customers saved view `view_id` lists for `user` (its filters, the user's stores):
    exactly the rows the customer list shows with that view. ValidationError on `view_id` when the view is not one
    of `saved_customer_views(user)`.

        ids = db.session.scalars(saved_view_customer_ids(user, 7)).all()
    """
    view = next((v for v in _customer_views.views_for(user) if v.id == as_id(view_id)), None)
    if view is None:
        raise _ValidationError({"view_id": [_gettext("Choose one of the listed options.")]})
    listed = _customer_listing.from_args(user, view.query or {}, None)
    return listed.filter.apply(visible_customers(user, _select_stage(Customer.id)))

# --- added for sms (China channels: template-only providers, staff channels, provider plumbing) ---
from flask import current_app as _current_app
from redis import Redis as _Redis
from sqlalchemy import select as _select
from ..extensions import csrf as _csrf
from ..hooks.contrib import MessageTemplate
from ..notifications.models import OutboxMessage
from ..notifications.outbox import Undeliverable
from ..notifications.templates import available as _message_templates
from ..notifications.templates import send_template
from ..tenancy.context import current_tenant as _current_tenant

__all__ += ["MessageTemplate", "send_template", "OutboxMessage", "outbox_messages", "shared_redis", "csrf_exempt",
            "Undeliverable", "message_templates", "tenant_url"]


def tenant_url(path: str) -> str:
    """The absolute address of a page of the current tenant, for messages read outside StoreCRM (a WeCom card's
    button, an SMS link); an address that is already absolute is returned as it is.

        tenant_url("/smart-home/engineer/12")  # "https://crm.example.com/t/star-auto/smart-home/engineer/12"
    """
    if path.startswith(("http://", "https://")):
        return path
    base = _current_app.config["STORECRM"].base_url.rstrip("/")
    return f"{base}/t/{_current_tenant().slug}/{path.lstrip('/')}"


def message_templates() -> list[MessageTemplate]:
    """Every message template of the tenant (the core's and its enabled plugins'), e.g. to map each code to a
    provider's approved template.

        codes = [t.code for t in message_templates()]
    """
    return list(_message_templates().values())


def outbox_messages(channel: str, *, limit: int = 50) -> list[OutboxMessage]:
    """The tenant's latest outbox messages on `channel` (newest first): what a channel's admin page lists as
    recent deliveries and failures (`status` pending | sent | dead | skipped, `attempts`, `last_error`).

        failures = [m for m in outbox_messages("sms") if m.status == "dead"]
    """
    return list(db.session.scalars(_select(OutboxMessage).where(OutboxMessage.channel == channel)
                                   .order_by(OutboxMessage.id.desc()).limit(limit)))


_REDIS: dict = {}


def shared_redis() -> _Redis:
    """The Redis every web and worker process of this install shares (REDIS_URL): for state that must be one
    across processes, such as a provider's access token and the lock that refreshes it.

        token = shared_redis().get(f"myplugin:{current_tenant_id()}:token")
    """
    url = _current_app.config["REDIS_URL"]
    if url not in _REDIS:
        _REDIS[url] = _Redis.from_url(url, socket_timeout=5)
    return _REDIS[url]


def csrf_exempt(view):
    """Exempt a view from the CSRF check: only for machine callbacks that carry their own signature (a provider's
    delivery receipts), never for a form a person submits.

        @bp.post("/receipts/<token>")
        @csrf_exempt
        def receipts(token): ...
    """
    return _csrf.exempt(view)

# --- added for dealer3 ---
from ..files.serving import send_stored as _send_stored  # noqa: E402
from ..sales.services import cancel_order as _cancel_order  # noqa: E402
from ..fields.services import ensure_presets as _ensure_presets  # noqa: E402
from ..assets.services import transfer as _transfer_asset  # noqa: E402


def cancel_sales_order(user, order, reason: str | None = None):
    """Cancel a draft or confirmed order (its stock reservations are released), as the order page's button does.
    ValidationError on `state` when it is past that, or when money received on it was not refunded first.

        record_order_refund(user, order, "wechat_pay", document_totals(order)["paid"], "合同取消")
        cancel_sales_order(user, order, "客户取消购车")
    """
    return _cancel_order(None if user is AUTOMATION else user, order, reason)


def send_stored_file(stored, *, thumbnail: bool = False):
    """A response sending a stored upload (`get_file(id)`) inline if it is an image or PDF, privately cached; 404
    for None or a missing thumbnail. Only for a route that has already decided the caller may have this file — a
    public page checks its own signed token first (the dealership's progress photos).

        return send_stored_file(get_file(photo_id), thumbnail=True)
    """
    return _send_stored(stored, thumbnail=thumbnail)


def ensure_field_presets(presets) -> list:
    """Create the `FieldPreset`s the current tenant does not have yet (by entity and code; existing ones are left
    alone), as a first enable does for `register_field_presets`: for a plugin's `plugin_upgraded`, when a newer
    version declares a preset that tenants enabled earlier lack.

        ensure_field_presets([FieldPreset("asset", "sold", _l("Sold or transferred"), "bool")])
    """
    return _ensure_presets(presets)


def transfer_asset(user, asset, new_owner, note: str | None = None):
    """The asset changes hands (a car sold on, a device moved) to customer `new_owner`: ownership history kept,
    identifiers (plate, VIN) follow it, audited. ValidationError on `customer_id` when they own it already.

        transfer_asset(user, car, buyer, "二手车置换")
    """
    return _transfer_asset(user, asset, new_owner, note)

# --- added for home3 ---
from ..web.security import allow_browser_features  # noqa: E402  (a route opts into geolocation: docs/plugins.md)
__all__ += ["allow_browser_features"]
from ..stock.services import receive_transfer as receive_stock_transfer  # noqa: E402
from ..stock.services import set_reorder_level as set_stock_reorder_level  # noqa: E402

__all__ += ["receive_stock_transfer", "set_stock_reorder_level"]


# --- added for wechat ---
from ..events import OnlinePaymentReceived  # noqa: E402
from ..hooks.runtime import tenant_hook as _tenant_hook  # noqa: E402
from ..web.visitors import public_visitor_response as _public_visitor_response  # noqa: E402

__all__ += ["bind_public_visitor", "online_payment_url", "OnlinePaymentReceived"]


def bind_public_visitor(customer):
    """Call on a customer's own public page (member card, booking, survey, tracking, quote) before rendering it:
    a response to return instead (a plugin's `public_visitor` hook, e.g. WeChat sign-in binding the visitor's
    openid inside WeChat's browser), or None to render the page (always None for a POST).

        if (response := bind_public_visitor(customer)) is not None:
            return response
    """
    return _public_visitor_response(customer)


def online_payment_url(purpose: str, reference_id: int, customer, *, amount=None, return_url: str = "") -> str | None:
    """The page where `customer` pays online for `purpose` of record `reference_id` (a payment plugin's
    `online_payment_url` hook), or None when no payment provider is on for the tenant. With `amount` None the
    customer chooses it (a stored-value top-up). When paid, the provider emits `OnlinePaymentReceived`; the plugin
    owning `purpose` applies it in its `storecrm_event` hook, once per `request_key`.

        url = online_payment_url("retail.topup", member.id, customer, return_url=request.url)
    """
    return _tenant_hook("online_payment_url")(purpose=purpose, reference_id=reference_id, customer=customer,
                                              amount=amount, return_url=return_url)


# --- oa25: a channel's deliveries for plugin REST APIs ---
import datetime as _dt  # noqa: E402

from marshmallow import Schema as _Schema  # noqa: E402
from marshmallow import fields as _fields  # noqa: E402
from marshmallow import validate as _validate  # noqa: E402
from sqlalchemy import func as _func  # noqa: E402

__all__ += ["ChannelDeliveryArgs", "ChannelDeliveryOut", "ChannelDeliveryPage", "channel_deliveries", "channel_delivery"]


class ChannelDeliveryArgs(PageArgs):
    """Query arguments of a channel's delivery list: keyset paging (`after_id`: the last id of the previous page,
    newest first), `status` (pending, sent, dead, skipped), `recipient`, `template` (message template code),
    `since` / `until` (created at, ISO 8601)."""

    after_id = _fields.Integer(load_default=None, allow_none=True)
    status = _fields.String(load_default=None, allow_none=True,
                            validate=_validate.OneOf(("pending", "sent", "dead", "skipped")))
    recipient = _fields.String(load_default=None, allow_none=True, validate=_validate.Length(max=254))
    template = _fields.String(load_default=None, allow_none=True, validate=_validate.Length(max=120))
    since = _fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=_dt.timezone.utc)
    until = _fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=_dt.timezone.utc)


class ChannelDeliveryOut(_Schema):
    """One outbox message of a channel as the API shows it (never its body: it may hold a verification code)."""

    id = _fields.Integer()
    channel = _fields.String()
    recipient = _fields.String()
    subject = _fields.String()
    template = _fields.Function(lambda m: (m.payload or {}).get("template"))
    status = _fields.String()
    attempts = _fields.Integer()
    last_error = _fields.String(allow_none=True)
    created_at = _fields.DateTime()
    sent_at = _fields.DateTime(allow_none=True)
    next_attempt_at = _fields.DateTime()


ChannelDeliveryPage = page_schema(ChannelDeliveryOut)
ChannelDeliveryPage.__name__ = "ChannelDeliveryPage"
ChannelDeliveryPage.__doc__ = """The response schema of a delivery list: `{items: [ChannelDeliveryOut], total, page, per_page}` (one class
shared by every channel's API, so the OpenAPI document names it once)."""


def channel_deliveries(channel: str, args: dict) -> dict:
    """A page (`{items, total, page, per_page}`) of the tenant's outbox messages on `channel`, newest first,
    filtered and keyset-paged by a loaded `ChannelDeliveryArgs`:

        @blp.arguments(ChannelDeliveryArgs, location="query")
        @blp.response(200, ChannelDeliveryPage)
        def deliveries(args):
            return channel_deliveries("wechat", args)
    """
    query = _select(OutboxMessage).where(OutboxMessage.channel == channel)
    if args.get("status"):
        query = query.where(OutboxMessage.status == args["status"])
    if args.get("recipient"):
        query = query.where(OutboxMessage.recipient == args["recipient"].strip())
    if args.get("template"):
        query = query.where(OutboxMessage.payload["template"].astext == args["template"].strip())
    if args.get("since"):
        query = query.where(OutboxMessage.created_at >= args["since"])
    if args.get("until"):
        query = query.where(OutboxMessage.created_at < args["until"])
    total = db.session.scalar(_select(_func.count()).select_from(query.subquery()))
    page = keyset_page(query, OutboxMessage, OutboxMessage.id, True, args.get("after_id"))
    return paged(list(db.session.scalars(page.limit(args["per_page"]))), total, args)


def channel_delivery(channel: str, message_id: int):
    """The tenant's outbox message `message_id` on `channel`, or None (another tenant's or channel's id too)."""
    return db.session.scalar(_select(OutboxMessage).where(OutboxMessage.channel == channel,
                                                          OutboxMessage.id == message_id))


from ..plugin_host.services import get_settings as _get_plugin_settings  # noqa: E402
from ..plugin_host.services import save_settings as _save_plugin_settings  # noqa: E402

__all__ += ["update_plugin_settings"]


def update_plugin_settings(name: str, changes: dict) -> dict:
    """Change some of this tenant's settings of plugin `name` from plugin code (an API that edits one setting):
    the others, secrets included, stay as they are; the whole is validated by the plugin's schema (ValidationError
    with field messages) and audited like the settings page. Returns the settings as staff see them (secrets
    masked).

        update_plugin_settings("wechat_oa", {"template_map": new_text})
    """
    return _save_plugin_settings(name, {**_get_plugin_settings(name), **changes})


# --- pay25: deposits on quotes, online refunds ---
from ..events import OnlinePaymentRefunded, OnlinePaymentRefundRequested  # noqa: E402
from ..sales import deposits as _deposits  # noqa: E402
from ..sales.schemas import DepositSchema as _DepositSchema  # noqa: E402

__all__ += ["OnlinePaymentRefunded", "OnlinePaymentRefundRequested", "record_quote_deposit", "quote_deposits",
            "quote_deposit_due", "quote_deposit_by_key", "refund_quote_deposit", "quote_deposit_refunded",
            "quote_share_url"]


def record_quote_deposit(user, quote, method: str, amount, *, reference: str | None = None, note: str | None = None,
                         request_key: str | None = None):
    """Record a deposit (定金) paid on a quote. Staff (a user) take it on a draft or sent quote, at most the total less
    deposits paid; `AUTOMATION` (a provider's verified notification: the money is taken) records it whatever the
    quote's state, and carries it to the order at once when the quote was accepted meanwhile. The same `request_key`
    twice returns the first deposit. When the quote is accepted each held deposit becomes a payment of the order, once.

        record_quote_deposit(AUTOMATION, quote, "wechat_pay", Decimal("500.00"), reference=txid,
                             request_key=f"wechatpay:{txid}")
    """
    data = _DepositSchema().load({"method": method, "amount": str(amount), "reference": reference, "note": note})
    return _deposits.record_deposit(None if user is AUTOMATION else user, quote, data, request_key=request_key)


def quote_deposits(quote) -> list:
    """The deposits of a quote, oldest first (`method`, `amount`, `state`: held, applied, refunding, refunded)."""
    return _deposits.deposits_of(quote)


def quote_deposit_due(quote):
    """What is still to pay of the deposit the quote asks (its `deposit_pct` of the total), a Decimal (0: none)."""
    return _deposits.deposit_due(quote)


def quote_deposit_by_key(request_key: str):
    """The deposit recorded with `request_key` ("wechatpay:<transaction id>"), or None."""
    return _deposits.deposit_by_key(request_key)


def refund_quote_deposit(user, quote, deposit, reason: str | None = None):
    """Give back a held deposit of a declined or expired quote; one paid online goes through its provider's
    `online_payment_refund` hook and stays "refunding" until `quote_deposit_refunded`. ValidationError otherwise."""
    return _deposits.refund_deposit(None if user is AUTOMATION else user, quote, deposit, reason)


def quote_deposit_refunded(request_key: str, *, done: bool = True):
    """The provider confirmed (`done`) or gave up the refund of the deposit recorded with `request_key`: refunded,
    or held again. Idempotent; None when no deposit has that key."""
    return _deposits.deposit_refunded(request_key, done=done)


def quote_share_url(quote) -> str | None:
    """The customer's share page of a sent quote (absolute), or None for a draft."""
    from flask import url_for

    if not quote.share_token or quote.state == "draft":
        return None
    return url_for("sales_public.share", token=quote.share_token, _external=True)
