"""Dashboards (composition, the one a user's home shows), drill-down export, threshold alerts."""
from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import ValidationError
from sqlalchemy import or_, select, update

from ..access.models import Role
from ..audit.services import record as record_audit
from ..events import KpiThresholdCrossed, emit
from ..extensions import db
from ..hooks.runtime import enabled_plugins, host
from ..notifications.services import notify_user
from ..rules.actions import RULE_USER
from ..tenancy.context import current_tenant
from ..tenancy.models import get_scoped, utcnow
from ..spreadsheets import csv_row, xlsx_row
from ..stores.services import get_store
from . import saved as saved_reports
from ..users.models import User
from ..users.services import staff_with_role
from . import engine
from .models import CHARTS, Dashboard, KpiThreshold
from .periods import period_of, report_zone

CHART_LABELS = {"number": _l("Number"), "line": _l("Line chart"), "bar": _l("Bar chart"), "pie": _l("Pie chart")}
DIRECTIONS = {"above": _l("goes above"), "below": _l("goes below")}
EXPORT_LIMIT = 100_000


# --- dashboards ----------------------------------------------------------------------------------------------------


def dashboards(user=None) -> list[Dashboard]:
    """The dashboards `user` sees: the shared ones and those of a role (as before), and their own personal ones —
    never another user's personal dashboard. Without `user` (jobs): the shared and role ones only."""
    mine = Dashboard.owner_id.is_(None) if user is None else or_(Dashboard.owner_id.is_(None),
                                                                 Dashboard.owner_id == user.id)
    return list(db.session.scalars(select(Dashboard).where(mine).order_by(
        Dashboard.owner_id.is_(None), Dashboard.name, Dashboard.id)))


def get_dashboard(dashboard_id, user=None) -> Dashboard | None:
    """The dashboard if `user` may see it: another user's personal dashboard is None, like one that does not exist."""
    board = get_scoped(Dashboard, dashboard_id)
    if board is None or board.owner_id is not None and (user is None or board.owner_id != user.id):
        return None
    return board


def can_edit(user, board: Dashboard) -> bool:
    """A personal dashboard: its owner only; a shared or role dashboard: those allowed to manage reports."""
    if board.owner_id is not None:
        return board.owner_id == user.id
    return user.has_permission("reports.manage")


def role_dashboard(user) -> Dashboard | None:
    """The dashboard an admin set for the user's role, if any."""
    return db.session.scalar(select(Dashboard).where(Dashboard.role_id == user.role_id,
                                                     Dashboard.owner_id.is_(None))
                             .order_by(Dashboard.id).limit(1))


def home_dashboard(user) -> Dashboard | None:
    """What the user's home page shows: the personal dashboard they made their home, else their role's, if any."""
    own = db.session.scalar(select(Dashboard).where(Dashboard.owner_id == user.id, Dashboard.home.is_(True))
                            .limit(1))
    return own or role_dashboard(user)


def copy_role_dashboard(user, name: str | None = None) -> Dashboard:
    """A personal dashboard starting as a copy of the user's role's (or of the default KPIs of their role)."""
    role = role_dashboard(user)
    items = list(role.items) if role is not None else default_items(user)
    # keep only what this user may see: a card of the role's board they cannot open would refuse the save
    allowed = []
    for item in items:
        try:
            allowed.extend(_check_items(user, [item]))
        except ValidationError:
            continue
    return save_dashboard(user, None, {"name": name or (_("My copy of %(name)s", name=role.name) if role else
                                                        _("My dashboard")),
                                       "items": allowed, "personal": True})


def set_home(user, board: Dashboard | None) -> None:
    """Make the personal `board` the user's home dashboard; None: back to their role's."""
    if board is not None and board.owner_id != user.id:
        raise ValidationError({"home": [_("Only a personal dashboard of yours can be your home.")]})
    db.session.execute(update(Dashboard).where(Dashboard.owner_id == user.id, Dashboard.home.is_(True))
                       .values(home=False).execution_options(synchronize_session="fetch"))
    if board is not None:
        db.session.flush()
        board.home = True
    db.session.flush()


def widgets_available() -> dict:
    """{code: DashboardWidget} of the core and the plugins enabled here."""
    return {w.code: w for w in host().items("register_dashboard_widgets", enabled_plugins())}


def _check_items(user, items) -> list[dict]:
    if not isinstance(items, list) or len(items) > 40:
        raise ValidationError({"items": [_("At most 40 items.")]})
    kpis = {k.code: k for k in engine.kpis_for(user, engine_only=True)}
    widgets = widgets_available()
    out = []
    for i, item in enumerate(items):
        kind, code, chart = item.get("kind"), item.get("code"), item.get("chart") or "number"
        if kind == "kpi" and code in kpis and chart in CHARTS:
            kpi = kpis[code]
            if chart == "line" and kpi.time_column is None or chart in ("bar", "pie") and not kpi.group_by:
                raise ValidationError({f"items.{i}.chart": [_("This KPI cannot be drawn as that chart.")]})
            out.append({"kind": "kpi", "code": code, "chart": chart})
        elif kind == "widget" and code in widgets:
            out.append({"kind": "widget", "code": code})
        elif kind == "report" and saved_reports.get_report(user, code) is not None:
            # a saved report of the builder, drawn as its own chart; each viewer runs it within their own stores
            out.append({"kind": "report", "code": str(code)})
        else:
            raise ValidationError({f"items.{i}.code": [_("Choose one of the listed options.")]})
    return out


def save_dashboard(user, dashboard: Dashboard | None, data: dict) -> Dashboard:
    """Create or change a dashboard: name, role it is the home of (or None), items in order. `personal` (on
    creation): the user's own dashboard, seen by them only and never a role's home; `home` (personal ones): make it
    the user's home dashboard."""
    items = _check_items(user, data.get("items", dashboard.items if dashboard else []))
    personal = dashboard.owner_id is not None if dashboard is not None else bool(data.get("personal"))
    role_id = data.get("role_id", dashboard.role_id if dashboard else None)
    if personal and role_id is not None:
        raise ValidationError({"role_id": [_("A personal dashboard is not the home of a role.")]})
    if data.get("home") and not personal:
        raise ValidationError({"home": [_("Only a personal dashboard of yours can be your home.")]})
    if role_id is not None:
        if get_scoped(Role, role_id) is None:
            raise ValidationError({"role_id": [_("Choose one of the listed options.")]})
    if dashboard is None:
        dashboard = Dashboard(name=data["name"], role_id=role_id, items=items, created_by_id=user.id,
                              owner_id=user.id if personal else None)
        db.session.add(dashboard)
        db.session.flush()
        record_audit("create", "dashboard", dashboard.id, dashboard.name)
    else:
        dashboard.name = data.get("name") or dashboard.name
        dashboard.role_id, dashboard.items = role_id, items
        db.session.flush()
        record_audit("update", "dashboard", dashboard.id, dashboard.name)
    if personal and data.get("home") is not None and data["home"] != dashboard.home:
        set_home(user, dashboard if data["home"] else None)
    return dashboard


def edit_items(user, dashboard: Dashboard, action: str, index: int | None = None, item: dict | None = None):
    """add (item at the end) | remove (index) | up / down (move index by one)."""
    items = list(dashboard.items)
    if action == "add" and item:
        items.append(item)
    elif action in ("remove", "up", "down") and index is not None and 0 <= index < len(items):
        if action == "remove":
            items.pop(index)
        else:
            other = index - 1 if action == "up" else index + 1
            if 0 <= other < len(items):
                items[index], items[other] = items[other], items[index]
    else:
        raise ValidationError({"action": [_("Choose one of the listed options.")]})
    return save_dashboard(user, dashboard, {"items": items})


def delete_dashboard(dashboard: Dashboard) -> None:
    record_audit("delete", "dashboard", dashboard.id, dashboard.name)
    db.session.delete(dashboard)
    db.session.flush()


def default_items(user) -> list[dict]:
    """The home KPIs when no dashboard is set for the role: every KPI whose `roles` include the user's role."""
    code = getattr(user.role, "code", None)
    return [{"kind": "kpi", "code": k.code, "chart": "number"} for k in engine.kpis_for(user, engine_only=True)
            if not k.roles or code in k.roles or user.role.is_owner]


# --- drill-down export ---------------------------------------------------------------------------------------------


def _cell(value):
    if isinstance(value, datetime):
        return value.astimezone(report_zone()).strftime("%Y-%m-%d %H:%M")
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, Decimal):
        return str(value)
    return value


def export_rows(kpi, scope) -> tuple[list[str], list[list]]:
    """Header and rows of the KPI's drill-down, as shown (dates local, stores by name), at most EXPORT_LIMIT rows."""
    columns = list(kpi.columns) or ["id"]
    rows = engine.records(kpi, scope, limit=EXPORT_LIMIT)
    header = [str(kpi.columns.get(c, c)) for c in columns]
    body = []
    for row in rows:
        body.append([_cell(row[f"{c}_name"] if f"{c}_name" in row else row.get(c)) for c in columns])
    return header, body


def export_csv(kpi, scope) -> bytes:
    header, body = export_rows(kpi, scope)
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in body:
        writer.writerow(csv_row(row))
    return ("\ufeff" + out.getvalue()).encode()  # the BOM makes Excel read UTF-8 Chinese


def export_xlsx(kpi, scope) -> bytes:
    # imported here: openpyxl is heavy and only exports need it
    from openpyxl import Workbook

    header, body = export_rows(kpi, scope)
    book = Workbook(write_only=True)
    sheet = book.create_sheet(str(kpi.label)[:31])
    sheet.append(header)
    for row in body:
        sheet.append(xlsx_row(sheet, row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


# --- threshold alerts ----------------------------------------------------------------------------------------------


def thresholds() -> list[KpiThreshold]:
    return list(db.session.scalars(select(KpiThreshold).order_by(KpiThreshold.id)))


def get_threshold(threshold_id) -> KpiThreshold | None:
    return get_scoped(KpiThreshold, threshold_id)


def save_threshold(user, threshold: KpiThreshold | None, data: dict) -> KpiThreshold:
    errors = {}
    if engine.get_kpi(user, data.get("kpi_code", threshold.kpi_code if threshold else "")) is None:
        errors["kpi_code"] = [_("Choose one of the listed options.")]
    if data.get("store_id") is not None and get_store(user, data["store_id"]) is None:
        errors["store_id"] = [_("Choose one of the listed options.")]
    if "value" in data and not -10**11 < data["value"] < 10**11:
        errors["value"] = [_("Too large.")]
    if data.get("role_id") is not None and get_scoped(Role, data["role_id"]) is None:
        errors["role_id"] = [_("Choose one of the listed options.")]
    if errors:
        raise ValidationError(errors)
    if threshold is None:
        threshold = KpiThreshold()
        db.session.add(threshold)
    for key in ("kpi_code", "period", "direction", "value", "store_id", "role_id", "active"):
        if key in data:
            setattr(threshold, key, data[key])
    threshold.crossed = False
    db.session.flush()
    record_audit("update", "kpi_threshold", threshold.id, threshold.kpi_code)
    return threshold


def delete_threshold(threshold: KpiThreshold) -> None:
    record_audit("delete", "kpi_threshold", threshold.id, threshold.kpi_code)
    db.session.delete(threshold)
    db.session.flush()


def _recipients(threshold: KpiThreshold) -> list[User]:
    if threshold.role_id is not None:
        role = get_scoped(Role, threshold.role_id)
        return staff_with_role(role.code, threshold.store_id) if role is not None else []
    return staff_with_role("owner") + staff_with_role("admin")


def check_thresholds(now=None) -> int:
    """Evaluate the tenant's active thresholds; notify on each new crossing (the value on the wrong side while the
    last check saw it on the right side) and reset those back on the right side. Returns how many notified."""
    viewer, told = RULE_USER, 0  # the check sees the whole tenant, as a rule does; a threshold's store narrows it
    for threshold in db.session.scalars(select(KpiThreshold).where(KpiThreshold.active.is_(True))
                                        .order_by(KpiThreshold.id)).all():
        kpi = next((k for _o, k in engine.registered() if k.code == threshold.kpi_code and k.records), None)
        if kpi is None:
            continue
        scope = engine.scope_for(viewer, period_of(threshold.period), store_id=threshold.store_id)
        value = engine.evaluate([kpi], scope, compare=False)[kpi.code].value
        beyond = value is not None and (value > threshold.value if threshold.direction == "above"
                                        else value < threshold.value)
        # conditional updates: of two checks running at once, one flips the flag and notifies
        flipped = db.session.execute(
            update(KpiThreshold).where(KpiThreshold.id == threshold.id, KpiThreshold.crossed.is_(not beyond))
            .values(crossed=beyond, last_value=value, last_checked_at=utcnow(),
                    **({"crossed_at": utcnow()} if beyond else {}))
            .execution_options(synchronize_session=False)).rowcount
        if not flipped:
            db.session.execute(update(KpiThreshold).where(KpiThreshold.id == threshold.id)
                               .values(last_value=value, last_checked_at=utcnow())
                               .execution_options(synchronize_session=False))
            continue
        if beyond:
            db.session.refresh(threshold)
            _alert(threshold, kpi, value)
            told += 1
    return told


def _alert(threshold: KpiThreshold, kpi, value) -> None:
    title = _("%(kpi)s %(direction)s %(value)s: now %(now)s", kpi=kpi.label,
              direction=DIRECTIONS[threshold.direction], value=threshold.value, now=value)
    for person in _recipients(threshold):
        notify_user(person, title, str(kpi.definition), f"/t/{current_tenant().slug}/reports/kpis/{kpi.code}",
                    dedupe_key=f"kpi-threshold:{threshold.id}:{threshold.crossed_at.isoformat()}:{person.id}")
    emit(KpiThresholdCrossed(threshold, value))
