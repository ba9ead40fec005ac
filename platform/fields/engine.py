"""Generated marshmallow schemas for custom values, so forms, API and imports validate them the same way."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from ..extensions import db
from ..validation import Phone
from .models import FieldDefinition


def definitions(entity: str, *, include_archived: bool = False, user=None) -> list[FieldDefinition]:
    query = select(FieldDefinition).where(FieldDefinition.entity == entity)
    if not include_archived:
        query = query.where(FieldDefinition.archived.is_(False))
    rows = list(db.session.scalars(query.order_by(FieldDefinition.position, FieldDefinition.id)))
    if user is not None:
        rows = [d for d in rows if visible_to(d, user)]
    return rows


def visible_to(definition: FieldDefinition, user) -> bool:
    return not definition.visible_roles or user.role.is_owner or user.role.code in definition.visible_roles


class MultiChoice(fields.List):
    def _deserialize(self, value, attr, data, **kwargs):
        if isinstance(value, str):
            value = [v.strip() for v in value.replace("，", ",").split(",") if v.strip()]
        return super()._deserialize(value, attr, data, **kwargs)


def _field(d: FieldDefinition) -> fields.Field:
    common = {"required": d.required, "allow_none": not d.required, "metadata": {"label": d.label_en}}
    choose = _l("Choose one of the listed options.")
    if d.type in ("text", "long_text"):
        return fields.String(validate=validate.Length(max=200 if d.type == "text" else 5000), **common)
    if d.type == "number":
        return fields.Decimal(as_string=False, allow_nan=False, validate=validate.Range(min=-1e12, max=1e12), **common)
    if d.type == "money":
        return fields.Decimal(places=2, as_string=True, allow_nan=False,
                              validate=validate.Range(min=-1e12, max=1e12), **common)
    if d.type == "date":
        return fields.Date(**common)
    if d.type == "datetime":
        return fields.AwareDateTime(default_timezone=None, **common)
    if d.type == "select":
        return fields.String(validate=validate.OneOf(d.options or [], error=choose), **common)
    if d.type == "multi_select":
        return MultiChoice(fields.String(validate=validate.OneOf(d.options or [], error=choose)), **common)
    if d.type == "bool":
        return fields.Boolean(**common)
    if d.type == "phone":
        return Phone(**common)
    raise ValueError(d.type)


def schema_for(defs: list[FieldDefinition]) -> Schema:
    return Schema.from_dict({d.code: _field(d) for d in defs}, name="CustomValues")()


def _stored(d: FieldDefinition, value):
    """The JSON form kept in the record: money as a 2-decimal string, numbers as numbers, dates as ISO text."""
    if value is None:
        return None
    if d.type == "money":
        return str(Decimal(value).quantize(Decimal("0.01")))
    if d.type == "number":
        return int(value) if value == value.to_integral_value() else float(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def validate_values(entity: str, raw: dict, *, user=None, current: dict | None = None, partial: bool = False) -> dict:
    """Validate the values a user may edit; keep stored values of fields they may not see or that are archived."""
    defs = definitions(entity, user=user)
    editable = {d.code for d in defs}
    cleaned = {k: v for k, v in (raw or {}).items() if k in editable and v not in ("", None, [])}
    # values of fields this user cannot see, or archived ones, may come back unchanged (e.g. a PATCH merge)
    unknown = [k for k in (raw or {}) if k not in editable and (current or {}).get(k) != raw[k]]
    errors = {}
    if unknown:
        errors["_unknown"] = [_l("Unknown field.")]
    try:
        loaded = schema_for(defs).load(cleaned, partial=partial)
    except ValidationError as err:
        errors.update(err.messages)
        loaded = {}
    if errors:
        raise ValidationError({f"custom.{k}": v for k, v in errors.items()})
    kept = {k: v for k, v in (current or {}).items() if k not in editable}  # hidden or archived: untouched
    by_code = {d.code: d for d in defs}
    return {**kept, **{k: _stored(by_code[k], v) for k, v in loaded.items()}}


def defaults(entity: str) -> dict:
    return {d.code: d.default for d in definitions(entity) if d.default not in (None, "", [])}
