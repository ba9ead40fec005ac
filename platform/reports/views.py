"""Report pages: the KPI library, a KPI with its chart and drill-down, exports, dashboards, threshold alerts."""
from __future__ import annotations

import json
from datetime import datetime

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_babel import format_decimal
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..access.services import list_roles
from ..hooks.blocks import dashboard_widgets
from ..stores.services import stores_visible_to
from ..users.services import list_users
from ..web.forms import flatten_errors, load_form, requires
from . import builder, digest, engine, saved, services, targets
from .periods import KINDS, report_today, report_zone
from .schemas import DashboardSchema, KpiArgs, KpiThresholdSchema, period_from

bp = Blueprint("reports", __name__, url_prefix="/reports")

def period_labels() -> dict:
    return {"day": _("Day"), "week": _("Week"), "month": _("Month"), "custom": _("Custom dates")}


@bp.app_template_global()
def kpi_value(kpi, value) -> str:
    """A KPI's value as staff read it: 12 · 85.3% · 4.25 · ¥1,200.00 · – when there is nothing to measure."""
    if value is None:
        return "–"
    if kpi.unit == "%":
        return f"{format_decimal(value, format='#,##0.#')}%"
    if kpi.unit == "money":
        return format_decimal(value, format="#,##0.00")
    if kpi.unit == "score" or kpi.measure.startswith("nps"):
        return format_decimal(value, format="#,##0.##")
    return format_decimal(value, format="#,##0")


@bp.app_template_global()
def kpi_cell(row, column):
    value = row[f"{column}_name"] if f"{column}_name" in row else row.get(column)
    if isinstance(value, datetime):
        return value.astimezone(report_zone()).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if column == "status":
        return {"open": _("Open"), "done": _("Done"), "cancelled": _("Cancelled")}.get(value, value)
    if column == "channel":
        return {"sms": _("SMS"), "email": _("Email")}.get(value, value)
    return "" if value is None else value


def _args(schema=KpiArgs):
    """Loaded query-string filters, or (None, errors)."""
    try:
        return schema().load({k: v for k, v in request.args.items() if k in schema().fields and v != ""}), {}
    except ValidationError as err:
        return None, flatten_errors(err.messages)


def _scope(args):
    try:
        return engine.scope_for(current_user, period_from(args), store_id=args.get("store_id"),
                                staff_id=args.get("staff_id"), channel=args.get("channel"))
    except ValueError:
        return None


def _filters_context(args, errors):
    return {"args": args or {}, "errors": errors, "periods": period_labels(), "kinds": KINDS,
            "stores": stores_visible_to(current_user)}


@bp.get("/")
@requires("reports.view")
def index():
    args, errors = _args()
    scope = _scope(args) if args else None
    if scope is None:
        args, scope = KpiArgs().load({}), engine.scope_for(current_user, period_from(KpiArgs().load({})))
        errors = errors or {"store_id": [_("Choose one of the listed options.")]}
    kpis = engine.kpis_for(current_user, engine_only=True)
    results = engine.evaluate(kpis, scope)
    return render_template("reports/index.html", digest_on=digest.subscribed(current_user), results=results, kpis=kpis, scope=scope,
                           dashboards=services.dashboards(current_user), **_filters_context(args, errors)), 422 if errors else 200


def _chart(kpi, scope, chart: str) -> dict | None:
    """ECharts options (data only; the static script draws them) for a KPI's line, bar or pie chart."""
    if chart == "line" and kpi.time_column:
        points = engine.series(kpi, scope)
        fmt = "%Y-%m" if scope.period.grain == "month" else "%m-%d"
        return {"type": "line", "labels": [d.strftime(fmt) for d, _v, _n in points],
                "values": [float(v) if v is not None else None for _d, v, _n in points], "name": str(kpi.label)}
    if chart in ("bar", "pie") and kpi.group_by:
        return _groups_chart(kpi, engine.breakdown(kpi, scope, _by(kpi)), chart)
    return None


def _by(kpi) -> str | None:
    """The breakdown asked for (`?by=`), else the KPI's first."""
    if not kpi.group_by:
        return None
    return request.args.get("by") if request.args.get("by") in kpi.group_by else next(iter(kpi.group_by))


def _groups_chart(kpi, groups, chart: str) -> dict:
    return {"type": chart, "labels": [str(label if label is not None else "–") for _k, label, _v, _n in groups],
            "values": [float(v) if v is not None else None for _k, _l, v, _n in groups], "name": str(kpi.label)}


@bp.get("/kpis/<code>")
@requires("reports.view")
def kpi(code):
    kpi = engine.get_kpi(current_user, code)
    if kpi is None:
        abort(404)
    args, errors = _args()
    scope = _scope(args) if args else None
    if scope is None:
        args = KpiArgs().load({})
        scope = engine.scope_for(current_user, period_from(args))
        errors = errors or {"store_id": [_("Choose one of the listed options.")]}
    after = request.args.get("after", type=int)
    result = engine.evaluate([kpi], scope)[kpi.code]
    year_before = engine.evaluate([kpi], scope.year_before(), compare=False)[kpi.code]
    rows = engine.records(kpi, scope, limit=51, after_id=after)
    by = _by(kpi)
    groups = engine.breakdown(kpi, scope, by) if by else []
    by_chart = _groups_chart(kpi, groups, "bar") if by else None
    # a KPI over time shows its line on top and the breakdown's bars below; any other, its bars on top only
    chart = _chart(kpi, scope, "line") if kpi.time_column else by_chart
    return render_template("reports/kpi.html", kpi=kpi, result=result, year_before=year_before, rows=rows[:50],
                           more=len(rows) > 50, by=by, groups=groups,
                           groups_chart=json.dumps(by_chart) if groups and kpi.time_column else None,
                           chart=json.dumps(chart) if chart else None, scope=scope,
                           **_filters_context(args, errors)), 422 if errors else 200


@bp.get("/kpis/<code>/export.<fmt>")
@requires("reports.view")
def export(code, fmt):
    kpi = engine.get_kpi(current_user, code)
    if kpi is None or fmt not in ("csv", "xlsx"):
        abort(404)
    args, errors = _args()
    scope = _scope(args) if args else None
    if scope is None:
        abort(422)
    name = f"{kpi.code}-{scope.period.first.isoformat()}-{scope.period.last.isoformat()}"
    if fmt == "csv":
        return Response(services.export_csv(kpi, scope), mimetype="text/csv",
                        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'})
    return Response(services.export_xlsx(kpi, scope),
                    mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                    headers={"Content-Disposition": f'attachment; filename="{name}.xlsx"'})


# --- dashboards ----------------------------------------------------------------------------------------------------


def dashboard_blocks(dashboard_items, scope) -> list[dict]:
    """What a dashboard shows: each KPI item with its result (all values in one statement) and its chart data, each
    widget with its block."""
    kpis = {k.code: k for k in engine.kpis_for(current_user, engine_only=True)}
    wanted = [kpis[i["code"]] for i in dashboard_items if i["kind"] == "kpi" and i["code"] in kpis]
    results = engine.evaluate(wanted, scope) if wanted else {}
    widgets = {b.item.code: b for position in ("top", "main") for b in dashboard_widgets(current_user, position)}
    out = []
    for item in dashboard_items:
        if item["kind"] == "kpi" and item["code"] in results:
            kpi = kpis[item["code"]]
            chart = _chart(kpi, scope, item.get("chart", "number"))
            out.append({"item": item, "kpi": kpi, "result": results[kpi.code],
                        "chart": json.dumps(chart) if chart else None})
        elif item["kind"] == "widget" and item["code"] in widgets:
            out.append({"item": item, "block": widgets[item["code"]]})
        elif item["kind"] == "report":
            block = report_block(item)
            if block is not None:
                out.append(block)
    return out


def report_block(item) -> dict | None:
    """A saved report on a dashboard: run for the viewer (their stores), its chart, or its first rows. A report
    this viewer may not see, or one whose fields were removed since, is left out."""
    report = saved.get_report(current_user, item["code"])
    if report is None:
        return None
    try:
        result = builder.run(current_user, report.spec)
    except ValidationError:
        return None
    return {"item": item, "report": report, "result": result, "chart": report_chart(report.name, result),
            "pivot": _pivot(result), "cell": builder.cell}


@bp.get("/dashboards/<int:dashboard_id>")
@requires("reports.view")
def dashboard(dashboard_id):
    board = services.get_dashboard(dashboard_id, current_user)
    if board is None:
        abort(404)
    args, errors = _args()
    scope = _scope(args) if args else None
    if scope is None:
        args = KpiArgs().load({})
        scope = engine.scope_for(current_user, period_from(args))
        errors = errors or {"store_id": [_("Choose one of the listed options.")]}
    return render_template("reports/dashboard.html", board=board, blocks=dashboard_blocks(board.items, scope),
                           scope=scope, can_edit=services.can_edit(current_user, board),
                           **_filters_context(args, errors)), 422 if errors else 200


def _editable(dashboard_id):
    """The dashboard if the user may change it: 404 for one they cannot see (another user's personal one), 403 for
    a shared one without the right to manage reports."""
    board = services.get_dashboard(dashboard_id, current_user)
    if board is None:
        abort(404)
    if not services.can_edit(current_user, board):
        abort(403)
    return board


@bp.route("/dashboards/new", methods=["GET", "POST"])
@requires("reports.view")
def new_dashboard():
    return _dashboard_form(None)


@bp.post("/dashboards/copy")
@requires("reports.view")
def copy_dashboard():
    """A personal dashboard starting as a copy of the user's role's dashboard."""
    board = services.copy_role_dashboard(current_user)
    flash(_("Dashboard %(name)s saved.", name=board.name), "success")
    return redirect(url_for("reports.compose", dashboard_id=board.id))


@bp.post("/dashboards/<int:dashboard_id>/home")
@requires("reports.view")
def dashboard_home(dashboard_id):
    """Make a personal dashboard the user's home (home=1), or go back to the role's (home=0)."""
    board = _editable(dashboard_id)
    if not board.personal:
        abort(404)
    services.set_home(current_user, board if request.form.get("home") == "1" else None)
    flash(_("Your home page shows this dashboard.") if board.home else _("Your home page shows your role's "
                                                                          "dashboard."), "success")
    return redirect(url_for("reports.dashboard", dashboard_id=board.id))


@bp.route("/dashboards/<int:dashboard_id>/edit", methods=["GET", "POST"])
@requires("reports.view")
def edit_dashboard(dashboard_id):
    return _dashboard_form(_editable(dashboard_id))


def _dashboard_form(board):
    manager = current_user.has_permission("reports.manage")
    errors = {}
    values = {"name": board.name, "role_id": board.role_id} if board else {"personal": "1"}
    if request.method == "POST":
        # without the right to manage reports, a new dashboard can only be one's own
        personal = board.personal if board else (not manager or "personal" in request.form)
        form = {"name": request.form.get("name", ""),
                "role_id": None if personal else request.form.get("role_id") or None}
        values = {**form, "personal": "1" if personal else ""}
        try:
            data = DashboardSchema(only=("name", "role_id")).load(form)
            items = [] if personal else services.default_items(current_user)  # from scratch, or the role's KPIs
            saved = services.save_dashboard(current_user, board, data if board else
                                            {**data, "personal": personal, "items": items})
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            flash(_("Dashboard %(name)s saved.", name=saved.name), "success")
            return redirect(url_for("reports.compose", dashboard_id=saved.id))
    return render_template("reports/dashboard_form.html", board=board, values=values, errors=errors,
                           roles=list_roles(), manager=manager), 422 if errors else 200


@bp.route("/dashboards/<int:dashboard_id>/compose", methods=["GET", "POST"])
@requires("reports.view")
def compose(dashboard_id):
    board = _editable(dashboard_id)
    errors = {}
    if request.method == "POST":
        action = request.form.get("action", "")
        index = request.form.get("index", type=int)
        item = None
        if action == "add":
            kind, _sep, code = request.form.get("code", "").partition(":")
            item = {"kind": kind, "code": code, "chart": request.form.get("chart") or "number"}
        try:
            services.edit_items(current_user, board, action, index, item)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            return redirect(url_for("reports.compose", dashboard_id=board.id))
    kpis = {k.code: k for k in engine.kpis_for(current_user, engine_only=True)}
    widgets = services.widgets_available()
    reports = {str(r.id): r for r in saved.saved_reports(current_user)}
    return render_template("reports/compose.html", board=board, kpis=kpis, widgets=widgets, errors=errors,
                           reports=reports,
                           charts=services.CHART_LABELS), 422 if errors else 200


@bp.post("/dashboards/<int:dashboard_id>/delete")
@requires("reports.view")
def delete_dashboard(dashboard_id):
    board = _editable(dashboard_id)
    services.delete_dashboard(board)
    flash(_("Dashboard deleted."), "success")
    return redirect(url_for("reports.index"))


# --- threshold alerts ----------------------------------------------------------------------------------------------


@bp.route("/alerts", methods=["GET", "POST"])
@requires("reports.manage")
def alerts():
    errors, values = {}, {}
    if request.method == "POST":
        data, errors = load_form(KpiThresholdSchema())
        values = dict(request.form)
        if data is not None:
            try:
                services.save_threshold(current_user, None, data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Alert saved."), "success")
                return redirect(url_for("reports.alerts"))
    kpis = {k.code: k for k in engine.kpis_for(current_user, engine_only=True)}
    return render_template("reports/alerts.html", thresholds=services.thresholds(), kpis=kpis, errors=errors,
                           values=values, roles=list_roles(), stores=stores_visible_to(current_user),
                           directions=services.DIRECTIONS, periods=period_labels()), 422 if errors else 200


@bp.post("/digest")
@requires("reports.view")
def digest_toggle():
    """Opt in or out of the weekly e-mail digest of one's own KPIs."""
    on = request.form.get("on") == "1"
    digest.subscribe(current_user, on)
    flash(_("You will get the weekly digest by e-mail.") if on else _("Weekly digest turned off."), "success")
    return redirect(url_for("reports.index"))


@bp.route("/targets", methods=["GET", "POST"])
@requires("reports.view")
def targets_page():
    """The month's targets with achievement, month to date against last month's same days, and last year."""
    errors, values = {}, {}
    month = targets.month_of(request.values.get("month") or "") or report_today().replace(day=1)
    if request.method == "POST":
        if not current_user.has_permission("reports.manage"):
            abort(403)
        values = dict(request.form)
        try:
            targets.set_target(current_user, {**request.form.to_dict(), "month": request.form.get("month") or ""})
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            flash(_("Target saved."), "success")
            return redirect(url_for("reports.targets_page", month=f"{month:%Y-%m}"))
    kpis = {k.code: k for k in engine.kpis_for(current_user, engine_only=True)}
    stores, staff = stores_visible_to(current_user), list_users(current_user)
    return render_template("reports/targets.html", rows=targets.rows_for(current_user, month), month=month,
                           kpis=kpis, errors=errors, values=values, stores=stores, staff=staff,
                           stores_by_id={s.id: s.name for s in stores},
                           staff_by_id={u.id: u.display_name for u in staff}), 422 if errors else 200


@bp.post("/targets/<int:target_id>/delete")
@requires("reports.manage")
def delete_target(target_id):
    target = targets.get_target(current_user, target_id)
    if target is None:
        abort(404)
    month = target.month
    targets.delete_target(target)
    flash(_("Target deleted."), "success")
    return redirect(url_for("reports.targets_page", month=f"{month:%Y-%m}"))


@bp.post("/alerts/<int:threshold_id>/delete")
@requires("reports.manage")
def delete_alert(threshold_id):
    threshold = services.get_threshold(threshold_id)
    if threshold is None:
        abort(404)
    services.delete_threshold(threshold)
    flash(_("Alert deleted."), "success")
    return redirect(url_for("reports.alerts"))



# --- the report builder --------------------------------------------------------------------------------------------

FORM_FILTERS = 3


def _spec_from_form(form) -> tuple[dict, list[int]]:
    """The builder form as a raw spec (checked by the service), and the form row of each filter sent."""
    rows = [i for i in range(FORM_FILTERS) if form.get(f"filter_field_{i}")]
    return {
        "entity": form.get("entity", ""), "columns": form.getlist("columns"),
        "filters": [{"field": form.get(f"filter_field_{i}"), "op": form.get(f"filter_op_{i}", ""),
                     "value": form.get(f"filter_value_{i}", "")} for i in rows],
        "group_by": form.get("group_by") or None, "grain": form.get("grain") or None,
        "aggregate": form.get("aggregate") or "count", "measure": form.get("measure") or None,
        "sort": form.get("sort") or None, "direction": form.get("direction") or "asc",
        "limit": form.get("limit") or 200, "chart": form.get("chart") or "table",
        "group_by2": form.get("group_by2") or None, "grain2": form.get("grain2") or None,
        "date_field": form.get("date_field") or None, "period": form.get("period") or None,
        "match": form.get("match") or "all", "where": _tree_from_form(form.get("where"))}, rows


def _tree_from_form(text):
    """The advanced conditions box: a condition tree as JSON (docs/reports.md); text that is not JSON is passed on
    as it is, so the service answers with its field error."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return text


def _form_values(spec: dict) -> dict:
    values = {k: spec.get(k) for k in ("entity", "group_by", "grain", "aggregate", "measure", "sort", "direction",
                                        "limit", "chart", "group_by2", "grain2", "date_field", "period", "match")}
    where = spec.get("where")
    values["where"] = where if isinstance(where, str) else (json.dumps(where, ensure_ascii=False) if where else "")
    values["columns"] = list(spec.get("columns") or [])
    for i, f in enumerate((spec.get("filters") or [])[:FORM_FILTERS]):
        values.update({f"filter_field_{i}": f.get("field"), f"filter_op_{i}": f.get("op"),
                       f"filter_value_{i}": f.get("value")})
    return values


def _form_errors(errors: dict, rows: list[int]) -> dict:
    """Service errors keyed by spec path (filters.0.field) → keys of the form's inputs (filter_field_<row>)."""
    out = {}
    for key, messages in errors.items():
        parts = key.split(".")
        if parts[0] == "filters" and len(parts) == 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
            out[f"filter_{parts[2]}_{rows[int(parts[1])]}"] = messages
        elif parts[0] == "columns":
            out["columns"] = messages
        else:
            out[key] = messages
    return out


@bp.get("/builder/")
@requires("reports.view")
def builder_index():
    return render_template("reports/builder_index.html", reports=saved.saved_reports(current_user),
                           entities=builder.entities_for(current_user))


def _builder_form(report):
    entities = builder.entities_for(current_user)
    errors = {}
    if request.method == "POST":
        raw, rows = _spec_from_form(request.form)
        values = {**_form_values(raw), "name": request.form.get("name", "")}
        for i in range(FORM_FILTERS):  # keep what was typed in each row, even an empty one
            for part in ("field", "op", "value"):
                values[f"filter_{part}_{i}"] = request.form.get(f"filter_{part}_{i}", "")
        try:
            report = saved.save_report(current_user, report, request.form.get("name"), raw)
        except ValidationError as err:
            errors = _form_errors(flatten_errors(err.messages), rows)
        else:
            flash(_("Report %(name)s saved.", name=report.name), "success")
            return redirect(url_for("reports.builder_report", report_id=report.id))
    elif report is not None:
        values = {**_form_values(report.spec), "name": report.name}
    else:
        values = {"entity": request.args.get("entity") or next(iter(entities), ""), "aggregate": "count",
                  "direction": "asc", "limit": 200}
    entity = entities.get(values.get("entity") or "")
    if entity is None:
        entity = next(iter(entities.values()), None)
        if entity is None:
            abort(403)
        if request.method == "POST":
            errors.setdefault("entity", [_("Choose one of the listed options.")])
    if not values.get("columns"):
        values["columns"] = list(entity.default_columns) if request.method == "GET" else []
    return render_template("reports/builder_form.html", report=report, entity=entity, entities=entities,
                           values=values, errors=errors, operators=builder.OPERATORS,
                           operators_by_type=builder.OPERATORS_BY_TYPE, aggregates=builder.AGGREGATES,
                           grains=builder.GRAINS, directions=builder.DIRECTIONS, filter_rows=range(FORM_FILTERS),
                           fields=builder.fields_of(entity), charts=builder.CHARTS, periods=builder.PERIODS,
                           matches=builder.MATCH,
                           choice_label=builder.choice_label), 422 if errors else 200


@bp.route("/builder/new", methods=["GET", "POST"])
@requires("reports.build")
def builder_new():
    return _builder_form(None)


@bp.route("/builder/<int:report_id>/edit", methods=["GET", "POST"])
@requires("reports.build")
def builder_edit(report_id):
    report = saved.get_report(current_user, report_id)
    if report is None:
        abort(404)
    return _builder_form(report)


@bp.get("/builder/<int:report_id>")
@requires("reports.view")
def builder_report(report_id):
    report = saved.get_report(current_user, report_id)
    if report is None:
        abort(404)
    try:
        result = builder.run(current_user, report.spec)
    except ValidationError as err:  # the whitelist changed since it was saved (a field removed): say so, run nothing
        return render_template("reports/builder_report.html", report=report, result=None,
                               errors=flatten_errors(err.messages), chart=None), 422
    entity = builder.sources()[report.spec["entity"]]
    return render_template("reports/builder_report.html", report=report, result=result, errors={},
                           chart=report_chart(report.name, result), pivot=_pivot(result), entity=entity,
                           cell=builder.cell)


def report_chart(name: str, result) -> str | None:
    """The ECharts spec (JSON for charts.js) of a grouped result: its own chart, or bars for a table report
    saved before charts could be chosen."""
    if not result.grouped or not result.rows or len(result.rows) > 60 or result.chart == "pivot":
        return None
    kind = result.chart if result.chart in ("line", "bar", "pie", "funnel") else "bar"
    return json.dumps({"type": kind, "labels": [str(builder.cell(row[0], result.types[0]) or "–")
                                                for row in result.rows],
                       "values": [float(row[-1]) if row[-1] is not None and not isinstance(row[-1], datetime)
                                  else None for row in result.rows], "name": name})


def _pivot(result):
    if result is None or result.chart != "pivot":
        return None
    rows, columns, cells = builder.pivot(result)
    return {"rows": rows, "columns": columns, "cells": cells}


@bp.get("/builder/<int:report_id>/export.<fmt>")
@requires("reports.view")
def builder_export(report_id, fmt):
    report = saved.get_report(current_user, report_id)
    if report is None or fmt not in ("csv", "xlsx"):
        abort(404)
    try:
        body = saved.export_csv(current_user, report) if fmt == "csv" else saved.export_xlsx(current_user, report)
    except ValidationError:
        abort(422)
    name = f"report-{report.id}"
    mimetype = "text/csv" if fmt == "csv" else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    return Response(body, mimetype=mimetype, headers={"Content-Disposition": f'attachment; filename="{name}.{fmt}"'})


@bp.post("/builder/<int:report_id>/delete")
@requires("reports.build")
def builder_delete(report_id):
    report = saved.get_report(current_user, report_id)
    if report is None:
        abort(404)
    saved.delete_report(report)
    flash(_("Report deleted."), "success")
    return redirect(url_for("reports.builder_index"))
