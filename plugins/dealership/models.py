"""The dealership's own tables: repair orders (工单) with their lines and QC checks, service kinds, complaints.

The vehicle is the core's `vehicle` asset; appointments, service types, bays and skills are the scheduling core's;
the settlement is a sales order of the commerce core; surveys are the core's surveys."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, Index, Integer, Numeric, SmallInteger, String,
                        Text, UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from storecrm.sdk import TenantScoped, tenant_fk, utcnow

STATES = ("reception", "dispatched", "in_progress", "qc", "ready", "delivered", "cancelled")
OPEN = ("reception", "dispatched", "in_progress", "qc", "ready")
PAYERS = ("customer", "insurer", "warranty", "internal")
LINE_KINDS = ("labour", "part")
SERVICE_KINDS = ("maintenance", "repair", "bodywork", "inspection")
COMPLAINT_CATEGORIES = ("engine", "electrical", "chassis", "body", "air_con", "maintenance", "other")
GRIEVANCES = ("attitude", "quality", "waiting", "facility", "price")
TEST_DRIVE_STATES = ("booked", "completed", "cancelled")
CONTRACT_STATES = ("draft", "signed", "deposit_paid", "delivered", "cancelled")


class ServiceKind(TenantScoped):
    """A dealer service (保养, 维修, 钣喷, 检测): its scheduling service type, the skills it needs and its QC
    checklist ([{"code", "label"}])."""

    __tablename__ = "dealer_service_kinds"
    __table_args__ = (
        tenant_fk("service_type_id", "service_types", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "code"),
    )

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(40))
    service_type_id: Mapped[int | None] = mapped_column(BigInteger)
    skills: Mapped[dict] = mapped_column(JSONB, default=dict)
    checklist: Mapped[list] = mapped_column(JSONB, default=list)


class RepairOrder(TenantScoped):
    """A repair order (工单) from reception to delivery. `walk_in`: came without an appointment. Waiting time is
    arrival to delivery."""

    __tablename__ = "dealer_repair_orders"
    __table_args__ = (
        tenant_fk("store_id", "stores"),
        tenant_fk("customer_id", "customers"),
        tenant_fk("asset_id", "assets"),
        tenant_fk("appointment_id", "appointments", ondelete="SET NULL"),
        tenant_fk("advisor_id", "users", ondelete="SET NULL"),
        tenant_fk("technician_id", "users", ondelete="SET NULL"),
        tenant_fk("order_id", "sales_documents", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_dealer_ros_tenant_store_state", "tenant_id", "store_id", "state"),
        Index("ix_dealer_ros_tenant_asset_arrived", "tenant_id", "asset_id", "arrived_at"),
        Index("ix_dealer_ros_tenant_delivered", "tenant_id", "delivered_at"),
        Index("ix_dealer_ros_tenant_technician", "tenant_id", "technician_id", "state"),
        Index("ix_dealer_ros_tenant_customer", "tenant_id", "customer_id"),
        CheckConstraint("state IN ('reception', 'dispatched', 'in_progress', 'qc', 'ready', 'delivered', "
                        "'cancelled')", name="known_state"),
        CheckConstraint("mileage BETWEEN 0 AND 3000000", name="mileage_range"),
    )

    number: Mapped[str] = mapped_column(String(30))
    store_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    asset_id: Mapped[int] = mapped_column(BigInteger)
    appointment_id: Mapped[int | None] = mapped_column(BigInteger)
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False)
    service_kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="reception")
    advisor_id: Mapped[int | None] = mapped_column(BigInteger)
    technician_id: Mapped[int | None] = mapped_column(BigInteger)
    mileage: Mapped[int] = mapped_column(Integer)
    complaint: Mapped[str | None] = mapped_column(Text)
    complaint_category: Mapped[str] = mapped_column(String(20))
    photos: Mapped[list] = mapped_column(JSONB, default=list)  # upload ids
    required_skills: Mapped[dict] = mapped_column(JSONB, default=dict)
    promised_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    arrived_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    qc_passed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    qc_rejections: Mapped[int] = mapped_column(SmallInteger, default=0)
    labour_total: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    parts_total: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    customer_total: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    follow_up_sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def total(self) -> Decimal:
        return (self.labour_total or Decimal("0")) + (self.parts_total or Decimal("0"))

    @property
    def waiting_minutes(self) -> int | None:
        if self.delivered_at is None:
            return None
        return int((self.delivered_at - self.arrived_at).total_seconds() // 60)


class RepairLine(TenantScoped):
    """A service item of a repair order: labour (hours × rate, needing a skill) or a part from the catalog, and who
    pays for it (customer, insurer, manufacturer warranty 索赔, or internal)."""

    __tablename__ = "dealer_repair_lines"
    __table_args__ = (
        tenant_fk("repair_order_id", "dealer_repair_orders", ondelete="CASCADE"),
        tenant_fk("item_id", "catalog_items", ondelete="SET NULL"),
        Index("ix_dealer_lines_tenant_ro", "tenant_id", "repair_order_id"),
        CheckConstraint("kind IN ('labour', 'part')", name="known_kind"),
        CheckConstraint("payer IN ('customer', 'insurer', 'warranty', 'internal')", name="known_payer"),
        CheckConstraint("quantity > 0", name="quantity_positive"),
    )

    repair_order_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(10))
    description: Mapped[str] = mapped_column(String(200))
    item_id: Mapped[int | None] = mapped_column(BigInteger)
    skill: Mapped[str | None] = mapped_column(String(60))
    quantity: Mapped[Decimal] = mapped_column(Numeric(10, 2))  # hours for labour
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))  # the hourly rate for labour
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    payer: Mapped[str] = mapped_column(String(10), default="customer")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class QcCheck(TenantScoped):
    """One quality check of a repair order: the checklist with pass/fail per item, photos, and the reason of a
    rejection (the order goes back to the technician)."""

    __tablename__ = "dealer_qc_checks"
    __table_args__ = (
        tenant_fk("repair_order_id", "dealer_repair_orders", ondelete="CASCADE"),
        tenant_fk("inspector_id", "users", ondelete="SET NULL"),
        Index("ix_dealer_qc_tenant_ro", "tenant_id", "repair_order_id"),
    )

    repair_order_id: Mapped[int] = mapped_column(BigInteger)
    passed: Mapped[bool] = mapped_column(Boolean)
    results: Mapped[list] = mapped_column(JSONB, default=list)  # [{"code", "label", "ok"}]
    reason: Mapped[str | None] = mapped_column(String(300))
    photos: Mapped[list] = mapped_column(JSONB, default=list)
    inspector_id: Mapped[int | None] = mapped_column(BigInteger)
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Complaint(TenantScoped):
    """A customer complaint (客诉) about a repair order, by category (态度, 质量, 时间, 设施, 价格); made from a low
    survey score or recorded by staff. `task_id` is the follow-up task."""

    __tablename__ = "dealer_complaints"
    __table_args__ = (
        tenant_fk("repair_order_id", "dealer_repair_orders", ondelete="CASCADE"),
        tenant_fk("task_id", "tasks", ondelete="SET NULL"),
        Index("ix_dealer_complaints_tenant_ro", "tenant_id", "repair_order_id"),
        Index("ix_dealer_complaints_tenant_at", "tenant_id", "created_at"),
    )

    repair_order_id: Mapped[int] = mapped_column(BigInteger)
    category: Mapped[str] = mapped_column(String(20))
    source: Mapped[str] = mapped_column(String(10), default="survey")
    note: Mapped[str | None] = mapped_column(Text)
    task_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class AddOn(TenantScoped):
    """Add-on work (增项) found during a repair: what and how much, with photos, proposed by staff and approved or
    declined by the customer on the progress link (or by staff on the customer's word), audited. An approved add-on
    becomes a line of the order."""

    __tablename__ = "dealer_add_ons"
    __table_args__ = (
        tenant_fk("repair_order_id", "dealer_repair_orders", ondelete="CASCADE"),
        tenant_fk("proposed_by_id", "users", ondelete="SET NULL"),
        Index("ix_dealer_add_ons_tenant_ro", "tenant_id", "repair_order_id"),
        CheckConstraint("state IN ('pending', 'approved', 'declined')", name="known_state"),
        CheckConstraint("amount >= 0", name="amount_not_negative"),
    )

    repair_order_id: Mapped[int] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(200))
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    photos: Mapped[list] = mapped_column(JSONB, default=list)
    state: Mapped[str] = mapped_column(String(10), default="pending")
    proposed_by_id: Mapped[int | None] = mapped_column(BigInteger)
    proposed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    decided_via: Mapped[str | None] = mapped_column(String(10))  # link | staff


class Campaign(TenantScoped):
    """A recall (召回) or service campaign (服务活动) from the manufacturer: the VINs it covers, imported as a list and
    shown at reception and on the repair order of any of those cars."""

    __tablename__ = "dealer_campaigns"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        CheckConstraint("kind IN ('recall', 'service')", name="known_kind"),
    )

    code: Mapped[str] = mapped_column(String(40))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(10), default="recall")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CampaignVehicle(TenantScoped):
    """One VIN of a campaign (normalised; unique per campaign)."""

    __tablename__ = "dealer_campaign_vins"
    __table_args__ = (
        tenant_fk("campaign_id", "dealer_campaigns", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "campaign_id", "vin"),
        Index("ix_dealer_campaign_vins_tenant_vin", "tenant_id", "vin"),
    )

    campaign_id: Mapped[int] = mapped_column(BigInteger)
    vin: Mapped[str] = mapped_column(String(17))


class TestDrive(TenantScoped):
    """A test drive (试驾) booked for a lead: the car model, the demo car (a scheduling resource of kind `demo_car`)
    held by the scheduling core's appointment — which refuses a clash — and the sales advisor."""

    __test__ = False  # not a pytest class
    __tablename__ = "dealer_test_drives"
    __table_args__ = (
        tenant_fk("lead_id", "leads", ondelete="CASCADE"),
        tenant_fk("appointment_id", "appointments", ondelete="SET NULL"),
        tenant_fk("resource_id", "resources", ondelete="SET NULL"),
        tenant_fk("advisor_id", "users", ondelete="SET NULL"),
        tenant_fk("store_id", "stores", ondelete="CASCADE"),
        Index("ix_dealer_test_drives_tenant_starts", "tenant_id", "starts_at"),
        Index("ix_dealer_test_drives_tenant_lead", "tenant_id", "lead_id"),
    )

    lead_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int] = mapped_column(BigInteger)
    appointment_id: Mapped[int | None] = mapped_column(BigInteger)
    resource_id: Mapped[int | None] = mapped_column(BigInteger)
    advisor_id: Mapped[int | None] = mapped_column(BigInteger)
    model: Mapped[str] = mapped_column(String(120))
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    state: Mapped[str] = mapped_column(String(10), default="booked", server_default="booked")
    note: Mapped[str | None] = mapped_column(String(300))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class VehicleContract(TenantScoped):
    """A vehicle sales contract (购车合同): the car (model, trim, colour; the VIN once one is allocated), price,
    discount, deposit, expected delivery day and terms. The money goes through a core quote (signed by the customer
    on the quote's share link) and the order that signature creates (deposit, balance, refund)."""

    __tablename__ = "dealer_contracts"
    __table_args__ = (
        tenant_fk("lead_id", "leads", ondelete="SET NULL"),
        tenant_fk("customer_id", "customers"),
        tenant_fk("store_id", "stores"),
        tenant_fk("advisor_id", "users", ondelete="SET NULL"),
        tenant_fk("quote_id", "sales_documents", ondelete="SET NULL"),
        tenant_fk("order_id", "sales_documents", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_dealer_contracts_tenant_lead", "tenant_id", "lead_id"),
        Index("ix_dealer_contracts_tenant_quote", "tenant_id", "quote_id"),
        CheckConstraint("state IN ('draft', 'signed', 'deposit_paid', 'delivered', 'cancelled')", name="known_state"),
        CheckConstraint("deposit >= 0 AND discount >= 0 AND price > 0 AND deposit <= price - discount",
                        name="sane_money"),
    )

    number: Mapped[str] = mapped_column(String(30))
    lead_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int] = mapped_column(BigInteger)
    advisor_id: Mapped[int | None] = mapped_column(BigInteger)
    model: Mapped[str] = mapped_column(String(120))
    trim: Mapped[str | None] = mapped_column(String(80))
    colour: Mapped[str | None] = mapped_column(String(40))
    vin: Mapped[str | None] = mapped_column(String(17))
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    discount: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    deposit: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    delivery_on: Mapped[date | None] = mapped_column(Date)
    terms: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(12), default="draft")
    quote_id: Mapped[int | None] = mapped_column(BigInteger)
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    signed_name: Mapped[str | None] = mapped_column(String(80))
    signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    deposit_paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def total(self) -> Decimal:
        return self.price - (self.discount or Decimal("0"))
