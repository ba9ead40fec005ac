"""Remedies issued from a complaint itself: a coupon (one of the coupon templates), a refund of one of the member's
purchases (the commerce core's refund of the order's payments; the points it earned are clawed back by the rule in
points.py) or a return of its goods (the same refund for the returned lines, their stock back in the store when they
were catalog goods handed over). Each is recorded on the complaint with a history line and an audit entry, in the
caller's one transaction: when the refund is refused, no remedy, no history and no coupon are written."""
from decimal import ROUND_HALF_UP, Decimal

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from storecrm.sdk import (BoundedDecimal, Trimmed, db, get_sales_order, money, order_lines, record_audit, utcnow)

from . import coupons, points, purchases
from .complaints import lock
from .members import member_of_customer
from .models import ComplaintEvent, ComplaintRemedy, Coupon, CouponTemplate

KINDS = {"coupon": _l("Coupon"), "refund": _l("Refund"), "return": _l("Return of goods")}


class ReturnLineIn(Schema):
    line_id = fields.Integer(required=True, strict=False)
    quantity = BoundedDecimal(required=True, as_string=True, validate=validate.Range(min=Decimal("0.001"), max=99999))


class RemedyIn(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(list(KINDS), error=_l("Choose one of the listed options.")))
    template = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=20))
    purchase_id = fields.Integer(load_default=None, allow_none=True, strict=False)
    amount = BoundedDecimal(load_default=None, allow_none=True, as_string=True,
                            validate=validate.Range(min=Decimal("0.01"), max=10**9))
    lines = fields.List(fields.Nested(ReturnLineIn), load_default=list, validate=validate.Length(max=200))
    note = Trimmed(required=True, validate=validate.Length(min=1, max=200))


def _purchase(member, purchase_id):
    purchase = purchases.get_purchase(purchase_id) if purchase_id else None
    if purchase is None or member is None or purchase.member_id != member.id:
        raise ValidationError({"purchase_id": [_("Choose one of this member's purchases.")]})
    return purchase


def _returned_lines(purchase, wanted):
    """[(line, quantity, amount)] of the lines coming back; the amount is what the line cost after discounts."""
    by_id = {line.id: line for line in order_lines(get_sales_order(purchase.order_id))}
    out = []
    for i, want in enumerate(wanted):
        line = by_id.get(want["line_id"])
        if line is None:
            raise ValidationError({f"lines.{i}.line_id": [_("Choose a line of this purchase.")]})
        if want["quantity"] > line.quantity:
            raise ValidationError({f"lines.{i}.quantity": [_("More than was bought on this line.")]})
        paid = (line.amount - line.header_discount) * want["quantity"] / line.quantity
        out.append((line, want["quantity"], paid.quantize(Decimal("0.01"), rounding=ROUND_HALF_UP)))
    if not out:
        raise ValidationError({"lines": [_("Choose the lines that come back.")]})
    return out


def issue(user, complaint, raw: dict) -> ComplaintRemedy:
    data = RemedyIn().load(raw)
    complaint = lock(complaint.id)
    if complaint.status == "resolved":
        raise ValidationError({"kind": [_("This complaint is resolved.")]})
    member = member_of_customer(complaint.customer_id)
    if member is None:
        raise ValidationError({"kind": [_("The customer is not a member.")]})
    remedy = ComplaintRemedy(complaint_id=complaint.id, kind=data["kind"], note=data["note"], points_reversed=0,
                             returned=[], user_id=getattr(user, "id", None), at=utcnow())
    if data["kind"] == "coupon":
        coupon = coupons.issue(member, data["template"] or "", issued_by="staff")
        remedy.coupon_id, summary = coupon.id, coupon.code
    else:
        purchase = _purchase(member, data["purchase_id"])
        returns = None
        if data["kind"] == "return":
            lines = _returned_lines(purchase, data["lines"])
            amount = money(sum((paid for _line, _q, paid in lines), Decimal(0)))
            # goods handed over from stock go back to it; free-text lines (no catalog item) have no stock to return
            returns = [{"line_id": line.id, "quantity": q} for line, q, _p in lines
                       if line.item_id is not None and line.fulfilled_quantity >= q] or None
            remedy.returned = [{"line_id": line.id, "description": line.description, "quantity": str(q)}
                               for line, q, _p in lines]
        else:
            if data["amount"] is None:
                raise ValidationError({"amount": [_("Enter the amount to refund.")]})
            amount = money(data["amount"])
        before = points.lock(member.id).points_balance
        purchases.refund(user, purchase, amount, data["note"], returns=returns)
        remedy.purchase_id, remedy.amount = purchase.id, amount
        remedy.points_reversed = before - points.lock(member.id).points_balance
        summary = f"{purchase.id}: {amount}"
    db.session.add(remedy)
    db.session.flush()
    db.session.add(ComplaintEvent(complaint_id=complaint.id, kind="remedy", user_id=remedy.user_id,
                                  note=f"{summary} — {data['note']}"[:2000]))
    record_audit("create", "retail_complaint_remedy", remedy.id, f"complaint {complaint.id}: {data['kind']} {summary}")
    db.session.flush()
    return remedy


def remedies_of(complaint_id) -> list[ComplaintRemedy]:
    return list(db.session.scalars(select(ComplaintRemedy).where(ComplaintRemedy.complaint_id == complaint_id)
                                   .order_by(ComplaintRemedy.id)))


def coupon_names(rows) -> dict[int, str]:
    """{coupon id: "template name · code"} of the coupons given as remedies in `rows` (one query)."""
    ids = [r.coupon_id for r in rows if r.coupon_id]
    if not ids:
        return {}
    found = db.session.execute(select(Coupon.id, Coupon.code, CouponTemplate.name).join(
        CouponTemplate, (CouponTemplate.tenant_id == Coupon.tenant_id) & (CouponTemplate.id == Coupon.template_id))
        .where(Coupon.id.in_(ids))).all()
    return {cid: f"{name} · {code}" for cid, code, name in found}
