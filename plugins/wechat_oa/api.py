"""REST API under /api/v1/wechat-oa: the followers bound to customers, the mapping of message templates to WeChat
template / subscribe messages (list, create, update, delete), and the messages sent (keyset pages, filters).
Permission `wechat_oa.manage`, as the page."""
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select

from storecrm.sdk import (ChannelDeliveryArgs, ChannelDeliveryOut, ChannelDeliveryPage, PageArgs,
                          channel_deliveries, channel_delivery, db, keyset_page, page_schema, paged, unprocessable)
from storecrm.sdk import api_requires as requires

from . import mappings
from .models import Follower
from .template_map import MODES, Mapping

blp = Blueprint("api_wechat_oa", __name__, url_prefix="/wechat-oa", description="WeChat Official Account (公众号)")
FIELD = r"^[A-Za-z0-9_]{1,32}$"
PARAM = r"^[A-Za-z0-9_]{1,64}$"


class WechatFollowerOut(Schema):
    id = fields.Integer()
    openid = fields.String()
    customer_id = fields.Integer(allow_none=True)
    subscribed = fields.Boolean(metadata={"description": "follows the account now"})
    bound_at = fields.DateTime(allow_none=True)
    subscribed_at = fields.DateTime(allow_none=True)
    unsubscribed_at = fields.DateTime(allow_none=True)


class WechatFollowerArgs(PageArgs):
    after_id = fields.Integer(load_default=None, allow_none=True)
    bound = fields.Boolean(load_default=None, allow_none=True, metadata={"description": "bound to a customer or not"})
    customer_id = fields.Integer(load_default=None, allow_none=True)


class WechatMappingOut(Schema):
    code = fields.String(metadata={"description": "the message template code, e.g. retail.topup"})
    mode = fields.String(metadata={"description": "template, subscribe (one-time) or subscribe_long"})
    template_id = fields.String()
    fields_ = fields.Dict(keys=fields.String(), values=fields.String(), data_key="fields",
                          attribute="fields", metadata={"description": "WeChat data field → parameter"})


class WechatMappingIn(Schema):
    mode = fields.String(load_default="template", validate=validate.OneOf(MODES))
    # required, but checked in the view once the mapping is found: another tenant's code answers 404 whatever the body
    template_id = fields.String(load_default=None, validate=validate.Regexp(r"^[A-Za-z0-9_\-]{1,64}$"),
                                metadata={"description": "required"})
    fields_ = fields.Dict(keys=fields.String(validate=validate.Regexp(FIELD)),
                          values=fields.String(validate=validate.Regexp(PARAM)), data_key="fields",
                          attribute="fields", load_default=dict)


class WechatMappingCreate(WechatMappingIn):
    code = fields.String(required=True, validate=validate.Regexp(r"^[a-z0-9_.\-]{1,80}$"))

    @validates_schema
    def _new(self, data, **kwargs):
        if not data.get("template_id"):
            raise ValidationError({"template_id": [_("Missing data for required field.")]})
        if data.get("code") in mappings.all_mappings():
            raise ValidationError({"code": [_("This message template is mapped already: update it instead.")]})


def _out(code: str, mapping: Mapping) -> dict:
    return {"code": code, "mode": mapping.mode, "template_id": mapping.template_id, "fields": mapping.fields}


def _mapping(code: str) -> Mapping:
    found = mappings.all_mappings().get(code)
    if found is None:
        abort(404)
    return found


@blp.route("/bindings")
@blp.arguments(WechatFollowerArgs, location="query")
@blp.response(200, page_schema(WechatFollowerOut))
@requires("wechat_oa.manage")
def list_bindings(args):
    """The account's openids: bound to a customer by web sign-in (`customer_id`, `bound_at`) and/or following the
    account (`subscribed`), newest first; keyset paging with `after_id`; `bound=true` for the bindings only."""
    query = select(Follower)
    if args.get("bound") is not None:
        query = query.where(Follower.customer_id.is_not(None) if args["bound"] else Follower.customer_id.is_(None))
    if args.get("customer_id"):
        query = query.where(Follower.customer_id == args["customer_id"])
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = keyset_page(query, Follower, Follower.id, True, args.get("after_id"))
    return paged(list(db.session.scalars(page.limit(args["per_page"]))), total, args)


@blp.route("/template-mappings")
@blp.response(200, WechatMappingOut(many=True))
@requires("wechat_oa.manage")
def list_mappings():
    return [_out(code, m) for code, m in mappings.all_mappings().items()]


@blp.route("/template-mappings", methods=["POST"])
@blp.arguments(WechatMappingCreate)
@blp.response(201, WechatMappingOut)
@requires("wechat_oa.manage")
def create_mapping(data):
    mapping = Mapping(data["template_id"], data["fields"], data["mode"])
    _save(data["code"], mapping)
    return _out(data["code"], mapping)


@blp.route("/template-mappings/<code>", methods=["GET"])
@blp.response(200, WechatMappingOut)
@requires("wechat_oa.manage")
def get_mapping(code):
    return _out(code, _mapping(code))


@blp.route("/template-mappings/<code>", methods=["PUT"])
@blp.arguments(WechatMappingIn)
@blp.response(200, WechatMappingOut)
@requires("wechat_oa.manage")
def put_mapping(data, code):
    _mapping(code)
    if not data.get("template_id"):
        unprocessable(ValidationError({"template_id": [_("Missing data for required field.")]}))
    mapping = Mapping(data["template_id"], data["fields"], data["mode"])
    _save(code, mapping)
    return _out(code, mapping)


@blp.route("/template-mappings/<code>", methods=["DELETE"])
@blp.response(204)
@requires("wechat_oa.manage")
def delete_mapping(code):
    _mapping(code)
    mappings.remove(code)


def _save(code, mapping):
    try:
        mappings.save(code, mapping)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/deliveries")
@blp.arguments(ChannelDeliveryArgs, location="query")
@blp.response(200, ChannelDeliveryPage)
@requires("wechat_oa.manage")
def list_deliveries(args):
    """Template and subscribe messages, newest first; keyset paging with `after_id`; filters status, recipient
    (openid), template, since, until."""
    return channel_deliveries("wechat", args)


@blp.route("/deliveries/<int:message_id>")
@blp.response(200, ChannelDeliveryOut)
@requires("wechat_oa.manage")
def get_delivery(message_id):
    message = channel_delivery("wechat", message_id)
    if message is None:
        abort(404)
    return message
