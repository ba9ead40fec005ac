"""What sales contributes through the core's hooks (storecrm.core_plugin hands these out): permissions, default
grants, navigation, the engine entities "quote" and "order", the quote approval template, rule triggers and the
customer panel."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..hooks.contrib import CustomerPanel, EngineEntity, Permission, RuleTrigger, WorkflowDefinition
from ..web.nav import NavItem
from . import services
from .models import Order, Quote

G_SALES = _l("Sales")

PERMISSIONS = [
    Permission("sales.view", _l("View quotes, orders and payments"), G_SALES),
    Permission("sales.manage", _l("Write quotes and orders, record payments"), G_SALES),
    Permission("sales.refund", _l("Record refunds and invoices"), G_SALES),
]
GRANTS = {
    "admin": ["sales.view", "sales.manage", "sales.refund"],
    "manager": ["sales.view", "sales.manage", "sales.refund"],
    "advisor": ["sales.view", "sales.manage"],
    "technician": ["sales.view"],
}
NAV = [
    NavItem("sales.quotes", _l("Quotes"), "file-earmark-text", "sales.view", 20),
    NavItem("sales.orders", _l("Orders"), "receipt", "sales.view", 21),
]

_DOCUMENT_FIELDS = {
    "number": (_l("Number"), "text"), "state": (_l("State"), "text"), "store_id": (_l("Store"), "store"),
    "subtotal": (_l("Subtotal"), "number"), "discount_total": (_l("Discount"), "number"),
    "tax_total": (_l("Tax"), "number"), "total": (_l("Total"), "number"), "created_at": (_l("Created"), "datetime"),
    "source_type": (_l("Source record type"), "text"),
}
QUOTE_FIELDS = {**_DOCUMENT_FIELDS, "valid_until": (_l("Valid until"), "date"), "revision": (_l("Revision"), "number")}
ORDER_FIELDS = {**_DOCUMENT_FIELDS, "paid_total": (_l("Paid"), "number"), "refunded_total": (_l("Refunded"), "number"),
                "invoice_state": (_l("Invoice"), "text")}

ENTITIES = [
    EngineEntity("quote", _l("Quotes"), Quote, QUOTE_FIELDS, lambda q: f"{q.number} ({q.total})",
                 lambda q: f"/sales/quotes/{q.id}", customer_id=lambda q: q.customer_id),
    EngineEntity("order", _l("Orders"), Order, ORDER_FIELDS, lambda o: f"{o.number} ({o.total})",
                 lambda o: f"/sales/orders/{o.id}", customer_id=lambda o: o.customer_id),
]

# the quote's own total drives the tiers: no custom amount field to keep in step
QUOTE_APPROVAL = WorkflowDefinition("sales_quote_approval", _l("Quote approval by total"), "quote", {
    "initial": "draft",
    "states": [{"code": "draft", "label": _l("Quote drafted"), "deadline_hours": None, "escalation": [],
                "final": False},
               {"code": "approved", "label": _l("Approved"), "deadline_hours": None, "escalation": [],
                "final": True}],
    "transitions": [{"code": "submit", "label": _l("Submit for approval"), "from": ["draft"], "to": "approved",
                     "roles": [], "approval": {"mode": "tiers", "amount_field": "total", "roles": [], "n": 1,
                                               "tiers": [{"above": 5000, "steps": [["manager"]]},
                                                         {"above": 50000, "steps": [["manager"], ["owner"]]}]}}],
}, _l("Quotes up to 5,000 go out directly; above it the store manager approves; above 50,000 the owner too. "
      "A quote is sent only once approved."))

RULE_TRIGGERS = [
    RuleTrigger("quote_sent", _l("Quote sent"), "quote"),
    RuleTrigger("quote_accepted", _l("Quote accepted"), "quote"),
    RuleTrigger("quote_expired", _l("Quote expired"), "quote"),
    RuleTrigger("order_confirmed", _l("Order confirmed"), "order"),
    RuleTrigger("order_paid", _l("Payment recorded"), "order"),
    RuleTrigger("order_refunded", _l("Refund recorded"), "order"),
]


def _panel_context(customer) -> dict:
    return {"documents": services.documents_for_customer(customer.id), "spend": services.spend_of(customer)}


PANELS = [CustomerPanel("sales.orders", _l("Orders and spend"), "sales/_customer_panel.html", _panel_context,
                        "sales.view", 15)]
