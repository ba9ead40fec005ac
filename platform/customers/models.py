from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, Computed, Date, DateTime, Index, Integer, Numeric, String, Text,
                        UniqueConstraint)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..stores.models import Store
from ..tenancy.models import TenantScoped, Timestamped, tenant_fk, utcnow


class Customer(TenantScoped, Timestamped):
    """A person or company the chain serves: the 360° record (One-ID identities, owner, store, level, tags, custom values)."""

    __tablename__ = "customers"
    __table_args__ = (
        tenant_fk("store_id", "stores"),
        tenant_fk("owner_id", "users", ondelete="SET NULL"),
        Index("ix_customers_tenant_mobile", "tenant_id", "mobile"),
        Index("ix_customers_tenant_store", "tenant_id", "store_id", "id"),
        Index("ix_customers_tenant_name", "tenant_id", "name"),
        Index("ix_customers_tenant_owner", "tenant_id", "owner_id"),
        Index("ix_customers_tenant_spend", "tenant_id", "lifetime_spend"),
        # search by any part of a name or phone, filters on tags and custom values: GIN indexes led by tenant_id
        # (btree_gin), trigram operators from pg_trgm for infix LIKE/ILIKE
        Index("ix_customers_tenant_search", "tenant_id", "name", "mobile", postgresql_using="gin",
              postgresql_ops={"name": "gin_trgm_ops", "mobile": "gin_trgm_ops"}),
        Index("ix_customers_tenant_tags", "tenant_id", "tags", postgresql_using="gin"),
        Index("ix_customers_tenant_custom", "tenant_id", "custom", postgresql_using="gin",
              postgresql_ops={"custom": "jsonb_path_ops"}),
    )

    kind: Mapped[str] = mapped_column(String(10), default="person", server_default="person")  # person | company
    name: Mapped[str] = mapped_column(String(80))
    contact_name: Mapped[str | None] = mapped_column(String(80))  # a company's contact person
    status: Mapped[str] = mapped_column(String(12), default="active", server_default="active")
    level: Mapped[str | None] = mapped_column(String(20))  # e.g. VIP, set by staff or rules
    tags: Mapped[list[str]] = mapped_column(ARRAY(String(40)), default=list, server_default="{}")
    # PIPL: marketing consent per channel, with when and how it was given or withdrawn
    consents: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    custom: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")  # custom field values by code
    mobile: Mapped[str | None] = mapped_column(String(20))  # E.164
    email: Mapped[str | None] = mapped_column(String(254))
    gender: Mapped[str | None] = mapped_column(String(1))  # M | F
    birthday: Mapped[date | None] = mapped_column(Date)
    city: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    source: Mapped[str | None] = mapped_column(String(40))
    notes: Mapped[str | None] = mapped_column(Text)
    store_id: Mapped[int] = mapped_column(BigInteger)
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    merged_into_id: Mapped[int | None] = mapped_column(BigInteger)  # set when merged away (soft-deleted)
    # spend (消费): maintained by storecrm.sales in the transaction of each payment and refund, never typed
    # (docs/commerce.md, "Customer spend"); columns here so conditions, lists, filters and exports use them as is
    lifetime_spend: Mapped[Decimal] = mapped_column(Numeric(14, 2), default=Decimal("0"), server_default="0")
    order_count: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    first_purchase_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_purchase_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    average_order_value: Mapped[Decimal | None] = mapped_column(
        Numeric(14, 2), Computed("CASE WHEN order_count > 0 THEN round(lifetime_spend / order_count, 2) END"))

    store: Mapped[Store] = relationship(
        lazy="joined", primaryjoin="and_(Customer.tenant_id == Store.tenant_id, Customer.store_id == Store.id)",
        foreign_keys="[Customer.tenant_id, Customer.store_id]", viewonly=True,
    )


class CustomerIdentity(TenantScoped):
    """One way to recognise a customer (mobile, VIN, plate …), in normal form.

    Unique per tenant and kind: the database itself keeps one person one record (One-ID).
    """

    __tablename__ = "customer_identities"
    __table_args__ = (
        UniqueConstraint("tenant_id", "kind", "value"),
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        tenant_fk("asset_id", "assets", ondelete="SET NULL"),
        Index("ix_customer_identities_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_customer_identities_tenant_asset", "tenant_id", "asset_id"),
        Index("ix_customer_identities_tenant_search", "tenant_id", "value", postgresql_using="gin",
              postgresql_ops={"value": "gin_trgm_ops"}),
    )

    customer_id: Mapped[int] = mapped_column(BigInteger)
    asset_id: Mapped[int | None] = mapped_column(BigInteger)  # the asset this identifier belongs to, if any
    kind: Mapped[str] = mapped_column(String(20))
    value: Mapped[str] = mapped_column(String(254))
    primary: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class CustomerMerge(TenantScoped):
    """A merge of `merged_id` into `survivor_id`, with what is needed to undo it."""

    __tablename__ = "customer_merges"
    __table_args__ = (
        tenant_fk("survivor_id", "customers"),
        tenant_fk("merged_id", "customers"),
        Index("ix_customer_merges_tenant_survivor", "tenant_id", "survivor_id"),
        Index("ix_customer_merges_tenant_merged", "tenant_id", "merged_id"),
    )

    survivor_id: Mapped[int] = mapped_column(BigInteger)
    merged_id: Mapped[int] = mapped_column(BigInteger)
    choices: Mapped[dict] = mapped_column(JSONB, default=dict)  # field -> "survivor" | "merged"
    survivor_before: Mapped[dict] = mapped_column(JSONB, default=dict)
    moved_identity_ids: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    merged_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SavedView(TenantScoped):
    """A named list filter; personal, or shared with everyone in the tenant."""

    __tablename__ = "saved_views"
    __table_args__ = (
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        Index("ix_saved_views_tenant_entity", "tenant_id", "entity", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    entity: Mapped[str] = mapped_column(String(20), default="customers")
    name: Mapped[str] = mapped_column(String(60))
    query: Mapped[dict] = mapped_column(JSONB, default=dict)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
