"""The report builder (自定义报表): a record type, columns, filters, a group-by with an aggregate — from a whitelist.

A report is data (`spec`, JSON), never SQL:

    {"entity": "orders", "columns": ["number", "customer", "total"],
     "filters": [{"field": "state", "op": "eq", "value": "closed"}, {"field": "total", "op": "gte", "value": "500"}],
     "group_by": "store", "grain": "month", "aggregate": "sum", "measure": "total",
     "sort": "value", "direction": "desc", "limit": 200}

`check_spec` validates every part against the entity's declared fields (`ENTITIES`): a field, operator, aggregate,
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
from typing import Any, Callable

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import Date, and_, cast, distinct, func, or_, select, true

from ..customers.models import Customer
from ..extensions import db
from ..leads.models import Lead, LeadChannel
from ..leads.services import STATUS_LABELS as LEAD_STATUS
from ..sales.labels import INVOICE_LABELS, ORDER_STATE_LABELS
from ..sales.models import SalesDocument
from ..scheduling.booking import STATUS_LABELS as APPOINTMENT_STATUS
from ..scheduling.models import Appointment, ServiceType
from ..stores.models import Store
from ..surveys.models import SurveyResponse
from ..users.models import User
from .periods import report_zone

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


@dataclass(frozen=True)
class ReportField:
    label: Any
    type: str = "text"
    choices: dict = field(default_factory=dict)


@dataclass(frozen=True)
class Entity:
    """A record type the builder offers: `source(user)` is ONE select of whitelisted, labelled columns (one per
    field), already limited to what `user` may see; `fields` declares each column's label and type."""

    code: str
    label: Any
    permission: str
    source: Callable[[Any], Any]
    fields: dict
    default_columns: tuple


def _stores(user, column):
    return true() if user.sees_all_stores else column.in_(user.store_ids or [-1])


def _store_join(model):
    return and_(Store.tenant_id == model.tenant_id, Store.id == model.store_id)


def _customers(user):
    return (select(Customer.id.label("id"), Customer.name.label("name"), Store.name.label("store"),
                   Customer.level.label("level"), Customer.source.label("source"), Customer.city.label("city"),
                   Customer.gender.label("gender"), Customer.created_at.label("created_at"),
                   Customer.order_count.label("order_count"), Customer.lifetime_spend.label("lifetime_spend"),
                   Customer.average_order_value.label("average_order_value"),
                   Customer.last_purchase_at.label("last_purchase_at"))
            .join(Store, _store_join(Customer))
            .where(Customer.deleted_at.is_(None), _stores(user, Customer.store_id)))


def _orders(user):
    staff = User.__table__.alias("staff")
    return (select(SalesDocument.id.label("id"), SalesDocument.number.label("number"),
                   SalesDocument.state.label("state"), Customer.name.label("customer"), Store.name.label("store"),
                   staff.c.display_name.label("staff"), SalesDocument.total.label("total"),
                   SalesDocument.paid_total.label("paid_total"), SalesDocument.refunded_total.label("refunded_total"),
                   SalesDocument.invoice_state.label("invoice_state"), SalesDocument.created_at.label("created_at"),
                   SalesDocument.confirmed_at.label("confirmed_at"))
            .join(Customer, and_(Customer.tenant_id == SalesDocument.tenant_id,
                                 Customer.id == SalesDocument.customer_id))
            .join(Store, _store_join(SalesDocument))
            .outerjoin(staff, and_(staff.c.tenant_id == SalesDocument.tenant_id,
                                   staff.c.id == SalesDocument.staff_id))
            .where(SalesDocument.kind == "order", _stores(user, SalesDocument.store_id)))


def _appointments(user):
    staff = User.__table__.alias("staff")
    return (select(Appointment.id.label("id"), Customer.name.label("customer"), Store.name.label("store"),
                   ServiceType.name.label("service"), staff.c.display_name.label("staff"),
                   Appointment.status.label("status"), Appointment.walk_in.label("walk_in"),
                   Appointment.starts_at.label("starts_at"), Appointment.completed_at.label("completed_at"))
            .join(Customer, and_(Customer.tenant_id == Appointment.tenant_id, Customer.id == Appointment.customer_id))
            .join(Store, _store_join(Appointment))
            .join(ServiceType, and_(ServiceType.tenant_id == Appointment.tenant_id,
                                    ServiceType.id == Appointment.service_type_id))
            .outerjoin(staff, and_(staff.c.tenant_id == Appointment.tenant_id, staff.c.id == Appointment.staff_id))
            .where(_stores(user, Appointment.store_id)))


def _leads(user):
    owner = User.__table__.alias("owner")
    query = (select(Lead.id.label("id"), Lead.name.label("name"), Lead.status.label("status"),
                    LeadChannel.name.label("channel"), Store.name.label("store"), owner.c.display_name.label("owner"),
                    Lead.interest.label("interest"), Lead.enquiries.label("enquiries"),
                    Lead.created_at.label("created_at"))
             .join(LeadChannel, and_(LeadChannel.tenant_id == Lead.tenant_id, LeadChannel.id == Lead.channel_id))
             .outerjoin(Store, _store_join(Lead))
             .outerjoin(owner, and_(owner.c.tenant_id == Lead.tenant_id, owner.c.id == Lead.owner_id)))
    if not user.sees_all_stores:  # as the leads list: their stores' leads and their own
        query = query.where(or_(Lead.store_id.in_(user.store_ids or [-1]), Lead.owner_id == user.id))
    return query


def _survey_responses(user):
    staff = User.__table__.alias("staff")
    return (select(SurveyResponse.id.label("id"), SurveyResponse.kind.label("kind"),
                   Customer.name.label("customer"), Store.name.label("store"), staff.c.display_name.label("staff"),
                   SurveyResponse.score.label("score"), SurveyResponse.low.label("low"),
                   SurveyResponse.comment.label("comment"), SurveyResponse.submitted_at.label("submitted_at"))
            .join(Customer, and_(Customer.tenant_id == SurveyResponse.tenant_id,
                                 Customer.id == SurveyResponse.customer_id))
            .outerjoin(Store, _store_join(SurveyResponse))
            .outerjoin(staff, and_(staff.c.tenant_id == SurveyResponse.tenant_id,
                                   staff.c.id == SurveyResponse.staff_id))
            .where(_stores(user, SurveyResponse.store_id)))


F = ReportField
ENTITIES: dict[str, Entity] = {e.code: e for e in (
    Entity("customers", _l("Customers"), "customers.view", _customers, {
        "id": F(_l("ID"), "number"), "name": F(_l("Name")), "store": F(_l("Store")), "level": F(_l("Level")),
        "source": F(_l("Source")), "city": F(_l("City")), "gender": F(_l("Gender"), "choice", GENDERS),
        "created_at": F(_l("Created"), "datetime"), "order_count": F(_l("Orders"), "number"),
        "lifetime_spend": F(_l("Lifetime spend"), "money"),
        "average_order_value": F(_l("Average order value"), "money"),
        "last_purchase_at": F(_l("Last purchase"), "datetime")},
        ("name", "store", "order_count", "lifetime_spend")),
    Entity("orders", _l("Orders"), "sales.view", _orders, {
        "id": F(_l("ID"), "number"), "number": F(_l("Order no.")),
        "state": F(_l("Status"), "choice", ORDER_STATE_LABELS),
        "customer": F(_l("Customer")), "store": F(_l("Store")), "staff": F(_l("Staff")),
        "total": F(_l("Total"), "money"), "paid_total": F(_l("Paid"), "money"),
        "refunded_total": F(_l("Refunded"), "money"),
        "invoice_state": F(_l("Invoice"), "choice", INVOICE_LABELS), "created_at": F(_l("Created"), "datetime"),
        "confirmed_at": F(_l("Confirmed"), "datetime")},
        ("number", "customer", "store", "state", "total")),
    Entity("appointments", _l("Appointments"), "scheduling.view", _appointments, {
        "id": F(_l("ID"), "number"), "customer": F(_l("Customer")), "store": F(_l("Store")),
        "service": F(_l("Service")), "staff": F(_l("Staff")),
        "status": F(_l("Status"), "choice", {k: v for k, v in APPOINTMENT_STATUS.items()}),
        "walk_in": F(_l("Walk-in"), "bool"), "starts_at": F(_l("Starts"), "datetime"),
        "completed_at": F(_l("Completed"), "datetime")},
        ("starts_at", "customer", "service", "status")),
    Entity("leads", _l("Leads"), "leads.view", _leads, {
        "id": F(_l("ID"), "number"), "name": F(_l("Name")), "status": F(_l("Status"), "choice", LEAD_STATUS),
        "channel": F(_l("Channel")), "store": F(_l("Store")), "owner": F(_l("Owner")),
        "interest": F(_l("Interest")), "enquiries": F(_l("Enquiries"), "number"),
        "created_at": F(_l("Captured"), "datetime")},
        ("name", "channel", "status", "created_at")),
    Entity("survey_responses", _l("Survey answers"), "surveys.view", _survey_responses, {
        "id": F(_l("ID"), "number"), "kind": F(_l("Survey type"), "choice", SURVEY_KINDS),
        "customer": F(_l("Customer")), "store": F(_l("Store")), "staff": F(_l("Staff")),
        "score": F(_l("Score"), "number"), "low": F(_l("Low score"), "bool"), "comment": F(_l("Comment")),
        "submitted_at": F(_l("Answered"), "datetime")},
        ("submitted_at", "customer", "kind", "score")),
)}


def choice_label(choices: dict, value) -> str:
    label = choices.get(value, value)
    return str(label()) if callable(label) else str(label)


def entities_for(user) -> dict[str, Entity]:
    return {code: e for code, e in ENTITIES.items() if user.has_permission(e.permission)}


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
    fields_ = entity.fields
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

    group_by = raw.get("group_by") or None
    out["group_by"] = None
    if group_by is not None:
        if _name(group_by) not in fields_:
            errors["group_by"] = [pick]
        else:
            out["group_by"] = group_by
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
            if f is None or f.type not in AGGREGATE_TYPES[aggregate]:
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


def compile_spec(user, spec: dict, *, limit: int | None = None):
    """The SELECT of a checked spec (check_spec first): rows of the columns, or (group, value) rows."""
    entity = ENTITIES[spec["entity"]]
    src = entity.source(user).subquery("src")
    where = [_condition(src.c[f["field"]], entity.fields[f["field"]], f["op"], f["value"]) for f in spec["filters"]]
    if spec["group_by"]:
        key = src.c[spec["group_by"]]
        if spec["grain"]:
            key = cast(func.date_trunc(spec["grain"], func.timezone(str(report_zone()), key)), Date)
        measure = src.c[spec["measure"]] if spec["measure"] else None
        value = {"count": func.count(), "distinct": func.count(distinct(measure)) if measure is not None
                 else func.count(), "sum": func.coalesce(func.sum(measure), 0), "avg": func.round(func.avg(measure), 2),
                 "min": func.min(measure), "max": func.max(measure)}[spec["aggregate"]]
        query = select(key.label("group"), value.label("value")).where(*where).group_by(key)
        order = value if spec["sort"] == "value" else key
        order = order.desc() if spec["direction"] == "desc" else order.asc()
        query = query.order_by(order.nulls_last())
    else:
        query = select(*[src.c[c] for c in spec["columns"]]).where(*where)
        order = src.c[spec["sort"]] if spec["sort"] else src.c.id
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


def run(user, raw_spec, *, limit: int | None = None) -> ReportResult:
    """Check and run a spec for `user` (their permission on the record type, their stores)."""
    spec = check_spec(user, raw_spec)
    entity = ENTITIES[spec["entity"]]
    rows = [list(r) for r in db.session.execute(compile_spec(user, spec, limit=limit))]
    if spec["group_by"]:
        f = entity.fields[spec["group_by"]]
        measure = entity.fields[spec["measure"]] if spec["measure"] else None
        label = str(AGGREGATES[spec["aggregate"]]) + (f" · {measure.label}" if measure is not None else "")
        key_type = "date" if spec["grain"] else f.type
        value_type = measure.type if measure is not None and spec["aggregate"] not in ("count", "distinct") \
            else "number"
        if f.type == "choice":
            rows = [[choice_label(f.choices, k) if k is not None else None, v] for k, v in rows]
            key_type = "text"
        return ReportResult([str(f.label), label], ["group", "value"], [key_type, value_type], rows, True)
    types = [entity.fields[c].type for c in spec["columns"]]
    for row in rows:
        for i, c in enumerate(spec["columns"]):
            if types[i] == "choice" and row[i] is not None:
                row[i] = choice_label(entity.fields[c].choices, row[i])
    return ReportResult([str(entity.fields[c].label) for c in spec["columns"]], list(spec["columns"]),
                        ["text" if t == "choice" else t for t in types], rows, False)


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
