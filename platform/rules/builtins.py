"""Rule templates from the seed documents; a tenant copies one (disabled), previews it, edits it, enables it."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..workflow.builtins import materialise  # noqa: F401 — the same lazy-label conversion

TEMPLATES = {
    "new_lead": {
        "label": _l("New lead: assign and set a first-contact deadline"),
        "rule": {"name": _l("New lead follow-up"), "entity": "customer", "trigger": {"type": "event", "event": "created"},
                 "conditions": {"field": "status", "op": "eq", "value": "active"},
                 "actions": [{"type": "create_task", "to": "owner", "title": _l("First contact: {name}"), "due_in_days": 1}]},
    },
    "delivery_follow_up": {
        "label": _l("Delivery follow-up: call back after 24 hours and after 7 days"),
        "workflow": "install_qc",  # copied from its template first if the tenant does not have it
        "rule": {"name": _l("Delivery follow-up"), "entity": "asset",
                 "trigger": {"type": "event", "event": "state_entered", "workflow": "install_qc", "state": "delivered"},
                 "actions": [{"type": "create_task", "to": "owner", "title": _l("24-hour follow-up: {name}"),
                              "due_in_days": 1},
                             {"type": "create_task", "to": "owner", "title": _l("7-day follow-up: {name}"),
                              "due_in_days": 7}]},
    },
    "install_anniversary": {
        "label": _l("Installation anniversary check-up"),
        "rule": {"name": _l("One year since installation"), "entity": "asset",
                 "trigger": {"type": "date", "field": "installed_on", "offset_days": 365},
                 "actions": [{"type": "create_task", "to": "owner", "title": _l("Anniversary check-up: {name}"),
                              "due_in_days": 3},
                             {"type": "notify", "channel": "sms", "to": "customer", "subject": "",
                              "body": _l("{customer_name}, your {name} was installed a year ago. Book a free check-up: reply or call us.")}]},
    },
    "birthday": {
        "label": _l("Birthday greeting"),
        "rule": {"name": _l("Birthday greeting"), "entity": "customer",
                 "trigger": {"type": "date", "field": "birthday", "offset_days": 0, "annual": True},
                 "actions": [{"type": "notify", "channel": "sms", "to": "customer", "subject": "",
                              "body": _l("Happy birthday, {customer_name}! A small gift is waiting for you in the store.")}]},
    },
    "vip_upgrade": {
        "label": _l("VIP upgrade when lifetime spend crosses 20,000"),
        # lifetime_spend is the customer's real figure, kept by storecrm.sales with every payment and refund
        "rule": {"name": _l("VIP upgrade"), "entity": "customer",
                 "trigger": {"type": "threshold", "field": "lifetime_spend", "value": 20000},
                 "actions": [{"type": "set_level", "level": "VIP"}, {"type": "add_tag", "tag": "VIP"},
                             {"type": "notify", "channel": "in_app", "to": "owner", "subject": _l("New VIP: {name}"),
                              "body": _l("{name} crossed 20,000 in lifetime spend.")}]},
    },
    "dormant": {
        "label": _l("Dormant customer win-back (no visit for 12 months)"),
        "rule": {"name": _l("Dormant customer win-back"), "entity": "customer",
                 "trigger": {"type": "inactivity", "days": 365, "kinds": ["visit"]},
                 "actions": [{"type": "add_tag", "tag": _l("dormant")},
                             {"type": "create_task", "to": "owner", "title": _l("Win back: {name}"), "due_in_days": 7}]},
    },
    "service_due": {
        "label": _l("Service due: 5 months or 8,000 km, whichever first"),
        "rule": {"name": _l("Service reminder"), "entity": "asset", "trigger": {"type": "usage", "months": 5, "km": 8000},
                 "actions": [{"type": "notify", "channel": "sms", "to": "customer", "subject": "",
                              "body": _l("{customer_name}, your {name} is due for a service. Reply to book a time.")},
                             {"type": "create_task", "to": "owner", "title": _l("Service due: {name}"), "due_in_days": 2}]},
    },
}
