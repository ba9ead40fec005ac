from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Index, Integer, Numeric, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped, tenant_fk

ITEM_KINDS = ("product", "service", "part", "package")
# kinds whose quantities live in stock; services (labour) and packages (expanded into their components) do not
STOCKED_KINDS = ("product", "part")

MONEY = Numeric(14, 2)
COST = Numeric(14, 4)  # costs keep four places: a moving average of cheap parts would drift at two
QUANTITY = Numeric(14, 3)  # metres of cable and litres of fluid are sold too
RATE = Numeric(5, 4)  # 0.1300 = 13 %


class Category(TenantScoped, Timestamped):
    """A node of the tenant's category tree (功放 under 音响设备 …); `parent_id` NULL at the top."""

    __tablename__ = "catalog_categories"
    __table_args__ = (
        tenant_fk("parent_id", "catalog_categories"),
        Index("ix_catalog_categories_tenant_parent", "tenant_id", "parent_id", "position"),
    )

    parent_id: Mapped[int | None] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer, default=0)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Brand(TenantScoped, Timestamped):
    """A brand (JBL, 丹拿 …). A table rather than free text: 'brand by car model' analysis and filters need one
    spelling per brand, and renaming a brand then renames it on every item."""

    __tablename__ = "catalog_brands"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(80))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class CatalogItem(TenantScoped, Timestamped):
    """Something the chain sells: a product, a service (labour, 工时), a part (辅材/备件) or a package of items."""

    __tablename__ = "catalog_items"
    __table_args__ = (
        UniqueConstraint("tenant_id", "sku"),
        tenant_fk("brand_id", "catalog_brands"),
        tenant_fk("category_id", "catalog_categories"),
        Index("ix_catalog_items_tenant_name", "tenant_id", "name"),
        Index("ix_catalog_items_tenant_category", "tenant_id", "category_id"),
        Index("ix_catalog_items_tenant_brand", "tenant_id", "brand_id"),
        Index("ix_catalog_items_tenant_kind", "tenant_id", "kind", "id"),
    )

    kind: Mapped[str] = mapped_column(String(20))  # ITEM_KINDS
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    brand_id: Mapped[int | None] = mapped_column(BigInteger)
    category_id: Mapped[int | None] = mapped_column(BigInteger)
    unit: Mapped[str] = mapped_column(String(20), default="")  # 个, 套, 米, 小时 … free text
    list_price: Mapped[Decimal] = mapped_column(MONEY, default=Decimal("0.00"))
    cost: Mapped[Decimal] = mapped_column(COST, default=Decimal("0.0000"))  # standard cost; stock keeps the average
    tax_rate: Mapped[Decimal] = mapped_column(RATE, default=Decimal("0.0000"))
    serial_tracked: Mapped[bool] = mapped_column(Boolean, default=False)
    description: Mapped[str | None] = mapped_column(Text)
    custom: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")  # tenant-defined fields
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def stocked(self) -> bool:
        return self.kind in STOCKED_KINDS


class PackageLine(TenantScoped):
    """One component of a package item (入门/中端/高端 套餐): `quantity` of `component_id` per package."""

    __tablename__ = "catalog_package_lines"
    __table_args__ = (
        tenant_fk("package_id", "catalog_items", ondelete="CASCADE"),
        tenant_fk("component_id", "catalog_items"),
        UniqueConstraint("tenant_id", "package_id", "component_id"),
        Index("ix_catalog_package_lines_tenant_component", "tenant_id", "component_id"),
    )

    package_id: Mapped[int] = mapped_column(BigInteger)
    component_id: Mapped[int] = mapped_column(BigInteger)
    quantity: Mapped[Decimal] = mapped_column(QUANTITY)
    position: Mapped[int] = mapped_column(Integer, default=0)


class StorePrice(TenantScoped, Timestamped):
    """A store's own price for an item, overriding the list price there."""

    __tablename__ = "catalog_store_prices"
    __table_args__ = (
        tenant_fk("item_id", "catalog_items", ondelete="CASCADE"),
        tenant_fk("store_id", "stores", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "item_id", "store_id"),
        Index("ix_catalog_store_prices_tenant_store", "tenant_id", "store_id"),
    )

    item_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int] = mapped_column(BigInteger)
    price: Mapped[Decimal] = mapped_column(MONEY)
