"""The operator console at /ops/: separate operator accounts (not tenant users), every action audited."""
from __future__ import annotations

from flask import (Blueprint, abort, current_app, flash, g, redirect, render_template, request, send_file, session,
                   url_for)
from flask_babel import gettext as _
from sqlalchemy import select, text

from ..extensions import limiter
from ..tenancy.models import Tenant
from ..tenancy.scoping import unscoped
from ..users.passwords import verify_password
from . import lifecycle, operator_sessions
from .models import Operator, OperatorAudit, TenantExport

bp = Blueprint("ops", __name__, url_prefix="/ops")


def _login_limit() -> str:
    return current_app.config["STORECRM"].login_rate_limit


@bp.before_request
def _operator_only():
    g.operator = operator_sessions.operator_for(session.get(operator_sessions.COOKIE_KEY))
    if g.operator is None and request.endpoint not in ("ops.login", "static"):
        return redirect(url_for("ops.login"))


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(_login_limit, methods=["POST"])
def login():
    error = None
    if request.method == "POST":
        email = (request.form.get("email") or "").strip().lower()
        with unscoped(reason="operator signs in", routine=True) as system:
            operator = system.scalar(select(Operator).where(Operator.email == email))
            ok = operator is not None and operator.active and verify_password(operator.password_hash,
                                                                               request.form.get("password") or "")
            if ok:
                lifecycle.audit(system, operator, "login", None)
                secret = operator_sessions.open_session(system, operator, ip=request.remote_addr)
        if ok:
            session.clear()  # rotate: nothing from before sign-in survives
            session[operator_sessions.COOKIE_KEY] = secret
            return redirect(url_for("ops.index"))
        error = _("Wrong email or password.")
    return render_template("ops/login.html", error=error), (401 if error else 200)


@bp.post("/logout")
def logout():
    with unscoped(reason="operator signs out", routine=True) as system:
        operator_sessions.revoke(system, session.get(operator_sessions.COOKIE_KEY))
        if g.operator is not None:
            lifecycle.audit(system, g.operator, "logout", None)
    session.pop(operator_sessions.COOKIE_KEY, None)  # a staff sign-in in the same browser is not the console's
    return redirect(url_for("ops.login"))


@bp.get("/")
def index():
    with unscoped(reason="operator console lists tenants", routine=True) as system:
        rows = system.execute(text(
            "SELECT t.id, t.slug, t.name, t.status, t.created_at, a.plan_code, a.billing_status, a.read_only, "
            "a.deletion_due_at, (SELECT count(*) FROM customers c WHERE c.tenant_id = t.id AND c.deleted_at IS NULL) "
            "AS customers, (SELECT count(*) FROM users u WHERE u.tenant_id = t.id AND u.active) AS staff, "
            "(SELECT count(*) FROM stores s WHERE s.tenant_id = t.id AND s.active) AS stores "
            "FROM tenants t LEFT JOIN tenant_accounts a ON a.tenant_id = t.id WHERE t.status <> 'deleted' "
            "ORDER BY t.created_at DESC LIMIT 500")).mappings().all()
        exports = list(system.scalars(select(TenantExport).order_by(TenantExport.id.desc()).limit(50)))
        for e in exports:
            system.expunge(e)
    return render_template("ops/index.html", tenants=rows, exports=exports)


@bp.get("/audit")
def audit():
    with unscoped(reason="operator console shows its audit log", routine=True) as system:
        entries = system.execute(select(OperatorAudit, Operator.email).outerjoin(
            Operator, Operator.id == OperatorAudit.operator_id).order_by(OperatorAudit.id.desc()).limit(300)).all()
    return render_template("ops/audit.html", entries=entries)


def _tenant_id(tenant_id: int) -> int:
    with unscoped(reason="operator console checks a tenant", routine=True) as system:
        tenant = system.get(Tenant, tenant_id)
        if tenant is None or tenant.status == "deleted":
            abort(404)
    return tenant_id


@bp.post("/tenants/<int:tenant_id>/<action>")
def act(tenant_id, action):
    tenant_id = _tenant_id(tenant_id)
    if action == "suspend":
        lifecycle.set_status(g.operator, tenant_id, "suspended")
        flash(_("Workspace suspended."), "success")
    elif action == "reactivate":
        lifecycle.set_status(g.operator, tenant_id, "active")
        flash(_("Workspace reactivated."), "success")
    elif action == "delete":
        due = lifecycle.request_deletion(g.operator, tenant_id)
        flash(_("Workspace suspended; it will be deleted for good on %(when)s unless reactivated.",
                when=due.strftime("%Y-%m-%d")), "warning")
    elif action == "export":
        lifecycle.request_export(tenant_id, f"operator:{g.operator.id}", operator=g.operator)
        flash(_("Export started; it appears below when ready."), "success")
    else:
        abort(404)
    return redirect(url_for("ops.index"))


@bp.get("/exports/<int:export_id>")
def download(export_id):
    with unscoped(reason="operator downloads an export", routine=True) as system:
        export = system.get(TenantExport, export_id)
        if export is None or export.status != "done":
            abort(404)
        lifecycle.audit(system, g.operator, "download_export", export.tenant_id, export_id=export_id)
        path = export.path
    return send_file(path, as_attachment=True, download_name=f"storecrm-tenant-{export_id}.zip")
