from flask import abort
from flask_smorest import Blueprint
from marshmallow import Schema, ValidationError, fields

from ...auth import services
from ..auth import api_user
from ..common import unprocessable
from ...web.idempotency import withhold_from_replay

blp = Blueprint("api_tokens", __name__, url_prefix="/tokens", description="Your personal API tokens")


class TokenSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    hint = fields.String()
    created_at = fields.DateTime()
    last_used_at = fields.DateTime(allow_none=True)
    revoked_at = fields.DateTime(allow_none=True)


class TokenCreateSchema(Schema):
    name = fields.String(required=True)


class TokenCreatedSchema(TokenSchema):
    token = fields.String(metadata={"description": "The token itself; shown this once only."})


@blp.route("")
@blp.response(200, TokenSchema(many=True))
def list_tokens():
    return services.list_tokens(api_user())


@blp.route("", methods=["POST"])
@blp.arguments(TokenCreateSchema)
@blp.response(201, TokenCreatedSchema)
def create_token(data):
    try:
        token, plain = services.create_token(api_user(), data["name"])
    except ValidationError as err:
        unprocessable(err)
    withhold_from_replay("token")
    return {**{name: getattr(token, name) for name in TokenSchema().fields}, "token": plain}


@blp.route("/<int:token_id>", methods=["DELETE"])
@blp.response(204)
def revoke_token(token_id):
    if services.revoke_token(api_user(), token_id) is None:
        abort(404)
