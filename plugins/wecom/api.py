"""REST API under /api/v1/wecom: staff bindings to WeCom UserIDs (list, create or update, delete) and the app
messages sent to staff (keyset pages, filters). Permission `wecom.manage`, as the page."""
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from storecrm.sdk import (ChannelDeliveryArgs, ChannelDeliveryOut, ChannelDeliveryPage, User, api_user,
                          channel_deliveries, channel_delivery, db, get_scoped, unprocessable)
from storecrm.sdk import api_requires as requires

from . import services
from .models import Binding

blp = Blueprint("api_wecom", __name__, url_prefix="/wecom", description="WeCom (企业微信) staff messages")


class WecomBindingOut(Schema):
    user_id = fields.Integer(metadata={"description": "the staff member"})
    wecom_userid = fields.String(metadata={"description": "their 企业微信 UserID"})
    created_at = fields.DateTime()


class WecomBindingIn(Schema):
    # checked in the view once the staff member is found: another tenant's id answers 404 whatever the body
    wecom_userid = fields.String(load_default=None, validate=validate.Length(min=1, max=64),
                                 metadata={"description": "required"})


def _staff(user_id: int):
    staff = get_scoped(User, user_id)
    if staff is None:
        abort(404)
    return staff


@blp.route("/bindings")
@blp.response(200, WecomBindingOut(many=True))
@requires("wecom.manage")
def list_bindings():
    return list(db.session.scalars(select(Binding).order_by(Binding.user_id)))


@blp.route("/bindings/<int:user_id>", methods=["PUT"])
@blp.arguments(WecomBindingIn)
@blp.response(200, WecomBindingOut)
@requires("wecom.manage")
def put_binding(data, user_id):
    """Bind staff member `user_id` to a WeCom UserID (or change it); 422 when the UserID is bad or taken."""
    staff = _staff(user_id)
    if not data.get("wecom_userid"):
        unprocessable(ValidationError({"wecom_userid": [_("Missing data for required field.")]}))
    try:
        return services.bind(api_user(), staff.id, data["wecom_userid"])
    except ValidationError as err:
        unprocessable(ValidationError({"wecom_userid": [m for ms in err.messages.values() for m in ms]}))


@blp.route("/bindings/<int:user_id>", methods=["DELETE"])
@blp.response(204)
@requires("wecom.manage")
def delete_binding(user_id):
    staff = _staff(user_id)
    if services.bindings().get(staff.id) is None:
        abort(404)
    services.bind(api_user(), staff.id, "")


@blp.route("/deliveries")
@blp.arguments(ChannelDeliveryArgs, location="query")
@blp.response(200, ChannelDeliveryPage)
@requires("wecom.manage")
def list_deliveries(args):
    """App messages to staff, newest first; keyset paging with `after_id`; filters status, recipient (UserID),
    template, since, until."""
    return channel_deliveries("wecom", args)


@blp.route("/deliveries/<int:message_id>")
@blp.response(200, ChannelDeliveryOut)
@requires("wecom.manage")
def get_delivery(message_id):
    message = channel_delivery("wecom", message_id)
    if message is None:
        abort(404)
    return message
