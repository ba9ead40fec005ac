from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, Date, DateTime, Index, Numeric, String, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped, tenant_fk

CHARTS = ("number", "line", "bar", "pie")


class Dashboard(TenantScoped, Timestamped):
    """A tenant's board of KPIs, saved reports and plugin widgets. `role_id`: the role whose members get it on their
    home page (None: shared, opened from the dashboards list). `owner_id`: a personal dashboard, seen and changed by
    that user only (never a role's); `home`: the personal one their home page shows instead of their role's.
    `items`: [{"kind": "kpi" | "widget" | "report", "code", "chart"}], in order."""

    __tablename__ = "dashboards"
    __table_args__ = (
        tenant_fk("role_id", "roles", ondelete="SET NULL"),
        tenant_fk("created_by_id", "users", ondelete="SET NULL"),
        tenant_fk("owner_id", "users", ondelete="CASCADE"),
        Index("ix_dashboards_tenant_role", "tenant_id", "role_id"),
        Index("ix_dashboards_tenant_owner", "tenant_id", "owner_id"),
        Index("uq_dashboards_tenant_owner_home", "tenant_id", "owner_id", unique=True,
              postgresql_where=text("home")),
    )

    name: Mapped[str] = mapped_column(String(80))
    role_id: Mapped[int | None] = mapped_column(BigInteger)
    items: Mapped[list] = mapped_column(JSONB, default=list, server_default="[]")
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    home: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")

    @property
    def personal(self) -> bool:
        return self.owner_id is not None


class KpiThreshold(TenantScoped, Timestamped):
    """"Tell the managers when <KPI> this <period> goes above/below <value>". `crossed` remembers the side the value
    was on at the last check, so each crossing notifies once; going back resets it."""

    __tablename__ = "kpi_thresholds"
    __table_args__ = (
        tenant_fk("store_id", "stores", ondelete="CASCADE"),
        tenant_fk("role_id", "roles", ondelete="SET NULL"),
        Index("ix_kpi_thresholds_tenant_active", "tenant_id", "active"),
    )

    kpi_code: Mapped[str] = mapped_column(String(80))
    period: Mapped[str] = mapped_column(String(8), default="month")
    direction: Mapped[str] = mapped_column(String(6), default="below")  # above | below
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    role_id: Mapped[int | None] = mapped_column(BigInteger)  # who is told (None: the owners and admins)
    active: Mapped[bool] = mapped_column(Boolean, default=True, server_default="true")
    crossed: Mapped[bool] = mapped_column(Boolean, default=False, server_default="false")
    last_value: Mapped[Decimal | None] = mapped_column(Numeric(16, 2))
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    crossed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SavedReport(TenantScoped, Timestamped):
    """A report of the builder (storecrm.reports.builder): a name and its `spec` (entity, columns, filters,
    group-by, aggregate, sort), data checked against the whitelist on every save and every run, never SQL."""

    __tablename__ = "saved_reports"
    __table_args__ = (
        tenant_fk("created_by_id", "users", ondelete="SET NULL"),
        Index("ix_saved_reports_tenant_name", "tenant_id", "name"),
    )

    name: Mapped[str] = mapped_column(String(80))
    spec: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)


class KpiTarget(TenantScoped, Timestamped):
    """A month's target for a KPI: for the whole tenant (no store, no person), a store, a person, or a person in a
    store. One target per KPI, month, store and person (NULLs counted as equal by the unique index)."""

    __tablename__ = "kpi_targets"
    __table_args__ = (
        tenant_fk("store_id", "stores", ondelete="CASCADE"),
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        Index("uq_kpi_targets_tenant_key", "tenant_id", "kpi_code", "month", text("coalesce(store_id, 0)"),
              text("coalesce(user_id, 0)"), unique=True),
    )

    kpi_code: Mapped[str] = mapped_column(String(80))
    month: Mapped[date] = mapped_column(Date)  # the first day of the month
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    value: Mapped[Decimal] = mapped_column(Numeric(14, 2))


class ReportDigest(TenantScoped):
    """A user's opt-in to the weekly e-mail digest of their role's KPIs. `last_week`: the Monday of the last week
    sent; the job claims a week with a conditional UPDATE, so two schedulers running at once send it once."""

    __tablename__ = "report_digests"
    __table_args__ = (
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    last_week: Mapped[date | None] = mapped_column(Date)
