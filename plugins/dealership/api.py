"""REST API: /api/v1/dealership/repair-orders and /api/v1/dealership/vehicles (keyset paging, problem+json errors).
The same services as the pages."""
from flask import abort, url_for
from flask_babel import gettext
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields, validate

from storecrm.sdk import api_requires as requires
from storecrm.sdk import api_user, get_lead, unprocessable

from . import contracts, sales, services
from .models import COMPLAINT_CATEGORIES, CONTRACT_STATES, SERVICE_KINDS, STATES, TEST_DRIVE_STATES

blp = Blueprint("api_dealership", __name__, url_prefix="/dealership", description="Dealership (4S店): repair "
                "orders, vehicles, test drives and vehicle sales contracts")
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


# --- sales: test drives and vehicle sales contracts ----------------------------------------------------------------

class DriveListArgs(Schema):
    state = fields.String(load_default=None, validate=validate.OneOf(TEST_DRIVE_STATES))
    lead_id = fields.Integer(load_default=None, validate=ID)
    after_id = fields.Integer(load_default=None, validate=ID, metadata={"description": "keyset: last id of the "
                                                                                       "previous page"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class TestDriveSchema(Schema):
    id = fields.Integer(dump_only=True)
    lead_id = fields.Integer(required=True, validate=ID)
    resource_id = fields.Integer(required=True, validate=ID, metadata={"description": "a demo car (scheduling "
                                                                                      "resource of kind demo_car)"})
    advisor_id = fields.Integer(load_default=None, validate=ID, metadata={"description": "default: you"})
    model = fields.String(load_default=None, validate=validate.Length(max=120),
                          metadata={"description": "default: the lead's interest"})
    starts_at = fields.AwareDateTime(required=True, metadata={"description": "with its UTC offset"})
    store_id = fields.Integer(dump_only=True)
    appointment_id = fields.Integer(dump_only=True)
    state = fields.String(dump_only=True, metadata={"description": "booked, completed or cancelled"})
    note = fields.String(dump_only=True)
    closed_at = fields.DateTime(dump_only=True)


TestDriveSchema.__test__ = False  # not a pytest class


class TestDrivePage(Schema):
    items = fields.List(fields.Nested(TestDriveSchema))
    next_after_id = fields.Integer(allow_none=True)


TestDrivePage.__test__ = False


class CloseDriveSchema(Schema):
    note = fields.String(load_default=None, validate=validate.Length(max=300))


def _drive(drive_id):
    drive = sales.get_test_drive(api_user(), drive_id)
    if drive is None:
        abort(404)
    return drive


@blp.route("/test-drives")
@blp.arguments(DriveListArgs, location="query")
@blp.response(200, TestDrivePage)
@requires("dealership.view")
def list_test_drives(args):
    """Test drives of the stores you may see, newest first; pass `next_after_id` back as `after_id`."""
    rows = sales.list_test_drives(api_user(), state=args["state"], lead_id=args["lead_id"], after_id=args["after_id"],
                                  limit=args["per_page"] + 1)
    more = len(rows) > args["per_page"]
    rows = rows[:args["per_page"]]
    return {"items": rows, "next_after_id": rows[-1].id if more else None}


@blp.route("/test-drives", methods=["POST"])
@blp.arguments(TestDriveSchema)
@blp.response(201, TestDriveSchema)
@requires("dealership.view")
def book_test_drive(data):
    """Book a demo car for a lead: the scheduling core refuses a taken slot (422, field `starts_at`); the lead moves
    to the 已试驾 stage."""
    lead = get_lead(api_user(), data["lead_id"])
    try:
        if lead is None:
            raise ValidationError({"lead_id": [gettext("Choose one of the listed leads.")]})
        return sales.book_test_drive(api_user(), lead, data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/test-drives/<int:drive_id>")
@blp.response(200, TestDriveSchema)
@requires("dealership.view")
def get_test_drive(drive_id):
    return _drive(drive_id)


def _close(drive_id, outcome, data):
    try:
        return sales.close_test_drive(api_user(), _drive(drive_id), outcome, data.get("note"))
    except ValidationError as err:
        unprocessable(err)


@blp.route("/test-drives/<int:drive_id>/complete", methods=["POST"])
@blp.arguments(CloseDriveSchema)
@blp.response(200, TestDriveSchema)
@requires("dealership.view")
def complete_test_drive(data, drive_id):
    """The drive took place (its demo-car appointment is done)."""
    return _close(drive_id, "completed", data)


@blp.route("/test-drives/<int:drive_id>/cancel", methods=["POST"])
@blp.arguments(CloseDriveSchema)
@blp.response(200, TestDriveSchema)
@requires("dealership.view")
def cancel_test_drive(data, drive_id):
    """Called off: the demo car's appointment is cancelled, so the slot is free again."""
    return _close(drive_id, "cancelled", data)


class VehicleContractOut(contracts.VehicleContractSchema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True)
    state = fields.String(dump_only=True, metadata={"description": "draft, signed, deposit_paid, delivered, "
                                                                   "cancelled"})
    advisor_id = fields.Integer(dump_only=True)
    quote_id = fields.Integer(dump_only=True)
    order_id = fields.Integer(dump_only=True)
    total = fields.Decimal(as_string=True, dump_only=True)
    sign_url = fields.String(dump_only=True, allow_none=True, metadata={"description": "the quote's share link, "
                                                                                      "once sent"})
    signed_name = fields.String(dump_only=True)
    signed_at = fields.DateTime(dump_only=True)
    deposit_paid_at = fields.DateTime(dump_only=True)
    delivered_at = fields.DateTime(dump_only=True)
    cancelled_at = fields.DateTime(dump_only=True)
    cancel_reason = fields.String(dump_only=True)


class VehicleContractPage(Schema):
    items = fields.List(fields.Nested(VehicleContractOut))
    next_after_id = fields.Integer(allow_none=True)


class ContractListArgs(DriveListArgs):
    state = fields.String(load_default=None, validate=validate.OneOf(CONTRACT_STATES))


class ContractActionSchema(Schema):
    method = fields.String(load_default=None, validate=validate.OneOf(contracts.METHODS),
                           metadata={"description": "how the deposit / balance was paid or the refund goes back"})
    vin = fields.String(load_default=None, validate=validate.Length(max=20), metadata={"description": "deliver"})
    reason = fields.String(load_default=None, validate=validate.Length(max=200), metadata={"description": "cancel"})


def _contract_out(contract):
    quote = contracts.quote_of(contract)
    out = {name: getattr(contract, name) for name, f in VehicleContractOut().fields.items()
           if not f.load_only and name != "sign_url"}
    out["sign_url"] = url_for("sales_public.share", token=quote.share_token, _external=True) \
        if quote is not None and quote.share_token and quote.state != "draft" else None
    return out


def _get_contract(contract_id):
    contract = contracts.get_contract(api_user(), contract_id)
    if contract is None:
        abort(404)
    return contract


@blp.route("/contracts")
@blp.arguments(ContractListArgs, location="query")
@blp.response(200, VehicleContractPage)
@requires("dealership.view")
def list_contracts(args):
    """Vehicle sales contracts of the stores you may see, newest first (keyset paging)."""
    rows = contracts.list_contracts(api_user(), state=args["state"], lead_id=args["lead_id"],
                                    after_id=args["after_id"], limit=args["per_page"] + 1)
    more = len(rows) > args["per_page"]
    rows = rows[:args["per_page"]]
    return {"items": [_contract_out(c) for c in rows], "next_after_id": rows[-1].id if more else None}


@blp.route("/contracts", methods=["POST"])
@blp.arguments(contracts.VehicleContractSchema)
@blp.response(201, VehicleContractOut)
@requires("dealership.view")
def create_contract(data):
    """Draft a contract for a converted lead (`lead_id`) or a customer (`customer_id` + `store_id`); its core quote
    is drafted with it."""
    try:
        return _contract_out(contracts.create_contract(api_user(), contracts.VehicleContractSchema().dump(data)))
    except ValidationError as err:
        unprocessable(err)


@blp.route("/contracts/<int:contract_id>")
@blp.response(200, VehicleContractOut)
@requires("dealership.view")
def get_contract(contract_id):
    return _contract_out(_get_contract(contract_id))


@blp.route("/contracts/<int:contract_id>/<any(send, deposit, deliver, cancel):action>", methods=["POST"])
@blp.arguments(ContractActionSchema)
@blp.response(200, VehicleContractOut)
@requires("dealership.view")
def contract_action(data, contract_id, action):
    """`send` opens the signing link (`sign_url`); `deposit` records the deposit (`method`); `deliver` needs the VIN
    (`vin`, unless set) and pays the balance (`method`); `cancel` needs `reason` and refunds what was paid
    (`method`)."""
    contract = _get_contract(contract_id)
    user = api_user()
    try:
        if action == "send":
            contracts.send_for_signature(user, contract)
        elif action == "deposit":
            contracts.record_deposit(user, contract, data["method"])
        elif action == "deliver":
            contracts.deliver(user, contract, vin=data["vin"], method=data["method"])
        else:
            contracts.cancel(user, contract, data["reason"], method=data["method"])
    except ValidationError as err:
        unprocessable(err)
    return _contract_out(contract)
