"""The report builder (自定义报表): a record type, columns, filters, a group-by with an aggregate — from a whitelist.

A report is data (`spec`, JSON), never SQL:

    {"entity": "orders", "columns": ["number", "customer", "total"],
     "filters": [{"field": "state", "op": "eq", "value": "closed"}, {"field": "total", "op": "gte", "value": "500"}],
     "group_by": "store", "grain": "month", "aggregate": "sum", "measure": "total",
     "sort": "value", "direction": "desc", "limit": 200}

`check_spec` validates every part against the entity's declared fields (`ReportSource.fields`, sources.py and plugins' `register_report_sources`): a field, operator, aggregate,
grain, sort or direction that is not in the whitelist is a field error (`filters.0.field` …) before any statement is
built, and values are parsed by the field's type (a number, a date, one of the choices). The checked spec is then
compiled with SQLAlchemy expressions: names only ever select a column object out of a dict, values are bound
parameters. The record type's source already limits rows to the viewer's stores (inside the SQL), and RLS and the
ORM scope to the tenant.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import Date, DateTime, Numeric, and_, case, cast, distinct, func, or_, select

from .. import conditions
from ..extensions import db
from ..fields.engine import definitions
from ..hooks.contrib import ReportField, ReportSource
from ..web.i18n import current_code
from . import sources as _sources
from .periods import period_of, report_zone

TYPES = ("text", "number", "money", "datetime", "bool", "choice")
OPERATORS = {
    "eq": _l("is"), "ne": _l("is not"), "contains": _l("contains"), "starts": _l("starts with"),
    "gt": _l("greater than"), "gte": _l("at least"), "lt": _l("less than"), "lte": _l("at most"),
    "on": _l("on the day"), "before": _l("before"), "after": _l("after"), "last_days": _l("in the last N days"),
    "true": _l("is yes"), "false": _l("is no"), "empty": _l("is empty"), "not_empty": _l("is not empty"),
}
OPERATORS_BY_TYPE = {
    "text": ("eq", "ne", "contains", "starts", "empty", "not_empty"),
    "number": ("eq", "ne", "gt", "gte", "lt", "lte", "empty", "not_empty"),
    "money": ("eq", "ne", "gt", "gte", "lt", "lte", "empty", "not_empty"),
    "datetime": ("on", "before", "after", "last_days", "empty", "not_empty"),
    "bool": ("true", "false"),
    "choice": ("eq", "ne", "empty", "not_empty"),
}
NO_VALUE = ("empty", "not_empty", "true", "false")
AGGREGATES = {"count": _l("Count"), "distinct": _l("Count of different"), "sum": _l("Sum"), "avg": _l("Average"),
              "min": _l("Minimum"), "max": _l("Maximum")}
AGGREGATE_TYPES = {"count": TYPES, "distinct": TYPES, "sum": ("number", "money"), "avg": ("number", "money"),
                   "min": ("number", "money", "datetime"), "max": ("number", "money", "datetime")}
GRAINS = {"day": _l("By day"), "week": _l("By week"), "month": _l("By month")}
DIRECTIONS = {"asc": _l("Ascending"), "desc": _l("Descending")}
MAX_FILTERS = 10
MAX_LIMIT = 1000
EXPORT_LIMIT = 100_000
GENDERS = {"M": _l("Male"), "F": _l("Female")}
SURVEY_KINDS = {"csat": _l("CSAT"), "nps": _l("NPS")}


CHARTS = {"table": _l("Table"), "line": _l("Line chart"), "bar": _l("Bar chart"), "pie": _l("Pie chart"),
          "funnel": _l("Funnel"), "pivot": _l("Pivot table"), "number": _l("Number with change")}
GROUPED_CHARTS = ("line", "bar", "pie", "funnel", "pivot")
PERIODS = {"day": _l("Today vs yesterday"), "week": _l("This week vs last week"),
           "month": _l("This month vs last month")}
MATCH = {"all": _l("All filters hold"), "any": _l("Any filter holds")}
# custom field types the builder can read out of the JSONB (files, references and multi-selects cannot be grouped)
_CUSTOM_TYPES = {"text": "text", "long_text": "text", "phone": "text", "select": "text", "number": "number",
                 "money": "money", "date": "datetime", "datetime": "datetime", "bool": "bool"}
_NUMBER = r"^-?[0-9]+(\.[0-9]+)?$"
_DATE = r"^\d{4}-\d{2}-\d{2}"


def sources() -> dict[str, ReportSource]:
    """code -> ReportSource of the core and the plugins enabled for the current tenant."""
    return _sources.registered()


def fields_of(source: ReportSource) -> dict[str, ReportField]:
    """The source's declared fields, then its custom fields as custom.<code> in the user's language."""
    out = dict(source.fields)
    if source.custom_fields:
        locale = current_code()
        for d in definitions(source.custom_fields):
            if d.type in _CUSTOM_TYPES:
                out[f"custom.{d.code}"] = ReportField(d.label(locale), _CUSTOM_TYPES[d.type])
    return out


def dimensions_of(source: ReportSource, fields_: dict) -> set:
    return set(source.dimension_names()) | {n for n, f in fields_.items()
                                             if n.startswith("custom.") and f.type != "money"}


def measures_of(source: ReportSource, fields_: dict) -> set:
    return set(source.measure_names()) | {n for n, f in fields_.items()
                                           if n.startswith("custom.") and f.type in ("number", "money")}


def choice_label(choices: dict, value) -> str:
    label = choices.get(value, value)
    return str(label()) if callable(label) else str(label)


def entities_for(user) -> dict[str, ReportSource]:
    return {code: e for code, e in sources().items() if user.has_permission(e.permission)}


# --- checking a spec -------------------------------------------------------------------------------------------------


def _name(value) -> str | None:
    """A submitted name as a whitelist key: only a plain string is looked up (never eval'd, never formatted)."""
    return value if isinstance(value, str) else None


def _parse_value(f: ReportField, op: str, raw):
    """The filter's value in the field's type, or raise ValueError with the message to show."""
    if op in NO_VALUE:
        return None
    text = raw if isinstance(raw, str) else (str(raw) if isinstance(raw, (int, float, Decimal)) else None)
    if text is None or not text.strip():
        raise ValueError(_("Enter a value."))
    text = text.strip()
    if len(text) > 200:
        raise ValueError(_("At most 200 characters."))
    if op == "last_days":
        if not text.isdigit() or not 1 <= int(text) <= 3660:
            raise ValueError(_("Enter a number of days from 1 to 3660."))
        return int(text)
    if f.type in ("number", "money"):
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise ValueError(_("Enter a number.")) from None
        if not number.is_finite() or abs(number) >= 10**12:
            raise ValueError(_("Enter a number."))
        return number
    if f.type == "datetime":
        try:
            return date.fromisoformat(text)
        except ValueError:
            raise ValueError(_("Enter a date as YYYY-MM-DD.")) from None
    if f.type == "choice":  # the code, or its label as staff read it ("已完成")
        if text in f.choices:
            return text
        by_label = {choice_label(f.choices, code).casefold(): code for code in f.choices}
        if text.casefold() not in by_label:
            raise ValueError(_("Choose one of the listed options."))
        return by_label[text.casefold()]
    return text


def check_spec(user, raw) -> dict:
    """The spec, checked against the whitelist and normalised; ValidationError naming each bad part otherwise."""
    if not isinstance(raw, dict):
        raise ValidationError({"spec": [_("Choose what the report shows.")]})
    errors: dict[str, list] = {}
    pick = _("Choose one of the listed options.")
    entity = entities_for(user).get(_name(raw.get("entity")) or "")
    if entity is None:
        raise ValidationError({"entity": [pick]})
    fields_ = fields_of(entity)
    dims, measures = dimensions_of(entity, fields_), measures_of(entity, fields_)
    out: dict[str, Any] = {"entity": entity.code}

    columns = raw.get("columns") or list(entity.default_columns)
    if not isinstance(columns, list) or len(columns) > len(fields_):
        errors["columns"] = [pick]
        columns = []
    for i, name in enumerate(columns):
        if _name(name) not in fields_:
            errors[f"columns.{i}"] = [pick]
    out["columns"] = [c for c in columns if _name(c) in fields_] if isinstance(columns, list) else []
    if not out["columns"] and "columns" not in errors and not errors:
        errors["columns"] = [_("Choose at least one column.")]

    filters = raw.get("filters") or []
    if not isinstance(filters, list) or len(filters) > MAX_FILTERS:
        errors["filters"] = [_("At most %(n)s filters.", n=MAX_FILTERS)]
        filters = []
    out["filters"] = []
    for i, item in enumerate(filters):
        item = item if isinstance(item, dict) else {}
        f = fields_.get(_name(item.get("field")) or "")
        if f is None:
            errors[f"filters.{i}.field"] = [pick]
            continue
        op = _name(item.get("op"))
        if op not in OPERATORS_BY_TYPE[f.type]:
            errors[f"filters.{i}.op"] = [pick]
            continue
        try:
            value = _parse_value(f, op, item.get("value"))
        except ValueError as err:
            errors[f"filters.{i}.value"] = [str(err)]
            continue
        out["filters"].append({"field": item["field"], "op": op,
                               "value": value.isoformat() if isinstance(value, date) else
                               (str(value) if isinstance(value, Decimal) else value)})

    match = raw.get("match") or "all"
    if _name(match) not in MATCH:
        errors["match"] = [pick]
    out["match"] = match if _name(match) in MATCH else "all"
    try:  # the shared condition trees (platform/conditions.py), over this record type's fields
        out["where"] = conditions.check_tree(raw.get("where"), _tree_catalog(fields_))
    except ValidationError as err:
        errors["where"] = err.messages.get("conditions", [pick]) if isinstance(err.messages, dict) else [pick]
        out["where"] = None

    chart = raw.get("chart") or "table"
    if _name(chart) not in CHARTS:
        errors["chart"] = [pick]
        chart = "table"
    out["chart"] = chart

    group_by = raw.get("group_by") or None
    out["group_by"] = None
    if group_by is not None:
        if _name(group_by) not in dims:
            errors["group_by"] = [pick]
        else:
            out["group_by"] = group_by
    elif chart in GROUPED_CHARTS:
        errors["group_by"] = [_("This chart needs a dimension to group by.")]
    group_by2 = raw.get("group_by2") or None
    out["group_by2"], out["grain2"] = None, None
    if chart == "pivot":
        if _name(group_by2) not in dims or group_by2 == group_by:
            errors["group_by2"] = [_("A pivot table needs a second, different dimension.")]
        else:
            out["group_by2"] = group_by2
            if fields_[group_by2].type == "datetime":
                grain2 = raw.get("grain2") or "month"
                if _name(grain2) not in GRAINS:
                    errors["grain2"] = [pick]
                else:
                    out["grain2"] = grain2
    elif group_by2 is not None:
        errors["group_by2"] = [_("Only a pivot table has a second dimension.")]
    out["date_field"], out["period"] = None, None
    if chart == "number":
        if out["group_by"]:
            errors["group_by"] = [_("A number is not grouped: leave the dimension empty.")]
        date_field, period = raw.get("date_field") or None, raw.get("period") or "month"
        if _name(date_field) not in fields_ or fields_[date_field].type != "datetime":
            errors["date_field"] = [_("Choose the date that places each record in a period.")]
        else:
            out["date_field"] = date_field
        if _name(period) not in PERIODS:
            errors["period"] = [pick]
        else:
            out["period"] = period
    grain = raw.get("grain") or None
    out["grain"] = None
    if out["group_by"] and fields_[out["group_by"]].type == "datetime":
        if _name(grain or "month") not in GRAINS:
            errors["grain"] = [pick]
        else:
            out["grain"] = grain or "month"
    elif grain is not None and _name(grain) not in GRAINS:
        errors["grain"] = [pick]

    aggregate = raw.get("aggregate") or "count"
    out["aggregate"], out["measure"] = "count", None
    if _name(aggregate) not in AGGREGATES:
        errors["aggregate"] = [pick]
    else:
        out["aggregate"] = aggregate
        measure = raw.get("measure") or None
        if aggregate != "count":
            f = fields_.get(_name(measure) or "")
            if f is None or f.type not in AGGREGATE_TYPES[aggregate] or (
                    aggregate in ("sum", "avg") and measure not in measures):
                errors["measure"] = [_("Choose a field this aggregate can use.")]
            else:
                out["measure"] = measure
        elif measure is not None and _name(measure) not in fields_:
            errors["measure"] = [pick]

    sort = raw.get("sort") or None
    out["sort"] = None
    if sort is not None:
        allowed = ({"group", "value"} if out["group_by"] else set(fields_))
        if _name(sort) not in allowed:
            errors["sort"] = [pick]
        else:
            out["sort"] = sort
    direction = raw.get("direction") or "asc"
    if _name(direction) not in DIRECTIONS:
        errors["direction"] = [pick]
    out["direction"] = direction if _name(direction) in DIRECTIONS else "asc"

    limit = raw.get("limit") or 200
    try:
        limit = int(limit) if not isinstance(limit, bool) and str(limit).strip().isdigit() else None
    except (TypeError, ValueError):
        limit = None
    if limit is None or not 1 <= limit <= MAX_LIMIT:
        errors["limit"] = [_("Enter a number from 1 to %(n)s.", n=MAX_LIMIT)]
    out["limit"] = limit or 200
    if errors:
        raise ValidationError(errors)
    return out


# --- compiling a checked spec ----------------------------------------------------------------------------------------


def _local_day(column):
    return cast(func.timezone(str(report_zone()), column), Date)


def _condition(column, f: ReportField, op: str, value):
    if op == "empty":
        return column.is_(None) if f.type not in ("text",) else or_(column.is_(None), column == "")
    if op == "not_empty":
        return column.is_not(None) if f.type not in ("text",) else and_(column.is_not(None), column != "")
    if op == "true":
        return column.is_(True)
    if op == "false":
        return or_(column.is_(False), column.is_(None))
    if f.type == "datetime":
        if op == "last_days":
            return column >= func.now() - timedelta(days=int(value))
        day = date.fromisoformat(value)
        return {"on": _local_day(column) == day, "before": _local_day(column) < day,
                "after": _local_day(column) > day}[op]
    if f.type in ("number", "money"):
        value = Decimal(value)
    if op == "contains":
        return column.icontains(value, autoescape=True)
    if op == "starts":
        return column.istartswith(value, autoescape=True)
    return {"eq": column == value, "ne": or_(column != value, column.is_(None)), "gt": column > value,
            "gte": column >= value, "lt": column < value, "lte": column <= value}[op]


def _tree_catalog(fields_: dict) -> dict:
    """The builder's fields as the condition trees type them."""
    kinds = {"money": "number", "choice": "text"}
    return {name: (f.label, kinds.get(f.type, f.type)) for name, f in fields_.items()}


def _expr(src, name: str, f: ReportField):
    """The SQL expression of a field of the source subquery. A custom value is read out of the JSONB and cast only
    when it looks like its type, so one badly typed value cannot fail the report."""
    if not name.startswith("custom."):
        return src.c[name]
    text_value = src.c.custom[name.removeprefix("custom.")].astext
    if f.type in ("number", "money"):
        return case((text_value.op("~")(_NUMBER), cast(text_value, Numeric)), else_=None)
    if f.type == "datetime":  # a date typed by staff: the local midnight of that day
        return case((text_value.op("~")(_DATE), func.timezone(str(report_zone()),
                                                             cast(func.left(text_value, 10), DateTime))), else_=None)
    if f.type == "bool":
        return case((text_value == "true", True), (text_value == "false", False), else_=None)
    return text_value


class _TreeColumns:
    """The source's fields as attributes, for conditions.compile_tree; dates read as local dates."""

    def __init__(self, src, fields_):
        self._src, self._fields = src, fields_
        self.custom = src.c.custom if "custom" in src.c else None

    def __getattr__(self, name):
        f = self._fields[name]
        column = _expr(self._src, name, f)
        return func.timezone(str(report_zone()), column) if f.type == "datetime" else column


def _aggregate(spec, measure, only=None):
    """The spec's aggregate over `measure`, over the rows where `only` holds (all rows when None)."""
    kind = spec["aggregate"]
    if kind == "count":
        value = func.count()
    elif kind == "distinct":
        value = func.count(distinct(measure)) if measure is not None else func.count()
    else:
        value = {"sum": func.sum, "avg": func.avg, "min": func.min, "max": func.max}[kind](measure)
    if only is not None:
        value = value.filter(only)
    if kind == "sum":
        return func.coalesce(value, 0)
    return func.round(value, 2) if kind == "avg" else value


def _key(src, name, f, grain):
    key = _expr(src, name, f)
    if grain:
        key = cast(func.date_trunc(grain, func.timezone(str(report_zone()), key)), Date)
    return key


def _bounds(kind: str):
    """[start, end) of the current period of `kind` and of the one before, in UTC."""
    current = period_of(kind)
    return current.bounds(), current.previous().bounds()


def compile_spec(user, spec: dict, *, limit: int | None = None):
    """The ONE SELECT of a checked spec (check_spec first): rows of the columns, (group, value) rows, (group, group2,
    value) rows for a pivot, or (value, previous value) for a number. The viewer's stores are a condition of this
    same statement (on the source's store column), never a filter applied to fetched rows."""
    entity = sources()[spec["entity"]]
    fields_ = fields_of(entity)
    src = entity.rows(user).subquery("src")
    where = []
    if entity.store_column is not None and not user.sees_all_stores:
        where.append(src.c[entity.store_column].in_(user.store_ids or [-1]))
    flat = [_condition(_expr(src, f["field"], fields_[f["field"]]), fields_[f["field"]], f["op"], f["value"])
            for f in spec["filters"]]
    if flat:
        where.append(or_(*flat) if spec.get("match") == "any" else and_(*flat))
    if spec.get("where"):
        where.append(conditions.compile_tree(spec["where"], _tree_catalog(fields_), _TreeColumns(src, fields_)))
    measure = _expr(src, spec["measure"], fields_[spec["measure"]]) if spec["measure"] else None
    if spec.get("chart") == "number":
        at = _expr(src, spec["date_field"], fields_[spec["date_field"]])
        (start, end), (before, _after) = _bounds(spec["period"])
        return select(_aggregate(spec, measure, and_(at >= start, at < end)).label("value"),
                      _aggregate(spec, measure, and_(at >= before, at < start)).label("previous")) \
            .where(*where, at >= before, at < end)
    if spec["group_by"]:
        key = _key(src, spec["group_by"], fields_[spec["group_by"]], spec["grain"])
        value = _aggregate(spec, measure)
        keys = [key.label("group")]
        if spec.get("group_by2"):
            key2 = _key(src, spec["group_by2"], fields_[spec["group_by2"]], spec.get("grain2"))
            keys.append(key2.label("group2"))
        query = select(*keys, value.label("value")).where(*where).group_by(*[k.element for k in keys])
        order = value if spec["sort"] == "value" else key
        order = order.desc() if spec["direction"] == "desc" else order.asc()
        query = query.order_by(order.nulls_last(), *[k.element for k in keys[1:]])
    else:
        query = select(*[_expr(src, c, fields_[c]).label(c) for c in spec["columns"]]).where(*where)
        order = _expr(src, spec["sort"], fields_[spec["sort"]]) if spec["sort"] else src.c.id
        order = order.desc() if spec["direction"] == "desc" else order.asc()
        query = query.order_by(order.nulls_last(), src.c.id)
    return query.limit(limit if limit is not None else spec["limit"])


@dataclass
class ReportResult:
    headers: list[str]
    keys: list[str]
    types: list[str]
    rows: list[list]
    grouped: bool
    chart: str = "table"
    previous: Any = None  # a number's value in the period before
    value_label: str = ""


def _labelled(f: ReportField, value, grain):
    if f.type == "choice" and value is not None:
        return choice_label(f.choices, value)
    return value


def run(user, raw_spec, *, limit: int | None = None) -> ReportResult:
    """Check and run a spec for `user` (their permission on the record type, their stores)."""
    spec = check_spec(user, raw_spec)
    entity = sources()[spec["entity"]]
    fields_ = fields_of(entity)
    rows = [list(r) for r in db.session.execute(compile_spec(user, spec, limit=limit))]
    measure = fields_[spec["measure"]] if spec["measure"] else None
    value_label = str(AGGREGATES[spec["aggregate"]]) + (f" · {measure.label}" if measure is not None else "")
    value_type = measure.type if measure is not None and spec["aggregate"] not in ("count", "distinct") \
        else "number"
    if spec["chart"] == "number":
        value, previous = rows[0] if rows else (None, None)
        return ReportResult([value_label], ["value"], [value_type], [[value]], False, "number", previous,
                            value_label)
    if spec["group_by"]:
        f = fields_[spec["group_by"]]
        keys, headers = ["group"], [str(f.label)]
        types = ["date" if spec["grain"] else ("text" if f.type == "choice" else f.type)]
        f2 = fields_[spec["group_by2"]] if spec.get("group_by2") else None
        if f2 is not None:
            keys.append("group2")
            headers.append(str(f2.label))
            types.append("date" if spec.get("grain2") else ("text" if f2.type == "choice" else f2.type))
        for row in rows:
            row[0] = _labelled(f, row[0], spec["grain"])
            if f2 is not None:
                row[1] = _labelled(f2, row[1], spec.get("grain2"))
        return ReportResult(headers + [value_label], keys + ["value"], types + [value_type], rows, True,
                            spec["chart"], None, value_label)
    types = [fields_[c].type for c in spec["columns"]]
    for row in rows:
        for i, c in enumerate(spec["columns"]):
            if types[i] == "choice" and row[i] is not None:
                row[i] = choice_label(fields_[c].choices, row[i])
    return ReportResult([str(fields_[c].label) for c in spec["columns"]], list(spec["columns"]),
                        ["text" if t == "choice" else t for t in types], rows, False, spec["chart"], None,
                        value_label)


def pivot(result: ReportResult) -> tuple[list, list, dict]:
    """A pivot result as (row keys, column keys, {(row, column): value}), keys in first-seen order."""
    row_keys, col_keys, cells = [], [], {}
    for a, b, value in result.rows:
        if a not in row_keys:
            row_keys.append(a)
        if b not in col_keys:
            col_keys.append(b)
        cells[(a, b)] = value
    return row_keys, col_keys, cells


def cell(value, kind: str):
    """A value as shown and exported: local times, yes/no, decimals as written."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(report_zone()).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, Decimal):
        return str(value)
    return value
