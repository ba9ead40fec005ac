"""Public signup pages (outside any tenant) and the tenant's billing page."""
from flask import Blueprint, abort, current_app, flash, jsonify, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from ..extensions import db, limiter
from ..tenancy.context import require_tenant_id
from ..tenancy.scoping import unscoped
from ..web.forms import flatten_errors, load_form, requires
from ..workspace.schemas import TIMEZONES
from . import billing, entitlements, lifecycle, signup
from .models import Plan, TenantAccount, TenantExport
from .schemas import SignupSchema

signup_bp = Blueprint("signup", __name__, url_prefix="/signup")
billing_bp = Blueprint("billing", __name__, url_prefix="/billing")
stripe_bp = Blueprint("stripe_webhook", __name__, url_prefix="/billing/stripe")


@stripe_bp.post("/webhook")
def stripe_webhook():
    """Stripe's events: verified on the raw body, stored once, applied by a job (tenants/billing.py)."""
    if not current_app.config["STORECRM"].billing_enabled:
        abort(404)

    status, what = billing.receive(request.get_data(cache=False), request.headers.get("Stripe-Signature"))
    return jsonify({"received": status == 200, "detail": what}), status


@signup_bp.before_request
def _closed():
    if not signup.signup_open():
        abort(404)


@signup_bp.route("/", methods=["GET", "POST"])
@limiter.limit(signup.rate_limit, methods=["POST"])
def form():
    values = {"locale": "zh_CN", "timezone": "Asia/Shanghai"}
    errors = {}
    if request.method == "POST":
        values = {k: v for k, v in request.form.items() if k != "password"}
        data, errors = load_form(SignupSchema())
        if data is not None and data.get("website"):
            return redirect(url_for("signup.sent"))  # a bot filled the honeypot: say nothing, make nothing
        if data is not None:
            try:
                signup.sign_up(data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                return redirect(url_for("signup.sent", email=data["email"]))
    return render_template("tenants/signup.html", values=values, errors=errors, timezones=TIMEZONES,
                           base=current_app.config["STORECRM"].base_url), (422 if errors else 200)


@signup_bp.get("/slug")
def check_slug():
    """The live check next to the workspace-name input."""
    ok, reason = signup.slug_available(request.args.get("slug", ""))
    return jsonify({"available": ok, "reason": reason})


@signup_bp.get("/sent")
def sent():
    return render_template("tenants/signup_sent.html", email=request.args.get("email", "")[:254])


@signup_bp.get("/verify/<token>")
def verify(token):
    try:
        tenant = signup.verify(token)
    except ValidationError as err:
        return render_template("tenants/signup_sent.html", error=flatten_errors(err.messages)["token"][0]), 400
    flash(_("Your email is confirmed and your workspace is open. Sign in."), "success")
    return redirect(url_for("auth.login", tenant=tenant.slug))


@billing_bp.get("/")
@requires("billing.manage")
def index(errors=None, status=200):
    from sqlalchemy import select

    enabled = current_app.config["STORECRM"].billing_enabled
    invoices, problem = [], None
    if enabled:
        try:
            invoices = billing.invoices(require_tenant_id())
        except Exception as err:  # Stripe unreachable: the page still shows plan and usage
            problem = str(err)[:200]
    plans = list(db.session.scalars(select(Plan).where(Plan.public.is_(True)).order_by(Plan.position)))

    exports = list(db.session.scalars(select(TenantExport).where(TenantExport.tenant_id == require_tenant_id())
                                      .order_by(TenantExport.id.desc()).limit(5)))
    return render_template("tenants/billing.html", account=entitlements.account(), plan=entitlements.plan(),
                           usage=entitlements.summary(), billing_enabled=enabled, plans=plans, invoices=invoices,
                           problem=problem, errors=errors or {}, exports=exports), status


def _billing_action(fn):
    from flask_login import current_user

    if not current_app.config["STORECRM"].billing_enabled:
        abort(404)
    try:
        fn(require_tenant_id(), current_user)
    except ValidationError as err:
        return index(errors=flatten_errors(err.messages), status=422)
    flash(_("Sent to Stripe. The page shows the change as soon as Stripe confirms it."), "success")
    return redirect(url_for("billing.index"))


@billing_bp.post("/subscription")
@requires("billing.manage")
def change_subscription():
    def act(tenant_id, user):
        try:
            seats = int(request.form.get("seats", "1"))
        except ValueError:
            raise ValidationError({"seats": [_("Enter a whole number.")]})
        billing.subscribe(tenant_id, request.form.get("plan", ""), seats, email=user.email)
    return _billing_action(act)


@billing_bp.post("/cancel")
@requires("billing.manage")
def cancel_subscription():
    return _billing_action(lambda tenant_id, user: billing.cancel(tenant_id))


@billing_bp.post("/checklist/dismiss")
@requires("tenant.settings")
def dismiss_checklist():
    with unscoped(reason="owner hides the first-run checklist", routine=True) as system:
        acct = system.get(TenantAccount, require_tenant_id())
        if acct is not None:
            acct.checklist_dismissed = True
    return redirect(url_for("web.home"))


@billing_bp.post("/export")
@requires("tenant.settings")
def export():
    """The owner's own complete export (XLSX + JSON), made in the background."""
    from flask_login import current_user

    if not current_user.role.is_owner:
        abort(403)
    lifecycle.request_export(require_tenant_id(), f"user:{current_user.id}")
    flash(_("Export started; it appears under Plan and billing when ready."), "success")
    return redirect(url_for("billing.index"))


@billing_bp.get("/exports/<int:export_id>")
@requires("tenant.settings")
def download_export(export_id):
    from flask import send_file
    from flask_login import current_user

    row = lifecycle.export_of(require_tenant_id(), export_id)
    if row is None or row.status != "done" or not current_user.role.is_owner:
        abort(404)
    return send_file(row.path, as_attachment=True, download_name=f"storecrm-{export_id}.zip")


@billing_bp.post("/checkout")
@requires("billing.manage")
def checkout():
    """The first subscription: off to Stripe Checkout to enter a card."""
    from flask import g
    from flask_login import current_user

    if not current_app.config["STORECRM"].billing_enabled:
        abort(404)
    try:
        seats = int(request.form.get("seats", "1"))
        url = billing.checkout_url(g.tenant.id, g.tenant.slug, request.form.get("plan", ""), seats,
                                   email=current_user.email)
    except ValueError:
        return index(errors={"seats": [_("Enter a whole number.")]}, status=422)
    except ValidationError as err:
        return index(errors=flatten_errors(err.messages), status=422)
    return redirect(url, code=303)


@billing_bp.post("/portal")
@requires("billing.manage")
def portal():
    """Cards and receipts, in Stripe's customer portal."""
    from flask import g

    if not current_app.config["STORECRM"].billing_enabled:
        abort(404)
    try:
        return redirect(billing.portal_url(g.tenant.id, g.tenant.slug), code=303)
    except ValidationError as err:
        return index(errors=flatten_errors(err.messages), status=422)
