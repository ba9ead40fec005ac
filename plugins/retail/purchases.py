"""Purchases at a till (API with Idempotency-Key): a commerce order with its payments, then points, coupon, stored
value and the member's tier. No points on what was paid with stored value or points, on gifts, or on top-ups (those
are not purchases at all)."""
from dataclasses import dataclass
from decimal import Decimal

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from storecrm.sdk import (AUTOMATION, BoundedDecimal, RecordEvent, Store, Trimmed, create_sales_document,
                          confirm_order, db, document_totals, emit_event, get_catalog_item, get_scoped,
                          get_sales_order, get_user, money, record_audit, record_order_payment, record_order_refund,
                          set_order_discount, order_lines,
                          tenant_today)

from . import coupons, points, tiers, wallet
from .labels import TILL_METHODS
from .members import by_number, customer_of
from .models import Purchase


@dataclass(frozen=True)
class Purchased(RecordEvent):
    """A member bought at a till: rules with the trigger `retail.purchased` run on the customer."""


class LineIn(Schema):
    item_id = fields.Integer(load_default=None, allow_none=True, strict=False)
    description = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=300))
    quantity = BoundedDecimal(load_default=Decimal(1), as_string=True, validate=validate.Range(min=Decimal("0.001"), max=99999))
    unit_price = BoundedDecimal(load_default=None, allow_none=True, as_string=True, validate=validate.Range(min=0, max=10**9))


class PurchaseIn(Schema):
    member_no = Trimmed(required=True, validate=validate.Length(max=20))
    store_id = fields.Integer(required=True, strict=False)
    staff_id = fields.Integer(load_default=None, allow_none=True, strict=False)
    lines = fields.List(fields.Nested(LineIn), required=True, validate=validate.Length(min=1, max=200))
    coupon_code = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=16))
    stored_value = BoundedDecimal(load_default=Decimal(0), as_string=True, validate=validate.Range(min=0, max=10**9))
    method = fields.String(load_default="wechat_pay", validate=validate.OneOf(TILL_METHODS))


def _line_data(i, line):
    if line["item_id"] is not None:
        item = get_catalog_item(line["item_id"])
        if item is None:
            raise ValidationError({f"lines.{i}.item_id": [_("Choose one of the listed options.")]})
        out = {"item_id": item.id, "quantity": str(line["quantity"])}
        if line["unit_price"] is not None:
            out["unit_price"] = str(line["unit_price"])
        return out
    if not line["description"] or line["unit_price"] is None:
        raise ValidationError({f"lines.{i}.description": [_("Give an item or a description with a price.")]})
    return {"description": line["description"], "quantity": str(line["quantity"]),
            "unit_price": str(line["unit_price"]), "tax_rate": "0"}


def record_purchase(user, raw: dict, *, request_key: str | None = None, today=None) -> Purchase:
    if request_key:
        again = db.session.scalar(select(Purchase).where(Purchase.request_key == request_key))
        if again is not None:
            return again
    data = PurchaseIn().load(raw)
    member = by_number(data["member_no"])
    if member is None:
        raise ValidationError({"member_no": [_("No member has this number.")]})
    store = get_scoped(Store, data["store_id"])
    if store is None:
        raise ValidationError({"store_id": [_("Choose one of the listed options.")]})
    staff = get_user(data["staff_id"]) if data["staff_id"] else (None if user is AUTOMATION else user)
    if data["staff_id"] and staff is None:
        raise ValidationError({"staff_id": [_("Choose one of the listed options.")]})
    today = today or tenant_today()
    lines = [_line_data(i, line) for i, line in enumerate(data["lines"])]
    tier = tiers.tier_named(member.tier_code)
    order = create_sales_document(AUTOMATION if user is AUTOMATION else user, "order", customer_id=member.customer_id,
                                  store_id=store.id, lines=lines)
    subtotal = document_totals(order)["total"]
    target = subtotal * (1 - (tier.discount_pct if tier else Decimal(0)) / 100)
    coupon = None
    if data["coupon_code"]:
        coupon = coupons.by_code(data["coupon_code"])
        coupons.check_usable(coupon, member, subtotal, today)
        target -= coupons.discount_for(coupon, money(target))
    if 0 < subtotal and money(target) < subtotal:
        pct = ((subtotal - money(max(target, Decimal(0)))) * 100 / subtotal).quantize(Decimal("0.01"))
        set_order_discount(AUTOMATION, order, pct)
    purchase = Purchase(member_id=member.id, order_id=order.id, store_id=store.id,
                        staff_id=getattr(staff, "id", None), request_key=request_key, amount=Decimal(0),
                        method=data["method"], lines=[])
    db.session.add(purchase)
    db.session.flush()
    return _settle(user, purchase, order, member, data, coupon, today)


def _settle(user, purchase, order, member, data, coupon, today) -> Purchase:
    totals = document_totals(order)
    total = totals["total"]
    from_card = money(min(data["stored_value"], total))
    if data["stored_value"] > total:
        raise ValidationError({"stored_value": [_("More than the amount to pay (%(n)s).", n=total)]})
    if coupon is not None and not coupons.claim(coupon, purchase_id=purchase.id, store_id=purchase.store_id):
        raise ValidationError({"coupon_code": [_("This coupon has already been used.")]})
    confirm_order(AUTOMATION, order)
    if from_card:
        wallet.spend(member.id, from_card, purchase_id=purchase.id, store_id=purchase.store_id)
        record_order_payment(AUTOMATION, order, "stored_value", from_card, reference=member.member_no)
    rest = total - from_card
    if rest > 0:
        record_order_payment(AUTOMATION, order, data["method"], rest)
    # points: on the money part only, line by line (a category may earn its own rate); gifts are not lines
    lines = [(_category(line.item_id), line.amount - line.header_discount) for line in order_lines(order)]
    fraction = (rest / total) if total > 0 else Decimal(0)
    tier = tiers.tier_named(member.tier_code)
    earned = points.points_for(lines, eligible_fraction=fraction, today=today,
                               tier_multiplier=tier.points_multiplier if tier else Decimal(1))
    purchase.amount, purchase.paid_stored_value, purchase.paid_other = total, from_card, rest
    purchase.discount = totals["discount_total"]
    purchase.coupon_id = coupon.id if coupon is not None else None
    purchase.points_earned = earned
    purchase.lines = [{"category_id": c, "amount": str(a)} for c, a in lines]
    db.session.flush()
    points.earn(member.id, earned, purchase_id=purchase.id, today=today)
    tiers.upgrade_now(member.id, today=today)
    customer = customer_of(member)
    record_audit("create", "retail_purchase", purchase.id, f"{member.member_no} {total}")
    emit_event(Purchased("customer", customer, "retail.purchased", {"amount": [None, str(total)]}))
    return purchase


def _category(item_id):
    item = get_catalog_item(item_id) if item_id else None
    return item.category_id if item is not None else None


def refund(user, purchase: Purchase, amount, note: str, *, request_key: str | None = None, returns=None) -> Purchase:
    """Give back part or all of a purchase: the money to where it came from (the other method first, then the
    card), and the points it earned in proportion (see points.py for when they were already spent)."""
    amount = money(amount)
    left = purchase.amount - purchase.refunded
    if amount <= 0 or amount > left:
        raise ValidationError({"amount": [_("You can refund at most what was paid (%(paid)s).", paid=left)]})
    order = get_sales_order(purchase.order_id)
    refunded_other = min(purchase.paid_other, purchase.refunded)
    to_other = min(amount, purchase.paid_other - refunded_other)
    to_card = amount - to_other
    if to_other:
        record_order_refund(user, order, purchase.method, to_other, note, request_key=request_key, returns=returns)
    if to_card:
        record_order_refund(user, order, "stored_value", to_card, note,
                            request_key=f"{request_key}-card" if request_key else None,
                            returns=None if to_other else returns)
        wallet.credit_back(purchase.member_id, to_card, purchase_id=purchase.id, store_id=purchase.store_id)
    before = purchase.refunded
    purchase.refunded = before + amount
    if purchase.amount > 0 and purchase.points_earned:
        # points owed back so far for what has been refunded in total, minus what earlier refunds took
        owed = int(purchase.points_earned * purchase.refunded / purchase.amount)
        taken = int(purchase.points_earned * before / purchase.amount)
        points.reverse(purchase.member_id, owed - taken, purchase_id=purchase.id, note=note[:200])
    db.session.flush()
    record_audit("update", "retail_purchase", purchase.id, f"refund {amount}")
    return purchase


def lines_for(purchase: Purchase) -> list:
    """The order lines of a purchase (what a return picks from)."""
    return order_lines(get_sales_order(purchase.order_id))


def get_purchase(purchase_id) -> Purchase | None:
    return get_scoped(Purchase, purchase_id)


def purchases_of(member_id, limit=30):
    return list(db.session.scalars(select(Purchase).where(Purchase.member_id == member_id)
                                   .order_by(Purchase.id.desc()).limit(limit)))


def recent(limit=50):
    return list(db.session.scalars(select(Purchase).order_by(Purchase.id.desc()).limit(limit)))
