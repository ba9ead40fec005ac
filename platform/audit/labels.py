"""Words for the audit log: record types, actions and the fields a change names, in the reader's language.

Entries keep codes (``update``, ``store_id``); the page turns them into these labels, so the log stays readable
when a label's wording changes. Plugins' own fields fall back to the field code only when nobody labelled it.
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

ENTITY_LABELS = {"customer": _l("Customer"), "store": _l("Store"), "user": _l("Staff"), "role": _l("Role"),
                 "tenant": _l("Settings"), "api_token": _l("API token"), "identity": _l("Identities"),
                 "asset": _l("Asset"), "task": _l("Task"), "interaction": _l("Interactions"), "import": _l("Import"),
                 "plugin": _l("Modules"), "plugin_settings": _l("Module settings"), "workflow": _l("Workflow"),
                 "workflow_item": _l("Workflow item"), "rule": _l("Automation rule"), "field": _l("Custom field"),
                 "webhook": _l("Webhook"), "template": _l("Message template"), "saved_view": _l("Saved view"),
                 "asset_reading": _l("Odometer reading")}
ACTION_LABELS = {"create": _l("created"), "update": _l("changed"), "login": _l("signed in"),
                 "logout": _l("signed out"), "logout_all": _l("signed out everywhere"), "revoke": _l("revoked"),
                 "password_change": _l("password changed"), "password_reset_requested": _l("reset link requested"),
                 "delete": _l("deleted"), "merge": _l("merged"), "unmerge": _l("merge undone"),
                 "match": _l("matched on import or entry"), "transfer": _l("owner changed"), "enable": _l("switched on"),
                 "disable": _l("switched off"), "finish": _l("finished"),
                 "resume": _l("resumed"), "erase": _l("erased (PIPL)"), "grant": _l("permissions granted"),
                 "upgrade": _l("upgraded")}

# column and key names of the records the core audits
FIELD_LABELS = {
    "name": _l("Name"), "kind": _l("Type"), "type": _l("Type"), "status": _l("Status"), "level": _l("Level"),
    "tags": _l("Tags"), "consents": _l("Consents"), "custom": _l("Custom fields"), "mobile": _l("Mobile"),
    "phone": _l("Phone"), "email": _l("Email"), "gender": _l("Gender"), "birthday": _l("Birthday"),
    "province": _l("Province"), "city": _l("City"), "address": _l("Address"), "source": _l("Source"),
    "notes": _l("Notes"), "store_id": _l("Store"), "store_ids": _l("Stores"), "owner_id": _l("Owner"),
    "customer_id": _l("Customer"), "asset_id": _l("Asset"), "user_id": _l("Staff"), "role_id": _l("Role"),
    "assignee_id": _l("Assignee"), "contact_name": _l("Contact person"), "merged_into_id": _l("Merged into"),
    "deleted_at": _l("Deleted at"), "code": _l("Code"), "active": _l("Active"), "opens_at": _l("Opens at"),
    "closes_at": _l("Closes at"), "display_name": _l("Display name"), "locale": _l("Language"),
    "timezone": _l("Time zone"), "currency": _l("Currency"), "duplicate_policy": _l("Duplicate customers"),
    "value": _l("Value"), "primary": _l("Primary"), "identifiers": _l("Identifiers"),
    "attributes": _l("Details"), "purchased_on": _l("Purchased on"), "installed_on": _l("Installed on"),
    "warranty_until": _l("Warranty until"), "title": _l("Title"), "due_at": _l("Due"), "body": _l("Note"),
    "label_zh": _l("Label (Chinese)"), "label_en": _l("Label (English)"), "options": _l("Options"),
    "required": _l("Required"), "archived": _l("Archived"), "entity": _l("Record type"), "enabled": _l("On"),
    "trigger": _l("Trigger"), "conditions": _l("Conditions"), "actions": _l("Actions"), "spec": _l("Definition"),
    "run_hour": _l("Runs at hour"), "url": _l("Address"), "events": _l("Events"), "description": _l("Description"),
    "subject": _l("Subject"), "template": _l("Template"), "permissions": _l("Permissions"), "version": _l("Version"),
    "state": _l("State"), "reading": _l("Reading"), "plate": _l("Plate"), "vin": _l("VIN"), "serial": _l("Serial no."),
    "sms": _l("SMS"), "wechat": _l("WeChat"), "consent_sms": _l("SMS consent"),
    "consent_wechat": _l("WeChat consent"), "enabled_at": _l("Switched on at"), "filename": _l("File"),
    "rows": _l("Rows"), "created": _l("Created"), "updated": _l("Updated"), "failed": _l("Failed"),
    "skipped": _l("Skipped"), "loyalty_every": _l("Loyalty: a free wash every"),
    # quotes and orders
    "number": _l("Document no."), "staff_id": _l("Staff"), "source_type": _l("Created from"),
    "source_id": _l("Created from (no.)"), "header_discount_pct": _l("Discount %"), "subtotal": _l("Subtotal"),
    "discount_total": _l("Discount"), "tax_total": _l("Tax"), "total": _l("Total"), "paid_total": _l("Paid"),
    "refunded_total": _l("Refunded"), "revision": _l("Revision"), "valid_until": _l("Valid until"),
    "deposit_pct": _l("Deposit %"), "sent_at": _l("Sent at"), "accepted_at": _l("Accepted at"),
    "accepted_name": _l("Accepted by"), "closed_reason": _l("Reason"), "quote_id": _l("Quote"),
    "confirmed_at": _l("Confirmed at"), "fulfilled_at": _l("Fulfilled at"), "closed_at": _l("Closed at"),
    "cancelled_at": _l("Cancelled at"), "invoice_number": _l("Invoice no."), "invoice_state": _l("Invoice"),
}
# keys that say nothing to a reader (bookkeeping of the row)
HIDDEN_KEYS = {"id", "tenant_id", "created_at", "updated_at", "auth_epoch", "last_login_at", "password_hash",
               "secret_hash", "token_hash", "prefix", "share_token", "signature", "approval_item_id"}
# values that are codes, by key
VALUE_LABELS = {
    "gender": {"M": _l("male"), "F": _l("female")},
    "kind": {"person": _l("Person"), "company": _l("Company")},
    "status": {"active": _l("active"), "inactive": _l("inactive"), "deleted": _l("deleted"), "open": _l("open"),
               "done": _l("done"), "cancelled": _l("cancelled"), "suspended": _l("suspended"), "lost": _l("lost")},
    "locale": {"zh_CN": "简体中文", "en": "English"},
    "duplicate_policy": {"propose": _l("Refuse and point to the existing customer"),
                         "merge": _l("Add the new details to the existing customer")},
    "priority": {"low": _l("low"), "normal": _l("normal"), "high": _l("high")},
    "entity": {"customer": _l("Customer"), "asset": _l("Asset"), "task": _l("Task")},
    "state": {"draft": _l("Draft"), "sent": _l("Sent"), "accepted": _l("Accepted"), "declined": _l("Declined"),
              "expired": _l("Expired"), "confirmed": _l("Confirmed"), "fulfilled": _l("Fulfilled"),
              "closed": _l("Closed"), "cancelled": _l("Cancelled")},
    "invoice_state": {"none": _l("not requested"), "requested": _l("requested"), "issued": _l("issued"),
                      "voided": _l("voided")},
    "method": {"cash": _l("Cash"), "wechat_pay": _l("WeChat Pay"), "alipay": _l("Alipay"),
               "bank_card": _l("Bank card"), "transfer": _l("Bank transfer"), "stored_value": _l("Stored value")},
}
# kinds of the commerce records, shown by label wherever a "kind" value is one of them
VALUE_LABELS["kind"].update({"quote": _l("Quote"), "order": _l("Order"), "payment": _l("Payment"),
                             "refund": _l("Refund"), "product": _l("Product"), "service": _l("Service (labour)"),
                             "part": _l("Part"), "package": _l("Package")})

# --- pay25: deposits on quotes ---
ENTITY_LABELS["quote_deposit"] = _l("Deposit")
FIELD_LABELS.update({"method": _l("Method"), "amount": _l("Amount"), "reference": _l("Reference"), "note": _l("Note"),
                     "received_at": _l("Received at"), "order_payment_id": _l("Payment of the order"),
                     "refund_reason": _l("Reason"), "refunded_at": _l("Refunded at"), "reason": _l("Reason")})
HIDDEN_KEYS.add("request_key")
VALUE_LABELS["state"].update({"held": _l("Held"), "applied": _l("Carried to the order"),
                              "refunding": _l("Being refunded"), "refunded": _l("Refunded")})
