from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields

from storecrm.sdk import api_requires as requires, unprocessable

from . import services

blp = Blueprint("api_carwash", __name__, url_prefix="/carwash", description="Car washes")


class WashSchema(Schema):
    id = fields.Integer(dump_only=True)
    customer_id = fields.Integer(required=True, strict=False)
    wash_type = fields.String(required=True)
    price = fields.Decimal(dump_only=True, as_string=True)
    free = fields.Boolean(dump_only=True)
    washed_at = fields.DateTime(dump_only=True)


@blp.route("/washes")
@blp.response(200, WashSchema(many=True))
@requires("carwash.view")
def list_washes():
    return [wash for wash, _name in services.recent_washes()]


@blp.route("/washes", methods=["POST"])
@blp.arguments(WashSchema)
@blp.response(201, WashSchema)
@requires("carwash.record")
def create_wash(data):
    try:
        return services.record_wash(data["customer_id"], data["wash_type"])
    except ValidationError as err:
        unprocessable(err)


@blp.route("/washes/<int:wash_id>")
@blp.response(200, WashSchema)
@requires("carwash.view")
def get_wash(wash_id):
    wash = services.get_wash(wash_id)
    if wash is None:
        abort(404)
    return wash
