from flask_smorest import Blueprint, abort
from marshmallow import ValidationError

from ...notifications import webhooks
from ...notifications.outbox import replay
from ...notifications.schemas import DeliverySchema, WebhookEndpointSchema
from ..auth import requires
from ..common import patch_load, unprocessable
from ...web.idempotency import withhold_from_replay

blp = Blueprint("api_webhooks", __name__, url_prefix="/webhooks",
                description="Outbound webhooks: signed JSON events to your systems, with a delivery log")


def _endpoint(endpoint_id):
    endpoint = webhooks.get_endpoint(endpoint_id)
    if endpoint is None:
        abort(404)
    return endpoint


@blp.route("")
@blp.response(200, WebhookEndpointSchema(many=True))
@requires("webhooks.manage")
def list_webhooks():
    return webhooks.endpoints()


@blp.route("", methods=["POST"])
@blp.arguments(WebhookEndpointSchema)
@blp.response(201, WebhookEndpointSchema)
@requires("webhooks.manage")
def create_webhook(data):
    """The answer carries the signing secret; the `StoreCRM-Signature` header of each delivery is
    `t=<unix time>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`."""
    withhold_from_replay("secret")
    try:
        return webhooks.create_endpoint(data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/<int:endpoint_id>")
@blp.response(200, WebhookEndpointSchema)
@requires("webhooks.manage")
def get_webhook(endpoint_id):
    return _endpoint(endpoint_id)


@blp.route("/<int:endpoint_id>", methods=["PATCH"])
@blp.arguments(WebhookEndpointSchema(partial=True))
@blp.response(200, WebhookEndpointSchema)
@requires("webhooks.manage")
def update_webhook(data, endpoint_id):
    endpoint = _endpoint(endpoint_id)
    loaded = patch_load(WebhookEndpointSchema(), WebhookEndpointSchema().dump(endpoint))
    try:
        return webhooks.update_endpoint(endpoint, loaded)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/<int:endpoint_id>", methods=["DELETE"])
@blp.response(204)
@requires("webhooks.manage")
def delete_webhook(endpoint_id):
    webhooks.delete_endpoint(_endpoint(endpoint_id))


@blp.route("/<int:endpoint_id>/deliveries")
@blp.response(200, DeliverySchema(many=True))
@requires("webhooks.manage")
def list_deliveries(endpoint_id):
    """The latest 50 deliveries, newest first, with their status, attempts and the endpoint's answer."""
    return webhooks.deliveries(_endpoint(endpoint_id))


@blp.route("/<int:endpoint_id>/deliveries/<int:delivery_id>/replay", methods=["POST"])
@blp.response(202, DeliverySchema)
@requires("webhooks.manage")
def replay_delivery(endpoint_id, delivery_id):
    delivery = webhooks.get_delivery(_endpoint(endpoint_id), delivery_id)
    if delivery is None:
        abort(404)
    replay(delivery)
    return delivery


@blp.route("/<int:endpoint_id>/ping", methods=["POST"])
@blp.response(202)
@requires("webhooks.manage")
def ping_webhook(endpoint_id):
    webhooks.ping(_endpoint(endpoint_id))
