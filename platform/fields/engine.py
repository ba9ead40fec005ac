"""Generated marshmallow schemas for custom values, so forms, API and imports validate them the same way."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from ..extensions import db
from ..files.services import files_by_id
from ..hooks.runtime import enabled_plugins, host
from ..localcache import MISSING, LocalCache
from ..tenancy.context import require_tenant_id
from ..tenancy.models import as_id, get_scoped
from ..users.models import User
from ..validation import BoundedDecimal, LenientDate, Phone, finite_number, normalize_phone, number_as_json
from .models import FILE_TYPES, FieldDefinition

MAX_FILES = 20


def entities() -> dict[str, object]:
    """Entity code -> label of every record type that takes custom fields: core ones and enabled plugins'."""
    out = {"customer": _l("Customers"), "asset": _l("Assets")}
    for entity in host().items("register_extensible_entities", enabled_plugins()):
        out.setdefault(entity.code, entity.label)
    return out


# Every entity's definitions of a tenant: read by nearly every page and API call (a customer's own fields and its
# assets'), kept per process within storecrm.localcache's bound and dropped at once by a transaction here that wrote
# field_definitions. The cached rows are transient copies, never in a session: shared read-only across requests as
# the cached API principal's role is, and no request's own (perhaps changed) definition is taken from its session.
_by_tenant = LocalCache("field definitions", ("field_definitions",))
_COLUMNS = tuple(c.key for c in FieldDefinition.__table__.columns)


def _all_definitions(include_archived: bool) -> dict[str, list[FieldDefinition]]:
    key = (require_tenant_id(), include_archived)
    found = _by_tenant.get(key)
    if found is MISSING:
        stamp = _by_tenant.stamp()
        query = select(*[getattr(FieldDefinition, name) for name in _COLUMNS])
        if not include_archived:
            query = query.where(FieldDefinition.archived.is_(False))
        found = {}
        for row in db.session.execute(query.order_by(FieldDefinition.position, FieldDefinition.id)):
            found.setdefault(row.entity, []).append(FieldDefinition(**dict(zip(_COLUMNS, row))))
        _by_tenant.put(key, found, stamp=stamp)
    return found


def definitions(entity: str, *, include_archived: bool = False, user=None) -> list[FieldDefinition]:
    """The entity's field definitions (read-only copies), read once per request or job (an import validates
    thousands of rows against them) and kept per process within the cache bound; saving a definition clears both."""
    from flask import g

    cache = g.setdefault("_field_definitions", {})
    key = (require_tenant_id(), include_archived)
    if key not in cache:
        cache[key] = _all_definitions(include_archived)
    rows = cache[key].get(entity, [])
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


def _ids(value) -> list:
    items = value if isinstance(value, list) else str(value).replace("，", ",").split(",") if value else []
    return [i.strip() if isinstance(i, str) else i for i in items if i not in ("", None)]


class FileList(fields.Field):
    """Ids of files uploaded to this tenant (photos: images only)."""

    def __init__(self, *, images_only: bool, **kwargs):
        super().__init__(**kwargs)
        self.images_only = images_only

    def _deserialize(self, value, attr, data, **kwargs):
        raw = _ids(value)
        ids = [as_id(i) for i in raw]
        if None in ids:
            raise ValidationError(_l("Give the ids of uploaded files."))
        ids = list(dict.fromkeys(ids))
        if len(ids) > MAX_FILES:
            raise ValidationError(_l("At most %(n)d files.", n=MAX_FILES))
        found = files_by_id(ids)
        if len(found) != len(ids):
            raise ValidationError(_l("No such uploaded file."))
        if self.images_only and not all(f.is_image for f in found.values()):
            raise ValidationError(_l("Only photos (JPEG, PNG, WebP, GIF) can be uploaded here."))
        return ids


class Reference(fields.Field):
    """The id of a customer, asset or staff member of this tenant."""

    def __init__(self, *, target: str, **kwargs):
        super().__init__(**kwargs)
        self.target = target

    def _deserialize(self, value, attr, data, **kwargs):
        number = as_id(value)
        row = _referenced(self.target, number) if number else None
        if row is None:
            raise ValidationError({"ref_customer": _l("No such customer."), "ref_asset": _l("No such asset."),
                                   "ref_user": _l("No such staff member.")}[self.target])
        return number


def _model(target: str):
    """The model a reference field points at: staff, or the record type registered as an engine entity ("customer",
    "asset"), so the fields engine needs no import of the modules above it."""
    if target == "ref_user":
        return User
    code = target.removeprefix("ref_")
    return next(e.model for e in host().items("register_engine_entities") if e.code == code)


def _referenced(target: str, number: int):
    row = get_scoped(_model(target), number)
    if row is None or getattr(row, "deleted_at", None) is not None or getattr(row, "merged_into_id", None):
        return None
    return row


def _field(d: FieldDefinition) -> fields.Field:
    common = {"required": d.required, "allow_none": not d.required, "metadata": {"label": d.label_en}}
    choose = _l("Choose one of the listed options.")
    if d.type in ("text", "long_text"):
        return fields.String(validate=validate.Length(max=200 if d.type == "text" else 5000), **common)
    if d.type == "number":
        return BoundedDecimal(as_string=False, validate=validate.Range(min=-1e12, max=1e12), **common)
    if d.type == "money":
        return BoundedDecimal(places=2, as_string=True,
                              validate=validate.Range(min=-1e12, max=1e12), **common)
    if d.type == "date":
        return LenientDate(**common)
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
    if d.type in FILE_TYPES:
        return FileList(images_only=d.type == "photo", **common)
    if d.type.startswith("ref_"):
        return Reference(target=d.type, **common)
    raise ValueError(d.type)


def schema_for(defs: list[FieldDefinition]) -> Schema:
    from flask import g

    cache = g.setdefault("_field_schemas", {})
    key = tuple((d.tenant_id, d.id) for d in defs)
    if key not in cache:
        cache[key] = Schema.from_dict({d.code: _field(d) for d in defs}, name="CustomValues")()
    return cache[key]


def forget_definitions() -> None:
    """Drop the per-request cache (after a definition was saved)."""
    from flask import g

    g.pop("_field_definitions", None)
    g.pop("_field_schemas", None)
    _by_tenant.clear()


def _stored(d: FieldDefinition, value):
    """The JSON form kept in the record: money as a 2-decimal string, numbers as numbers, dates as ISO text."""
    if value is None:
        return None
    if d.type == "money":
        return str(Decimal(value).quantize(Decimal("0.01")))
    if d.type == "number":
        return number_as_json(value)
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


def linked(defs: list[FieldDefinition], customs) -> dict:
    """What the values of reference and file fields point at, loaded in one query per kind (for display):
    {"files": {id: StoredFile}, "ref_customer": {id: name}, "ref_asset": {id: name}, "ref_user": {id: name}}."""
    wanted: dict[str, set] = {"files": set(), "ref_customer": set(), "ref_asset": set(), "ref_user": set()}
    for custom in customs:
        for d in defs:
            value = (custom or {}).get(d.code)
            if value in (None, "", []):
                continue
            if d.type in FILE_TYPES and isinstance(value, list):
                wanted["files"].update(v for v in value if as_id(v))
            elif d.type in wanted and as_id(value):
                wanted[d.type].add(int(value))
    out: dict[str, dict] = {"files": files_by_id(wanted.pop("files"))}
    for target, ids in wanted.items():
        model = _model(target)
        label = model.display_name if target == "ref_user" else model.name
        out[target] = dict(db.session.execute(select(model.id, label).where(model.id.in_(ids))).all()) if ids else {}
    return out


def export_value(d: FieldDefinition, value, base_url: str = "") -> object:
    """A cell for XLSX/CSV: file fields become links to the files, lists are joined."""
    if value in (None, ""):
        return ""
    if d.type in FILE_TYPES and isinstance(value, list):
        return " ".join(f"{base_url}/files/{v}" for v in value)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return value


FILTERABLE = ("text", "select", "multi_select", "bool", "number", "phone", "ref_customer", "ref_asset", "ref_user")


def filter_value(d: FieldDefinition, raw: str):
    """The stored form of a filter value typed in a list filter or API query (None: cannot match anything)."""
    raw = (raw or "").strip()[:60]
    if d.type == "bool":
        return raw.lower() in ("1", "true", "yes", "on", "是")
    if d.type.startswith("ref_"):
        return as_id(raw)
    if d.type == "number":
        try:
            return _stored(d, finite_number(raw))
        except ValidationError:
            return None
    if d.type == "phone":
        try:
            return normalize_phone(raw)
        except ValidationError:
            return None
    return raw


def filters_from_args(defs: list[FieldDefinition], args) -> tuple[dict, dict, tuple]:
    """A list page's custom filters from its query string (`cf_<code>=…`):
    (filterable definitions by code, the text typed per code, ((code, stored value), …) for `custom_condition`)."""
    filterable = {d.code: d for d in defs if d.type in FILTERABLE}
    raw = {key[3:]: args[key] for key in args if key.startswith("cf_") and key[3:] in filterable and args[key]}
    return filterable, raw, tuple((code, filter_value(filterable[code], value)) for code, value in raw.items())


def filter_errors(filterable: dict, raw: dict) -> dict[str, str]:
    """{code: message} for filter values their field can never hold (a number field given NaN or 1e1000000): the
    list then says so under the box, instead of quietly showing nothing."""
    errors = {}
    for code, value in raw.items():
        if filterable[code].type == "number":
            try:
                finite_number(value)
            except ValidationError as err:
                errors[code] = str(err.messages[0])
    return errors


def custom_condition(column, code: str, value):
    """Records whose custom value `code` is `value` (or, for several-choice fields, includes it) — JSONB @>,
    which the GIN index on (tenant_id, custom) serves."""
    return column.contains({code: value}) | column.contains({code: [value]})
