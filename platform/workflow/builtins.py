"""Workflow templates from the seed documents, offered to every tenant (plugins add theirs via register_workflows).

Labels are lazy strings: a tenant copying a template gets them in the language it works in, then edits freely."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

from ..hooks.contrib import FieldPreset, WorkflowDefinition


def _state(code, label, hours=None, escalation=(), final=False):
    return {"code": code, "label": label, "deadline_hours": hours, "escalation": list(escalation), "final": final}


def _move(code, label, from_, to, roles=(), **extra):
    return {"code": code, "label": label, "from": list(from_), "to": to, "roles": list(roles), **extra}


LEAD = WorkflowDefinition("lead", _l("New lead follow-up"), "customer", {
    "initial": "new",
    "states": [
        _state("new", _l("New lead"), 24, [{"after_hours": 0, "action": "remind"},
                                           {"after_hours": 4, "action": "notify_role", "role": "manager"},
                                           {"after_hours": 24, "action": "reassign", "role": "manager"}]),
        _state("contacted", _l("Contacted"), 72, [{"after_hours": 0, "action": "remind"}]),
        _state("visited", _l("Visited the store")),
        _state("won", _l("Won"), final=True),
        _state("lost", _l("Lost"), final=True),
    ],
    "transitions": [
        _move("contact", _l("First contact made"), ["new"], "contacted"),
        _move("visit", _l("Came to the store"), ["new", "contacted"], "visited"),
        _move("win", _l("Deal closed"), ["contacted", "visited"], "won"),
        _move("lose", _l("Lost the lead"), ["new", "contacted", "visited"], "lost"),
    ],
    "card_fields": ["source", "level", "store_id"],
}, _l("First contact within 24 hours; overdue leads go to the store manager, then are reassigned."))

QUOTE = WorkflowDefinition("quote_approval", _l("Quote approval by amount"), "customer", {
    "initial": "draft",
    "states": [_state("draft", _l("Quote drafted")), _state("approved", _l("Approved")),
               _state("sent", _l("Sent to the customer"), final=True)],
    "transitions": [
        _move("submit", _l("Submit for approval"), ["draft"], "approved", required_fields=["custom.quote_amount"],
              approval={"mode": "tiers", "amount_field": "custom.quote_amount", "roles": [], "n": 1,
                        "tiers": [{"above": 5000, "steps": [["manager"]]},
                                  {"above": 50000, "steps": [["manager"], ["owner"]]}]}),
        _move("send", _l("Send to the customer"), ["approved"], "sent"),
    ],
    "card_fields": ["custom.quote_amount", "level", "store_id"],
}, _l("Up to 5,000 passes directly; above it the store manager approves; above 50,000 the owner too."),
    (FieldPreset("customer", "quote_amount", _l("Quote amount"), "money"),))

INSTALL = WorkflowDefinition("install_qc", _l("Installation with quality check"), "asset", {
    "initial": "scheduled",
    "states": [_state("scheduled", _l("Scheduled")), _state("installing", _l("Installing"), 8),
               _state("qc", _l("Quality check"), 4, [{"after_hours": 0, "action": "notify_role", "role": "manager"}]),
               _state("delivered", _l("Delivered")),
               _state("followed_up", _l("Followed up"), final=True)],
    "transitions": [
        _move("begin", _l("Start work"), ["scheduled"], "installing", ["technician", "manager"]),
        _move("to_qc", _l("Hand over to QC"), ["installing"], "qc", ["technician", "manager"], require_photo=True),
        _move("pass", _l("QC passed, deliver"), ["qc"], "delivered", ["manager"]),
        _move("follow_up", _l("Customer called back"), ["delivered"], "followed_up"),
    ],
    "card_fields": ["customer.name", "type", "store_id"],
}, _l("QC can send the job back to installing with a reason; delivery starts a follow-up within 7 days."))
INSTALL.spec["states"][3].update(deadline_hours=24 * 7, escalation=[{"after_hours": 0, "action": "remind"}])

BUILTINS = (LEAD, QUOTE, INSTALL)


def materialise(value):
    """The template's JSON with its lazy labels turned into text in the current language."""
    if isinstance(value, dict):
        return {k: materialise(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [materialise(v) for v in value]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)
