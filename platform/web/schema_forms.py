"""A form generated from a marshmallow schema (a plugin's settings, an asset type's attributes): no template needed."""
from __future__ import annotations

from marshmallow import fields, validate


def describe(schema) -> list[dict]:
    """Field descriptions for the template: name, label, kind (text/textarea/number/bool/select/secret), choices, required."""
    out = []
    for name, field in schema.fields.items():
        if field.dump_only:
            continue
        meta = field.metadata or {}
        kind = "text"
        if isinstance(field, fields.Boolean):
            kind = "bool"
        elif isinstance(field, (fields.Integer, fields.Float, fields.Decimal)):
            kind = "number"
        if meta.get("multiline") and kind == "text":
            kind = "textarea"  # a mapping table or a PEM public key: one value over several lines
        if meta.get("secret"):
            kind = "secret"  # a password input that shows whether a value is stored, never the value
        choices = []
        for validator in field.validators:
            if isinstance(validator, validate.OneOf):
                kind = "select"
                labels = validator.labels or validator.choices
                choices = list(zip(validator.choices, labels))
        out.append({"name": name, "label": meta.get("label", name), "help": meta.get("help"), "kind": kind,
                    "choices": choices, "required": field.required})
    return out
