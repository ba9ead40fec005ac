from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields

from ..api.auth import api_user, requires
from ..api.common import unprocessable
from ..extensions import limiter
from ..tenancy.context import require_tenant_id
from . import billing, entitlements, signup
from .schemas import AccountSchema, SignupSchema

blp = Blueprint("api_account", __name__, url_prefix="/account", description="The tenant's plan, limits and usage")
signup_blp = Blueprint("api_signup", __name__, url_prefix="/signup",
                       description="Public: open a workspace (no token; rate-limited per IP)")


class SignupResultSchema(Schema):
    slug = fields.String()
    status = fields.String()
    detail = fields.String()


@blp.route("")
@blp.response(200, AccountSchema)
@requires("billing.manage")
def get_account():
    acct, plan = entitlements.account(), entitlements.plan()
    limits = (plan.limits or {}) if plan else {}
    return {"plan": plan.code if plan else None, "plan_name": plan.name_en if plan else None,
            "billing_status": acct.billing_status if acct else "none", "read_only": bool(acct and acct.read_only),
            "grace_until": acct.grace_until if acct else None, "seats": acct.seats if acct else 0,
            "api": bool(limits.get("api", True)), "plugins": limits.get("plugins", ["*"]),
            "usage": entitlements.summary()}


class SubscriptionSchema(Schema):
    plan = fields.String(required=True)
    seats = fields.Integer(required=True, strict=False)


class InvoiceSchema(Schema):
    id = fields.String()
    number = fields.String(allow_none=True)
    status = fields.String(allow_none=True)
    amount_due = fields.Integer()
    currency = fields.String(allow_none=True)
    created = fields.DateTime()
    url = fields.String(allow_none=True)


def _billing_on():
    from flask_smorest import abort

    if not current_app.config["STORECRM"].billing_enabled:
        abort(404, message="This installation has no online billing.")


@blp.route("/subscription", methods=["POST"])
@blp.arguments(SubscriptionSchema)
@blp.response(202, AccountSchema)
@requires("billing.manage")
def change_subscription(data):
    """Start or change the subscription (Stripe prorates); the account changes when Stripe's webhook confirms."""

    _billing_on()
    try:
        billing.subscribe(require_tenant_id(), data["plan"], data["seats"], email=api_user().email)
    except ValidationError as err:
        unprocessable(err)
    return get_account()


@blp.route("/cancel", methods=["POST"])
@blp.response(202, AccountSchema)
@requires("billing.manage")
def cancel_subscription():
    """Cancel at the end of the paid period."""

    _billing_on()
    try:
        billing.cancel(require_tenant_id())
    except ValidationError as err:
        unprocessable(err)
    return get_account()


@blp.route("/invoices")
@blp.response(200, InvoiceSchema(many=True))
@requires("billing.manage")
def list_invoices():

    _billing_on()
    return billing.invoices(require_tenant_id())


@signup_blp.route("", methods=["POST"])
@signup_blp.arguments(SignupSchema)
@signup_blp.response(202, SignupResultSchema)
@limiter.limit(signup.rate_limit)
def create_signup(data):
    """Creates the workspace (pending) and mails the owner a confirmation link; it opens once confirmed."""
    from flask_smorest import abort

    if not signup.signup_open():
        abort(404)
    if data.get("website"):
        return {"slug": data["slug"], "status": "pending", "detail": "Check your email."}
    try:
        tenant = signup.sign_up(data)
    except ValidationError as err:
        unprocessable(err)
    return {"slug": tenant.slug, "status": "pending", "detail": "Check your email for the confirmation link."}
