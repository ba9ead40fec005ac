"""What a firing rule does to its record. Each action runs in a savepoint: one that fails is logged as failed and
rolled back alone, the others (and the business change that triggered the rule) stand."""
from __future__ import annotations

import string
from datetime import timedelta
from types import SimpleNamespace

from marshmallow import ValidationError
from sqlalchemy import select

from .. import conditions
from ..activities.services import create_task
from ..customers.models import Customer
from ..extensions import db
from ..notifications.outbox import send
from ..notifications.services import notify_user
from ..notifications.webhooks import _queue, get_endpoint
from ..tenancy.context import current_tenant
from ..tenancy.models import get_scoped, utcnow
from ..users.services import default_assignee, staff_with_role
from ..workflow.engine import WorkflowItem, start
from .spec import plugin_actions

# Rules act with the reach of the tenant itself (every store), as the audit log's actor "rule: <name>".
RULE_USER = SimpleNamespace(id=None, sees_all_stores=True, store_ids=[], active=True, display_name="rule",
                            role=SimpleNamespace(is_owner=True, code="owner"), has_permission=lambda code: True)


def _fill(text: str, values: dict) -> str:
    return "".join(literal + (values.get(name, "") if name is not None else "")
                   for literal, name, _spec, _conv in string.Formatter().parse(text))


def _customer_of(entity: str, record):
    if entity == "customer":
        return record
    customer_id = conditions.entity(entity).customer_id(record)
    return get_scoped(Customer, customer_id) if customer_id else None


def _staff(to: str, entity: str, record):
    if to.startswith("role:"):
        return staff_with_role(to[5:], conditions.entity(entity).store_id(record))
    customer = _customer_of(entity, record)
    owner_id = getattr(record, "owner_id", None) or (customer.owner_id if customer is not None else None)
    assignee = default_assignee(owner_id, conditions.entity(entity).store_id(record))
    return [assignee] if assignee is not None else []


def run(rule, entity: str, record, occurrence: str) -> list[dict]:
    """Run the rule's actions; returns one {"type", "ok", "detail"} per action."""
    from flask import current_app

    ent = conditions.entity(entity)
    customer = _customer_of(entity, record)
    base = current_app.config["STORECRM"].base_url
    values = {"name": ent.title(record), "customer_name": customer.name if customer is not None else "",
              "date": occurrence.split(":")[-1][:10] if occurrence[:4].isdigit() else utcnow().date().isoformat(),
              "link": f"{base}/t/{current_tenant().slug}{ent.url(record)}"}
    outcome = []
    for action in rule.actions:
        savepoint = db.session.begin_nested()
        try:
            detail = ACTIONS[action["type"]](rule, entity, record, customer, action, values, occurrence)
            savepoint.commit()
            outcome.append({"type": action["type"], "ok": True, "detail": detail or ""})
        except ValidationError as err:
            savepoint.rollback()
            outcome.append({"type": action["type"], "ok": False, "detail": str(err.messages)[:300]})
        except Exception as err:  # a plugin's action may fail in any way: the rule's other actions still run
            savepoint.rollback()
            outcome.append({"type": action["type"], "ok": False, "detail": f"{type(err).__name__}: {err}"[:300]})
    return outcome


def _notify(rule, entity, record, customer, action, values, occurrence):
    subject, body = _fill(action.get("subject") or "", values), _fill(action["body"], values)
    key = f"rule:{rule.id}:{entity}:{record.id}:{occurrence}"
    if action["to"] == "customer":
        if customer is None:
            return "no customer"
        address = customer.mobile if action["channel"] == "sms" else customer.email
        if not address:
            raise ValidationError(f"the customer has no {'mobile' if action['channel'] == 'sms' else 'email'}")
        message = send(action["channel"], address, subject, body, customer=customer, marketing=True,
                       dedupe_key=f"{key}:{action['channel']}")
        return message.status if message is not None else "duplicate"
    people = _staff(action["to"], entity, record)
    for person in people:
        if action["channel"] == "in_app":
            notify_user(person, subject or body[:60], body, values["link"], email=False)
        elif action["channel"] == "email" and person.email:
            send("email", person.email, subject, body, dedupe_key=f"{key}:{person.id}:email")
        elif action["channel"] == "sms" and person.mobile:
            send("sms", person.mobile, subject, body, dedupe_key=f"{key}:{person.id}:sms")
    return ", ".join(p.display_name for p in people) or "nobody to tell"


def _create_task(rule, entity, record, customer, action, values, occurrence):
    people = _staff(action["to"], entity, record)
    if not people:
        raise ValidationError("no active staff member to assign the task to")
    due = utcnow() + timedelta(days=action.get("due_in_days") or 0)
    task = create_task(RULE_USER, {"title": _fill(action["title"], values)[:200], "assignee_id": people[0].id,
                                   "customer_id": customer.id if customer is not None else None, "due_at": due,
                                   "notes": rule.name}, related=(entity, record.id))
    return f"task {task.id} → {people[0].display_name}"


def _update(entity, record, data: dict):
    ent = conditions.entity(entity)
    if ent.update is None:
        raise ValidationError("this record type cannot be changed by rules")
    ent.update(RULE_USER, record, data)


def _update_field(rule, entity, record, customer, action, values, occurrence):
    field, value = action["field"], action["value"]
    if field.startswith("custom."):
        _update(entity, record, {"custom": {**(record.custom or {}), field.removeprefix("custom."): value}})
    elif field == "tags":
        _update(entity, record, {"tags": [t.strip() for t in str(value or "").split(",") if t.strip()]})
    else:
        _update(entity, record, {field: value})
    return f"{field} = {value}"


def _tags(add: bool):
    def act(rule, entity, record, customer, action, values, occurrence):
        if customer is None:
            return "no customer"
        tags = list(customer.tags or [])
        wanted = (tags + [action["tag"]]) if add and action["tag"] not in tags else \
            [t for t in tags if t != action["tag"]] if not add else tags
        if wanted != tags:
            _update("customer", customer, {"tags": wanted})
        return action["tag"]
    return act


def _set_level(rule, entity, record, customer, action, values, occurrence):
    if customer is None:
        return "no customer"
    if customer.level != action["level"]:
        _update("customer", customer, {"level": action["level"]})
    return action["level"]


def _start_workflow(rule, entity, record, customer, action, values, occurrence):
    running = db.session.scalar(select(WorkflowItem.id).where(
        WorkflowItem.entity == entity, WorkflowItem.record_id == record.id, WorkflowItem.code == action["workflow"],
        WorkflowItem.finished_at.is_(None)))
    if running:
        return f"already running ({running})"
    return f"item {start(RULE_USER, entity, record, action['workflow']).id}"


def _webhook(rule, entity, record, customer, action, values, occurrence):
    endpoint = get_endpoint(action["endpoint_id"])
    if endpoint is None or not endpoint.active:
        raise ValidationError("the webhook endpoint is gone or switched off")
    _queue([(endpoint.id, endpoint.url)], "rule.fired",
           {"rule_id": rule.id, "rule": rule.name, "entity": entity, "record_id": record.id,
            "customer_id": customer.id if customer is not None else None, "occurrence": occurrence})
    return endpoint.url


def _plugin(rule, entity, record, customer, action, values, occurrence):
    found = plugin_actions().get(action["action"])
    if found is None:
        raise ValidationError("the module providing this action is switched off")
    params = found.params().load(action.get("params") or {}) if found.params else {}
    result = found.run(customer if customer is not None and entity == "customer" else record, params)
    return str(result)[:200] if result is not None else ""


ACTIONS = {"notify": _notify, "create_task": _create_task, "update_field": _update_field,
           "add_tag": _tags(True), "remove_tag": _tags(False), "set_level": _set_level,
           "start_workflow": _start_workflow, "webhook": _webhook, "plugin": _plugin}
