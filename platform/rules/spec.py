"""The JSON of a rule's trigger and actions, checked before it is saved (docs/rules.md describes every key)."""
from __future__ import annotations

import string

from flask_babel import lazy_gettext as _l
from marshmallow import EXCLUDE, Schema, ValidationError, fields, validate

from .. import conditions
from ..access.services import list_roles
from ..hooks.runtime import enabled_plugins, host
from ..notifications.webhooks import get_endpoint
from ..validation import BoundedDecimal, finite_number, number_as_json
from ..workflow.engine import current_definition

TRIGGERS = {
    "event": _l("When something happens"),
    "date": _l("On a date relative to a field"),
    "usage": _l("Service due by time or distance"),
    "threshold": _l("When a number crosses a value"),
    "inactivity": _l("When a customer has been inactive"),
}
SWEPT = ("date", "usage", "inactivity")  # found by the hourly sweep in SQL; the others react to events
EVENTS = {"created": _l("Created"), "changed": _l("Changed"), "field_changed": _l("A field changed (to a value)"),
          "state_entered": _l("Workflow state entered")}
ACTIONS = {
    "notify": _l("Send a notification"), "create_task": _l("Create a task"), "update_field": _l("Set a field"),
    "add_tag": _l("Add a tag"), "remove_tag": _l("Remove a tag"), "set_level": _l("Set the customer level"),
    "start_workflow": _l("Start a workflow"), "webhook": _l("Call a webhook"), "plugin": _l("Module action"),
}
CHANNELS = {"in_app": _l("In-app (staff)"), "email": _l("Email"), "sms": _l("SMS")}
RECIPIENTS = ("customer", "owner", "role")
PLACEHOLDERS = ("name", "customer_name", "date", "link")
INTERACTION_KINDS = ("call", "visit", "message", "note")


def _err(key, message):
    raise ValidationError({key: [message]})


class _Trigger(Schema):
    type = fields.String(required=True, validate=validate.OneOf(list(TRIGGERS)))
    event = fields.String(load_default=None, allow_none=True)
    field = fields.String(load_default=None, allow_none=True)
    to = fields.Raw(load_default=None, allow_none=True)
    workflow = fields.String(load_default=None, allow_none=True)
    state = fields.String(load_default=None, allow_none=True)
    offset_days = fields.Integer(load_default=0, validate=validate.Range(min=-3650, max=3650))
    annual = fields.Boolean(load_default=False)
    months = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=120))
    km = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=100, max=1_000_000))
    value = BoundedDecimal(load_default=None, allow_none=True, as_string=False)
    days = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=3650))
    kinds = fields.List(fields.String(validate=validate.OneOf(INTERACTION_KINDS)), load_default=list)


def plugin_triggers() -> dict:
    return {t.code: t for t in host().items("register_rule_triggers", enabled_plugins())}


def plugin_actions() -> dict:
    return {a.code: a for a in host().items("register_rule_actions", enabled_plugins())}


def check_trigger(entity: str, raw) -> dict:
    try:
        t = _Trigger().load(raw if isinstance(raw, dict) else {})
    except ValidationError as err:
        raise ValidationError({f"trigger.{k}": v for k, v in err.messages.items()})
    catalog = conditions.field_catalog(entity)
    kind = t["type"]
    out = {"type": kind}
    if kind == "event":
        events = {**EVENTS, **{c: p.label for c, p in plugin_triggers().items() if p.entity == entity}}
        if t["event"] not in events:
            _err("trigger.event", _l("Choose one of the listed options."))
        out["event"] = t["event"]
        if t["event"] == "field_changed":
            if t["field"] not in catalog or t["field"].startswith("customer."):
                _err("trigger.field", _l("Choose one of the listed options."))
            out["field"] = t["field"]
            if t["to"] not in (None, ""):
                out["to"] = conditions.check(entity, {"field": t["field"], "op": "eq", "value": t["to"]})["value"]
        if t["event"] == "state_entered":
            definition = current_definition(t["workflow"] or "")
            if definition is None or definition.entity != entity:
                _err("trigger.workflow", _l("Choose one of the listed options."))
            if t["state"] not in [s["code"] for s in definition.spec["states"]]:
                _err("trigger.state", _l("Choose one of the listed options."))
            out.update(workflow=t["workflow"], state=t["state"])
    elif kind == "date":
        if catalog.get(t["field"], (None, None))[1] not in ("date", "datetime") or t["field"].startswith("customer."):
            _err("trigger.field", _l("Choose a date field."))
        out.update(field=t["field"], offset_days=t["offset_days"], annual=t["annual"])
    elif kind == "usage":
        if entity != "asset":
            _err("trigger.type", _l("Service-due rules work on assets."))
        if not t["months"] and not t["km"]:
            _err("trigger.months", _l("Give months, kilometres, or both."))
        out.update(months=t["months"], km=t["km"])
        if t["offset_days"]:  # fire this many days after (negative: before) the due day, e.g. -30 = a month ahead
            out["offset_days"] = t["offset_days"]
    elif kind == "threshold":
        if catalog.get(t["field"], (None, None))[1] != "number" or t["field"].startswith("customer."):
            _err("trigger.field", _l("Choose a number field."))
        if t["value"] is None:
            _err("trigger.value", _l("A value is required."))
        out.update(field=t["field"], value=float(t["value"]))
    elif kind == "inactivity":
        if entity != "customer":
            _err("trigger.type", _l("Inactivity rules work on customers."))
        if not t["days"]:
            _err("trigger.days", _l("A value is required."))
        out.update(days=t["days"], kinds=t["kinds"])
    return out


class _ActionShape(Schema):
    """The JSON types of an action's keys, checked before any of them is looked at (a list where text belongs
    is a field error, never a crash); what each key may contain is checked by `check_actions`."""

    class Meta:
        unknown = EXCLUDE

    type = fields.String(required=True)
    channel = fields.String(load_default=None, allow_none=True)
    to = fields.String(load_default=None, allow_none=True)
    subject = fields.String(load_default=None, allow_none=True)
    body = fields.String(load_default=None, allow_none=True)
    title = fields.String(load_default=None, allow_none=True)
    due_in_days = fields.Integer(load_default=0, allow_none=True, validate=validate.Range(min=0, max=365))
    field = fields.String(load_default=None, allow_none=True)
    value = fields.Raw(load_default=None, allow_none=True)
    tag = fields.String(load_default=None, allow_none=True)
    level = fields.String(load_default=None, allow_none=True)
    workflow = fields.String(load_default=None, allow_none=True)
    endpoint_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=2**31 - 1))
    action = fields.String(load_default=None, allow_none=True)
    params = fields.Dict(load_default=None, allow_none=True)


def _set_value(raw, type_: str, index: int):
    """The value a set-field action writes, in JSON the database accepts (bounded numbers, short text)."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, (dict, list)):
        _err(f"actions.{index}.value", _l("Enter a single value."))
    if type_ == "number" or isinstance(raw, (int, float)) and not isinstance(raw, bool):
        try:
            return number_as_json(finite_number(raw))
        except ValidationError as err:
            _err(f"actions.{index}.value", err.messages[0])
    if isinstance(raw, str) and len(raw) > 1000:
        _err(f"actions.{index}.value", _l("Too long."))
    return raw


def _text(action: dict, key: str, index: int, *, required: bool, limit: int) -> str:
    value = str(action.get(key) or "").strip()
    if required and not value:
        _err(f"actions.{index}.{key}", _l("A value is required."))
    if len(value) > limit:
        _err(f"actions.{index}.{key}", _l("Too long."))
    try:
        unknown = [n for _lit, n, _s, _c in string.Formatter().parse(value) if n is not None and n not in PLACEHOLDERS]
    except ValueError:
        _err(f"actions.{index}.{key}", _l("Unbalanced { or }; write {{ and }} for the braces themselves."))
    if unknown:
        _err(f"actions.{index}.{key}", _l("Unknown placeholder: %(names)s. Available: %(available)s",
                                          names=", ".join("{%s}" % n for n in unknown),
                                          available=", ".join("{%s}" % v for v in PLACEHOLDERS)))
    return value


def _recipient(action: dict, index: int, roles: set) -> dict:
    to = action.get("to") or "owner"
    if to.startswith("role:"):
        if to[5:] not in roles:
            _err(f"actions.{index}.to", _l("Unknown role."))
        return {"to": to}
    if to not in RECIPIENTS:
        _err(f"actions.{index}.to", _l("Choose one of the listed options."))
    return {"to": to}


def check_actions(entity: str, raw) -> list[dict]:
    if not isinstance(raw, list) or not raw:
        _err("actions", _l("Add at least one action."))
    if len(raw) > 10:
        _err("actions", _l("At most 10 actions."))
    roles = {r.code for r in list_roles()}
    catalog = conditions.field_catalog(entity)
    out = []
    for i, action in enumerate(raw):
        if not isinstance(action, dict):
            _err(f"actions.{i}.type", _l("Choose one of the listed options."))
        try:
            action = _ActionShape().load(action)
        except ValidationError as err:
            raise ValidationError({f"actions.{i}.{k}": v for k, v in err.messages.items()})
        if action["type"] not in ACTIONS:
            _err(f"actions.{i}.type", _l("Choose one of the listed options."))
        kind = action["type"]
        item = {"type": kind}
        if kind == "notify":
            if action.get("channel") not in CHANNELS:
                _err(f"actions.{i}.channel", _l("Choose one of the listed options."))
            item.update(channel=action["channel"], **_recipient(action, i, roles),
                        subject=_text(action, "subject", i, required=action["channel"] != "sms", limit=200),
                        body=_text(action, "body", i, required=True, limit=1000))
            if item["to"] == "customer" and item["channel"] == "in_app":
                _err(f"actions.{i}.channel", _l("Customers cannot get in-app notifications; choose SMS or email."))
        elif kind == "create_task":
            item.update(title=_text(action, "title", i, required=True, limit=200), **_recipient(action, i, roles))
            if item["to"] == "customer":
                _err(f"actions.{i}.to", _l("Tasks go to staff: the record's owner or a role."))
            item["due_in_days"] = action["due_in_days"] or 0
        elif kind == "update_field":
            field = action.get("field")
            if field not in catalog or field.startswith("customer.") or catalog[field][1] in ("store", "datetime"):
                _err(f"actions.{i}.field", _l("Choose one of the listed options."))
            item.update(field=field, value=_set_value(action["value"], catalog[field][1], i))
        elif kind in ("add_tag", "remove_tag"):
            if entity != "customer" and "customer_id" not in conditions.entity(entity).model.__table__.c:
                _err(f"actions.{i}.type", _l("Tags belong to customers."))
            item["tag"] = _text(action, "tag", i, required=True, limit=40)
        elif kind == "set_level":
            item["level"] = _text(action, "level", i, required=True, limit=20)
        elif kind == "start_workflow":
            definition = current_definition(action.get("workflow") or "")
            if definition is None or definition.entity != entity:
                _err(f"actions.{i}.workflow", _l("Choose one of the listed options."))
            item["workflow"] = definition.code
        elif kind == "webhook":
            endpoint = get_endpoint(action.get("endpoint_id"))
            if endpoint is None:
                _err(f"actions.{i}.endpoint_id", _l("Choose one of the listed options."))
            item["endpoint_id"] = endpoint.id
        elif kind == "plugin":
            found = plugin_actions().get(action.get("action"))
            if found is None:
                _err(f"actions.{i}.action", _l("Choose one of the listed options."))
            try:
                params = found.params().load(action.get("params") or {}) if found.params else {}
            except ValidationError as err:
                raise ValidationError({f"actions.{i}.params.{k}": v for k, v in err.messages.items()})
            item.update(action=found.code, params=found.params().dump(params) if found.params else {})
        out.append(item)
    return out


def check(data: dict) -> dict:
    """A whole rule: name, entity, trigger, conditions, actions, enabled, run_hour."""
    errors = {}
    name = str(data.get("name") or "").strip()
    if not name or len(name) > 80:
        errors["name"] = [_l("Give the rule a name (up to 80 characters).")]
    if not isinstance(data, dict):
        raise ValidationError({"_schema": [_l("Send a JSON object.")]})
    entity = data.get("entity")
    if not isinstance(entity, str) or entity not in conditions.entities():
        errors["entity"] = [_l("Choose one of the listed options.")]
        raise ValidationError(errors)
    out = {"name": name, "entity": entity, "enabled": bool(data.get("enabled"))}
    for key, fn in (("trigger", lambda: check_trigger(entity, data.get("trigger"))),
                    ("conditions", lambda: conditions.check(entity, data.get("conditions"))),
                    ("actions", lambda: check_actions(entity, data.get("actions")))):
        try:
            out[key] = fn()
        except ValidationError as err:
            errors.update(err.messages)
    try:
        out["run_hour"] = int(data.get("run_hour", 9))
        if not 0 <= out["run_hour"] <= 23:
            raise ValueError
    except (TypeError, ValueError):
        errors["run_hour"] = [_l("Enter an hour from 0 to 23.")]
    if errors:
        raise ValidationError(errors)
    return out
