from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate

from ...catalog.services import get_item
from ...customers.services import get_customer
from ...stock import services
from ...stock.models import LOCATION_KINDS, MOVEMENT_KINDS, Location, Transfer
from ...tenancy.models import get_scoped
from ..auth import api_user, requires
from ..common import unprocessable

blp = Blueprint("api_stock", __name__, url_prefix="/stock", description="Stock by location, movements, transfers")

ID = validate.Range(min=1, max=2**63 - 1)
# quantities and costs arrive as text or numbers and are checked by the services (field errors, nothing written)
QUANTITY = fields.Raw(required=True, metadata={"type": "string", "format": "decimal", "example": "2"})


class LocationSchema(Schema):
    id = fields.Integer(dump_only=True)
    store_id = fields.Integer(required=True, strict=True, validate=ID)
    kind = fields.String(required=True, validate=validate.OneOf(LOCATION_KINDS))
    name = fields.String(required=True, validate=validate.Length(min=1, max=80))
    active = fields.Boolean(load_default=True)


class LevelSchema(Schema):
    id = fields.Integer()
    item_id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    location_id = fields.Integer()
    on_hand = fields.Decimal(as_string=True)
    reserved = fields.Decimal(as_string=True)
    available = fields.Decimal(as_string=True)
    avg_cost = fields.Decimal(as_string=True)
    reorder_level = fields.Decimal(as_string=True, allow_none=True)


class LevelArgs(Schema):
    location_id = fields.Integer(load_default=None, validate=ID)
    item_id = fields.Integer(load_default=None, validate=ID)
    below_reorder = fields.Boolean(load_default=False)
    q = fields.String(load_default="", validate=validate.Length(max=60))
    after_id = fields.Integer(load_default=None, validate=ID)
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class MovementSchema(Schema):
    id = fields.Integer()
    item_id = fields.Integer()
    location_id = fields.Integer()
    kind = fields.String()
    quantity = fields.Decimal(as_string=True)
    unit_cost = fields.Decimal(as_string=True, allow_none=True)
    reason = fields.String(allow_none=True)
    reference_type = fields.String(allow_none=True)
    reference_id = fields.Integer(allow_none=True)
    serial_id = fields.Integer(allow_none=True)
    customer_id = fields.Integer(allow_none=True)
    staff_id = fields.Integer(allow_none=True)
    at = fields.DateTime()


class MovementArgs(Schema):
    location_id = fields.Integer(load_default=None, validate=ID)
    item_id = fields.Integer(load_default=None, validate=ID)
    kind = fields.String(load_default=None, validate=validate.OneOf(MOVEMENT_KINDS))
    after_id = fields.Integer(load_default=None, validate=ID, metadata={"description": "keyset: last id seen"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class _Move(Schema):
    item_id = fields.Integer(required=True, strict=True, validate=ID)
    location_id = fields.Integer(required=True, strict=True, validate=ID)
    quantity = QUANTITY
    serials = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list,
                          validate=validate.Length(max=1000))
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=200))
    reference_type = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    reference_id = fields.Integer(load_default=None, allow_none=True, validate=ID)


class ReceiptSchema(_Move):
    unit_cost = fields.Raw(load_default=None, allow_none=True, metadata={"type": "string", "format": "decimal"})


class IssueSchema(_Move):
    customer_id = fields.Integer(load_default=None, allow_none=True, validate=ID)


class AdjustmentSchema(_Move):
    quantity = QUANTITY  # signed change
    reason = fields.String(required=True, validate=validate.Length(min=1, max=200))


class TransferLineIn(Schema):
    item_id = fields.Integer(required=True, strict=True, validate=ID)
    quantity = QUANTITY
    serials = fields.List(fields.String(validate=validate.Length(max=100)), load_default=list)


class TransferIn(Schema):
    from_location_id = fields.Integer(required=True, strict=True, validate=ID)
    to_location_id = fields.Integer(required=True, strict=True, validate=ID)
    note = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=300))
    lines = fields.List(fields.Nested(TransferLineIn), required=True, validate=validate.Length(min=1, max=200))


class TransferLineOut(Schema):
    id = fields.Integer()
    item_id = fields.Integer()
    quantity_sent = fields.Decimal(as_string=True)
    quantity_received = fields.Decimal(as_string=True, allow_none=True)
    unit_cost = fields.Decimal(as_string=True, allow_none=True)


class TransferOut(Schema):
    id = fields.Integer()
    from_location_id = fields.Integer()
    to_location_id = fields.Integer()
    state = fields.String()
    note = fields.String(allow_none=True)
    sent_at = fields.DateTime()
    received_at = fields.DateTime(allow_none=True)
    lines = fields.List(fields.Nested(TransferLineOut))


class ReceiveLine(Schema):
    line_id = fields.Integer(required=True, strict=True, validate=ID)
    quantity_received = fields.Raw(required=True, metadata={"type": "string", "format": "decimal"})
    serials = fields.List(fields.String(validate=validate.Length(max=100)), load_default=None, allow_none=True)


class ReceiveTransferIn(Schema):
    lines = fields.List(fields.Nested(ReceiveLine), load_default=list,
                        metadata={"description": "lines that arrived short; lines left out arrived whole"})


def _location(location_id, field="location_id"):
    location = services.get_location(api_user(), location_id)
    if location is None:
        unprocessable(ValidationError({field: ["Choose one of the listed options."]}))
    return location


def _item(item_id):
    item = get_item(item_id)
    if item is None:
        unprocessable(ValidationError({"item_id": ["Choose one of the listed options."]}))
    return item


def _reference(data):
    if data.get("reference_type") and data.get("reference_id"):
        return data["reference_type"], data["reference_id"]
    return None


def _transfer_out(transfer):
    return {**{k: getattr(transfer, k) for k in ("id", "from_location_id", "to_location_id", "state", "note",
                                                 "sent_at", "received_at")},
            "lines": [line for line, _item in services.transfer_lines(transfer)]}


def _visible_transfer(transfer_id):
    transfer = get_scoped(Transfer, transfer_id)
    if transfer is None or (services.get_location(api_user(), transfer.from_location_id) is None
                            and services.get_location(api_user(), transfer.to_location_id) is None):
        abort(404)
    return transfer


@blp.route("/locations")
@blp.response(200, LocationSchema(many=True))
@requires("stock.view")
def list_locations():
    """Locations of the stores you may see."""
    return services.locations_visible_to(api_user(), include_closed=True)


@blp.route("/locations", methods=["POST"])
@blp.arguments(LocationSchema)
@blp.response(201, LocationSchema)
@requires("stock.manage")
def create_location(data):
    try:
        return services.save_location(api_user(), data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/locations/<int:location_id>")
@blp.response(200, LocationSchema)
@requires("stock.view")
def get_location(location_id):
    location = services.get_location(api_user(), location_id)
    if location is None:
        abort(404)
    return location


@blp.route("/levels")
@blp.arguments(LevelArgs, location="query")
@blp.response(200, LevelSchema(many=True))
@requires("stock.view")
def list_levels(args):
    """Quantities per item and location (`below_reorder=true`: the reorder list); keyset paging with `after_id`."""
    rows = services.list_levels(api_user(), location_id=args["location_id"], item_id=args["item_id"],
                                below_reorder=args["below_reorder"], q=args["q"], after_id=args["after_id"],
                                limit=args["per_page"])
    return [{"id": level.id, "item_id": item.id, "sku": item.sku, "name": item.name, "location_id": location.id,
             "on_hand": level.on_hand, "reserved": level.reserved, "available": level.available,
             "avg_cost": level.avg_cost, "reorder_level": level.reorder_level} for level, item, location in rows]


@blp.route("/movements")
@blp.arguments(MovementArgs, location="query")
@blp.response(200, MovementSchema(many=True))
@requires("stock.view")
def list_movements(args):
    """The ledger, newest first; keyset paging with `after_id`."""
    return services.list_movements(api_user(), location_id=args["location_id"], item_id=args["item_id"],
                                   kind=args["kind"], after_id=args["after_id"], limit=args["per_page"])


@blp.route("/receipts", methods=["POST"])
@blp.arguments(ReceiptSchema)
@blp.response(201, MovementSchema(many=True))
@requires("stock.move")
def receive(data):
    """Goods in at a location (moving average cost). Honours `Idempotency-Key`."""
    item, location = _item(data["item_id"]), _location(data["location_id"])
    try:
        return services.receive(item, location, data["quantity"], unit_cost=data["unit_cost"], serials=data["serials"],
                                reference=_reference(data), reason=data["reason"], staff=api_user())
    except ValidationError as err:
        unprocessable(err)


@blp.route("/issues", methods=["POST"])
@blp.arguments(IssueSchema)
@blp.response(201, MovementSchema(many=True))
@requires("stock.move")
def issue(data):
    """Goods out; 422 with a `quantity` error when not enough is available. Honours `Idempotency-Key`."""
    item, location = _item(data["item_id"]), _location(data["location_id"])
    customer = None
    if data["customer_id"]:
        customer = get_customer(api_user(), data["customer_id"])
        if customer is None:
            unprocessable(ValidationError({"customer_id": ["No such customer among the ones you may see."]}))
    try:
        return services.issue(item, location, data["quantity"], serials=data["serials"], reference=_reference(data),
                              customer=customer, reason=data["reason"], staff=api_user())
    except ValidationError as err:
        unprocessable(err)


@blp.route("/adjustments", methods=["POST"])
@blp.arguments(AdjustmentSchema)
@blp.response(201, MovementSchema(many=True))
@requires("stock.manage")
def adjust(data):
    """Correct the quantity on hand by a signed `quantity`, with a reason."""
    item, location = _item(data["item_id"]), _location(data["location_id"])
    try:
        return services.adjust(item, location, data["quantity"], reason=data["reason"], serials=data["serials"],
                               reference=_reference(data), staff=api_user())
    except ValidationError as err:
        unprocessable(err)


@blp.route("/transfers", methods=["POST"])
@blp.arguments(TransferIn)
@blp.response(201, TransferOut)
@requires("stock.move")
def send_transfer(data):
    """Send stock to another location; it is in transit until received."""
    source = _location(data["from_location_id"], "from_location_id")
    destination = get_scoped(Location, data["to_location_id"])  # any store of the chain may receive
    if destination is None:
        unprocessable(ValidationError({"to_location_id": ["Choose one of the listed options."]}))
    try:
        return _transfer_out(services.send_transfer(source, destination, data["lines"], note=data["note"],
                                                    staff=api_user()))
    except ValidationError as err:
        unprocessable(err)


@blp.route("/transfers/<int:transfer_id>")
@blp.response(200, TransferOut)
@requires("stock.view")
def get_transfer(transfer_id):
    return _transfer_out(_visible_transfer(transfer_id))


@blp.route("/transfers/<int:transfer_id>/receive", methods=["POST"])
@blp.arguments(ReceiveTransferIn)
@blp.response(200, TransferOut)
@requires("stock.move")
def receive_transfer(data, transfer_id):
    """Record what arrived; lines not listed arrived whole."""
    transfer = _visible_transfer(transfer_id)
    if services.get_location(api_user(), transfer.to_location_id) is None:
        abort(404)
    received = {line["line_id"]: line["quantity_received"] for line in data["lines"]}
    serials = {line["line_id"]: line["serials"] for line in data["lines"] if line["serials"] is not None}
    try:
        return _transfer_out(services.receive_transfer(transfer, received, serials=serials, staff=api_user()))
    except ValidationError as err:
        unprocessable(err)
