from flask import abort
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from ...customers import services
from ...customers.schemas import CustomerSchema

from ..auth import api_user, requires
from ..common import patch_load, unprocessable

blp = Blueprint("api_customers", __name__, url_prefix="/customers", description="Customers")


class CustomerOutSchema(CustomerSchema):
    masked = fields.Boolean()


class CustomerListArgs(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=100))
    store_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    after_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class CustomerPage(Schema):
    items = fields.List(fields.Nested(CustomerOutSchema))
    total = fields.Integer()
    next_after_id = fields.Integer(allow_none=True)


def _out(customer):
    """The customer as this token's user may see it (contact details masked without permission)."""
    data = {name: getattr(customer, name) for name in CustomerSchema().fields}
    contact = services.contact_view(api_user(), customer)
    if contact["masked"]:
        data["mobile"], data["email"] = contact["mobile"], contact["email"]
    data["masked"] = contact["masked"]
    return data


@blp.route("")
@blp.arguments(CustomerListArgs, location="query")
@blp.response(200, CustomerPage)
@requires("customers.view")
def list_customers(args):
    """Newest first, keyset-paged: pass the previous page's `next_after_id` as `after_id`."""
    user = api_user()
    rows = services.list_customers(user, q=args["q"], store_id=args["store_id"], after_id=args["after_id"],
                                   limit=args["per_page"])
    total = services.count_customers(user, q=args["q"], store_id=args["store_id"])
    more = len(rows) == args["per_page"]
    return {"items": [_out(c) for c in rows], "total": total, "next_after_id": rows[-1].id if more else None}


@blp.route("", methods=["POST"])
@blp.arguments(CustomerSchema)
@blp.response(201, CustomerOutSchema)
@requires("customers.manage")
def create_customer(data):
    try:
        return _out(services.create_customer(api_user(), data))
    except ValidationError as err:
        unprocessable(err)


@blp.route("/<int:customer_id>")
@blp.response(200, CustomerOutSchema)
@requires("customers.view")
def get_customer(customer_id):
    customer = services.get_customer(api_user(), customer_id)
    if customer is None:
        abort(404)
    return _out(customer)


@blp.route("/<int:customer_id>", methods=["PATCH"])
@blp.arguments(CustomerSchema(partial=True))
@blp.response(200, CustomerOutSchema)
@requires("customers.manage")
def update_customer(data, customer_id):
    user = api_user()
    customer = services.get_customer(user, customer_id)
    if customer is None:
        abort(404)
    if not user.has_permission("customers.contact"):
        abort(403, description="Editing needs the permission 'customers.contact'.")
    try:
        return _out(services.update_customer(user, customer, patch_load(CustomerSchema(), CustomerSchema().dump(customer))))
    except ValidationError as err:
        unprocessable(err)



