"""Coupons: templates (amount off, percent off, gift; minimum spend), unique codes, validity windows; issued by a
rule (`retail.issue_coupon`), a campaign or staff; redeemed exactly once — one conditional UPDATE decides."""
import secrets
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import func, select, update

from storecrm.sdk import BoundedDecimal, Trimmed, db, get_scoped, money, record_audit, send_template, tenant_today, utcnow

from .models import Coupon, CouponTemplate, Member

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"   # no 0/O, 1/I: read aloud at a till


class TemplateSchema(Schema):
    code = Trimmed(required=True, validate=validate.Regexp(r"^[A-Z0-9_]{2,20}$", error=_("Use 2-20 capital letters, digits or _.")))
    name = Trimmed(required=True, validate=validate.Length(min=1, max=60))
    kind = fields.String(required=True, validate=validate.OneOf(["amount", "percent", "gift"]))
    value = BoundedDecimal(load_default=Decimal(0), as_string=True, validate=validate.Range(min=0, max=100000))
    min_spend = BoundedDecimal(load_default=Decimal(0), as_string=True, validate=validate.Range(min=0, max=1000000))
    valid_days = fields.Integer(load_default=30, strict=False, validate=validate.Range(min=1, max=3650))


def save_template(data: dict) -> CouponTemplate:
    data = TemplateSchema().load(data)
    if data["kind"] == "percent" and not (0 < data["value"] < 100):
        raise ValidationError({"value": [_("A percentage between 0 and 100.")]})
    if data["kind"] == "amount" and data["value"] <= 0:
        raise ValidationError({"value": [_("Enter an amount above zero.")]})
    template = template_by_code(data["code"])
    if template is None:
        template = CouponTemplate(**data)
        db.session.add(template)
    else:
        for key, value in data.items():
            setattr(template, key, value)
    db.session.flush()
    record_audit("create", "retail_coupon_template", template.id, template.name)
    return template


def template_by_code(code) -> CouponTemplate | None:
    return db.session.scalar(select(CouponTemplate).where(CouponTemplate.code == str(code or "")))


def templates():
    return list(db.session.scalars(select(CouponTemplate).order_by(CouponTemplate.id)))


def _new_code() -> str:
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(10))
        if not db.session.scalar(select(Coupon.id).where(Coupon.code == code)):
            return code


def issue(member: Member, template_code: str, *, issued_by: str = "staff", campaign_id=None,
          today: date | None = None, notify: bool = True) -> Coupon:
    template = template_by_code(template_code)
    if template is None or not template.active:
        raise ValidationError({"template": [_("Choose one of the listed options.")]})
    today = today or tenant_today()
    coupon = Coupon(template_id=template.id, member_id=member.id, code=_new_code(), valid_from=today,
                    valid_until=today + timedelta(days=template.valid_days - 1), issued_by=issued_by,
                    campaign_id=campaign_id)
    db.session.add(coupon)
    db.session.flush()
    record_audit("create", "retail_coupon", coupon.id, f"{member.member_no} {template.name}")
    if notify:
        from .members import customer_of

        customer = customer_of(member)
        if customer is not None and customer.mobile:
            send_template("sms", customer.mobile, "retail.coupon_issued",
                          {"name": template.name, "code": coupon.code, "day": coupon.valid_until.isoformat()},
                          customer=customer, marketing=issued_by != "staff", dedupe_key=f"retail-coupon-{coupon.id}")
    return coupon


def by_code(code) -> Coupon | None:
    return db.session.scalar(select(Coupon).where(Coupon.code == str(code or "").strip().upper()))


def discount_for(coupon: Coupon, subtotal: Decimal) -> Decimal:
    template = get_scoped(CouponTemplate, coupon.template_id)
    if template.kind == "amount":
        return min(money(template.value), subtotal)
    if template.kind == "percent":
        return money(subtotal * template.value / 100)
    return Decimal("0.00")   # a gift is handed over; no money off, no points on it


def check_usable(coupon: Coupon | None, member: Member, subtotal: Decimal, today: date | None = None) -> CouponTemplate:
    today = today or tenant_today()
    if coupon is None or coupon.member_id != member.id:
        raise ValidationError({"coupon_code": [_("This coupon does not exist for this member.")]})
    template = get_scoped(CouponTemplate, coupon.template_id)
    if coupon.redeemed_at is not None:
        raise ValidationError({"coupon_code": [_("This coupon has already been used.")]})
    if not (coupon.valid_from <= today <= coupon.valid_until):
        raise ValidationError({"coupon_code": [_("This coupon is not valid today.")]})
    if subtotal < template.min_spend:
        raise ValidationError({"coupon_code": [_("This coupon needs a spend of at least %(n)s.", n=template.min_spend)]})
    return template


def claim(coupon: Coupon, *, purchase_id=None, store_id=None) -> bool:
    """Mark the coupon used; True for exactly one caller however many tills try at once (the database decides)."""
    claimed = db.session.execute(
        update(Coupon).where(Coupon.id == coupon.id, Coupon.redeemed_at.is_(None))
        .values(redeemed_at=utcnow(), redeemed_purchase_id=purchase_id, redeemed_store_id=store_id)
        .returning(Coupon.id).execution_options(synchronize_session=False)).scalar()
    return claimed is not None


def redeem(member: Member, code: str, *, store_id=None, purchase_id=None, subtotal: Decimal | None = None) -> Coupon:
    """Redeem at a till (a gift handed over, or a coupon applied to a purchase): exactly once."""
    coupon = by_code(code)
    check_usable(coupon, member, subtotal if subtotal is not None else Decimal("999999999"))
    if not claim(coupon, purchase_id=purchase_id, store_id=store_id):
        raise ValidationError({"coupon_code": [_("This coupon has already been used.")]})
    db.session.refresh(coupon)
    record_audit("update", "retail_coupon", coupon.id, f"{member.member_no} redeemed {coupon.code}")
    return coupon


def coupons_of(member_id):
    return db.session.execute(select(Coupon, CouponTemplate).join(
        CouponTemplate, (CouponTemplate.tenant_id == Coupon.tenant_id) & (CouponTemplate.id == Coupon.template_id))
        .where(Coupon.member_id == member_id).order_by(Coupon.redeemed_at.is_not(None), Coupon.valid_until)).all()


def redemption_rate():
    issued = db.session.scalar(select(func.count()).select_from(Coupon)) or 0
    used = db.session.scalar(select(func.count()).select_from(Coupon).where(Coupon.redeemed_at.is_not(None))) or 0
    return issued, used
