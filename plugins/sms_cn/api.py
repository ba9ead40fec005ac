"""REST API under /api/v1/sms-cn: the texts handed to Aliyun / Tencent Cloud with their carrier receipts (keyset
pages, filters), one delivery, and a test text. Permission `sms_cn.manage`, as the admin page."""
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select

from storecrm.sdk import (PageArgs, api_requires as requires, api_user, db, get_scoped, keyset_page, normalize_phone,
                          page_schema, paged, unprocessable)

from . import services
from .errors import describe
from .models import Delivery

blp = Blueprint("api_sms_cn", __name__, url_prefix="/sms-cn", description="SMS (China): Aliyun and Tencent Cloud")


def _reason(delivery) -> str | None:
    if delivery.status != "failed" and not delivery.error_code:
        return None
    text = describe(delivery.error_code, delivery.error_text)
    return text.zh if str(get_locale() or "zh_CN").startswith("zh") else text.en


class SmsDeliveryOut(Schema):
    id = fields.Integer()
    message_id = fields.Integer(allow_none=True, metadata={"description": "the outbox message (none: a test text)"})
    provider = fields.String(metadata={"description": "aliyun or tencent"})
    phone = fields.String()
    template = fields.String(metadata={"description": "the message template code"})
    provider_message_id = fields.String(allow_none=True)
    status = fields.String(metadata={"description": "submitted, delivered or failed"})
    error_code = fields.String(allow_none=True)
    reason = fields.Function(_reason, allow_none=True, metadata={"description": "the error, in the user's language"})
    created_at = fields.DateTime()
    reported_at = fields.DateTime(allow_none=True, metadata={"description": "when the carrier's receipt arrived"})


class SmsDeliveryArgs(PageArgs):
    after_id = fields.Integer(load_default=None, allow_none=True,
                              metadata={"description": "the last id of the previous page (newest first)"})
    status = fields.String(load_default=None, allow_none=True,
                           validate=validate.OneOf(("submitted", "delivered", "failed")))
    phone = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=40))
    template = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=60))
    provider = fields.String(load_default=None, allow_none=True, validate=validate.OneOf(("aliyun", "tencent")))


class SmsTestIn(Schema):
    phone = fields.String(required=True, validate=validate.Length(min=1, max=40))
    template = fields.String(required=True, validate=validate.Length(min=1, max=60),
                             metadata={"description": "a mapped message template code, e.g. appointment.code"})


@blp.route("/deliveries")
@blp.arguments(SmsDeliveryArgs, location="query")
@blp.response(200, page_schema(SmsDeliveryOut))
@requires("sms_cn.manage")
def list_deliveries(args):
    """Texts handed to the provider, newest first; keyset paging with `after_id`."""
    query = select(Delivery)
    if args.get("status"):
        query = query.where(Delivery.status == args["status"])
    if args.get("provider"):
        query = query.where(Delivery.provider == args["provider"])
    if args.get("template"):
        query = query.where(Delivery.template == args["template"].strip())
    if args.get("phone"):
        try:
            query = query.where(Delivery.phone == normalize_phone(args["phone"]))
        except ValidationError:
            unprocessable(ValidationError({"phone": [_("Enter a valid mobile number.")]}))
    total = db.session.scalar(select(func.count()).select_from(query.subquery()))
    page = keyset_page(query, Delivery, Delivery.id, True, args.get("after_id"))
    return paged(list(db.session.scalars(page.limit(args["per_page"]))), total, args)


@blp.route("/deliveries/<int:delivery_id>")
@blp.response(200, SmsDeliveryOut)
@requires("sms_cn.manage")
def get_delivery(delivery_id):
    delivery = get_scoped(Delivery, delivery_id)
    if delivery is None:
        abort(404)
    return delivery


@blp.route("/test", methods=["POST"])
@blp.arguments(SmsTestIn)
@blp.response(201, SmsDeliveryOut)
@requires("sms_cn.manage")
def test_send(data):
    """A test text straight to the provider; 422 with the provider's error (in Chinese) when it refuses."""
    try:
        try:
            phone = normalize_phone(data["phone"])
        except ValidationError:
            raise ValidationError({"phone": [_("Enter a valid mobile number.")]}) from None
        return services.test_send(api_user(), phone, data["template"].strip())
    except ValidationError as err:
        unprocessable(err)
