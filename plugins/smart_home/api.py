"""REST under /api/v1/smart-home: work orders (list by keyset, get, create, state actions), devices, contracts,
knowledge-base articles. Thin: the same services as the pages; errors as problem+json."""
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select

from storecrm.sdk import Asset, api_requires as requires, api_user, db, get_customer, get_scoped, unprocessable

from . import services
from .models import FAULT_TYPES, STATES, Article, Contract, WorkOrder

blp = Blueprint("api_smart_home", __name__, url_prefix="/smart-home",
                description="Smart home: work orders, devices, maintenance contracts, knowledge base")
MAX_ID = 2**63 - 1


class WorkOrderOut(Schema):
    id = fields.Integer()
    number = fields.String()
    kind = fields.String()
    state = fields.String()
    source = fields.String()
    customer_id = fields.Integer()
    property_id = fields.Integer(allow_none=True)
    asset_id = fields.Integer(allow_none=True)
    model_item_id = fields.Integer(allow_none=True)
    store_id = fields.Integer()
    engineer_id = fields.Integer(allow_none=True)
    contract_id = fields.Integer(allow_none=True)
    fault_type = fields.String(allow_none=True)
    description = fields.String(allow_none=True)
    due_on = fields.Date(allow_none=True)
    reported_at = fields.DateTime()
    accepted_at = fields.DateTime(allow_none=True)
    checked_in_at = fields.DateTime(allow_none=True)
    check_in_distance_m = fields.Integer(allow_none=True)
    completed_at = fields.DateTime(allow_none=True)
    minutes_on_site = fields.Integer(allow_none=True)
    first_time_fix = fields.Boolean(allow_none=True)
    visited_at = fields.DateTime(allow_none=True)


class ListArgs(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(list(STATES)))
    engineer_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))
    after_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID),
                              metadata={"description": "keyset cursor: the last id of the previous page"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class WorkOrderPage(Schema):
    items = fields.List(fields.Nested(WorkOrderOut))
    total = fields.Integer()
    next_after_id = fields.Integer(allow_none=True)


class ActionIn(Schema):
    # checked after the work order is found, so another tenant's id answers 404 whatever the body says
    action = fields.String(load_default=None)
    engineer_id = fields.Integer(load_default=None)
    latitude = fields.Decimal(load_default=None, allow_none=True)
    longitude = fields.Decimal(load_default=None, allow_none=True)
    item_id = fields.Integer(load_default=None)
    quantity = fields.Decimal(load_default=None, allow_none=True)
    diagnosis = fields.String(load_default=None)
    report = fields.String(load_default=None)
    signed_name = fields.String(load_default=None)
    signature = fields.String(load_default=None)
    fixed = fields.Boolean(load_default=True)
    worksheet = fields.List(fields.String(), load_default=list)
    note = fields.String(load_default=None, validate=validate.Length(max=300))


@blp.route("/work-orders")
@blp.arguments(ListArgs, location="query")
@blp.response(200, WorkOrderPage)
@requires("smart_home.view")
def list_work_orders(args):
    """Work orders you may see, newest first, by keyset: pass `next_after_id` back as `after_id`."""
    user = api_user()
    query = services.visible_orders(user, select(WorkOrder))
    if args["state"]:
        query = query.where(WorkOrder.state == args["state"])
    if args["engineer_id"]:
        query = query.where(WorkOrder.engineer_id == args["engineer_id"])
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    if args["after_id"]:
        query = query.where(WorkOrder.id < args["after_id"])
    items = list(db.session.scalars(query.order_by(WorkOrder.id.desc()).limit(args["per_page"])))
    return {"items": items, "total": total,
            "next_after_id": items[-1].id if len(items) == args["per_page"] else None}


@blp.route("/work-orders", methods=["POST"])
@blp.arguments(services.WorkOrderSchema)
@blp.response(201, WorkOrderOut)
@requires("smart_home.manage")
def create_work_order(data):
    try:
        return services.create_work_order(api_user(), data)
    except ValidationError as err:
        unprocessable(err)


def _order(order_id):
    order = services.get_work_order(api_user(), order_id)
    if order is None:
        abort(404)
    return order


@blp.route("/work-orders/<int:order_id>")
@blp.response(200, WorkOrderOut)
@requires("smart_home.view")
def get_work_order(order_id):
    return _order(order_id)


ACTIONS = ("assign", "accept", "check_in", "use_part", "request_part", "complete", "visited", "cancel")


@blp.route("/work-orders/<int:order_id>/actions", methods=["POST"])
@blp.arguments(ActionIn)
@blp.response(200, WorkOrderOut)
@requires("smart_home.view")
def act(data, order_id):
    """One step of the work order: assign (engineer_id), accept, check_in (latitude, longitude), use_part (item_id,
    quantity), complete (diagnosis, report, signed_name, signature, fixed), visited, cancel."""
    order, user = _order(order_id), api_user()
    if data["action"] not in ACTIONS:
        unprocessable(ValidationError({"action": [_("Choose one of the listed options.")]}))
    needs = {"assign": "smart_home.dispatch", "visited": "smart_home.manage", "cancel": "smart_home.manage"}
    if not user.has_permission(needs.get(data["action"], "smart_home.work")):
        abort(403)
    try:
        if data["action"] == "assign":
            services.assign(user, order, data["engineer_id"])
        elif data["action"] == "accept":
            services.accept(user, order)
        elif data["action"] == "check_in":
            services.check_in(user, order, services.CheckInSchema().load(
                {"latitude": data["latitude"], "longitude": data["longitude"]}))
        elif data["action"] == "use_part":
            services.use_part(user, order, services.PartSchema().load(
                {"item_id": data["item_id"], "quantity": data["quantity"] or 1}))
        elif data["action"] == "request_part":
            services.request_part(user, order, services.PartRequestSchema().load(
                {"item_id": data["item_id"], "quantity": data["quantity"] or 1}))
        elif data["action"] == "complete":
            services.complete(user, order, services.CompleteSchema().load(
                {k: data[k] for k in ("diagnosis", "report", "signed_name", "signature", "fixed", "worksheet")
                 if data[k] is not None}))
        elif data["action"] == "visited":
            services.mark_visited(user, order, data["note"])
        else:
            services.cancel(user, order, data["note"])
    except ValidationError as err:
        unprocessable(err)
    return order


class DeviceOut(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    name = fields.String()
    installed_on = fields.Date(allow_none=True)
    warranty_until = fields.Date(allow_none=True)
    attributes = fields.Dict()


class DeviceIn(services.DeviceSchema):
    customer_id = fields.Integer(required=True)


@blp.route("/devices", methods=["POST"])
@blp.arguments(DeviceIn)
@blp.response(201, DeviceOut)
@requires("smart_home.manage")
def create_device(data):
    customer = get_customer(api_user(), data.pop("customer_id"))
    if customer is None:
        unprocessable(ValidationError({"customer_id": [_("Choose an existing customer.")]}))
    try:
        return services.register_device(api_user(), customer, data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/devices/<int:asset_id>")
@blp.response(200, DeviceOut)
@requires("smart_home.view")
def get_device(asset_id):
    device = get_scoped(Asset, asset_id)
    if device is None or device.type != "smart_device" or get_customer(api_user(), device.customer_id) is None:
        abort(404)
    return device


class ContractOut(Schema):
    id = fields.Integer()
    number = fields.String()
    customer_id = fields.Integer()
    starts_on = fields.Date()
    ends_on = fields.Date()
    frequency = fields.String()
    price = fields.Decimal(as_string=True)
    response_hours = fields.Integer()
    property_ids = fields.List(fields.Integer())
    asset_ids = fields.List(fields.Integer())
    active = fields.Boolean()


@blp.route("/contracts", methods=["POST"])
@blp.arguments(services.ContractSchema)
@blp.response(201, ContractOut)
@requires("smart_home.contracts")
def create_contract(data):
    try:
        return services.create_contract(api_user(), data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/contracts/<int:contract_id>")
@blp.response(200, ContractOut)
@requires("smart_home.contracts")
def get_contract(contract_id):
    contract = get_scoped(Contract, contract_id)
    if contract is None or get_customer(api_user(), contract.customer_id) is None:
        abort(404)
    return contract


class ArticleOut(Schema):
    id = fields.Integer()
    title = fields.String()
    kind = fields.String()
    category = fields.String()
    body = fields.String()
    model_item_ids = fields.List(fields.Integer())
    fault_types = fields.List(fields.String())
    updated_at = fields.DateTime()


class ArticleArgs(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=100))
    fault_type = fields.String(load_default=None, validate=validate.OneOf(list(FAULT_TYPES)))
    model_item_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))


@blp.route("/articles")
@blp.arguments(ArticleArgs, location="query")
@blp.response(200, ArticleOut(many=True))
@requires("smart_home.view")
def list_articles(args):
    """Knowledge-base search: every term must occur (trigram-indexed ILIKE; Chinese without a segmenter)."""
    return services.search_articles(args["q"], fault_type=args["fault_type"], model_item_id=args["model_item_id"])


@blp.route("/articles", methods=["POST"])
@blp.arguments(services.ArticleSchema)
@blp.response(201, ArticleOut)
@requires("smart_home.knowledge")
def create_article(data):
    try:
        return services.save_article(api_user(), data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/articles/<int:article_id>")
@blp.response(200, ArticleOut)
@requires("smart_home.view")
def get_article(article_id):
    article = get_scoped(Article, article_id)
    if article is None:
        abort(404)
    return article
