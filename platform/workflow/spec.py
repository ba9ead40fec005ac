"""The JSON of a workflow definition, checked before it is saved (docs/workflows.md describes every key)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from .. import conditions
from ..access.services import list_roles
from ..validation import BoundedDecimal

CODE = validate.Regexp(r"^[a-z][a-z0-9_]{0,39}$", error=_l("Use 1–40 lowercase letters, digits or _, starting with a letter."))
ESCALATIONS = ("remind", "notify_role", "reassign")
APPROVAL_MODES = ("single", "quorum", "tiers")


class EscalationSchema(Schema):
    after_hours = fields.Integer(load_default=0, validate=validate.Range(min=0, max=24 * 90))
    action = fields.String(required=True, validate=validate.OneOf(ESCALATIONS))
    role = fields.String(load_default=None, allow_none=True)

    @validates_schema
    def _role(self, data, **kwargs):
        if data["action"] in ("notify_role", "reassign") and not data.get("role"):
            raise ValidationError(_l("Choose the role to notify or reassign to."), "role")


class StateSchema(Schema):
    code = fields.String(required=True, validate=CODE)
    label = fields.String(required=True, validate=validate.Length(min=1, max=60))
    deadline_hours = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1, max=24 * 365))
    escalation = fields.List(fields.Nested(EscalationSchema), load_default=list, validate=validate.Length(max=5))
    final = fields.Boolean(load_default=False)


class TierSchema(Schema):
    above = BoundedDecimal(required=True, as_string=False, validate=validate.Range(min=0))
    steps = fields.List(fields.List(fields.String(), validate=validate.Length(min=1)), load_default=list,
                        validate=validate.Length(max=5))


class ApprovalSchema(Schema):
    mode = fields.String(required=True, validate=validate.OneOf(APPROVAL_MODES))
    roles = fields.List(fields.String(), load_default=list)  # single, quorum
    n = fields.Integer(load_default=1, validate=validate.Range(min=1, max=20))  # quorum: approvals needed
    amount_field = fields.String(load_default=None, allow_none=True)  # tiers
    tiers = fields.List(fields.Nested(TierSchema), load_default=list, validate=validate.Length(max=6))

    @validates_schema
    def _complete(self, data, **kwargs):
        if data["mode"] in ("single", "quorum") and not data["roles"]:
            raise ValidationError(_l("Choose who approves."), "roles")
        if data["mode"] == "tiers" and (not data.get("amount_field") or not data["tiers"]):
            raise ValidationError(_l("Tiered approval needs an amount field and at least one tier."), "tiers")


class TransitionSchema(Schema):
    code = fields.String(required=True, validate=CODE)
    label = fields.String(required=True, validate=validate.Length(min=1, max=60))
    from_ = fields.List(fields.String(), data_key="from", required=True, validate=validate.Length(min=1))
    to = fields.String(required=True)
    roles = fields.List(fields.String(), load_default=list)  # empty: anyone who may see the record
    condition = fields.Dict(load_default=None, allow_none=True)
    required_fields = fields.List(fields.String(), load_default=list)
    require_photo = fields.Boolean(load_default=False)
    approval = fields.Nested(ApprovalSchema, load_default=None, allow_none=True)


class SpecSchema(Schema):
    initial = fields.String(required=True)
    states = fields.List(fields.Nested(StateSchema), required=True, validate=validate.Length(min=2, max=30))
    transitions = fields.List(fields.Nested(TransitionSchema), required=True, validate=validate.Length(min=1, max=60))
    # what an item's card (queue, item page, notifications) shows besides the record's title; None: the defaults
    card_fields = fields.List(fields.String(), load_default=None, allow_none=True, validate=validate.Length(max=8))


def check(entity_code: str, raw: dict) -> dict:
    """The spec as stored, or ValidationError with messages keyed like `transitions.2.to`."""
    try:
        spec = SpecSchema().load(raw if isinstance(raw, dict) else {})
    except ValidationError as err:
        raise ValidationError(dotted(err.messages)) from None
    errors: dict[str, list] = {}
    states = [s["code"] for s in spec["states"]]
    roles = {r.code for r in list_roles()}
    catalog = conditions.field_catalog(entity_code)
    if len(set(states)) != len(states):
        errors["states"] = [_l("Two states have the same code.")]
    if spec["initial"] not in states:
        errors["initial"] = [_l("The first state must be one of the states.")]
    for i, state in enumerate(spec["states"]):
        for j, step in enumerate(state["escalation"]):
            if step.get("role") and step["role"] not in roles:
                errors[f"states.{i}.escalation.{j}.role"] = [_l("Unknown role.")]
    codes = [t["code"] for t in spec["transitions"]]
    if len(set(codes)) != len(codes):
        errors["transitions"] = [_l("Two actions have the same code.")]
    for i, t in enumerate(spec["transitions"]):
        bad = [s for s in t["from_"] + [t["to"]] if s not in states]
        if bad:
            errors[f"transitions.{i}.to"] = [_l("Unknown state: %(codes)s", codes=", ".join(bad))]
        unknown_roles = [r for r in t["roles"] if r not in roles]
        if unknown_roles:
            errors[f"transitions.{i}.roles"] = [_l("Unknown role: %(codes)s", codes=", ".join(unknown_roles))]
        unknown_fields = [f for f in t["required_fields"] if f not in catalog]
        if unknown_fields:
            errors[f"transitions.{i}.required_fields"] = [_l("Unknown field: %(field)s", field=", ".join(unknown_fields))]
        if t["condition"]:
            try:
                t["condition"] = conditions.check(entity_code, t["condition"])
            except ValidationError as err:
                errors[f"transitions.{i}.condition"] = err.messages.get("conditions", [str(err.messages)])
        approval = t["approval"]
        if approval:
            wanted = approval["roles"] + [r for tier in approval["tiers"] for step in tier["steps"] for r in step]
            if any(r not in roles for r in wanted):
                errors[f"transitions.{i}.approval"] = [_l("Unknown role: %(codes)s",
                                                          codes=", ".join(r for r in wanted if r not in roles))]
            if approval["mode"] == "tiers":
                if catalog.get(approval["amount_field"], (None, None))[1] != "number":
                    errors[f"transitions.{i}.approval"] = [_l("The amount field must be a number field.")]
                approval["tiers"].sort(key=lambda tier: tier["above"])
                for tier in approval["tiers"]:
                    tier["above"] = float(tier["above"])
    unknown_card = [f for f in spec.get("card_fields") or [] if f not in catalog]
    if unknown_card:
        errors["card_fields"] = [_l("Unknown field: %(field)s", field=", ".join(unknown_card))]
    elif spec.get("card_fields") is not None:
        spec["card_fields"] = list(dict.fromkeys(spec["card_fields"]))
    if errors:
        raise ValidationError(errors)
    if spec.get("card_fields") is None:
        spec.pop("card_fields", None)
    for t in spec["transitions"]:
        t["from"] = t.pop("from_")
    return spec


def dotted(messages, prefix: str = "") -> dict:
    """marshmallow's nested errors ({"states": {1: {"label": [...]}}}) as {"states.1.label": [...]}, so a form can
    point at the very input and the API names it."""
    if not isinstance(messages, dict):
        return {prefix or "_schema": messages if isinstance(messages, list) else [messages]}
    out = {}
    for key, value in messages.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, dict):
            out.update(dotted(value, name))
        else:
            out[name] = value if isinstance(value, list) else [value]
    return out


def state(spec: dict, code: str) -> dict:
    return next((s for s in spec["states"] if s["code"] == code), {"code": code, "label": code})


def transition(spec: dict, code: str) -> dict | None:
    return next((t for t in spec["transitions"] if t["code"] == code), None)


def earlier_states(visited: list[str], current: str) -> list[str]:
    """States this item went through before the current one (where a reject may send it back), in order."""
    seen: list[str] = []
    for code in visited:
        if code != current and code not in seen:
            seen.append(code)
    return seen


def previous_state(visited: list[str], current: str) -> str | None:
    """The state the item was in just before the current one (the natural "send back" target): the last visited
    state that is not the current one, so a loop installing → QC → installing → QC goes back to installing."""
    for code in reversed(visited):
        if code != current:
            return code
    return None
