

from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate

from ...activities import services
from ...activities.schemas import InteractionSchema, TaskSchema
from ...customers.services import get_customer
from ...customers.timeline import timeline
from ...fields.engine import definitions
from ...validation import storable_offset
from ..auth import api_user, requires
from ..overview import overview_lists
from ..common import patch_load, unprocessable
from .customers import _out

blp = Blueprint("api_activities", __name__, url_prefix="", description="Interactions, tasks and timelines")


def _customer(customer_id):
    customer = get_customer(api_user(), customer_id)
    if customer is None:
        abort(404)
    return customer


@blp.route("/customers/<int:customer_id>/interactions")
@blp.response(200, InteractionSchema(many=True))
@requires("customers.view")
def list_interactions(customer_id):
    return services.interactions_of(_customer(customer_id).id)


@blp.route("/customers/<int:customer_id>/interactions", methods=["POST"])
@blp.arguments(InteractionSchema)
@blp.response(201, InteractionSchema)
@requires("customers.view")
def log_interaction(data, customer_id):
    """Log a call, visit, message or note; `occurred_at` defaults to now."""
    return services.log_interaction(api_user(), _customer(customer_id), data)


class TimelineArgs(Schema):
    kinds = fields.List(fields.String(validate=validate.Length(max=40)), load_default=None)
    before = fields.AwareDateTime(load_default=None, validate=storable_offset)
    limit = fields.Integer(load_default=20, validate=validate.Range(min=1, max=100))


class TimelineEntrySchema(Schema):
    at = fields.DateTime()
    kind = fields.String()
    title = fields.String()
    body = fields.String(allow_none=True)
    url = fields.String(allow_none=True)
    actor = fields.String(allow_none=True)


class TimelinePage(Schema):
    items = fields.List(fields.Nested(TimelineEntrySchema))
    next_before = fields.DateTime(allow_none=True)


@blp.route("/customers/<int:customer_id>/timeline")
@blp.arguments(TimelineArgs, location="query")
@blp.response(200, TimelinePage)
@requires("customers.view")
def customer_timeline(args, customer_id):
    """Newest first; pass `next_before` back as `before` for the next page."""
    kinds = set(args["kinds"]) if args["kinds"] else None
    items, next_before = timeline(_customer(customer_id), kinds=kinds, before=args["before"], limit=args["limit"])
    return {"items": items, "next_before": next_before}


class OverviewIdentitySchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    value = fields.String()
    asset_id = fields.Integer(allow_none=True)


class OverviewAssetSchema(Schema):
    id = fields.Integer()
    type = fields.String()
    name = fields.String()
    store_id = fields.Integer(allow_none=True)
    installed_on = fields.Date(allow_none=True)
    warranty_until = fields.Date(allow_none=True)
    identifiers = fields.Dict()
    custom = fields.Dict()


class OverviewSchema(Schema):
    customer = fields.Nested("CustomerOutSchema", metadata={"description": "as GET /customers/{id}"})
    identities = fields.List(fields.Nested(OverviewIdentitySchema),
                             metadata={"description": "empty for roles that may not see contact details"})
    assets = fields.List(fields.Nested(OverviewAssetSchema))
    open_tasks = fields.List(fields.Nested(TaskSchema))
    timeline = fields.List(fields.Nested(TimelineEntrySchema))


@blp.route("/customers/<int:customer_id>/overview")
@blp.response(200, OverviewSchema)
@requires("customers.view")
def customer_overview(customer_id):
    """The 360° view in one call: profile, identities, assets, open tasks and the 20 latest timeline entries
    (a fixed number of queries, however many assets or events the customer has)."""
    user = api_user()
    customer = _customer(customer_id)
    lists = overview_lists(customer, contact=user.has_permission("customers.contact"),
                           visible_asset_fields={d.code for d in definitions("asset", user=user)})
    return {"customer": _out(customer), **lists}


class TaskListArgs(Schema):
    include_done = fields.Boolean(load_default=False)


@blp.route("/tasks")
@blp.arguments(TaskListArgs, location="query")
@blp.response(200, TaskSchema(many=True))
def list_my_tasks(args):
    """Tasks assigned to the token's user, by due time."""
    return services.my_tasks(api_user(), include_done=args["include_done"])


@blp.route("/tasks", methods=["POST"])
@blp.arguments(TaskSchema)
@blp.response(201, TaskSchema)
def create_task(data):
    """`assignee_id` defaults to you; `customer_id` must be a customer you may see."""
    try:
        return services.create_task(api_user(), data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/tasks/<int:task_id>")
@blp.response(200, TaskSchema)
def get_task(task_id):
    task = services.visible_task(api_user(), task_id)
    if task is None:
        abort(404)
    return task


@blp.route("/tasks/<int:task_id>", methods=["PATCH"])
@blp.arguments(TaskSchema(partial=True))
@blp.response(200, TaskSchema)
def update_task(data, task_id):
    """Change any field; `status: done` marks it done now."""
    task = services.visible_task(api_user(), task_id)
    if task is None:
        abort(404)
    loaded = patch_load(TaskSchema(), TaskSchema().dump(task))
    try:
        return services.update_task(api_user(), task, loaded)
    except ValidationError as err:
        unprocessable(err)



