"""KPIs (definitions, values with the previous period, drill-down records) and dashboards."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields

from ...reports import engine, saved, services
from ...reports.schemas import DashboardSchema, KpiArgs, RecordArgs, KpiThresholdSchema, period_from
from ..auth import api_user, requires
from ..common import unprocessable
from ...reports import builder, targets
from ...reports.periods import report_today

kpis_blp = Blueprint("api_kpis", __name__, url_prefix="/kpis", description="KPI library (指标库)")
dashboards_blp = Blueprint("api_dashboards", __name__, url_prefix="/dashboards", description="Dashboards (看板)")
alerts_blp = Blueprint("api_kpi_alerts", __name__, url_prefix="/kpi-alerts", description="KPI threshold alerts")


class KpiSchema(Schema):
    code = fields.String()
    label = fields.String()
    definition = fields.String()
    unit = fields.String()
    measure = fields.String()
    filters = fields.List(fields.String())
    channels = fields.Dict(keys=fields.String(), values=fields.String())
    columns = fields.Dict(keys=fields.String(), values=fields.String())
    group_by = fields.Dict(keys=fields.String(), values=fields.String())
    trend = fields.Boolean(attribute="time_column", metadata={"description": "has a time series"})
    higher_is_better = fields.Boolean()


class KpiListSchema(Schema):
    items = fields.List(fields.Nested(KpiSchema))


class KpiValueSchema(Schema):
    code = fields.String()
    period = fields.Dict()
    previous_period = fields.Dict()
    value = fields.Raw(metadata={"description": "integer for counts, decimal string otherwise, null when nothing"})
    count = fields.Integer(metadata={"description": "records counted (== the number of drill-down records)"})
    previous = fields.Raw()
    previous_count = fields.Integer()
    year_before = fields.Raw(metadata={"description": "the same period a year earlier (year-over-year)"})
    year_before_period = fields.Dict()


class KpiTargetSchema(Schema):
    id = fields.Integer(dump_only=True)
    kpi_code = fields.String(required=True)
    month = fields.String(required=True, metadata={"description": "YYYY-MM"})
    store_id = fields.Integer(allow_none=True, load_default=None)
    user_id = fields.Integer(allow_none=True, load_default=None)
    value = fields.Decimal(required=True, as_string=True)


class KpiTargetRowSchema(Schema):
    target = fields.Nested(KpiTargetSchema)
    actual = fields.Raw(allow_none=True)
    achievement = fields.Decimal(as_string=True, allow_none=True, metadata={"description": "percent reached"})
    to_date = fields.Raw(allow_none=True, metadata={"description": "the month so far"})
    to_date_before = fields.Raw(allow_none=True, metadata={"description": "the same days of the month before"})
    year_before = fields.Raw(allow_none=True, metadata={"description": "the same month a year earlier"})


class KpiTargetListSchema(Schema):
    items = fields.List(fields.Nested(KpiTargetRowSchema))


class MonthArgs(Schema):
    month = fields.String(load_default=None, metadata={"description": "YYYY-MM (default: this month)"})


class KpiRecordsSchema(Schema):
    code = fields.String()
    count = fields.Integer()
    items = fields.List(fields.Dict())
    next_after = fields.Integer(allow_none=True)


def _kpi(code):
    kpi = engine.get_kpi(api_user(), code)
    if kpi is None:
        abort(404)
    return kpi


def _scope(args):
    try:
        return engine.scope_for(api_user(), period_from(args), store_id=args.get("store_id"),
                                staff_id=args.get("staff_id"), channel=args.get("channel"))
    except ValueError:
        unprocessable(ValidationError({"store_id": ["Not one of your stores."]}))


def _json(value):
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (datetime, date)):
        return value.isoformat()
    return value


def _dump_kpi(kpi) -> dict:
    return {"code": kpi.code, "label": str(kpi.label), "definition": str(kpi.definition), "unit": kpi.unit,
            "measure": kpi.measure, "filters": list(kpi.filters),
            "channels": {k: str(v) for k, v in kpi.channels.items()},
            "columns": {k: str(v) for k, v in kpi.columns.items()},
            "group_by": {k: str(v) for k, v in kpi.group_by.items()}, "time_column": bool(kpi.time_column),
            "higher_is_better": kpi.higher_is_better}


@kpis_blp.route("")
@kpis_blp.response(200, KpiListSchema)
@requires("reports.view")
def list_kpis():
    """Every KPI the token's user may see, with its written definition and the filters it takes."""
    return {"items": [_dump_kpi(k) for k in engine.kpis_for(api_user(), engine_only=True)]}


@kpis_blp.route("/targets")
@kpis_blp.arguments(MonthArgs, location="query")
@kpis_blp.response(200, KpiTargetListSchema)
@requires("reports.view")
def list_targets(args):
    """A month's targets (tenant, store, person) with the actual value, achievement %, month to date against last
    month's same days, and the same month a year earlier."""
    month = targets.month_of(args["month"]) if args.get("month") else report_today().replace(day=1)
    if month is None:
        unprocessable(ValidationError({"month": ["Enter a month as YYYY-MM."]}))
    rows = targets.rows_for(api_user(), month)
    return {"items": [{"target": {**_target(r.target)}, "actual": _json(r.actual), "achievement": r.achievement,
                       "to_date": _json(r.to_date), "to_date_before": _json(r.to_date_before),
                       "year_before": _json(r.year_before)} for r in rows]}


def _target(t) -> dict:
    return {"id": t.id, "kpi_code": t.kpi_code, "month": f"{t.month:%Y-%m}", "store_id": t.store_id,
            "user_id": t.user_id, "value": t.value}


@kpis_blp.route("/targets", methods=["POST"])
@kpis_blp.arguments(KpiTargetSchema)
@kpis_blp.response(201, KpiTargetSchema)
@requires("reports.manage")
def set_target(data):
    """Create or replace the target of (KPI, month, store, person)."""
    try:
        return _target(targets.set_target(api_user(), data))
    except ValidationError as err:
        unprocessable(err)


@kpis_blp.route("/targets/<int:target_id>", methods=["DELETE"])
@kpis_blp.response(204)
@requires("reports.manage")
def delete_target(target_id):
    target = targets.get_target(api_user(), target_id)
    if target is None:
        abort(404)
    targets.delete_target(target)


@kpis_blp.route("/<code>/value")
@kpis_blp.arguments(KpiArgs, location="query")
@kpis_blp.response(200, KpiValueSchema)
@requires("reports.view")
def kpi_value(args, code):
    """The KPI over a period (day, week, month or custom dates, tenant time zone) and the period before."""
    kpi = _kpi(code)
    scope = _scope(args)
    result = engine.evaluate([kpi], scope)[kpi.code]
    year_before = engine.evaluate([kpi], scope.year_before(), compare=False)[kpi.code]
    return {"code": kpi.code, "period": scope.period.as_args(), "previous_period": scope.period.previous().as_args(),
            "value": _json(result.value), "count": result.n, "previous": _json(result.previous),
            "previous_count": result.previous_n, "year_before": _json(year_before.value),
            "year_before_period": scope.year_before().period.as_args()}


@kpis_blp.route("/<code>/records")
@kpis_blp.arguments(RecordArgs, location="query")
@kpis_blp.response(200, KpiRecordsSchema)
@requires("reports.view")
def kpi_records(args, code):
    """The records the KPI counted (the same query as its value), by id; page with `after` = `next_after`."""
    kpi = _kpi(code)
    scope = _scope(args)
    rows = engine.records(kpi, scope, limit=args["per_page"] + 1, after_id=args.get("after"))
    more = len(rows) > args["per_page"]
    rows = rows[:args["per_page"]]
    count = engine.evaluate([kpi], scope, compare=False)[kpi.code].n
    return {"code": kpi.code, "count": count, "items": [{k: _json(v) for k, v in r.items()} for r in rows],
            "next_after": rows[-1]["id"] if more else None}


# --- dashboards ----------------------------------------------------------------------------------------------------


class DashboardListSchema(Schema):
    items = fields.List(fields.Nested(DashboardSchema))


def _dashboard(dashboard_id, *, edit: bool = False):
    """Another user's personal dashboard answers 404 like a missing one; a shared one to change needs
    reports.manage (403)."""
    board = services.get_dashboard(dashboard_id, api_user())
    if board is None:
        abort(404)
    if edit and not services.can_edit(api_user(), board):
        abort(403, message="Your role lacks the permission 'reports.manage'.")
    return board


@dashboards_blp.route("")
@dashboards_blp.response(200, DashboardListSchema)
@requires("reports.view")
def list_dashboards():
    """The viewer's dashboards: the shared ones, those of a role, and their own personal ones (`personal`)."""
    return {"items": services.dashboards(api_user())}


@dashboards_blp.route("", methods=["POST"])
@dashboards_blp.arguments(DashboardSchema)
@dashboards_blp.response(201, DashboardSchema)
@requires("reports.view")
def create_dashboard(data):
    """A dashboard of KPIs (`{"kind": "kpi", "code", "chart": number|line|bar|pie}`), saved reports
    (`{"kind": "report", "code": "<report id>"}`) and widgets (`{"kind": "widget", "code"}`), in order; `role_id`
    makes it the home page of that role. `personal: true`: the caller's own dashboard, seen by them only (`home:
    true` makes it their home page); a shared one needs reports.manage."""
    if not data.get("personal") and not api_user().has_permission("reports.manage"):
        abort(403, message="Your role lacks the permission 'reports.manage'.")
    try:
        return services.save_dashboard(api_user(), None, data)
    except ValidationError as err:
        unprocessable(err)


@dashboards_blp.route("/<int:dashboard_id>")
@dashboards_blp.response(200, DashboardSchema)
@requires("reports.view")
def get_dashboard(dashboard_id):
    return _dashboard(dashboard_id)


@dashboards_blp.route("/<int:dashboard_id>", methods=["PUT"])
@dashboards_blp.arguments(DashboardSchema)
@dashboards_blp.response(200, DashboardSchema)
@requires("reports.view")
def put_dashboard(data, dashboard_id):
    """Replace name, role and items (add, remove and reorder by sending the new list); `home` of a personal one."""
    board = _dashboard(dashboard_id, edit=True)
    data.pop("personal", None)  # a dashboard stays what it was created as
    try:
        return services.save_dashboard(api_user(), board, data)
    except ValidationError as err:
        unprocessable(err)


@dashboards_blp.route("/<int:dashboard_id>", methods=["DELETE"])
@dashboards_blp.response(204)
@requires("reports.view")
def delete_dashboard(dashboard_id):
    services.delete_dashboard(_dashboard(dashboard_id, edit=True))


# --- threshold alerts ----------------------------------------------------------------------------------------------


class KpiThresholdListSchema(Schema):
    items = fields.List(fields.Nested(KpiThresholdSchema))


@alerts_blp.route("")
@alerts_blp.response(200, KpiThresholdListSchema)
@requires("reports.manage")
def list_alerts():
    return {"items": services.thresholds()}


@alerts_blp.route("", methods=["POST"])
@alerts_blp.arguments(KpiThresholdSchema)
@alerts_blp.response(201, KpiThresholdSchema)
@requires("reports.manage")
def create_alert(data):
    """Notify (in-app and email, through the outbox) once each time the KPI crosses `value`; checked hourly."""
    try:
        return services.save_threshold(api_user(), None, data)
    except ValidationError as err:
        unprocessable(err)


@alerts_blp.route("/<int:threshold_id>", methods=["DELETE"])
@alerts_blp.response(204)
@requires("reports.manage")
def delete_alert(threshold_id):
    threshold = services.get_threshold(threshold_id)
    if threshold is None:
        abort(404)
    services.delete_threshold(threshold)


# --- the report builder ---------------------------------------------------------------------------------------------

reports_blp = Blueprint("api_reports", __name__, url_prefix="/reports",
                        description="Report builder (自定义报表): saved reports over whitelisted fields")


class SavedReportSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = fields.String(required=True, metadata={"description": "1–80 characters"})
    spec = fields.Dict(required=True, metadata={"description": (
        "{entity, columns: [field], filters: [{field, op, value}], match: all|any, where: a condition tree "
        "({all|any: [...]}, {not: ...}, {field, op, value}; docs/rules.md), group_by, grain: day|week|month, "
        "aggregate: count|distinct|sum|avg|min|max, measure, chart: table|line|bar|pie|funnel|pivot|number, "
        "group_by2 + grain2 (pivot), date_field + period: day|week|month (number with the change on the period "
        "before), sort, direction: asc|desc, limit ≤ 1000}; fields, dimensions, measures, operators and aggregates "
        "from GET /reports/entities only")})
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class SavedReportListSchema(Schema):
    items = fields.List(fields.Nested(SavedReportSchema))


class EntityListSchema(Schema):
    items = fields.List(fields.Dict())
    operators = fields.Dict()
    aggregates = fields.Dict()


class ReportRunSchema(Schema):
    id = fields.Integer()
    grouped = fields.Boolean()
    chart = fields.String()
    previous = fields.Raw(allow_none=True, metadata={"description": "a number chart's value in the period before"})
    columns = fields.List(fields.Dict(), metadata={"description": "[{key, label, type}]"})
    rows = fields.List(fields.List(fields.Raw()))


def _report(report_id):
    report = saved.get_report(api_user(), report_id)
    if report is None:
        abort(404)
    return report


@reports_blp.route("/entities")
@reports_blp.response(200, EntityListSchema)
@requires("reports.view")
def list_entities():
    """The record types the token's user may report on (the core's and enabled plugins'), with each field's label
    and type, the dimensions it may be grouped by and the measures it may sum or average (the whitelist)."""

    items = []
    for e in builder.entities_for(api_user()).values():
        fields_ = builder.fields_of(e)
        items.append({"code": e.code, "label": str(e.label), "fields": [
            {"code": code, "label": str(f.label), "type": f.type,
             "choices": {k: builder.choice_label(f.choices, k) for k in f.choices}} for code, f in fields_.items()],
            "dimensions": sorted(builder.dimensions_of(e, fields_)),
            "measures": sorted(builder.measures_of(e, fields_))})
    return {"items": items, "operators": {t: list(ops) for t, ops in builder.OPERATORS_BY_TYPE.items()},
            "aggregates": {a: list(t) for a, t in builder.AGGREGATE_TYPES.items()},
            "charts": list(builder.CHARTS)}


@reports_blp.route("")
@reports_blp.response(200, SavedReportListSchema)
@requires("reports.view")
def list_reports():
    return {"items": saved.saved_reports(api_user())}


@reports_blp.route("", methods=["POST"])
@reports_blp.arguments(SavedReportSchema)
@reports_blp.response(201, SavedReportSchema)
@requires("reports.build")
def create_report(data):
    """Save a report; every name in `spec` is checked against the whitelist (422 naming the bad part)."""
    try:
        return saved.save_report(api_user(), None, data["name"], data["spec"])
    except ValidationError as err:
        unprocessable(ValidationError({f"spec.{k}" if k != "name" else k: v for k, v in err.messages.items()}))


@reports_blp.route("/<int:report_id>")
@reports_blp.response(200, SavedReportSchema)
@requires("reports.view")
def get_report(report_id):
    return _report(report_id)


@reports_blp.route("/<int:report_id>", methods=["PUT"])
@reports_blp.arguments(SavedReportSchema)
@reports_blp.response(200, SavedReportSchema)
@requires("reports.build")
def put_report(data, report_id):
    report = _report(report_id)
    try:
        return saved.save_report(api_user(), report, data["name"], data["spec"])
    except ValidationError as err:
        unprocessable(ValidationError({f"spec.{k}" if k != "name" else k: v for k, v in err.messages.items()}))


@reports_blp.route("/<int:report_id>", methods=["DELETE"])
@reports_blp.response(204)
@requires("reports.build")
def delete_report(report_id):
    saved.delete_report(_report(report_id))


@reports_blp.route("/<int:report_id>/run")
@reports_blp.response(200, ReportRunSchema)
@requires("reports.view")
def run_report(report_id):
    """Run the report over the stores the token's user can see (at most its `limit` rows)."""

    report = _report(report_id)
    try:
        result = builder.run(api_user(), report.spec)
    except ValidationError as err:
        unprocessable(err)
    return {"id": report.id, "grouped": result.grouped, "chart": result.chart, "previous": _json(result.previous),
            "columns": [{"key": k, "label": h, "type": t} for k, h, t in zip(result.keys, result.headers,
                                                                              result.types)],
            "rows": [[_json(v) for v in row] for row in result.rows]}
