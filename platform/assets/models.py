from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Index, String, Text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped, tenant_fk, utcnow


class Asset(TenantScoped, Timestamped):
    """Something a customer owns and the chain services (a car, an audio system, a smart device), with identifiers and attributes."""

    __tablename__ = "assets"
    __table_args__ = (
        tenant_fk("customer_id", "customers"),
        tenant_fk("store_id", "stores"),
        Index("ix_assets_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_assets_tenant_type", "tenant_id", "type", "id"),
        Index("ix_assets_tenant_installed", "tenant_id", "installed_on"),
        Index("ix_assets_tenant_warranty", "tenant_id", "warranty_until"),
    )

    customer_id: Mapped[int] = mapped_column(BigInteger)  # current owner
    type: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(120))
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    purchased_on: Mapped[date | None] = mapped_column(Date)
    installed_on: Mapped[date | None] = mapped_column(Date)
    warranty_until: Mapped[date | None] = mapped_column(Date)
    attributes: Mapped[dict] = mapped_column(JSONB, default=dict)  # validated by the type's schema
    custom: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")  # tenant-defined fields
    notes: Mapped[str | None] = mapped_column(Text)
    deleted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class AssetOwnership(TenantScoped):
    """Who owned an asset when; the open row (until NULL) is the current owner."""

    __tablename__ = "asset_ownerships"
    __table_args__ = (
        tenant_fk("asset_id", "assets", ondelete="CASCADE"),
        tenant_fk("customer_id", "customers"),
        Index("ix_asset_ownerships_tenant_asset", "tenant_id", "asset_id", "since"),
        Index("ix_asset_ownerships_tenant_customer", "tenant_id", "customer_id"),
    )

    asset_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    since: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(String(200))


class AssetReading(TenantScoped):
    """An odometer (or hour-meter) reading; `service` marks the reading taken when the asset was serviced.

    Usage rules ("5 months OR 8,000 km since the last service") estimate today's reading from these."""

    __tablename__ = "asset_readings"
    __table_args__ = (
        tenant_fk("asset_id", "assets", ondelete="CASCADE"),
        tenant_fk("created_by_id", "users", ondelete="SET NULL"),
        Index("ix_asset_readings_tenant_asset", "tenant_id", "asset_id", "read_on"),
    )

    asset_id: Mapped[int] = mapped_column(BigInteger)
    read_on: Mapped[date] = mapped_column(Date)
    value: Mapped[int] = mapped_column(BigInteger)  # km
    service: Mapped[bool] = mapped_column(Boolean, default=False)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
