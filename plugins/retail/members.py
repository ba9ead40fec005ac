"""Members: the card (member number, a One-ID identity kind), registration at the till and by the QR page."""
import secrets
from dataclasses import dataclass

from flask_babel import gettext as _
from marshmallow import Schema, ValidationError, fields, validate, validates_schema
from sqlalchemy import func, select

from storecrm.sdk import (Customer, Phone, RecordEvent, Store, Trimmed, add_identity, create_customer,
                          db, emit_event, find_customer_by_identity, get_scoped, record_audit, utcnow)

from .models import Member, Tier, TierChange

IDENTITY_KIND = "retail_card"


def normalize_member_no(raw: str) -> str:
    value = "".join((raw or "").split())
    if not (value.isdigit() and 8 <= len(value) <= 12):
        raise ValidationError(_("A member number is 8 to 12 digits."))
    return value


@dataclass(frozen=True)
class MemberEvent(RecordEvent):
    """A retail member's record changed (joined, tier changed, points expiring): rules on the customer run."""


def _new_member_no() -> str:
    while True:
        number = f"8{secrets.randbelow(10**8):08d}"      # 9 digits starting with 8: never a mobile number
        if not db.session.scalar(select(Member.id).where(Member.member_no == number)):
            return number


def entry_tier() -> Tier | None:
    return db.session.scalar(select(Tier).order_by(Tier.rank, Tier.id).limit(1))


def member_of_customer(customer_id) -> Member | None:
    return db.session.scalar(select(Member).where(Member.customer_id == customer_id))


def by_number(raw) -> Member | None:
    try:
        number = normalize_member_no(str(raw or ""))
    except ValidationError:
        return None
    return db.session.scalar(select(Member).where(Member.member_no == number))


def get_member(member_id) -> Member | None:
    return get_scoped(Member, member_id)


def customer_of(member: Member) -> Customer:
    return get_scoped(Customer, member.customer_id)


class RegisterSchema(Schema):
    name = Trimmed(required=True, validate=validate.Length(min=1, max=80))
    mobile = Phone(required=True)
    store_id = fields.Integer(required=True, strict=False)
    birthday = fields.Date(load_default=None, allow_none=True)
    consent = fields.Boolean(load_default=False)

    @validates_schema
    def _mobile_given(self, data, **_kw):
        if not data.get("mobile"):
            raise ValidationError({"mobile": [_("Enter the mobile number.")]})


def enrol(customer: Customer, *, source: str, store_id, consent: bool) -> Member:
    """Make `customer` a member (or return their card): entry tier, a member number as their identity."""
    existing = member_of_customer(customer.id)
    if existing is not None:
        return existing
    tier = entry_tier()
    member = Member(customer_id=customer.id, member_no=_new_member_no(), store_id=store_id,
                    tier_code=tier.code if tier else "", source=source, consent_at=utcnow() if consent else None)
    db.session.add(member)
    db.session.flush()
    add_identity(customer, IDENTITY_KIND, member.member_no)
    db.session.add(TierChange(member_id=member.id, from_tier=None, to_tier=member.tier_code, reason="joined"))
    record_audit("create", "retail_member", member.id, f"{customer.name} {member.member_no}")
    emit_event(MemberEvent("customer", customer, "retail.joined", {"member_no": [None, member.member_no]}))
    return member


def register(user, data: dict, *, source: str = "till") -> Member:
    """Register a member by mobile (One-ID: a known mobile becomes a member, no second customer)."""
    data = RegisterSchema().load(data)
    store = get_scoped(Store, data["store_id"])
    if store is None:
        raise ValidationError({"store_id": [_("Choose one of the listed options.")]})
    if source == "qr" and not data["consent"]:
        raise ValidationError({"consent": [_("Please agree to the membership terms.")]})
    customer = find_customer_by_identity("mobile", data["mobile"])
    # One-ID: the mobile's customer becomes the member whichever store they were first served in
    if customer is None:
        payload = {"name": data["name"], "mobile": data["mobile"], "store_id": store.id,
                   "birthday": data["birthday"]}
        if data["consent"]:
            payload.update(consent_sms=True, consent_source="retail." + source)
        customer = create_customer(user, payload)
    elif data["birthday"] and customer.birthday is None:
        customer.birthday = data["birthday"]
    return enrol(customer, source=source, store_id=store.id, consent=data["consent"])


def count_members() -> int:
    return db.session.scalar(select(func.count()).select_from(Member)) or 0


def recent_members(q: str = "", limit: int = 50):
    query = (select(Member, Customer.name, Customer.mobile)
             .join(Customer, (Customer.tenant_id == Member.tenant_id) & (Customer.id == Member.customer_id)))
    q = (q or "").strip()
    if q:
        like = f"%{q}%"
        query = query.where(Member.member_no.like(like) | Customer.name.like(like) | Customer.mobile.like(like))
    return db.session.execute(query.order_by(Member.id.desc()).limit(limit)).all()


def tiers() -> list[Tier]:
    return list(db.session.scalars(select(Tier).order_by(Tier.rank, Tier.id)))


def tier_named(code) -> Tier | None:
    return db.session.scalar(select(Tier).where(Tier.code == code))
