"""The workflow editor's form: a card per state and per action, with blank cards to add more; no script needed.

`to_form(spec)` gives the rows to render, `from_form(form)` the spec to check; rows with no code are dropped."""
from __future__ import annotations

import json

from ..web.forms import json_input

EXTRA_STATES, EXTRA_TRANSITIONS, ESCALATION_STEPS, TIERS = 2, 2, 3, 3


def _int(raw):
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return int(raw)
    except ValueError:
        return raw  # the schema names the field and says it is not a number


def _number(raw):
    raw = (raw or "").strip().replace(",", "")
    try:
        return float(raw) if raw else None
    except ValueError:
        return raw


def _count(raw, limit: int) -> int:
    """How many cards the form says it has (a tampered value counts as none)."""
    try:
        return max(0, min(int(raw or 0), limit))
    except (TypeError, ValueError):
        return 0


def to_form(spec: dict | None) -> dict:
    spec = spec or {"initial": "", "states": [], "transitions": []}
    states = [dict(s, escalation=(list(s.get("escalation") or []) + [{}] * ESCALATION_STEPS)[:ESCALATION_STEPS])
              for s in spec["states"]]
    states += [{"code": "", "label": "", "escalation": [{}] * ESCALATION_STEPS} for _ in range(EXTRA_STATES)]
    transitions = []
    for t in spec["transitions"] + [{} for _ in range(EXTRA_TRANSITIONS)]:
        approval = t.get("approval") or {}
        tiers = [{"above": tier["above"], "steps": " > ".join(",".join(step) for step in tier["steps"])}
                 for tier in approval.get("tiers") or []]
        transitions.append({**t, "from": t.get("from") or [], "roles": t.get("roles") or [],
                            "required_fields": t.get("required_fields") or [],
                            "condition_json": json.dumps(t["condition"], ensure_ascii=False) if t.get("condition") else "",
                            "approval_mode": approval.get("mode", ""), "approval_roles": approval.get("roles") or [],
                            "approval_n": approval.get("n", 1), "amount_field": approval.get("amount_field") or "",
                            "tiers": (tiers + [{"above": "", "steps": ""}] * TIERS)[:TIERS]})
    return {"initial": spec.get("initial", ""), "states": states, "transitions": transitions,
            "card_fields": list(spec.get("card_fields") or [])}


def from_form(form) -> tuple[dict, dict]:
    """(spec, errors found while reading the form itself, e.g. a condition that is not JSON)."""
    errors: dict[str, list] = {}
    states, transitions = [], []
    for i in range(_count(form.get("state_count"), 40)):
        code = (form.get(f"states.{i}.code") or "").strip()
        if not code:
            continue
        escalation = []
        for j in range(ESCALATION_STEPS):
            action = form.get(f"states.{i}.escalation.{j}.action") or ""
            if action:
                escalation.append({"after_hours": _int(form.get(f"states.{i}.escalation.{j}.after_hours")) or 0,
                                   "action": action, "role": form.get(f"states.{i}.escalation.{j}.role") or None})
        states.append({"code": code, "label": (form.get(f"states.{i}.label") or "").strip() or code,
                       "deadline_hours": _int(form.get(f"states.{i}.deadline_hours")),
                       "final": form.get(f"states.{i}.final") == "on", "escalation": escalation})
    for i in range(_count(form.get("transition_count"), 70)):
        code = (form.get(f"transitions.{i}.code") or "").strip()
        if not code:
            continue
        t = {"code": code, "label": (form.get(f"transitions.{i}.label") or "").strip() or code,
             "from": form.getlist(f"transitions.{i}.from"), "to": form.get(f"transitions.{i}.to") or "",
             "roles": form.getlist(f"transitions.{i}.roles"),
             "required_fields": form.getlist(f"transitions.{i}.required_fields"),
             "require_photo": form.get(f"transitions.{i}.require_photo") == "on", "condition": None, "approval": None}
        t["condition"] = json_input(form, f"transitions.{i}.condition_json", errors,
                                    f"transitions.{len(transitions)}.condition")
        mode = form.get(f"transitions.{i}.approval_mode") or ""
        if mode:
            tiers = []
            for j in range(TIERS):
                above = _number(form.get(f"transitions.{i}.tiers.{j}.above"))
                steps_raw = (form.get(f"transitions.{i}.tiers.{j}.steps") or "").strip()
                if above is None and not steps_raw:
                    continue
                steps = [[r.strip() for r in step.split(",") if r.strip()] for step in steps_raw.split(">")
                         if step.strip()]
                tiers.append({"above": above if above is not None else 0, "steps": steps})
            t["approval"] = {"mode": mode, "roles": form.getlist(f"transitions.{i}.approval_roles"),
                             "n": _int(form.get(f"transitions.{i}.approval_n")) or 1,
                             "amount_field": form.get(f"transitions.{i}.amount_field") or None, "tiers": tiers}
        transitions.append(t)
    initial = form.get("initial") or (states[0]["code"] if states else "")
    return {"initial": initial, "states": states, "transitions": transitions,
            "card_fields": [f for f in form.getlist("card_fields") if f]}, errors
