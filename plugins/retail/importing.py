"""The daily purchase file from tills that cannot call the API: one row per receipt, imported through the core's
import wizard (upload, mapping, preview, background job). The receipt number is the natural key: a file imported twice
adds nothing. A row earns points dated on its own day (the batch expires counted from then)."""
from datetime import datetime, time
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates
from sqlalchemy import or_, select

from storecrm.sdk import AUTOMATION, BoundedDecimal, Store, Trimmed, db, tenant_zone

from . import purchases
from .members import by_number
from .models import Purchase

COLUMNS = {"会员号": "member_no", "会员卡号": "member_no", "member no": "member_no", "小票号": "receipt_no",
           "单号": "receipt_no", "receipt": "receipt_no", "门店": "store", "store": "store", "金额": "amount",
           "实收金额": "amount", "amount": "amount", "日期": "bought_on", "消费日期": "bought_on", "date": "bought_on",
           "商品": "description", "品名": "description", "item": "description",
           "支付方式": "method", "method": "method"}
FIELDS = {"member_no": _l("Member number"), "receipt_no": _l("Receipt number"), "store": _l("Store"),
          "amount": _l("Amount"), "bought_on": _l("Date"), "description": _l("Item"), "method": _l("Payment method")}
METHODS = {"现金": "cash", "微信": "wechat_pay", "微信支付": "wechat_pay", "支付宝": "alipay", "银行卡": "bank_card",
           "cash": "cash", "wechat_pay": "wechat_pay", "alipay": "alipay", "bank_card": "bank_card"}


def _store(value):
    value = (value or "").strip()
    return db.session.scalar(select(Store).where(or_(Store.code == value, Store.name == value)))


class PurchaseRow(Schema):
    member_no = Trimmed(required=True, metadata={"label": _l("Member number")})
    receipt_no = Trimmed(required=True, validate=validate.Length(min=1, max=60), metadata={"label": _l("Receipt number")})
    store = Trimmed(required=True, metadata={"label": _l("Store")})
    amount = BoundedDecimal(required=True, places=2, validate=validate.Range(min=Decimal("0.01"), max=10**8),
                            metadata={"label": _l("Amount")})
    bought_on = fields.Date(required=True, metadata={"label": _l("Date")})
    description = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=300))
    method = Trimmed(load_default=None, allow_none=True)

    @validates("member_no")
    def _member(self, value, **_kw):
        if by_number(value) is None:
            raise ValidationError(_l("No member has this number."))

    @validates("store")
    def _known_store(self, value, **_kw):
        if _store(value) is None:
            raise ValidationError(_l("Choose one of the listed options."))

    @validates("method")
    def _method(self, value, **_kw):
        if value and value not in METHODS:
            raise ValidationError(_l("Choose one of the listed options."))


def import_purchase(user, data) -> str:
    key = f"import:{data['receipt_no']}"
    if db.session.scalar(select(Purchase.id).where(Purchase.request_key == key)):
        return "updated"                                  # already in: nothing doubles
    purchase = purchases.record_purchase(AUTOMATION, {
        "member_no": data["member_no"], "store_id": _store(data["store"]).id,
        "method": METHODS.get(data.get("method") or "", "cash"),
        "lines": [{"description": data.get("description") or str(_l("Item")), "unit_price": str(data["amount"])}]},
        request_key=key, today=data["bought_on"])
    purchase.at = datetime.combine(data["bought_on"], time(12), tzinfo=tenant_zone())
    db.session.flush()
    return "created"
