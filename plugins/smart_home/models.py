"""Smart-home installation and maintenance (智能家居): properties, vans, work orders with their history and parts,
maintenance contracts with their planned visits, and the knowledge base. Devices are core assets (`smart_device`)."""
from datetime import date, datetime
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import (BigInteger, Boolean, Date, DateTime, Index, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from storecrm.sdk import TenantScoped, tenant_fk, utcnow

PROPERTY_KINDS = {"apartment": _l("Apartment"), "villa": _l("Villa"), "office": _l("Office"), "shop": _l("Shop")}
ORDER_KINDS = {"install": _l("Installation"), "repair": _l("Repair"), "maintenance": _l("Maintenance"),
               "consultation": _l("Consultation")}
STATES = {"pending": _l("Pending"), "assigned": _l("Dispatched"), "on_the_way": _l("On the way"),
          "on_site": _l("On site"), "done": _l("Completed"), "visited": _l("Visited"), "cancelled": _l("Cancelled")}
FLOW = ("pending", "assigned", "on_the_way", "on_site", "done", "visited")
FAULT_TYPES = {"network": _l("Network / pairing"), "power": _l("Power / battery"), "lock": _l("Lock / fingerprint"),
               "sensor": _l("Sensor false alarm"), "app": _l("App / account"), "mechanical": _l("Mechanical"),
               "other": _l("Other")}
FREQUENCIES = {"monthly": (_l("Monthly"), 1), "quarterly": (_l("Quarterly"), 3), "half_yearly": (_l("Half-yearly"), 6),
               "yearly": (_l("Yearly"), 12)}
ARTICLE_KINDS = {"faq": _l("FAQ"), "troubleshooting": _l("Troubleshooting"), "sop": _l("Standard procedure")}
COVERAGES = {"warranty": _l("Under warranty"), "contract": _l("Covered by contract"), "billable": _l("Billable")}
SOURCES = {"staff": _l("Entered by staff"), "public": _l("Self-service"), "contract": _l("Contract")}


class Property(TenantScoped):
    """A customer's home or premises (房产): where the devices are and the engineer goes."""

    __tablename__ = "smart_home_properties"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        Index("ix_smart_home_properties_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_smart_home_properties_tenant_district", "tenant_id", "district"),
    )

    customer_id: Mapped[int] = mapped_column(BigInteger)
    label: Mapped[str] = mapped_column(String(60))
    address: Mapped[str] = mapped_column(String(200))
    district: Mapped[str] = mapped_column(String(60))
    kind: Mapped[str] = mapped_column(String(20), default="apartment")
    area_sqm: Mapped[Decimal | None] = mapped_column(Numeric(8, 1))
    rooms: Mapped[int | None] = mapped_column(Integer)
    latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Van(TenantScoped):
    """An engineer's van: a stock location of the commerce core that parts are issued from."""

    __tablename__ = "smart_home_vans"
    __table_args__ = (
        tenant_fk("engineer_id", "users"),
        tenant_fk("location_id", "stock_locations"),
        UniqueConstraint("tenant_id", "engineer_id"),
        UniqueConstraint("tenant_id", "location_id"),
    )

    engineer_id: Mapped[int] = mapped_column(BigInteger)
    location_id: Mapped[int] = mapped_column(BigInteger)
    plate: Mapped[str | None] = mapped_column(String(20))
    # where the engineer's day starts (depot or home): the first leg of travel time in dispatch and the day view
    base_latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    base_longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))


class WorkOrder(TenantScoped):
    """A service job (服务工单): install, repair, maintenance or consultation at a customer's property."""

    __tablename__ = "smart_home_work_orders"
    __table_args__ = (
        tenant_fk("customer_id", "customers"),
        tenant_fk("property_id", "smart_home_properties"),
        tenant_fk("asset_id", "assets"),
        tenant_fk("store_id", "stores"),
        tenant_fk("engineer_id", "users"),
        tenant_fk("model_item_id", "catalog_items"),
        tenant_fk("contract_id", "smart_home_contracts"),
        tenant_fk("sales_order_id", "sales_documents"),
        UniqueConstraint("tenant_id", "number"),
        UniqueConstraint("tenant_id", "tracking_token"),
        Index("ix_smart_home_work_orders_tenant_state", "tenant_id", "state", "id"),
        Index("ix_smart_home_work_orders_tenant_engineer", "tenant_id", "engineer_id", "state"),
        Index("ix_smart_home_work_orders_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_smart_home_work_orders_tenant_asset", "tenant_id", "asset_id"),
        Index("ix_smart_home_work_orders_tenant_reported", "tenant_id", "reported_at"),
        Index("ix_smart_home_work_orders_tenant_contract", "tenant_id", "contract_id"),
    )

    number: Mapped[str] = mapped_column(String(20))
    kind: Mapped[str] = mapped_column(String(20))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    source: Mapped[str] = mapped_column(String(20), default="staff")
    customer_id: Mapped[int] = mapped_column(BigInteger)
    property_id: Mapped[int | None] = mapped_column(BigInteger)
    asset_id: Mapped[int | None] = mapped_column(BigInteger)
    model_item_id: Mapped[int | None] = mapped_column(BigInteger)  # the device's model when reported (failure rates)
    store_id: Mapped[int] = mapped_column(BigInteger)
    engineer_id: Mapped[int | None] = mapped_column(BigInteger)
    contract_id: Mapped[int | None] = mapped_column(BigInteger)
    fault_type: Mapped[str | None] = mapped_column(String(20))
    description: Mapped[str | None] = mapped_column(Text)
    photo_ids: Mapped[list] = mapped_column(JSONB, default=list)
    due_on: Mapped[date | None] = mapped_column(Date)
    # the customer's link to the tracking page: left out of tenant exports, a new one is made after a restore
    tracking_token: Mapped[str] = mapped_column(String(40), info={"secret": True})
    reported_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # first response
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    check_in_latitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    check_in_longitude: Mapped[Decimal | None] = mapped_column(Numeric(9, 6))
    check_in_distance_m: Mapped[int | None] = mapped_column(Integer)
    diagnosis: Mapped[str | None] = mapped_column(Text)
    report: Mapped[str | None] = mapped_column(Text)
    signed_name: Mapped[str | None] = mapped_column(String(80))
    signature: Mapped[str | None] = mapped_column(Text)
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    minutes_on_site: Mapped[int | None] = mapped_column(Integer)
    first_time_fix: Mapped[bool | None] = mapped_column(Boolean)
    visited_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    worksheet: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")  # {item code: true} ticked
    # the contract's promised response (SLA), fixed when the order is made: accepted after it, the promise was broken
    respond_by: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the on-site quote for what is not covered: the customer's signature and the commerce order it became
    labour_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    quote_signed_name: Mapped[str | None] = mapped_column(String(80))
    quote_signature: Mapped[str | None] = mapped_column(Text)
    quote_signed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    sales_order_id: Mapped[int | None] = mapped_column(BigInteger)
    # a job sent to a team: the engineers covering this district (their service region) see it and one takes it
    team_region: Mapped[str | None] = mapped_column(String(60))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WorksheetTemplate(TenantScoped):
    """The checklist (作业单) an engineer fills on the phone for a type of work order: items, some required."""

    __tablename__ = "smart_home_worksheet_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "kind"),)

    kind: Mapped[str] = mapped_column(String(20))
    items: Mapped[list] = mapped_column(JSONB, default=list)  # [{"code", "label", "required"}]


class WorkOrderEvent(TenantScoped):
    """One step of a work order's history: the state it entered, who, when, a note."""

    __tablename__ = "smart_home_work_order_events"
    __table_args__ = (
        tenant_fk("work_order_id", "smart_home_work_orders", ondelete="CASCADE"),
        tenant_fk("user_id", "users"),
        Index("ix_smart_home_work_order_events_tenant_order", "tenant_id", "work_order_id", "at"),
    )

    work_order_id: Mapped[int] = mapped_column(BigInteger)
    from_state: Mapped[str | None] = mapped_column(String(20))
    to_state: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    note: Mapped[str | None] = mapped_column(String(300))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class PartUsage(TenantScoped):
    """A spare part used on a work order (备件核销): issued from a stock location (the van), fitted to a device."""

    __tablename__ = "smart_home_part_usages"
    __table_args__ = (
        tenant_fk("work_order_id", "smart_home_work_orders", ondelete="CASCADE"),
        tenant_fk("item_id", "catalog_items"),
        tenant_fk("location_id", "stock_locations"),
        tenant_fk("asset_id", "assets"),
        Index("ix_smart_home_part_usages_tenant_order", "tenant_id", "work_order_id"),
        Index("ix_smart_home_part_usages_tenant_asset", "tenant_id", "asset_id"),
        Index("ix_smart_home_part_usages_tenant_at", "tenant_id", "used_at"),
    )

    work_order_id: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[int] = mapped_column(BigInteger)
    location_id: Mapped[int] = mapped_column(BigInteger)
    asset_id: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    used_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # who pays for this line: covered by the device's `warranty` or a `contract`, or `billable` to the customer
    coverage: Mapped[str] = mapped_column(String(20), default="billable", server_default="billable")
    unit_price: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))


class Contract(TenantScoped):
    """A maintenance contract (维保合同): what it covers, how often we visit, what it costs, when it ends."""

    __tablename__ = "smart_home_contracts"
    __table_args__ = (
        tenant_fk("customer_id", "customers"),
        tenant_fk("store_id", "stores"),
        UniqueConstraint("tenant_id", "number"),
        Index("ix_smart_home_contracts_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_smart_home_contracts_tenant_ends", "tenant_id", "ends_on"),
    )

    number: Mapped[str] = mapped_column(String(20))
    customer_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int] = mapped_column(BigInteger)
    starts_on: Mapped[date] = mapped_column(Date)
    ends_on: Mapped[date] = mapped_column(Date)
    frequency: Mapped[str] = mapped_column(String(20), default="quarterly")
    price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    response_hours: Mapped[int] = mapped_column(Integer, default=24)
    property_ids: Mapped[list] = mapped_column(JSONB, default=list)
    asset_ids: Mapped[list] = mapped_column(JSONB, default=list)
    renewal_task_id: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ContractVisit(TenantScoped):
    """A planned visit of a contract. (tenant, contract, due date) is unique: two schedulers planning the same
    quarter at once make one visit, the database decides."""

    __tablename__ = "smart_home_contract_visits"
    __table_args__ = (
        tenant_fk("contract_id", "smart_home_contracts", ondelete="CASCADE"),
        tenant_fk("work_order_id", "smart_home_work_orders"),
        UniqueConstraint("tenant_id", "contract_id", "due_on"),
        Index("ix_smart_home_contract_visits_tenant_due", "tenant_id", "due_on"),
    )

    contract_id: Mapped[int] = mapped_column(BigInteger)
    due_on: Mapped[date] = mapped_column(Date)  # the planned day: the planner's claim, never changed
    moved_to: Mapped[date | None] = mapped_column(Date)  # the day agreed with the customer instead
    work_order_id: Mapped[int | None] = mapped_column(BigInteger)


class Article(TenantScoped):
    """A knowledge-base article (知识库): FAQ, troubleshooting guide or SOP, tagged by device model and fault type.
    Searched with trigram similarity (pg_trgm), which matches Chinese without a word segmenter."""

    __tablename__ = "smart_home_articles"
    __table_args__ = (
        Index("ix_smart_home_articles_tenant_search", "tenant_id", "title", "body", postgresql_using="gin",
              postgresql_ops={"title": "gin_trgm_ops", "body": "gin_trgm_ops"}),
        Index("ix_smart_home_articles_tenant_kind", "tenant_id", "kind"),
    )

    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(20), default="faq")
    category: Mapped[str] = mapped_column(String(60), default="")
    body: Mapped[str] = mapped_column(Text)
    model_item_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    fault_types: Mapped[list[str]] = mapped_column(ARRAY(String(20)), default=list)
    published: Mapped[bool] = mapped_column(Boolean, default=True)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class ActionReceipt(TenantScoped):
    """One action the engineer's phone sent (check-in, photo, part, signature), under the idempotency key the phone
    made when the engineer tapped. (tenant, key) is unique: a queued action sent again after a lost answer, or by two
    tabs at once, finds the first one's receipt and gets its result back instead of acting twice."""

    __tablename__ = "smart_home_action_receipts"
    __table_args__ = (
        tenant_fk("work_order_id", "smart_home_work_orders", ondelete="CASCADE"),
        tenant_fk("user_id", "users"),
        UniqueConstraint("tenant_id", "key"),
        Index("ix_smart_home_action_receipts_tenant_order", "tenant_id", "work_order_id"),
    )

    key: Mapped[str] = mapped_column(String(64))
    work_order_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(20))
    result: Mapped[dict] = mapped_column(JSONB, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


RETURN_STATES = {"pending": _l("Pending return"), "received": _l("Received at the warehouse"),
                 "returned": _l("Returned to the supplier"), "scrapped": _l("Scrapped")}
RETURN_FLOW = {"pending": ("received",), "received": ("returned", "scrapped")}


class PartReturn(TenantScoped):
    """A defective part taken out on a job (旧件回收), followed from the engineer back to the warehouse and then to
    the supplier or the scrap bin."""

    __tablename__ = "smart_home_part_returns"
    __table_args__ = (
        tenant_fk("work_order_id", "smart_home_work_orders"),
        tenant_fk("item_id", "catalog_items"),
        tenant_fk("location_id", "stock_locations"),
        tenant_fk("engineer_id", "users"),
        Index("ix_smart_home_part_returns_tenant_state", "tenant_id", "state", "id"),
        Index("ix_smart_home_part_returns_tenant_order", "tenant_id", "work_order_id"),
    )

    work_order_id: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[int] = mapped_column(BigInteger)
    engineer_id: Mapped[int | None] = mapped_column(BigInteger)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    serial: Mapped[str | None] = mapped_column(String(60))
    reason: Mapped[str | None] = mapped_column(String(200))
    state: Mapped[str] = mapped_column(String(20), default="pending")
    location_id: Mapped[int | None] = mapped_column(BigInteger)  # the warehouse that received it
    supplier: Mapped[str | None] = mapped_column(String(80))
    note: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


TRANSFER_REASONS = {"reorder": _l("Van below its minimum"), "part_request": _l("Requested for a job")}
TRANSFER_STATES = {"open": _l("Waiting for approval"), "approved": _l("Approved and loaded"),
                   "rejected": _l("Rejected")}


class TransferRequest(TenantScoped):
    """Parts to load onto a van from a warehouse (调拨申请): raised when the van falls to its minimum for a part, or
    by the engineer for a part the van lacks. The manager approves it in one click, which moves the stock through
    the stock core (a transfer sent and received)."""

    __tablename__ = "smart_home_transfer_requests"
    __table_args__ = (
        tenant_fk("van_id", "smart_home_vans"),
        tenant_fk("item_id", "catalog_items"),
        tenant_fk("work_order_id", "smart_home_work_orders"),
        tenant_fk("source_location_id", "stock_locations"),
        tenant_fk("decided_by_id", "users"),
        Index("ix_smart_home_transfer_requests_tenant_state", "tenant_id", "state", "id"),
    )

    van_id: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[Decimal] = mapped_column(Numeric(12, 3))
    reason: Mapped[str] = mapped_column(String(20))
    work_order_id: Mapped[int | None] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20), default="open")
    source_location_id: Mapped[int | None] = mapped_column(BigInteger)
    transfer_id: Mapped[int | None] = mapped_column(BigInteger)  # the stock core's transfer that moved it
    decided_by_id: Mapped[int | None] = mapped_column(BigInteger)
    requested_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    decided_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
