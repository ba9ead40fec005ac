from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..stores.models import Store
from ..tenancy.models import TenantScoped, Timestamped, tenant_fk


class Customer(TenantScoped, Timestamped):
    __tablename__ = "customers"
    __table_args__ = (
        tenant_fk("store_id", "stores"),
        tenant_fk("owner_id", "users", ondelete="SET NULL"),
        Index("ix_customers_tenant_mobile", "tenant_id", "mobile"),
        Index("ix_customers_tenant_store", "tenant_id", "store_id", "id"),
        Index("ix_customers_tenant_name", "tenant_id", "name"),
    )

    name: Mapped[str] = mapped_column(String(80))
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

    store: Mapped[Store] = relationship(
        lazy="joined", primaryjoin="and_(Customer.tenant_id == Store.tenant_id, Customer.store_id == Store.id)",
        foreign_keys="[Customer.tenant_id, Customer.store_id]", viewonly=True,
    )
