"""REST API: /api/v1/dealership/repair-orders and /api/v1/dealership/vehicles (keyset paging, problem+json errors).
The same services as the pages."""
from flask import abort
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from storecrm.sdk import api_requires as requires
from storecrm.sdk import api_user, unprocessable

from . import services
from .models import COMPLAINT_CATEGORIES, SERVICE_KINDS, STATES

blp = Blueprint("api_dealership", __name__, url_prefix="/dealership", description="Dealership (4S店): repair "
                "orders and vehicles")
ID = validate.Range(min=1, max=2**63 - 1)


class ListArgs(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf((*STATES, "open")))
    after_id = fields.Integer(load_default=None, validate=ID, metadata={"description": "keyset: last id of the "
                                                                                       "previous page"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class RepairLineSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    description = fields.String()
    item_id = fields.Integer(allow_none=True)
    skill = fields.String(allow_none=True)
    quantity = fields.Decimal(as_string=True)
    unit_price = fields.Decimal(as_string=True)
    amount = fields.Decimal(as_string=True)
    payer = fields.String()


class RepairOrderSchema(Schema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True)
    state = fields.String(dump_only=True)
    store_id = fields.Integer(load_default=None, validate=ID)
    appointment_id = fields.Integer(load_default=None, validate=ID)
    customer_id = fields.Integer(load_default=None, validate=ID)
    mobile = fields.String(load_only=True, load_default=None, validate=validate.Length(max=40))
    name = fields.String(load_only=True, load_default=None, validate=validate.Length(max=80))
    asset_id = fields.Integer(load_default=None, validate=ID)
    plate = fields.String(load_only=True, load_default=None, validate=validate.Length(max=20))
    vin = fields.String(load_only=True, load_default=None, validate=validate.Length(max=17))
    service_kind = fields.String(required=True, validate=validate.OneOf(SERVICE_KINDS))
    mileage = fields.Integer(required=True, validate=validate.Range(min=0, max=3_000_000))
    complaint = fields.String(load_default=None, validate=validate.Length(max=2000))
    complaint_category = fields.String(required=True, validate=validate.OneOf(COMPLAINT_CATEGORIES))
    walk_in = fields.Boolean(dump_only=True)
    advisor_id = fields.Integer(dump_only=True)
    technician_id = fields.Integer(dump_only=True)
    arrived_at = fields.DateTime(dump_only=True)
    delivered_at = fields.DateTime(dump_only=True)
    waiting_minutes = fields.Integer(dump_only=True)
    labour_total = fields.Decimal(as_string=True, dump_only=True)
    parts_total = fields.Decimal(as_string=True, dump_only=True)
    customer_total = fields.Decimal(as_string=True, dump_only=True)
    order_id = fields.Integer(dump_only=True)
    qc_rejections = fields.Integer(dump_only=True)


class RepairOrderDetail(RepairOrderSchema):
    lines = fields.List(fields.Nested(RepairLineSchema), dump_only=True)


class RepairOrderPage(Schema):
    items = fields.List(fields.Nested(RepairOrderSchema))
    next_after_id = fields.Integer(allow_none=True)


class VehicleSchema(Schema):
    id = fields.Integer()
    customer_id = fields.Integer()
    name = fields.String()
    plate = fields.String(allow_none=True)
    vin = fields.String(allow_none=True)
    attributes = fields.Dict()
    custom = fields.Dict()
    purchased_on = fields.Date(allow_none=True)
    warranty_until = fields.Date(allow_none=True)


class VehiclePage(Schema):
    items = fields.List(fields.Nested(VehicleSchema))
    next_after_id = fields.Integer(allow_none=True)


def _vehicle_out(assets):
    marks = services.vehicle_marks([a.id for a in assets])
    return [{"id": a.id, "customer_id": a.customer_id, "name": a.name, "plate": marks.get(a.id, {}).get("plate"),
             "vin": marks.get(a.id, {}).get("vin"), "attributes": a.attributes or {}, "custom": a.custom or {},
             "purchased_on": a.purchased_on, "warranty_until": a.warranty_until} for a in assets]


@blp.route("/repair-orders")
@blp.arguments(ListArgs, location="query")
@blp.response(200, RepairOrderPage)
@requires("dealership.view")
def list_repair_orders(args):
    """Repair orders of the stores you may see, newest first; pass `next_after_id` back as `after_id`."""
    rows = services.list_repair_orders(api_user(), state=args["state"], after_id=args["after_id"],
                                       limit=args["per_page"] + 1)
    more = len(rows) > args["per_page"]
    rows = rows[:args["per_page"]]
    return {"items": rows, "next_after_id": rows[-1].id if more else None}


@blp.route("/repair-orders", methods=["POST"])
@blp.arguments(RepairOrderSchema)
@blp.response(201, RepairOrderDetail)
@requires("dealership.reception")
def create_repair_order(data):
    """Receive a car: from an appointment, or a walk-in (customer by id or mobile + name, car by id, plate or VIN)."""
    try:
        ro = services.receive(api_user(), data)
    except ValidationError as err:
        unprocessable(err)
    return _detail(ro)


def _detail(ro):
    fields_out = [n for n, f in RepairOrderDetail().fields.items() if not f.load_only and n != "lines"]
    return {**{name: getattr(ro, name) for name in fields_out}, "lines": services.lines_of(ro)}


@blp.route("/repair-orders/<int:ro_id>")
@blp.response(200, RepairOrderDetail)
@requires("dealership.view")
def get_repair_order(ro_id):
    ro = services.get_repair_order(api_user(), ro_id)
    if ro is None:
        abort(404)
    return _detail(ro)


@blp.route("/vehicles")
@blp.arguments(ListArgs, location="query")
@blp.response(200, VehiclePage)
@requires("dealership.view")
def list_vehicles(args):
    """Vehicles (the core's `vehicle` assets) of customers you may see, newest first, with plate and VIN."""
    rows = services.list_vehicles(api_user(), after_id=args["after_id"], limit=args["per_page"] + 1)
    more = len(rows) > args["per_page"]
    rows = rows[:args["per_page"]]
    return {"items": _vehicle_out(rows), "next_after_id": rows[-1].id if more else None}


@blp.route("/vehicles/<int:asset_id>")
@blp.response(200, VehicleSchema)
@requires("dealership.view")
def get_vehicle(asset_id):
    vehicle = services.get_vehicle(api_user(), asset_id)
    if vehicle is None:
        abort(404)
    return _vehicle_out([vehicle])[0]
