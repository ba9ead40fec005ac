from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, CheckConstraint, DateTime, Index, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..catalog.models import COST, QUANTITY
from ..tenancy.models import TenantScoped, Timestamped, tenant_fk, utcnow

LOCATION_KINDS = ("store", "warehouse", "van")
MOVEMENT_KINDS = ("receive", "issue", "transfer_out", "transfer_in", "adjust", "reserve", "release", "return")
# movements whose quantity changes `reserved`; every other kind changes `on_hand`
RESERVATION_KINDS = ("reserve", "release")
SERIAL_STATES = ("in_stock", "reserved", "in_transit", "sold", "installed", "returned", "written_off")


class Location(TenantScoped, Timestamped):
    """A place stock is kept: the store's shelf, a warehouse, a technician's van. Each belongs to a store."""

    __tablename__ = "stock_locations"
    __table_args__ = (
        tenant_fk("store_id", "stores"),
        UniqueConstraint("tenant_id", "store_id", "name"),
        Index("ix_stock_locations_tenant_store", "tenant_id", "store_id", "id"),
    )

    store_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20), default="store")  # LOCATION_KINDS
    name: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class StockLevel(TenantScoped):
    """How much of an item a location holds (`on_hand`), how much of that is promised (`reserved`), its moving
    average cost, and the reorder level. Changed only by the services in one conditional UPDATE each, never by
    read-then-write in Python, so two staff taking the last unit cannot both get it."""

    __tablename__ = "stock_levels"
    __table_args__ = (
        tenant_fk("item_id", "catalog_items"),
        tenant_fk("location_id", "stock_locations"),
        UniqueConstraint("tenant_id", "item_id", "location_id"),
        Index("ix_stock_levels_tenant_location", "tenant_id", "location_id", "item_id"),
        CheckConstraint("reserved >= 0", name="reserved_not_negative"),
    )

    item_id: Mapped[int] = mapped_column(BigInteger)
    location_id: Mapped[int] = mapped_column(BigInteger)
    on_hand: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal("0"), server_default="0")
    reserved: Mapped[Decimal] = mapped_column(QUANTITY, default=Decimal("0"), server_default="0")
    avg_cost: Mapped[Decimal] = mapped_column(COST, default=Decimal("0"), server_default="0")
    reorder_level: Mapped[Decimal | None] = mapped_column(QUANTITY)
    # set when available stock fell to or below the reorder level, cleared when it rose above: one event a crossing
    below_reorder: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)

    @property
    def available(self) -> Decimal:
        return self.on_hand - self.reserved


class StockMovement(TenantScoped):
    """One line of the append-only stock ledger. `quantity` is signed: the change to `on_hand` (or, for reserve and
    release, to `reserved`), so a level always equals the sum of its movements. `unit_cost` is the cost the
    quantity moved at: the purchase cost on receipt, the moving average on issue (orders show margin from it)."""

    __tablename__ = "stock_movements"
    __table_args__ = (
        tenant_fk("item_id", "catalog_items"),
        tenant_fk("location_id", "stock_locations"),
        tenant_fk("serial_id", "stock_serials"),
        tenant_fk("staff_id", "users", ondelete="SET NULL"),
        tenant_fk("customer_id", "customers", ondelete="SET NULL"),
        Index("ix_stock_movements_tenant_location", "tenant_id", "location_id", "id"),
        Index("ix_stock_movements_tenant_item", "tenant_id", "item_id", "id"),
        Index("ix_stock_movements_tenant_reference", "tenant_id", "reference_type", "reference_id"),
    )

    item_id: Mapped[int] = mapped_column(BigInteger)
    location_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))  # MOVEMENT_KINDS
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    unit_cost: Mapped[Decimal | None] = mapped_column(COST)
    reason: Mapped[str | None] = mapped_column(String(200))
    reference_type: Mapped[str | None] = mapped_column(String(40))  # "order_line", "transfer", "stock_count", a plugin's
    reference_id: Mapped[int | None] = mapped_column(BigInteger)
    serial_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Serial(TenantScoped, Timestamped):
    """One serial-numbered unit of an item. Unique per tenant and item; where it is and what became of it.
    Once sold it is (or belongs to) an asset of the customer (`asset_id`)."""

    __tablename__ = "stock_serials"
    __table_args__ = (
        tenant_fk("item_id", "catalog_items"),
        tenant_fk("location_id", "stock_locations"),
        tenant_fk("asset_id", "assets", ondelete="SET NULL"),
        tenant_fk("customer_id", "customers", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "item_id", "serial"),
        Index("ix_stock_serials_tenant_serial", "tenant_id", "serial"),
        Index("ix_stock_serials_tenant_location", "tenant_id", "location_id", "item_id"),
        Index("ix_stock_serials_tenant_reference", "tenant_id", "reference_type", "reference_id"),
    )

    item_id: Mapped[int] = mapped_column(BigInteger)
    serial: Mapped[str] = mapped_column(String(100))
    state: Mapped[str] = mapped_column(String(20), default="in_stock")  # SERIAL_STATES
    location_id: Mapped[int | None] = mapped_column(BigInteger)  # NULL once it left stock (or is in transit)
    unit_cost: Mapped[Decimal | None] = mapped_column(COST)
    # what holds it: the reservation's or the sale's reference
    reference_type: Mapped[str | None] = mapped_column(String(40))
    reference_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    asset_id: Mapped[int | None] = mapped_column(BigInteger)


class Reservation(TenantScoped, Timestamped):
    """Stock promised to something (an order line, an appointment, a work order), optionally until `expires_at`."""

    __tablename__ = "stock_reservations"
    __table_args__ = (
        tenant_fk("item_id", "catalog_items"),
        tenant_fk("location_id", "stock_locations"),
        tenant_fk("staff_id", "users", ondelete="SET NULL"),
        Index("ix_stock_reservations_tenant_reference", "tenant_id", "reference_type", "reference_id"),
        Index("ix_stock_reservations_tenant_expiry", "tenant_id", "state", "expires_at"),
    )

    item_id: Mapped[int] = mapped_column(BigInteger)
    location_id: Mapped[int] = mapped_column(BigInteger)
    reference_type: Mapped[str] = mapped_column(String(40))
    reference_id: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)  # still held (issues against the reference consume it)
    serials: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")  # serial ids held
    state: Mapped[str] = mapped_column(String(20), default="active")  # active | released | consumed
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    staff_id: Mapped[int | None] = mapped_column(BigInteger)


class Transfer(TenantScoped, Timestamped):
    """Stock sent from one location to another in two steps: sent (in transit) -> received (short receipts kept)."""

    __tablename__ = "stock_transfers"
    __table_args__ = (
        tenant_fk("from_location_id", "stock_locations"),
        tenant_fk("to_location_id", "stock_locations"),
        tenant_fk("sent_by_id", "users", ondelete="SET NULL"),
        tenant_fk("received_by_id", "users", ondelete="SET NULL"),
        Index("ix_stock_transfers_tenant_state", "tenant_id", "state", "id"),
        CheckConstraint("from_location_id <> to_location_id", name="two_locations"),
    )

    from_location_id: Mapped[int] = mapped_column(BigInteger)
    to_location_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20), default="in_transit")  # in_transit | received
    note: Mapped[str | None] = mapped_column(String(300))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_by_id: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    received_by_id: Mapped[int | None] = mapped_column(BigInteger)


class TransferLine(TenantScoped):
    """What a transfer carries; `quantity_received` below `quantity_sent` is a short receipt (lost in transit)."""

    __tablename__ = "stock_transfer_lines"
    __table_args__ = (
        tenant_fk("transfer_id", "stock_transfers", ondelete="CASCADE"),
        tenant_fk("item_id", "catalog_items"),
        Index("ix_stock_transfer_lines_tenant_transfer", "tenant_id", "transfer_id"),
    )

    transfer_id: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[int] = mapped_column(BigInteger)
    quantity_sent: Mapped[Decimal] = mapped_column(QUANTITY)
    quantity_received: Mapped[Decimal | None] = mapped_column(QUANTITY)
    unit_cost: Mapped[Decimal | None] = mapped_column(COST)  # the sender's average, carried to the receiver
    serials: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")  # serial ids sent


class StockCount(TenantScoped, Timestamped):
    """A stock count (盘点) of one location: counted quantities are posted as adjustments."""

    __tablename__ = "stock_counts"
    __table_args__ = (
        tenant_fk("location_id", "stock_locations"),
        tenant_fk("started_by_id", "users", ondelete="SET NULL"),
        tenant_fk("posted_by_id", "users", ondelete="SET NULL"),
        Index("ix_stock_counts_tenant_location", "tenant_id", "location_id", "id"),
    )

    location_id: Mapped[int] = mapped_column(BigInteger)
    state: Mapped[str] = mapped_column(String(20), default="open")  # open | posted | cancelled
    note: Mapped[str | None] = mapped_column(Text)
    started_by_id: Mapped[int | None] = mapped_column(BigInteger)
    posted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    posted_by_id: Mapped[int | None] = mapped_column(BigInteger)


class StockCountLine(TenantScoped):
    """One item of a count: what the books said when the count started, what was counted, what was posted."""

    __tablename__ = "stock_count_lines"
    __table_args__ = (
        tenant_fk("count_id", "stock_counts", ondelete="CASCADE"),
        tenant_fk("item_id", "catalog_items"),
        UniqueConstraint("tenant_id", "count_id", "item_id"),
    )

    count_id: Mapped[int] = mapped_column(BigInteger)
    item_id: Mapped[int] = mapped_column(BigInteger)
    expected: Mapped[Decimal] = mapped_column(QUANTITY)
    counted: Mapped[Decimal | None] = mapped_column(QUANTITY)
    difference: Mapped[Decimal | None] = mapped_column(QUANTITY)  # posted adjustment
