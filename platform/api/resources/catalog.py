from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate

from ...catalog import services
from ...catalog.models import ITEM_KINDS, Category
from ...catalog.schemas import CategorySchema, ItemSchema, PackageLineSchema
from ...fields.engine import definitions
from ...stores.services import get_store
from ...tenancy.models import get_scoped
from ..auth import api_user, requires
from ..common import patch_load, unprocessable

blp = Blueprint("api_catalog", __name__, url_prefix="/catalog", description="Catalog: products, labour, parts, packages")

ID = validate.Range(min=1, max=2**63 - 1)


class ComponentOutSchema(Schema):
    component_id = fields.Integer()
    sku = fields.String()
    name = fields.String()
    quantity = fields.Decimal(as_string=True)


class CatalogItemOutSchema(ItemSchema):
    brand_name = fields.String(dump_only=True, allow_none=True)
    components = fields.List(fields.Nested(ComponentOutSchema), dump_only=True)
    store_prices = fields.Dict(keys=fields.String(), values=fields.String(), dump_only=True,
                               metadata={"description": "store id -> that store's own price"})


class ItemListArgs(Schema):
    q = fields.String(load_default="", validate=validate.Length(max=60), metadata={"description": "part of SKU or name"})
    kind = fields.String(load_default=None, validate=validate.OneOf(ITEM_KINDS))
    category_id = fields.Integer(load_default=None, validate=ID, metadata={"description": "includes subcategories"})
    brand_id = fields.Integer(load_default=None, validate=ID)
    active = fields.Boolean(load_default=True)
    sort = fields.String(load_default="name", validate=validate.OneOf(("name", "sku", "newest")))
    after_id = fields.Integer(load_default=None, validate=ID, metadata={"description": "keyset: last id of the previous page"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class ComponentsSchema(Schema):
    lines = fields.List(fields.Nested(PackageLineSchema), required=True, validate=validate.Length(max=100))


class StorePriceSchema(Schema):
    store_id = fields.Integer(required=True, strict=True, validate=ID)
    price = fields.Decimal(as_string=True, allow_none=True, required=True)


def _out(item, *, detail: bool = False) -> dict:
    visible = {d.code for d in definitions(services.ENTITY, user=api_user())}
    out = {**{k: getattr(item, k) for k in ItemSchema().fields if k not in ("custom", "brand")},
           "custom": {k: v for k, v in (item.custom or {}).items() if k in visible}}
    if detail:
        out["components"] = [{"component_id": c.id, "sku": c.sku, "name": c.name, "quantity": line.quantity}
                             for line, c in services.package_lines(item)]
        out["store_prices"] = {str(k): str(v) for k, v in services.store_prices(item).items()}
    return out


def _item(item_id):
    item = services.get_item(item_id)
    if item is None:
        abort(404)
    return item


@blp.route("/items")
@blp.arguments(ItemListArgs, location="query")
@blp.response(200, CatalogItemOutSchema(many=True))
@requires("catalog.view")
def list_items(args):
    """Items by name (or SKU, or newest); keyset paging with `after_id`."""
    rows = services.list_items(q=args["q"], kind=args["kind"], category_id=args["category_id"],
                               brand_id=args["brand_id"], active=args["active"], sort=args["sort"],
                               after_id=args["after_id"], limit=args["per_page"])
    return [_out(i) for i in rows]


@blp.route("/items", methods=["POST"])
@blp.arguments(ItemSchema)
@blp.response(201, CatalogItemOutSchema)
@requires("catalog.manage")
def create_item(data):
    """A new item; `brand` (a name) creates the brand if new. Honours `Idempotency-Key`."""
    try:
        return _out(services.create_item(api_user(), data), detail=True)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/items/<int:item_id>")
@blp.response(200, CatalogItemOutSchema)
@requires("catalog.view")
def get_item(item_id):
    """The item with its package components and store prices."""
    return _out(_item(item_id), detail=True)


@blp.route("/items/<int:item_id>", methods=["PATCH"])
@blp.arguments(ItemSchema(partial=True))
@blp.response(200, CatalogItemOutSchema)
@requires("catalog.manage")
def update_item(data, item_id):
    item = _item(item_id)
    current = {**ItemSchema().dump(item), "custom": None}
    loaded = patch_load(ItemSchema(), current)
    if loaded.get("custom") is not None:
        loaded["custom"] = {**(item.custom or {}), **loaded["custom"]}
    try:
        return _out(services.update_item(api_user(), item, loaded), detail=True)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/items/<int:item_id>/components", methods=["PUT"])
@blp.arguments(ComponentsSchema)
@blp.response(200, CatalogItemOutSchema)
@requires("catalog.manage")
def set_components(data, item_id):
    """Replace a package's components (items and quantities)."""
    item = _item(item_id)
    try:
        services.set_package_lines(item, data["lines"])
    except ValidationError as err:
        unprocessable(err)
    return _out(item, detail=True)


@blp.route("/items/<int:item_id>/store-prices", methods=["PUT"])
@blp.arguments(StorePriceSchema)
@blp.response(200, CatalogItemOutSchema)
@requires("catalog.manage")
def set_store_price(data, item_id):
    """Give a store its own price for the item (`price: null` goes back to the list price there)."""
    item = _item(item_id)
    store = get_store(api_user(), data["store_id"])
    if store is None:
        unprocessable(ValidationError({"store_id": ["Choose one of your stores."]}))
    try:
        price = None if data["price"] is None else ItemSchema().fields["list_price"].deserialize(str(data["price"]))
        services.set_store_price(item, store, price)
    except ValidationError as err:
        unprocessable(ValidationError({"price": err.messages if isinstance(err.messages, list) else [str(err)]}))
    return _out(item, detail=True)


@blp.route("/categories")
@blp.response(200, CategorySchema(many=True))
@requires("catalog.view")
def list_categories():
    """Every category, parents before children."""
    return [c for c, _depth in services.category_tree()]


@blp.route("/categories", methods=["POST"])
@blp.arguments(CategorySchema)
@blp.response(201, CategorySchema)
@requires("catalog.manage")
def create_category(data):
    try:
        return services.create_category(data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/categories/<int:category_id>", methods=["PATCH"])
@blp.arguments(CategorySchema(partial=True))
@blp.response(200, CategorySchema)
@requires("catalog.manage")
def update_category(data, category_id):
    category = get_scoped(Category, category_id)
    if category is None:
        abort(404)
    loaded = patch_load(CategorySchema(), CategorySchema().dump(category))
    try:
        return services.update_category(category, loaded)
    except ValidationError as err:
        unprocessable(err)
