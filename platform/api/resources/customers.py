from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate

from ...customers import identities, merging, services
from ...erasure import services as erasure
from ...fields.engine import definitions
from ...validation import BoundedDecimal
from ...web.forms import flatten_errors
from ...customers.schemas import CustomerSchema, consent_flags

from ..auth import api_user, requires
from ..common import custom_filters, patch_load, unprocessable

blp = Blueprint("api_customers", __name__, url_prefix="/customers", description="Customers")


class CustomerOutSchema(CustomerSchema):
    masked = fields.Boolean()
    # spend, kept by storecrm.sales with every payment and refund (docs/commerce.md, "Customer spend")
    lifetime_spend = fields.Decimal(as_string=True, dump_only=True)
    order_count = fields.Integer(dump_only=True)
    average_order_value = fields.Decimal(as_string=True, dump_only=True, allow_none=True)
    first_purchase_at = fields.DateTime(dump_only=True, allow_none=True)
    last_purchase_at = fields.DateTime(dump_only=True, allow_none=True)
    matched_existing = fields.Boolean(metadata={"description": "true when One-ID matched an existing customer"})


class CustomerListArgs(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=100))
    store_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    tag = fields.String(load_default=None, validate=validate.Length(max=40))
    status = fields.String(load_default=None, validate=validate.OneOf(["active", "inactive", "lost"]))
    owner_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    level = fields.String(load_default=None, validate=validate.Length(max=20))
    min_spend = BoundedDecimal(load_default=None, as_string=True, metadata={
        "description": "lifetime spend at least this (a decimal string)"})
    cf = fields.List(fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}=.{1,60}$")), load_default=list,
                     metadata={"description": "custom field filters as code=value (repeatable)"})
    sort = fields.String(load_default="newest", validate=validate.OneOf(list(services.SORTS)),
                         metadata={"description": "newest, oldest, name, name_desc or birthday"})
    after_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class CustomerPage(Schema):
    items = fields.List(fields.Nested(CustomerOutSchema))
    total = fields.Integer()
    next_after_id = fields.Integer(allow_none=True)


# the attributes the response schema dumps, read as they are: the response is dumped once, by the route's schema
_ATTRIBUTES = tuple(name for name, field in CustomerOutSchema().dump_fields.items()
                    if not name.startswith("consent_") and name not in ("masked", "matched_existing", "custom"))


def _visible_fields() -> set[str]:
    return {d.code for d in definitions("customer", user=api_user())}


def _out(customer, visible: set[str] | None = None):
    """The customer as this token's user may see it (contact details masked without permission, custom fields
    their role may see): plain values for the response schema. `visible`: the custom field codes, when a list has
    them already."""
    data = {name: getattr(customer, name) for name in _ATTRIBUTES}
    data.update(consent_flags(customer))
    visible = _visible_fields() if visible is None else visible
    data["custom"] = {k: v for k, v in (customer.custom or {}).items() if k in visible}
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
    """Sorted by `sort` (newest first by default), keyset-paged: pass the previous page's `next_after_id` as
    `after_id`."""
    user = api_user()
    custom = custom_filters("customer", user, args["cf"])
    flt = services.CustomerFilter(q=args["q"], store_id=args["store_id"], tag=args["tag"], status=args["status"],
                                  owner_id=args["owner_id"], level=args["level"], custom=custom,
                                  min_spend=args["min_spend"] if (args["min_spend"] or 0) >= 0 else None)
    rows = services.list_customers(user, flt, after_id=args["after_id"], limit=args["per_page"], sort=args["sort"])
    total = services.total_for_page(user, flt, rows, after_id=args["after_id"], limit=args["per_page"])
    more = len(rows) == args["per_page"]
    visible = _visible_fields()
    return {"items": [_out(c, visible) for c in rows], "total": total,
            "next_after_id": rows[-1].id if more else None}


@blp.route("", methods=["POST"])
@blp.arguments(CustomerSchema)
@blp.response(201, CustomerOutSchema)
@blp.alt_response(200, schema=CustomerOutSchema, description="The identities matched an existing customer "
                  "and the tenant's duplicate policy is 'merge': the details were added to it.")
@blp.alt_response(409, description="The identities belong to existing customers (policy 'propose').")
@requires("customers.manage")
def create_customer(data):
    """Create a customer; One-ID matching on mobile and email first."""
    try:
        customer = services.create_customer(api_user(), data)
    except services.DuplicateCustomer as err:
        abort(409, message="This person is already a customer.", existing_customer_ids=err.customer_ids,
              messages={"json": flatten_errors(err.messages)})
    except ValidationError as err:
        unprocessable(err)
    if getattr(customer, "matched_existing", False):
        return {**_out(customer), "matched_existing": True}, 200
    return _out(customer)


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
    data = patch_load(CustomerSchema(), CustomerSchema().dump(customer))
    if data.get("custom") is not None:  # PATCH merges custom values field by field too
        data["custom"] = {**(customer.custom or {}), **data["custom"]}
    try:
        return _out(services.update_customer(user, customer, data))
    except ValidationError as err:
        unprocessable(err)


class IdentitySchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(required=True)
    value = fields.String(required=True, validate=validate.Length(max=254))
    primary = fields.Boolean(dump_only=True)


class MergeSchema(Schema):
    other_id = fields.Integer(required=True, validate=validate.Range(min=1, max=2**63 - 1))
    choices = fields.Dict(keys=fields.String(), values=fields.String(), load_default=dict)


class MergeOutSchema(Schema):
    id = fields.Integer()
    survivor_id = fields.Integer()
    merged_id = fields.Integer()
    choices = fields.Dict()
    merged_at = fields.DateTime()
    undone_at = fields.DateTime(allow_none=True)


def _editable(customer_id):
    user = api_user()
    customer = services.get_customer(user, customer_id)
    if customer is None:
        abort(404)
    if not user.has_permission("customers.contact"):
        abort(403, message="Identities are contact details: this needs 'customers.contact'.")
    return customer


@blp.route("/<int:customer_id>/identities")
@blp.response(200, IdentitySchema(many=True))
@requires("customers.view")
def list_identities(customer_id):
    return identities.identities_of(_editable(customer_id).id)


@blp.route("/<int:customer_id>/identities", methods=["POST"])
@blp.arguments(IdentitySchema)
@blp.response(201, IdentitySchema)
@requires("customers.manage")
def add_identity(data, customer_id):
    """Add an identity (kinds: mobile, email, wechat, vin, plate, serial, member_no, plus plugins')."""
    customer = _editable(customer_id)
    try:
        return identities.add(customer, data["kind"], data["value"])
    except ValidationError as err:
        unprocessable(err)


@blp.route("/<int:customer_id>/identities/<int:identity_id>", methods=["DELETE"])
@blp.response(204)
@requires("customers.manage")
def remove_identity(customer_id, identity_id):
    if identities.remove(_editable(customer_id), identity_id) is None:
        abort(404)


@blp.route("/<int:customer_id>/merge", methods=["POST"])
@blp.arguments(MergeSchema)
@blp.response(201, MergeOutSchema)
@requires("customers.manage")
def merge_customer(data, customer_id):
    """Merge customer `other_id` into this one; `choices` maps fields to "survivor" or "merged"."""
    survivor = _editable(customer_id)
    other = services.get_customer(api_user(), data["other_id"])
    if other is None:
        unprocessable(ValidationError({"other_id": ["No such customer among the ones you may see."]}))
    try:
        return merging.merge(survivor, other, data["choices"])
    except ValidationError as err:
        unprocessable(err)


@blp.route("/merges/<int:merge_id>/undo", methods=["POST"])
@blp.response(200, MergeOutSchema)
@requires("customers.manage")
def undo_merge(merge_id):
    row = merging.get_merge(merge_id)
    if row is None or services.get_customer(api_user(), row.survivor_id) is None:
        abort(404)
    _editable(row.survivor_id)
    try:
        merging.unmerge(row)
    except ValidationError as err:
        unprocessable(err)
    return row


@blp.route("/duplicates")
@blp.response(200, CustomerOutSchema(many=True))
@requires("customers.manage")
def list_duplicates():
    """Likely duplicates, flattened; records of one group follow each other."""
    visible = _visible_fields()
    return [_out(c, visible) for group in merging.likely_duplicates(api_user()) for c in group]




class ErasureSchema(Schema):
    reason = fields.String(required=True, validate=validate.OneOf(list(erasure.REASONS)),
                           metadata={"description": "why: " + ", ".join(erasure.REASONS)})
    confirm_name = fields.String(required=True, validate=validate.Length(max=200),
                                 metadata={"description": "the customer's name exactly as stored, as confirmation"})


class ErasureOutSchema(Schema):
    customer_id = fields.Integer()
    reason = fields.String()
    erased_at = fields.DateTime()
    merged_ids = fields.List(fields.Integer(), metadata={"description": "records merged into it, erased too"})
    counts = fields.Dict(keys=fields.String(), values=fields.Integer(),
                         metadata={"description": "how many rows of each kind were deleted or anonymised"})


@blp.route("/<int:customer_id>/erasure", methods=["POST"])
@blp.arguments(ErasureSchema)
@blp.response(200, ErasureOutSchema)
@requires(erasure.PERMISSION)
def erase_customer(data, customer_id):
    """Erase the customer's personal data for good (PIPL), with the records merged into it. Afterwards the
    customer answers 404 everywhere. Irreversible: `confirm_name` must repeat the customer's name."""
    user = api_user()
    customer = services.get_customer(user, customer_id)
    if customer is None:
        abort(404)
    try:
        return erasure.erase_customer(user, customer, data["reason"], data["confirm_name"])
    except ValidationError as err:
        unprocessable(err)
