from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate

from ...assets import services
from ...assets.schemas import AssetSchema, ReadingSchema, TransferSchema
from ...customers.services import get_customer
from ...fields.engine import definitions
from ..auth import api_user, requires
from ..common import custom_filters, patch_load, unprocessable

blp = Blueprint("api_assets", __name__, url_prefix="/assets", description="Assets customers own")


class AssetOutSchema(AssetSchema):
    identifiers = fields.Dict(dump_only=True)


class AssetCreateSchema(AssetSchema):
    customer_id = fields.Integer(required=True, strict=False, validate=validate.Range(min=1, max=2**63 - 1))


class AssetListArgs(Schema):
    type = fields.String(load_default=None, validate=validate.Length(max=40))
    customer_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    after_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    q = fields.String(load_default="", validate=validate.Length(max=60),
                      metadata={"description": "part of the name or of an identifier (plate, VIN, serial)"})
    sort = fields.String(load_default="newest", validate=validate.OneOf(list(services.SORTS)))
    cf = fields.List(fields.String(validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}=.{1,60}$")), load_default=list,
                     metadata={"description": "custom field filter code=value (repeatable)"})


def _visible_custom(asset) -> dict:
    visible = {d.code for d in definitions("asset", user=api_user())}
    return {k: v for k, v in (asset.custom or {}).items() if k in visible}


def _out(asset):
    return {**{k: getattr(asset, k) for k in AssetSchema().dump_fields if k not in ("identifiers", "custom")},
            "identifiers": services.identifiers_of([asset.id])[asset.id], "custom": _visible_custom(asset)}


def _asset(asset_id):
    asset = services.get_asset(api_user(), asset_id)
    if asset is None:
        abort(404)
    return asset


@blp.route("")
@blp.arguments(AssetListArgs, location="query")
@blp.response(200, AssetOutSchema(many=True))
@requires("customers.view")
def list_assets(args):
    """Assets of customers you may see, newest first; keyset paging with `after_id`."""
    rows = services.list_assets(api_user(), type_=args["type"], customer_id=args["customer_id"],
                                after_id=args["after_id"], limit=args["per_page"], sort=args["sort"], q=args["q"],
                                custom=custom_filters("asset", api_user(), args["cf"]))
    ids = services.identifiers_of([a.id for a in rows])

    visible = {d.code for d in definitions("asset", user=api_user())}
    return [{**{k: getattr(a, k) for k in AssetSchema().dump_fields if k not in ("identifiers", "custom")},
             "identifiers": ids[a.id], "custom": {k: v for k, v in (a.custom or {}).items() if k in visible}}
            for a in rows]


@blp.route("", methods=["POST"])
@blp.arguments(AssetCreateSchema)
@blp.response(201, AssetOutSchema)
@requires("customers.manage")
def create_asset(data):
    """Types come from the core and enabled plugins; `identifiers` become identities of the owner."""
    customer = get_customer(api_user(), data.pop("customer_id"))
    if customer is None:
        unprocessable(ValidationError({"customer_id": ["No such customer among the ones you may see."]}))
    try:
        return _out(services.create_asset(api_user(), customer, data))
    except ValidationError as err:
        unprocessable(err)


@blp.route("/<int:asset_id>")
@blp.response(200, AssetOutSchema)
@requires("customers.view")
def get_asset(asset_id):
    return _out(_asset(asset_id))


@blp.route("/<int:asset_id>", methods=["PATCH"])
@blp.arguments(AssetSchema(partial=True))
@blp.response(200, AssetOutSchema)
@requires("customers.manage")
def update_asset(data, asset_id):
    asset = _asset(asset_id)
    current = {**AssetSchema().dump(asset), "identifiers": services.identifiers_of([asset.id])[asset.id],
               "attributes": asset.attributes or {}, "custom": None}
    loaded = patch_load(AssetSchema(), current)
    if loaded.get("custom") is not None:  # PATCH merges custom values field by field
        loaded["custom"] = {**(asset.custom or {}), **loaded["custom"]}
    try:
        return _out(services.update_asset(api_user(), asset, loaded))
    except ValidationError as err:
        unprocessable(err)


@blp.route("/<int:asset_id>/transfer", methods=["POST"])
@blp.arguments(TransferSchema)
@blp.response(200, AssetOutSchema)
@requires("customers.manage")
def transfer_asset(data, asset_id):
    """Give the asset to another customer; its history keeps the previous owners."""
    asset = _asset(asset_id)
    new_owner = get_customer(api_user(), data["customer_id"])
    if new_owner is None:
        unprocessable(ValidationError({"customer_id": ["No such customer among the ones you may see."]}))
    try:
        return _out(services.transfer(api_user(), asset, new_owner, data.get("note")))
    except ValidationError as err:
        unprocessable(err)


@blp.route("/<int:asset_id>/readings")
@blp.response(200, ReadingSchema(many=True))
@requires("customers.view")
def list_readings(asset_id):
    """Odometer readings, newest first (the last 20)."""
    return services.readings_of(_asset(asset_id).id)


@blp.route("/<int:asset_id>/readings", methods=["POST"])
@blp.arguments(ReadingSchema)
@blp.response(201, ReadingSchema)
@requires("customers.manage")
def add_reading(data, asset_id):
    """Record the kilometres shown on a day (`service`: taken at a service); readings never go backwards.
    Service-due rules ("5 months or 8,000 km") estimate from these."""
    try:
        return services.add_reading(api_user(), _asset(asset_id), data)
    except ValidationError as err:
        unprocessable(err)
