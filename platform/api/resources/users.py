from flask import abort
from flask_smorest import Blueprint
from marshmallow import ValidationError

from ...users import services
from ...users.schemas import UserOutSchema, UserSchema
from ..auth import api_user, requires
from ..common import PageArgs, page_schema, paged, unprocessable

blp = Blueprint("api_users", __name__, url_prefix="/users", description="Staff accounts")


@blp.route("")
@blp.arguments(PageArgs, location="query")
@blp.response(200, page_schema(UserOutSchema))
@requires("users.view")
def list_users(args):
    users = services.list_users(api_user())
    start = (args["page"] - 1) * args["per_page"]
    return paged(users[start:start + args["per_page"]], len(users), args)


@blp.route("", methods=["POST"])
@blp.arguments(UserSchema)
@blp.response(201, UserOutSchema)
@requires("users.manage")
def create_user(data):
    try:
        return services.create_user(data, api_user())
    except ValidationError as err:
        unprocessable(err)


@blp.route("/<int:user_id>")
@blp.response(200, UserOutSchema)
@requires("users.view")
def get_user(user_id):
    user = services.get_user(user_id)
    if user is None:
        abort(404)
    return user
