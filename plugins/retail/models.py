"""Retail membership (门店会员): members, tiers, points batches and ledger, coupons, stored value, till purchases."""
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Index, Integer, Numeric, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from storecrm.sdk import TenantScoped, tenant_fk, utcnow


class Tier(TenantScoped):
    """A membership tier: reached by spend or points earned over the rolling window (settings)."""
    __tablename__ = "retail_tiers"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(40))
    rank: Mapped[int] = mapped_column(Integer, default=0)
    min_spend: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    min_points: Mapped[int | None] = mapped_column(Integer)
    points_multiplier: Mapped[Decimal] = mapped_column(Numeric(4, 2), default=Decimal("1"))
    discount_pct: Mapped[Decimal] = mapped_column(Numeric(5, 2), default=Decimal("0"))
    birthday_coupon: Mapped[str | None] = mapped_column(String(20))   # coupon template code


class Member(TenantScoped):
    __tablename__ = "retail_members"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        tenant_fk("store_id", "stores"),
        UniqueConstraint("tenant_id", "member_no"),
        UniqueConstraint("tenant_id", "customer_id"),
    )

    customer_id: Mapped[int] = mapped_column(BigInteger)
    member_no: Mapped[str] = mapped_column(String(20))
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    tier_code: Mapped[str] = mapped_column(String(20))
    tier_since: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    below_since: Mapped[date | None] = mapped_column(Date)          # first evaluation that found it below its tier
    points_balance: Mapped[int] = mapped_column(Integer, default=0)  # = sum of the ledger, may go negative (refunds)
    stored_balance: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    source: Mapped[str] = mapped_column(String(10))                 # till | qr | import
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    joined_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TierChange(TenantScoped):
    __tablename__ = "retail_tier_changes"
    __table_args__ = (tenant_fk("member_id", "retail_members", ondelete="CASCADE"),
                      Index("ix_retail_tier_changes_member", "tenant_id", "member_id"))

    member_id: Mapped[int] = mapped_column(BigInteger)
    from_tier: Mapped[str | None] = mapped_column(String(20))
    to_tier: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str] = mapped_column(String(20))                 # joined | upgrade | downgrade
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class EarningRule(TenantScoped):
    """Points per yuan for a catalog category (or all), or a multiplier for a period (a points campaign)."""
    __tablename__ = "retail_earning_rules"
    __table_args__ = (Index("ix_retail_earning_rules_tenant", "tenant_id", "active"),)

    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(12))                   # category | multiplier
    category_id: Mapped[int | None] = mapped_column(BigInteger)
    points_per_yuan: Mapped[Decimal | None] = mapped_column(Numeric(6, 2))
    multiplier: Mapped[Decimal | None] = mapped_column(Numeric(4, 2))
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class PointBatch(TenantScoped):
    """Points earned at once, with their own expiry day (the tenant's calendar); redeemed oldest first."""
    __tablename__ = "retail_point_batches"
    __table_args__ = (tenant_fk("member_id", "retail_members", ondelete="CASCADE"),
                      Index("ix_retail_point_batches_member", "tenant_id", "member_id", "expires_on"))

    member_id: Mapped[int] = mapped_column(BigInteger)
    earned: Mapped[int] = mapped_column(Integer)
    remaining: Mapped[int] = mapped_column(Integer)
    expires_on: Mapped[date] = mapped_column(Date)
    purchase_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PointEntry(TenantScoped):
    """The points ledger: every change of a balance, signed. sum(points) = the member's balance, always."""
    __tablename__ = "retail_point_entries"
    __table_args__ = (tenant_fk("member_id", "retail_members", ondelete="CASCADE"),
                      Index("ix_retail_point_entries_member", "tenant_id", "member_id"))

    member_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(10))                   # earn | redeem | expire | reverse | adjust
    points: Mapped[int] = mapped_column(Integer)
    purchase_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(200))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CouponTemplate(TenantScoped):
    __tablename__ = "retail_coupon_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(10))                   # amount | percent | gift
    value: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    min_spend: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=Decimal("0"))
    valid_days: Mapped[int] = mapped_column(Integer, default=30)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Coupon(TenantScoped):
    __tablename__ = "retail_coupons"
    __table_args__ = (
        tenant_fk("template_id", "retail_coupon_templates"),
        tenant_fk("member_id", "retail_members", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "code"),
        Index("ix_retail_coupons_member", "tenant_id", "member_id"),
    )

    template_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(16))
    valid_from: Mapped[date] = mapped_column(Date)
    valid_until: Mapped[date] = mapped_column(Date)
    issued_by: Mapped[str] = mapped_column(String(10))              # rule | campaign | staff
    campaign_id: Mapped[int | None] = mapped_column(BigInteger)
    issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    redeemed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    redeemed_purchase_id: Mapped[int | None] = mapped_column(BigInteger)
    redeemed_store_id: Mapped[int | None] = mapped_column(BigInteger)


class StoredValueEntry(TenantScoped):
    """The stored-value (储值) ledger: top-ups, their bonus, spends, refunds, claw-backs. sum(amount) = balance."""
    __tablename__ = "retail_stored_value_entries"
    __table_args__ = (tenant_fk("member_id", "retail_members", ondelete="CASCADE"),
                      Index("ix_retail_sv_entries_member", "tenant_id", "member_id"))

    member_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(12))   # topup | bonus | spend | refund | topup_refund | clawback
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    topup_id: Mapped[int | None] = mapped_column(BigInteger)        # the top-up entry a bonus / refund belongs to
    purchase_id: Mapped[int | None] = mapped_column(BigInteger)
    method: Mapped[str | None] = mapped_column(String(20))
    request_key: Mapped[str | None] = mapped_column(String(80))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Purchase(TenantScoped):
    """A sale at a till: the commerce order it made, what went to points, coupon and stored value."""
    __tablename__ = "retail_purchases"
    __table_args__ = (
        tenant_fk("member_id", "retail_members", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "request_key"),
        Index("ix_retail_purchases_member", "tenant_id", "member_id", "at"),
    )

    member_id: Mapped[int] = mapped_column(BigInteger)
    order_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int] = mapped_column(BigInteger)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    request_key: Mapped[str | None] = mapped_column(String(80))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))          # the order's total
    paid_stored_value: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    paid_other: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    method: Mapped[str] = mapped_column(String(20))
    coupon_id: Mapped[int | None] = mapped_column(BigInteger)
    discount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    points_earned: Mapped[int] = mapped_column(Integer, default=0)
    refunded: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    lines: Mapped[list] = mapped_column(JSONB, default=list)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Campaign(TenantScoped):
    """A coupon/SMS campaign with a random held-out control group; uplift = repurchase rate treatment vs control."""
    __tablename__ = "retail_campaigns"
    __table_args__ = (tenant_fk("template_id", "retail_coupon_templates"),)

    name: Mapped[str] = mapped_column(String(60))
    template_id: Mapped[int | None] = mapped_column(BigInteger)
    message: Mapped[str | None] = mapped_column(String(300))
    control_pct: Mapped[int] = mapped_column(Integer, default=10)
    window_days: Mapped[int] = mapped_column(Integer, default=30)
    segment: Mapped[dict] = mapped_column(JSONB, default=dict)
    launched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CampaignMember(TenantScoped):
    __tablename__ = "retail_campaign_members"
    __table_args__ = (
        tenant_fk("campaign_id", "retail_campaigns", ondelete="CASCADE"),
        tenant_fk("member_id", "retail_members", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "campaign_id", "member_id"),
    )

    campaign_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int] = mapped_column(BigInteger)
    control: Mapped[bool] = mapped_column(Boolean, default=False)


class Complaint(TenantScoped):
    """A complaint (投诉): routed by kind, a first response due 2 hours after intake (a timer), transfers kept."""
    __tablename__ = "retail_complaints"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        tenant_fk("store_id", "stores"),
        tenant_fk("assignee_id", "users"),
        Index("ix_retail_complaints_status", "tenant_id", "status", "first_response_due"),
    )

    customer_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(12))                   # quality | attitude | other
    description: Mapped[str] = mapped_column(String(2000))
    source: Mapped[str] = mapped_column(String(10))                 # staff | member
    status: Mapped[str] = mapped_column(String(12), default="open")  # open | responded | resolved
    assignee_id: Mapped[int | None] = mapped_column(BigInteger)
    first_response_due: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    first_responded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    # the resolution target in the store's opening hours; while waiting for the customer the clock is stopped and
    # what was left of it is kept in working minutes (resolution_due is then None)
    resolution_due: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    resolution_left: Mapped[int | None] = mapped_column(Integer)
    resolution_overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    waiting_since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    satisfaction: Mapped[int | None] = mapped_column(Integer)       # 1-5, the customer's answer after resolution
    # store-hour minutes, kept when each clock stops (the reports average them; SQL cannot count opening hours)
    waited_minutes: Mapped[int] = mapped_column(Integer, default=0)
    response_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution_minutes: Mapped[int | None] = mapped_column(Integer)
    resolution: Mapped[str | None] = mapped_column(String(2000))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ComplaintEvent(TenantScoped):
    __tablename__ = "retail_complaint_events"
    __table_args__ = (tenant_fk("complaint_id", "retail_complaints", ondelete="CASCADE"),
                      Index("ix_retail_complaint_events_complaint", "tenant_id", "complaint_id"))

    complaint_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))   # created | responded | transferred | overdue | waiting | resumed
    #                                                   | resolution_overdue | remedy | resolved | rated
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    to_user_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(2000))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ComplaintRemedy(TenantScoped):
    """What the customer was given for a complaint: a coupon, a refund of a purchase, or a return of its goods —
    issued from the complaint, in the same transaction as the coupon / refund it records."""
    __tablename__ = "retail_complaint_remedies"
    __table_args__ = (tenant_fk("complaint_id", "retail_complaints", ondelete="CASCADE"),
                      tenant_fk("coupon_id", "retail_coupons"),
                      tenant_fk("purchase_id", "retail_purchases"),
                      Index("ix_retail_complaint_remedies_complaint", "tenant_id", "complaint_id"))

    complaint_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(10))                   # coupon | refund | return
    coupon_id: Mapped[int | None] = mapped_column(BigInteger)
    purchase_id: Mapped[int | None] = mapped_column(BigInteger)
    amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    points_reversed: Mapped[int] = mapped_column(Integer, default=0)
    returned: Mapped[list] = mapped_column(JSONB, default=list)      # [{line, description, quantity}]
    note: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OfflineTransaction(TenantScoped):
    """A points redemption and/or coupon a till accepted offline against a signed member QR, uploaded later and
    reconciled once: `key` is the till's idempotency key (a replay finds this row), `nonce` the QR's (one QR, one
    sale: a second sale on the same QR is rejected)."""
    __tablename__ = "retail_offline_transactions"
    __table_args__ = (tenant_fk("member_id", "retail_members", ondelete="CASCADE"),
                      tenant_fk("store_id", "stores"),
                      UniqueConstraint("tenant_id", "key"),
                      Index("ix_retail_offline_transactions_nonce", "tenant_id", "nonce"),
                      Index("ix_retail_offline_transactions_status", "tenant_id", "status", "uploaded_at"))

    key: Mapped[str] = mapped_column(String(80))
    till: Mapped[str] = mapped_column(String(40))
    store_id: Mapped[int] = mapped_column(BigInteger)
    member_id: Mapped[int | None] = mapped_column(BigInteger)
    nonce: Mapped[str | None] = mapped_column(String(40))
    points: Mapped[int] = mapped_column(Integer, default=0)
    coupon_code: Mapped[str | None] = mapped_column(String(16))
    receipt_no: Mapped[str | None] = mapped_column(String(40))
    accepted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))   # when the till accepted it
    status: Mapped[str] = mapped_column(String(10))                 # applied | rejected
    reason: Mapped[str | None] = mapped_column(String(40))          # why rejected (a code; labels.py words it)
    uploaded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
