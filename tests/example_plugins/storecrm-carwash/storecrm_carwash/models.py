from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Numeric, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storecrm.sdk import TenantScoped, tenant_fk, utcnow


class WashType(TenantScoped):
    __tablename__ = "carwash_types"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(20))
    name: Mapped[str] = mapped_column(String(40))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))


class CarWash(TenantScoped):
    __tablename__ = "carwash_washes"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        Index("ix_carwash_washes_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_carwash_washes_tenant_at", "tenant_id", "washed_at"),
    )

    customer_id: Mapped[int] = mapped_column(BigInteger)
    wash_type: Mapped[str] = mapped_column(String(20))
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2))
    free: Mapped[bool] = mapped_column(Boolean, default=False)
    washed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
