"""REST under /api/v1/smart-home: work orders (list by keyset, get, create, state actions), devices, contracts,
knowledge-base articles, the engineer's day, the on-site quote and its payment, van transfer requests and defective
part returns. Thin: the same services as the pages; errors as problem+json."""
from flask import request
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select

from storecrm.sdk import (Asset, User, api_requires as requires, api_user, db, get_customer, get_scoped, tenant_today,
                          unprocessable)

from . import services
from .models import (FAULT_TYPES, RETURN_STATES, STATES, TRANSFER_STATES, Article, Contract, PartReturn,
                     TransferRequest, WorkOrder)

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
    billable = fields.Boolean(load_default=False, metadata={"description": "use_part: the customer pays for it even "
                                                                          "on a covered job"})
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
    quantity, billable), complete (diagnosis, report, signed_name, signature, fixed), visited, cancel."""
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
                {"item_id": data["item_id"], "quantity": data["quantity"] or 1, "billable": data["billable"]}))
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


# --- the engineer's day (今日行程) -----------------------------------------------------------------------------------

class DayArgs(Schema):
    date = fields.Date(load_default=None, metadata={"description": "the tenant's today (the default); the route is "
                                                                   "planned from the open jobs, so only today is known"})
    engineer_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID),
                                 metadata={"description": "another engineer's day (needs smart_home.dispatch)"})


class NavigationOut(Schema):
    amap = fields.String()
    baidu = fields.String()


class StopOut(Schema):
    work_order_id = fields.Integer()
    number = fields.String()
    kind = fields.String()
    state = fields.String()
    due_on = fields.Date(allow_none=True)
    customer_name = fields.String()
    property_id = fields.Integer(allow_none=True)
    address = fields.String(allow_none=True)
    district = fields.String(allow_none=True)
    latitude = fields.Decimal(as_string=True, allow_none=True)
    longitude = fields.Decimal(as_string=True, allow_none=True)
    metres = fields.Integer(allow_none=True, metadata={"description": "straight line from the stop before (the "
                                                                      "first from the van's base)"})
    minutes = fields.Integer(allow_none=True, metadata={"description": "drive time at the tenant's average speed"})
    links = fields.Nested(NavigationOut, metadata={"description": "Amap and Baidu Maps navigation"})


class DayOut(Schema):
    engineer_id = fields.Integer()
    date = fields.Date()
    stops = fields.List(fields.Nested(StopOut))
    total_km = fields.String()
    total_minutes = fields.Integer()
    speed_kmh = fields.Integer()


def _stop(stop) -> dict:
    order, prop = stop.order, stop.prop
    return {"work_order_id": order.id, "number": order.number, "kind": order.kind, "state": order.state,
            "due_on": order.due_on, "customer_name": stop.customer_name, "property_id": getattr(prop, "id", None),
            "address": getattr(prop, "address", None), "district": getattr(prop, "district", None),
            "latitude": getattr(prop, "latitude", None), "longitude": getattr(prop, "longitude", None),
            "metres": stop.metres, "minutes": stop.minutes, "links": stop.links or {}}


@blp.route("/engineer/day")
@blp.arguments(DayArgs, location="query")
@blp.response(200, DayOut)
@requires("smart_home.work")
def engineer_day(args):
    """The calling engineer's open jobs as ordered stops (on site, on the way, then by due day), each with the
    distance and drive time from the stop before and navigation links: the same route as the day page."""
    user = api_user()
    engineer_id = args["engineer_id"] or user.id
    if engineer_id != user.id and not user.has_permission("smart_home.dispatch"):
        abort(403)
    engineer = get_scoped(User, engineer_id)
    if engineer is None:
        abort(404)
    today = tenant_today()
    if args["date"] is not None and args["date"] != today:
        unprocessable(ValidationError({"date": [_("Only today's route is planned; leave the date out or give "
                                                  "today's.")]}))
    day = services.day_route(engineer.id)
    return {"engineer_id": engineer.id, "date": today, "stops": [_stop(s) for s in day["stops"]],
            "total_km": day["total_km"], "total_minutes": day["total_minutes"], "speed_kmh": day["speed"]}


# --- the on-site quote and its payment ----------------------------------------------------------------------------

class QuotePartOut(Schema):
    item_id = fields.Integer()
    name = fields.String()
    quantity = fields.Decimal(as_string=True)
    coverage = fields.String(metadata={"description": "warranty, contract or billable"})
    unit_price = fields.Decimal(places=2, as_string=True, allow_none=True)


class TotalsOut(Schema):
    total = fields.Decimal(places=2, as_string=True)
    paid = fields.Decimal(places=2, as_string=True)
    balance_due = fields.Decimal(places=2, as_string=True)


class QuoteOut(Schema):
    work_order_id = fields.Integer()
    coverage = fields.String(metadata={"description": "who pays for the job: warranty, contract or billable"})
    parts = fields.List(fields.Nested(QuotePartOut))
    billable_parts = fields.Decimal(places=2, as_string=True)
    labour_amount = fields.Decimal(places=2, as_string=True, allow_none=True)
    signed_name = fields.String(allow_none=True)
    signed_at = fields.DateTime(allow_none=True)
    sales_order_id = fields.Integer(allow_none=True, metadata={"description": "the confirmed order once signed"})
    totals = fields.Nested(TotalsOut, allow_none=True)


class QuoteIn(Schema):
    # checked after the work order is found (services.QuoteSchema), so another tenant's id answers 404
    labour_amount = fields.Raw(load_default=None)
    signed_name = fields.Raw(load_default=None)
    signature = fields.Raw(load_default=None, metadata={"description": "data:image/png;base64,…"})


class PaymentIn(Schema):
    method = fields.Raw(load_default=None, metadata={"description": "cash, wechat_pay, alipay, bank_card, transfer"})
    amount = fields.Raw(load_default=None)


def _quote(order) -> dict:
    quote = services.quote_of(order)
    return {"work_order_id": order.id, "coverage": services.coverage_of(order)["code"],
            "parts": [{"item_id": usage.item_id, "name": name, "quantity": usage.quantity.normalize(),
                       "coverage": usage.coverage, "unit_price": usage.unit_price} for usage, name in quote["parts"]],
            "billable_parts": quote["billable_parts"], "labour_amount": order.labour_amount,
            "signed_name": order.quote_signed_name, "signed_at": order.quote_signed_at,
            "sales_order_id": order.sales_order_id, "totals": quote["totals"]}


def _present(data: dict) -> dict:
    return {k: v for k, v in data.items() if v is not None}


@blp.route("/work-orders/<int:order_id>/quote")
@blp.response(200, QuoteOut)
@requires("smart_home.work")
def get_quote(order_id):
    """The job's charges: every part line with who pays, the billable total, and the order and its balance once the
    customer signed."""
    return _quote(_order(order_id))


@blp.route("/work-orders/<int:order_id>/quote", methods=["POST"])
@blp.arguments(QuoteIn)
@blp.response(201, QuoteOut)
@requires("smart_home.work")
def sign_quote(data, order_id):
    """The customer signs the quote for the billable lines (labour_amount, signed_name, signature): a confirmed order
    of the commerce core, linked to the job. Once per job; honours `Idempotency-Key`."""
    order = _order(order_id)
    try:
        services.sign_quote(api_user(), order, services.QuoteSchema().load(_present(data)))
    except ValidationError as err:
        unprocessable(err)
    return _quote(order)


@blp.route("/work-orders/<int:order_id>/quote/payment", methods=["POST"])
@blp.arguments(PaymentIn)
@blp.response(201, QuoteOut)
@requires("smart_home.work")
def pay_quote(data, order_id):
    """Money taken on site for the signed quote (method, amount; never above the balance due). Send an
    `Idempotency-Key`: a retry records nothing."""
    order, user = _order(order_id), api_user()
    key = request.headers.get("Idempotency-Key")
    try:
        services.take_payment(user, order, services.PaymentSchema().load(_present(data)),
                              request_key=f"smart_home:api:{user.id}:{key}" if key else None)
    except ValidationError as err:
        unprocessable(err)
    return _quote(order)


# --- transfer requests to the vans (调拨申请) ---------------------------------------------------------------------

class TransferArgs(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(list(TRANSFER_STATES)))
    after_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID),
                              metadata={"description": "keyset cursor: the last id of the previous page"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class TransferOut(Schema):
    id = fields.Integer()
    van_id = fields.Integer()
    item_id = fields.Integer()
    item_name = fields.String()
    engineer_name = fields.String()
    quantity = fields.Decimal(as_string=True)
    reason = fields.String(metadata={"description": "reorder (the van fell to its minimum) or part_request"})
    work_order_id = fields.Integer(allow_none=True)
    work_order_number = fields.String(allow_none=True)
    state = fields.String()
    source_location_id = fields.Integer(allow_none=True)
    transfer_id = fields.Integer(allow_none=True, metadata={"description": "the stock transfer that loaded the van"})
    decided_by_id = fields.Integer(allow_none=True)
    requested_at = fields.DateTime()
    decided_at = fields.DateTime(allow_none=True)


class TransferPage(Schema):
    items = fields.List(fields.Nested(TransferOut))
    total = fields.Integer()
    next_after_id = fields.Integer(allow_none=True)


class ApproveIn(Schema):
    # checked after the request is found (services.ApproveTransferSchema), so another tenant's id answers 404
    source_location_id = fields.Raw(load_default=None, metadata={"description": "the warehouse that sends it"})


def _columns(row, schema: Schema) -> dict:
    return {name: getattr(row, name) for name in schema.fields if hasattr(row, name)}


def _transfer(row) -> dict:
    transfer_request, item_name, engineer_name, number = row
    return {**_columns(transfer_request, TransferOut()), "item_name": item_name, "engineer_name": engineer_name,
            "work_order_number": number}


def _count(model, state) -> int:
    query = select(func.count()).select_from(model)
    return db.session.scalar(query.where(model.state == state) if state else query)


@blp.route("/transfer-requests")
@blp.arguments(TransferArgs, location="query")
@blp.response(200, TransferPage)
@requires("smart_home.dispatch")
def list_transfer_requests(args):
    """Parts asked for the vans (a van at its minimum, or a job's request), newest first, by keyset."""
    rows = services.transfer_requests(state=args["state"], limit=args["per_page"], after_id=args["after_id"])
    return {"items": [_transfer(r) for r in rows], "total": _count(TransferRequest, args["state"]),
            "next_after_id": rows[-1][0].id if len(rows) == args["per_page"] else None}


@blp.route("/transfer-requests/<int:request_id>/approve", methods=["POST"])
@blp.arguments(ApproveIn)
@blp.response(200, TransferOut)
@requires("smart_home.dispatch")
def approve_transfer_request(data, request_id):
    """One click: the parts leave the warehouse (source_location_id) and are loaded on the van. Once only: a second
    call (or two managers at once) answers 422 with a `state` error and moves nothing."""
    transfer_request = get_scoped(TransferRequest, request_id)
    if transfer_request is None:
        abort(404)
    try:
        services.approve_transfer_request(api_user(), transfer_request,
                                          services.ApproveTransferSchema().load(_present(data)))
    except ValidationError as err:
        unprocessable(err)
    return _transfer(next(r for r in services.transfer_requests(state=None, after_id=request_id + 1, limit=1)))


# --- defective parts returned (旧件回收) --------------------------------------------------------------------------

class ReturnArgs(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(list(RETURN_STATES)))
    after_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID),
                              metadata={"description": "keyset cursor: the last id of the previous page"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ReturnOut(Schema):
    id = fields.Integer()
    work_order_id = fields.Integer()
    work_order_number = fields.String()
    item_id = fields.Integer()
    item_name = fields.String()
    engineer_id = fields.Integer(allow_none=True)
    engineer_name = fields.String(allow_none=True)
    quantity = fields.Decimal(as_string=True)
    serial = fields.String(allow_none=True)
    reason = fields.String(allow_none=True)
    state = fields.String(metadata={"description": "pending → received → returned or scrapped"})
    location_id = fields.Integer(allow_none=True, metadata={"description": "the warehouse that received it"})
    supplier = fields.String(allow_none=True)
    note = fields.String(allow_none=True)
    created_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    closed_at = fields.DateTime(allow_none=True)


class ReturnPage(Schema):
    items = fields.List(fields.Nested(ReturnOut))
    total = fields.Integer()
    next_after_id = fields.Integer(allow_none=True)


class ReturnStepIn(Schema):
    # checked after the return is found (services.ReturnStepSchema), so another tenant's id answers 404
    location_id = fields.Raw(load_default=None, metadata={"description": "receive: the warehouse"})
    supplier = fields.Raw(load_default=None, metadata={"description": "return-to-supplier: whom to"})
    note = fields.Raw(load_default=None)


def _part_return(row) -> dict:
    part, item_name, number, engineer_name = row
    return {**_columns(part, ReturnOut()), "item_name": item_name, "work_order_number": number,
            "engineer_name": engineer_name}


@blp.route("/part-returns")
@blp.arguments(ReturnArgs, location="query")
@blp.response(200, ReturnPage)
@requires("smart_home.dispatch")
def list_part_returns(args):
    """Defective parts taken out on jobs, newest first, by keyset."""
    rows = services.part_returns(state=args["state"], limit=args["per_page"], after_id=args["after_id"])
    return {"items": [_part_return(r) for r in rows], "total": _count(PartReturn, args["state"]),
            "next_after_id": rows[-1][0].id if len(rows) == args["per_page"] else None}


RETURN_STEPS = {"receive": "received", "return-to-supplier": "returned", "scrap": "scrapped"}


@blp.route("/part-returns/<int:return_id>/<any(receive, 'return-to-supplier', scrap):step>", methods=["POST"])
@blp.arguments(ReturnStepIn)
@blp.response(200, ReturnOut)
@requires("smart_home.dispatch")
def move_part_return(data, return_id, step):
    """receive (location_id: a warehouse) a pending part; then return-to-supplier (supplier) or scrap it. A step
    the part's state does not allow answers 422 with a `to` error."""
    part = get_scoped(PartReturn, return_id)
    if part is None:
        abort(404)
    try:
        services.move_part_return(api_user(), part,
                                  services.ReturnStepSchema().load({**_present(data), "to": RETURN_STEPS[step]}))
    except ValidationError as err:
        unprocessable(err)
    return _part_return(next(r for r in services.part_returns(after_id=return_id + 1, limit=1)))
