from flask_smorest import Blueprint, abort
from marshmallow import Schema, fields, validate

from ...notifications import services
from ..auth import api_user

blp = Blueprint("api_notifications", __name__, url_prefix="/notifications",
                description="The signed-in user's in-app notifications (the bell)")


class NotificationSchema(Schema):
    id = fields.Integer()
    title = fields.String()
    body = fields.String(allow_none=True)
    url = fields.String(allow_none=True)
    read_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class NotificationListArgs(Schema):
    unread = fields.Boolean(load_default=False)
    before_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=2**63 - 1))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


class NotificationPage(Schema):
    items = fields.List(fields.Nested(NotificationSchema))
    unread = fields.Integer(metadata={"description": "how many are unread in all"})
    next_before_id = fields.Integer(allow_none=True)


@blp.route("")
@blp.arguments(NotificationListArgs, location="query")
@blp.response(200, NotificationPage)
def list_notifications(args):
    """Newest first; pass `next_before_id` back as `before_id` for older ones."""
    user = api_user()
    items = services.notifications_of(user, unread_only=args["unread"], before_id=args["before_id"],
                                      limit=args["per_page"])
    return {"items": items, "unread": services.unread_count(user),
            "next_before_id": items[-1].id if len(items) == args["per_page"] else None}


@blp.route("/<int:notification_id>/read", methods=["POST"])
@blp.response(200, NotificationSchema)
def read_one(notification_id):
    item = services.get_own(api_user(), notification_id)
    if item is None:
        abort(404)
    services.mark_read(item)
    return item


class ReadAllSchema(Schema):
    marked = fields.Integer()


@blp.route("/read-all", methods=["POST"])
@blp.response(200, ReadAllSchema)
def read_all():
    return {"marked": services.mark_all_read(api_user())}
