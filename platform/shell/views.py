"""Shell pages: workspace chooser, home, language switch, global search, health."""
from __future__ import annotations

import re

from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required
from sqlalchemy import text

from ..customers.services import search_customers
from ..extensions import db
from ..hooks.blocks import dashboard_widgets, kpis
from ..reports import engine as reports
from ..reports import services as report_services
from ..reports.periods import period_of
from ..reports.views import report_block
from ..stores.services import stores_visible_to
from ..users.services import set_own_locale
from ..web.i18n import LOCALES
from ..web.redirects import safe_next

bp = Blueprint("web", __name__)
public_bp = Blueprint("public", __name__)

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")


@public_bp.get("/")
def index():
    slug = (request.args.get("workspace") or "").strip().lower()
    if slug and SLUG_RE.match(slug):
        return redirect(url_for("auth.login", tenant=slug))
    return render_template("public/index.html", error=bool(slug))


@public_bp.get("/healthz")
def healthz():
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = "ok"
    except Exception:  # report, never raise: the load balancer reads the status code
        checks["database"] = "error"
    finally:
        db.session.rollback()
    try:
        from redis import Redis

        Redis.from_url(current_app.config["REDIS_URL"], socket_timeout=2).ping()
        checks["redis"] = "ok"
    except Exception:
        checks["redis"] = "error"
    healthy = all(v == "ok" for v in checks.values())
    return jsonify(status="ok" if healthy else "degraded", checks=checks), 200 if healthy else 503


@public_bp.get("/lang/<code>")
def set_language(code):
    if code in LOCALES:
        session["locale"] = code
    return redirect(safe_next(request.args.get("next"), "/"))


@bp.get("/")
@login_required
def home():
    return render_template("web/home.html", kpis=kpis(current_user), top=dashboard_widgets(current_user, "top"),
                           widgets=dashboard_widgets(current_user), workbench=_workbench())


def _workbench() -> dict:
    """The role's KPIs this month against last month (one statement for all of them), from the dashboard an admin
    set for the role, else each KPI's default roles; limited to the stores the user sees (and the store switcher)."""
    board = report_services.home_dashboard(current_user) if current_user.has_permission("reports.view") else None
    items = board.items if board is not None else \
        report_services.default_items(current_user) if current_user.has_permission("reports.view") else []
    wanted = {i["code"] for i in items if i["kind"] == "kpi"}
    chosen = [k for k in reports.kpis_for(current_user, engine_only=True) if k.code in wanted]
    store_id = session.get("store_id")
    scope = reports.scope_for(current_user, period_of("month"),
                              store_id=store_id if store_id in (current_user.store_ids or []) or
                              current_user.sees_all_stores else None)
    # the board's saved reports too, each run within the viewer's stores (one the viewer may not see is left out)
    cards = [b for b in (report_block(i) for i in items if i["kind"] == "report") if b is not None]
    return {"results": list(reports.evaluate(chosen, scope).values()) if chosen else [], "board": board,
            "scope": scope, "reports": cards}


@bp.post("/language")
@login_required
def language():
    code = request.form.get("locale", "")
    if code in LOCALES:
        set_own_locale(current_user, code)
        session["locale"] = code
    return redirect(safe_next(request.form.get("next"), url_for("web.home")))


@bp.post("/store")
@login_required
def switch_store():
    """The store switcher: narrows lists to one store (or all the user may see)."""
    raw = request.form.get("store_id", "")

    allowed = {s.id for s in stores_visible_to(current_user)}
    session["store_id"] = int(raw) if raw.isdigit() and int(raw) in allowed else None
    return redirect(safe_next(request.form.get("next"), url_for("web.home")))


@bp.get("/search")
@login_required
def search():
    q = (request.args.get("q") or "").strip()[:100]
    results = search_customers(current_user, q) if q else []
    return render_template("web/search.html", q=q, results=results)
