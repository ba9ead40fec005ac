from flask import abort
from flask_smorest import Blueprint
from marshmallow import ValidationError

from ...stores import services
from ...stores.schemas import StoreSchema
from ..auth import api_user, requires
from ..common import PageArgs, page_schema, paged, patch_load, unprocessable

blp = Blueprint("api_stores", __name__, url_prefix="/stores", description="Stores (门店)")


@blp.route("")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(StoreSchema))
@requires("stores.view")
def list_stores(args):
    """Stores the token's user may see."""
    stores = services.stores_visible_to(api_user())
    start = (args["page"] - 1) * args["per_page"]
    return paged(stores[start:start + args["per_page"]], len(stores), args)


@blp.route("", methods=["POST"])
@blp.arguments(StoreSchema)
@blp.response(201, StoreSchema)
@requires("stores.manage")
def create_store(data):
    try:
        return services.create_store(data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/<int:store_id>")
@blp.response(200, StoreSchema)
@requires("stores.view")
def get_store(store_id):
    store = services.get_store(api_user(), store_id)
    if store is None:
        abort(404)
    return store


@blp.route("/<int:store_id>", methods=["PATCH"])
@blp.arguments(StoreSchema(partial=True))
@blp.response(200, StoreSchema)
@requires("stores.manage")
def update_store(data, store_id):
    store = services.get_store(api_user(), store_id)
    if store is None:
        abort(404)
    try:
        return services.update_store(store, patch_load(StoreSchema(), StoreSchema().dump(store)))
    except ValidationError as err:
        unprocessable(err)
