from flask import current_app
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields

from ...extensions import limiter
from ...tenants import entitlements, signup
from ...tenants.schemas import AccountSchema, SignupSchema
from ..auth import requires
from ..common import unprocessable

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


def _signup_limit() -> str:
    return current_app.config["STORECRM"].signup_rate_limit


@signup_blp.route("", methods=["POST"])
@signup_blp.arguments(SignupSchema)
@signup_blp.response(202, SignupResultSchema)
@limiter.limit(_signup_limit)
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
