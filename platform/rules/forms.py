"""The rule editor's form ⇄ the rule's JSON. Conditions: rows joined by all/any, or a JSON tree for nesting."""
from __future__ import annotations

import json

from ..web.forms import json_input
from ..workflow.forms import _count

CONDITION_ROWS, ACTION_CARDS = 4, 3
ACTION_KEYS = ("type", "channel", "to", "subject", "body", "title", "due_in_days", "field", "value", "tag", "level",
               "workflow", "endpoint_id", "action")
TRIGGER_KEYS = ("type", "event", "field", "to", "workflow", "state", "offset_days", "months", "km", "value", "days")


def _flat(tree) -> tuple[str, list] | None:
    """(all|any, leaves) when the tree fits the rows editor, else None."""
    if not tree:
        return "all", []
    if not isinstance(tree, dict):
        return None  # whatever was typed into the JSON box goes back there, to be corrected
    if "field" in tree:
        return "all", [tree]
    for group in ("all", "any"):
        items = tree.get(group)
        if isinstance(items, list) and len(items) <= CONDITION_ROWS and \
                all(isinstance(n, dict) and "field" in n for n in items):
            return group, items
    return None


def to_form(rule: dict) -> dict:
    trigger = rule.get("trigger") or {"type": "event", "event": "created"}
    values = {"name": rule.get("name", ""), "entity": rule.get("entity", "customer"),
              "enabled": rule.get("enabled", False), "run_hour": rule.get("run_hour", 9)}
    for key in TRIGGER_KEYS:
        values[f"trigger.{key}"] = "" if trigger.get(key) is None else trigger.get(key)
    values["trigger.annual"] = trigger.get("annual", False)
    values["trigger.kinds"] = trigger.get("kinds", [])
    flat = _flat(rule.get("conditions"))
    rows = []
    if flat is None:
        values["match"], values["conditions_json"] = "all", json.dumps(rule["conditions"], ensure_ascii=False)
    else:
        values["match"], values["conditions_json"] = flat[0], ""
        rows = flat[1]
    values["rows"] = [{"field": r.get("field", ""), "op": r.get("op", "eq"),
                       "value": ",".join(map(str, r["value"])) if isinstance(r.get("value"), list) else r.get("value", "")}
                      for r in rows] + [{"field": "", "op": "eq", "value": ""}] * (CONDITION_ROWS - len(rows))
    actions = list(rule.get("actions") or [])
    values["actions"] = [{k: ("" if a.get(k) is None else a.get(k)) for k in ACTION_KEYS}
                         | {"params": json.dumps(a.get("params") or {}, ensure_ascii=False) if a.get("params") else ""}
                         for a in actions] + [{k: "" for k in ACTION_KEYS} | {"params": ""}] * max(1, ACTION_CARDS - len(actions))
    return values


def from_form(form) -> tuple[dict, dict]:
    errors: dict[str, list] = {}
    trigger = {k: form.get(f"trigger.{k}") for k in TRIGGER_KEYS if form.get(f"trigger.{k}") not in (None, "")}
    trigger["annual"] = form.get("trigger.annual") == "on"
    trigger["kinds"] = form.getlist("trigger.kinds")
    if (form.get("conditions_json") or "").strip():
        conditions = json_input(form, "conditions_json", errors, "conditions")
    else:
        leaves = []
        for i in range(CONDITION_ROWS):
            field = form.get(f"rows.{i}.field") or ""
            if not field:
                continue
            op, value = form.get(f"rows.{i}.op") or "eq", form.get(f"rows.{i}.value") or ""
            leaf = {"field": field, "op": op}
            if op in ("in", "not_in"):
                leaf["value"] = [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
            elif op not in ("empty", "not_empty"):
                leaf["value"] = value
            leaves.append(leaf)
        conditions = {("any" if form.get("match") == "any" else "all"): leaves} if leaves else None
    actions = []

    for i in range(_count(form.get("action_count"), 10)):
        kind = form.get(f"actions.{i}.type") or ""
        if not kind:
            continue
        action = {k: form.get(f"actions.{i}.{k}") for k in ACTION_KEYS if form.get(f"actions.{i}.{k}") not in (None, "")}
        params = json_input(form, f"actions.{i}.params", errors, f"actions.{len(actions)}.params")
        if params is not None:
            action["params"] = params
        actions.append(action)
    data = {"name": form.get("name", ""), "entity": form.get("entity", ""), "enabled": form.get("enabled") == "on",
            "run_hour": form.get("run_hour") or 9, "trigger": trigger, "conditions": conditions, "actions": actions}
    return data, errors
