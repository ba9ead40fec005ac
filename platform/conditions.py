"""Condition trees shared by workflows (transition conditions) and automation rules.

A tree is JSON data, so tenants edit it and the API carries it unchanged:

    {"all": [ {"field": "level", "op": "eq", "value": "VIP"},
              {"any": [ {"field": "tags", "op": "has", "value": "车主"},
                        {"not": {"field": "custom.budget", "op": "lt", "value": 5000}} ]},
              {"segment": 12},                       # the customer is in shared saved view 12
              {"plugin": "carwash.member", "value": true} ]}

The same tree is evaluated in Python against one record (events, transitions) and compiled to one SQL expression
(sweeps over a million rows), and both must agree: tests run each operator both ways.
"""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import Date, Numeric, String, and_, false, func, not_, or_, select, true

from .customers.listing import from_args
from .customers.models import Customer, SavedView
from .extensions import db
from .fields.engine import definitions
from .hooks.runtime import enabled_plugins, host
from .tenancy.models import get_scoped
from .validation import finite_number, number_as_json
from .web.i18n import current_code

OPS = {
    "eq": _l("is"), "ne": _l("is not"), "in": _l("is one of"), "not_in": _l("is none of"),
    "gt": _l("greater than"), "gte": _l("at least"), "lt": _l("less than"), "lte": _l("at most"),
    "has": _l("has tag / option"), "not_has": _l("does not have"), "contains": _l("contains text"),
    "empty": _l("is empty"), "not_empty": _l("is filled"),
}
ORDERED = ("number", "date", "datetime")
MAX_DEPTH, MAX_LEAVES = 6, 50


# --- the record types and their fields --------------------------------------------------------------------------

def entities() -> dict:
    """code -> EngineEntity for the core and the plugins enabled in the current tenant."""
    return {e.code: e for e in host().items("register_engine_entities", enabled_plugins())}


def entity(code: str):
    found = entities().get(code)
    if found is None:
        raise ValidationError({"entity": [_l("Unknown record type.")]})
    return found


_CUSTOM_TYPES = {"number": "number", "money": "number", "date": "date", "bool": "bool", "multi_select": "tags"}


def field_catalog(code: str) -> dict[str, tuple]:
    """{name: (label, type)}: the entity's own fields, its custom fields as custom.<code>, and for records that
    belong to a customer the customer's fields as customer.<name>."""
    ent = entity(code)
    out = dict(ent.fields)
    if "custom" in ent.model.__table__.c:
        locale = current_code()  # "zh_CN" (Babel's own spelling, zh_Hans_CN, matched no label: English leaked)
        for d in definitions(code):
            out[f"custom.{d.code}"] = (d.label(locale), _CUSTOM_TYPES.get(d.type, "text"))
    if code != "customer" and "customer_id" in ent.model.__table__.c:
        for name, (label, type_) in field_catalog("customer").items():
            if not name.startswith("customer."):
                out[f"customer.{name}"] = (label, type_)
    return out


# --- checking ---------------------------------------------------------------------------------------------------

def _coerce(type_: str, value, field: str):
    """The comparison value in the field's type, or a ValidationError naming the field."""
    try:
        if type_ == "number":
            return finite_number(value)
        if type_ == "date":
            return value if isinstance(value, date) else date.fromisoformat(str(value))
        if type_ == "datetime":
            return date.fromisoformat(str(value)[:10])
        if type_ == "bool":
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("true", "1", "yes"):
                return True
            if str(value).lower() in ("false", "0", "no"):
                return False
            raise ValueError
        if type_ == "store":
            return int(value)
        if isinstance(value, (dict, list)):
            raise ValueError
        return str(value)[:200]
    except (ValueError, TypeError, ValidationError):
        raise ValidationError({"conditions": [_l("%(field)s: %(value)s is not a valid value for this field.",
                                                 field=field, value=str(value)[:40])]})


def check(code: str, tree) -> dict | None:
    """The tree normalised (values in their field types as JSON), or ValidationError saying what is wrong."""
    if tree in (None, {}, []):
        return None
    return check_tree(tree, field_catalog(code), code=code)


def check_tree(tree, catalog: dict, *, code: str | None = None) -> dict | None:
    """`check` against a given {field: (label, type)} catalog. Without an engine record type (`code` None: the
    report builder's sources) segment and plugin leaves are refused, since they need the record's model."""
    if tree in (None, {}, []):
        return None
    plugin_conditions = _plugin_conditions() if code is not None else {}
    leaves = [0]

    def walk(node, depth):
        if depth > MAX_DEPTH:
            raise ValidationError({"conditions": [_l("Conditions are nested too deeply.")]})
        if not isinstance(node, dict) or len(node) == 0:
            raise ValidationError({"conditions": [_l("Each condition must be an object.")]})
        for group in ("all", "any"):
            if group in node:
                items = node[group]
                if not isinstance(items, list) or not items:
                    raise ValidationError({"conditions": [_l("\"%(group)s\" needs a list of conditions.", group=group)]})
                return {group: [walk(item, depth + 1) for item in items]}
        if "not" in node:
            return {"not": walk(node["not"], depth + 1)}
        leaves[0] += 1
        if leaves[0] > MAX_LEAVES:
            raise ValidationError({"conditions": [_l("Too many conditions (at most %(n)s).", n=MAX_LEAVES)]})
        wrong = [key for key in ("field", "op", "plugin") if key in node and not isinstance(node[key], str)]
        if wrong:  # a list or object where a name belongs: refused before it is looked up
            raise ValidationError({"conditions": [_l("%(key)s: a text value is expected.", key=wrong[0])]})
        if "segment" in node and code is None:
            raise ValidationError({"conditions": [_l("Segments apply to customers only.")]})
        if "segment" in node:
            view = get_scoped(SavedView, node["segment"])
            if view is None or not view.shared or view.entity != "customers":
                raise ValidationError({"conditions": [_l("Segment: choose a shared saved customer view.")]})
            if code != "customer" and "customer_id" not in entity(code).model.__table__.c:
                raise ValidationError({"conditions": [_l("Segments apply to customers only.")]})
            return {"segment": view.id}
        if "plugin" in node:
            if node["plugin"] not in plugin_conditions:
                raise ValidationError({"conditions": [_l("Unknown condition: %(code)s", code=str(node["plugin"])[:40])]})
            return {"plugin": node["plugin"], "value": node.get("value")}
        field, op = node.get("field"), node.get("op", "eq")
        if field not in catalog:
            raise ValidationError({"conditions": [_l("Unknown field: %(field)s", field=str(field)[:60])]})
        if op not in OPS:
            raise ValidationError({"conditions": [_l("Unknown comparison: %(op)s", op=str(op)[:20])]})
        type_ = catalog[field][1]
        if op in ("gt", "gte", "lt", "lte") and type_ not in ORDERED:
            raise ValidationError({"conditions": [_l("%(field)s cannot be compared as larger or smaller.", field=field)]})
        if op in ("empty", "not_empty"):
            return {"field": field, "op": op}
        value = node.get("value")
        if op in ("in", "not_in"):
            if not isinstance(value, list) or not value:
                raise ValidationError({"conditions": [_l("%(field)s: give a list of values.", field=field)]})
            return {"field": field, "op": op, "value": [_json(_coerce(type_, v, field)) for v in value[:100]]}
        if value is None or value == "":
            raise ValidationError({"conditions": [_l("%(field)s: a value is required.", field=field)]})
        element = "text" if type_ == "tags" else type_
        return {"field": field, "op": op, "value": _json(_coerce(element, value, field))}

    return walk(tree, 0)


def _json(value):
    if isinstance(value, Decimal):
        return number_as_json(value)
    if isinstance(value, date):
        return value.isoformat()
    return value


def _plugin_conditions() -> dict:
    return {c.code: c for c in host().items("register_rule_conditions", enabled_plugins())}


# --- Python evaluation (one record) -----------------------------------------------------------------------------

def value_of(record, field: str):
    """The value of `field` (incl. custom.<code> and customer.<name>) on one record."""
    if field.startswith("customer."):
        owner = record if isinstance(record, Customer) else get_scoped(Customer, getattr(record, "customer_id", None))
        return None if owner is None else value_of(owner, field.removeprefix("customer."))
    if field.startswith("custom."):
        return (getattr(record, "custom", None) or {}).get(field.removeprefix("custom."))
    return getattr(record, field, None)


def _compare(type_: str, actual, op: str, expected) -> bool:
    if op == "empty":
        return actual in (None, "", [], {})
    if op == "not_empty":
        return actual not in (None, "", [], {})
    if type_ == "tags":
        items = [str(v) for v in (actual or [])]
        return (expected in items) == (op in ("has", "eq"))
    if actual is None or actual == "":
        return op in ("ne", "not_in", "not_has")
    if isinstance(actual, datetime):
        actual = actual.date()
    element = type_ if type_ != "tags" else "text"
    try:
        actual = _coerce(element, actual, "")
    except ValidationError:
        return False
    cast = (lambda v: _coerce(element, v, "")) if op not in ("contains", "has", "not_has") else str
    if op in ("in", "not_in"):
        return (actual in [cast(v) for v in expected]) == (op == "in")
    expected = cast(expected)
    return {
        "eq": lambda: actual == expected, "ne": lambda: actual != expected,
        "gt": lambda: actual > expected, "gte": lambda: actual >= expected,
        "lt": lambda: actual < expected, "lte": lambda: actual <= expected,
        "contains": lambda: str(expected).lower() in str(actual).lower(),
        "has": lambda: actual == expected, "not_has": lambda: actual != expected,
    }[op]()


def evaluate(code: str, tree, record) -> bool:
    """Whether `record` meets the (checked) tree; an empty tree always holds."""
    if not tree:
        return True
    catalog = field_catalog(code)

    def walk(node) -> bool:
        if "all" in node:
            return all(walk(n) for n in node["all"])
        if "any" in node:
            return any(walk(n) for n in node["any"])
        if "not" in node:
            return not walk(node["not"])
        if "segment" in node:
            model = entity(code).model
            return bool(db.session.scalar(select(model.id).where(model.id == record.id, compile(code, node))))
        if "plugin" in node:
            return bool(_plugin_conditions()[node["plugin"]].evaluate(record, node.get("value")))
        type_ = catalog[node["field"]][1]
        return _compare(type_, value_of(record, node["field"]), node["op"], node.get("value"))

    return walk(tree)


# --- SQL compilation (sweeps) -----------------------------------------------------------------------------------

def _column(model, field: str, type_: str):
    if field.startswith("custom."):
        text_value = model.custom[field.removeprefix("custom.")].astext
        if type_ == "number":
            # only values that look like numbers are cast, so one bad value cannot fail the whole sweep
            return text_value, text_value.op("~")(r"^-?[0-9]+(\.[0-9]+)?$"), text_value.cast(Numeric)
        if type_ == "date":
            return text_value, text_value.op("~")(r"^\d{4}-\d{2}-\d{2}$"), text_value.cast(Date)
        if type_ == "tags":
            return model.custom[field.removeprefix("custom.")], true(), None
        return text_value, true(), text_value
    column = getattr(model, field)
    if type_ == "datetime":
        return column, true(), column.cast(Date)
    return column, true(), column


def _leaf_sql(model, type_: str, field: str, op: str, value):
    raw, guard, col = _column(model, field, type_)
    if op == "empty":
        if field.startswith("custom."):
            text_value = model.custom[field.removeprefix("custom.")].astext
            return or_(text_value.is_(None), text_value.in_(["", "[]", "null"]))
        if type_ == "tags":
            return or_(raw.is_(None), func.cardinality(raw) == 0)
        return or_(raw.is_(None), raw == "") if type_ == "text" else raw.is_(None)
    if op == "not_empty":
        return not_(_leaf_sql(model, type_, field, "empty", None))
    if type_ == "tags":
        has = raw.contains([value])  # JSONB or ARRAY @> (GIN-indexed on customers)
        return and_(raw.is_not(None), has) if op in ("has", "eq") else or_(raw.is_(None), not_(has))
    element = "text" if type_ == "bool" and field.startswith("custom.") else type_
    cast = (lambda v: _coerce(element, v, field)) if op != "contains" else str
    if type_ == "bool" and field.startswith("custom."):
        cast = lambda v: "true" if _coerce("bool", v, field) else "false"  # noqa: E731 — JSON text of a bool
    if op in ("in", "not_in"):
        values = [cast(v) for v in value]
        matched = and_(guard, col.in_(values))
        return matched if op == "in" else or_(raw.is_(None), not_(matched))
    if op == "contains":
        escaped = str(value).replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        return and_(raw.is_not(None), col.cast(String).ilike(f"%{escaped}%", escape="\\"))
    expected = cast(value)
    compare = {"eq": col == expected, "ne": col != expected, "gt": col > expected, "gte": col >= expected,
               "lt": col < expected, "lte": col <= expected}[op]
    if op == "ne":
        return or_(raw.is_(None), not_(and_(guard, col == expected)))
    return and_(raw.is_not(None), guard, compare)


def compile(code: str, tree):
    """One SQLAlchemy boolean over the entity's model (and, for customer.* fields, a subquery on customers)."""
    if not tree:
        return true()
    catalog = field_catalog(code)
    model = entity(code).model

    def walk(node):
        if "all" in node:
            return and_(*[walk(n) for n in node["all"]])
        if "any" in node:
            return or_(*[walk(n) for n in node["any"]])
        if "not" in node:
            return not_(walk(node["not"]))
        if "segment" in node:
            return _segment_sql(code, model, node["segment"])
        if "plugin" in node:
            condition = _plugin_conditions()[node["plugin"]]
            if condition.compile is None:
                return true()  # evaluated in Python on the rows the SQL found (rules/engine.py)
            return condition.compile(model, node.get("value"))
        field, op = node["field"], node["op"]
        if field.startswith("customer.") and code != "customer":
            inner = {"field": field.removeprefix("customer."), "op": op, "value": node.get("value")}
            return model.customer_id.in_(select(Customer.id).where(compile("customer", inner)))
        return _leaf_sql(model, catalog[field][1], field, op, node.get("value"))

    return walk(tree)


def compile_tree(tree, catalog: dict, columns):
    """A tree checked by `check_tree` as one SQL boolean over `columns`: any object whose attributes are the
    catalog's column expressions (and `custom`, the JSONB of custom values, for custom.<code> fields)."""
    if not tree:
        return true()

    def walk(node):
        if "all" in node:
            return and_(*[walk(n) for n in node["all"]])
        if "any" in node:
            return or_(*[walk(n) for n in node["any"]])
        if "not" in node:
            return not_(walk(node["not"]))
        return _leaf_sql(columns, catalog[node["field"]][1], node["field"], node["op"], node.get("value"))

    return walk(tree)


def needs_python(tree) -> bool:
    """Whether some leaf can only be evaluated in Python (a plugin condition without SQL)."""
    if not tree:
        return False
    if "all" in tree or "any" in tree:
        return any(needs_python(n) for n in tree.get("all") or tree.get("any"))
    if "not" in tree:
        return needs_python(tree["not"])
    return "plugin" in tree and _plugin_conditions()[tree["plugin"]].compile is None


def _segment_sql(code: str, model, view_id: int):
    view = get_scoped(SavedView, view_id)
    if view is None:
        return false()
    flt = from_args(None, view.query or {}, None).filter
    members = flt.apply(select(Customer.id).where(Customer.deleted_at.is_(None)))
    return (model.id if code == "customer" else model.customer_id).in_(members)
