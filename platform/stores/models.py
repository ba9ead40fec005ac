from __future__ import annotations

from datetime import time

from sqlalchemy import Boolean, Index, String, Time, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped


class Store(TenantScoped, Timestamped):
    """One store (门店) of the chain; records that belong to a store carry its id."""

    __tablename__ = "stores"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code"),
        Index("ix_stores_tenant_name", "tenant_id", "name"),
    )

    code: Mapped[str] = mapped_column(String(32))
    name: Mapped[str] = mapped_column(String(120))
    phone: Mapped[str | None] = mapped_column(String(20))
    province: Mapped[str | None] = mapped_column(String(40))
    city: Mapped[str | None] = mapped_column(String(40))
    address: Mapped[str | None] = mapped_column(String(300))
    opens_at: Mapped[time | None] = mapped_column(Time)
    closes_at: Mapped[time | None] = mapped_column(Time)
    active: Mapped[bool] = mapped_column(Boolean, default=True)

    @property
    def hours(self) -> str:
        if self.opens_at and self.closes_at:
            return f"{self.opens_at:%H:%M}–{self.closes_at:%H:%M}"
        return ""
