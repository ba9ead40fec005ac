"""Platform-level tables of the control plane (not tenant-scoped: operators and billing read across tenants)."""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import BigInteger, Boolean, DateTime, ForeignKey, Index, Integer, Numeric, String, text
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..extensions import db
from ..tenancy.models import utcnow


class Plan(db.Model):
    """A plan in data: its limits (None = unlimited) and what it is sold as.

    limits: {"stores": int|None, "seats": int|None, "customers": int|None, "plugins": ["*"] or [names],
    "api": bool}."""

    __tablename__ = "plans"

    code: Mapped[str] = mapped_column(String(20), primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(40))
    name_en: Mapped[str] = mapped_column(String(40))
    limits: Mapped[dict] = mapped_column(JSONB, default=dict)
    monthly_price: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=0)  # per seat, in `currency`
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    stripe_plan: Mapped[str | None] = mapped_column(String(100))  # the Stripe price/plan id
    position: Mapped[int] = mapped_column(Integer, default=100)
    public: Mapped[bool] = mapped_column(Boolean, default=True)

    def name(self, locale: str) -> str:
        return self.name_zh if locale.startswith("zh") else self.name_en


class TenantAccount(db.Model):
    """A tenant's plan and billing state (one row per tenant; none on a self-hosted install without plans)."""

    __tablename__ = "tenant_accounts"

    tenant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True)
    plan_code: Mapped[str | None] = mapped_column(String(20), ForeignKey("plans.code"))
    seats: Mapped[int] = mapped_column(Integer, default=1)
    billing_status: Mapped[str] = mapped_column(String(20), default="none")  # none|active|past_due|canceled
    grace_until: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)  # dunning: data kept, nothing writable
    cancel_at_period_end: Mapped[bool] = mapped_column(Boolean, default=False)
    current_period_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    stripe_customer_id: Mapped[str | None] = mapped_column(String(100), unique=True)
    stripe_subscription_id: Mapped[str | None] = mapped_column(String(100))
    billing_event_at: Mapped[int | None] = mapped_column(BigInteger)  # `created` of the newest Stripe event applied
    verified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # the owner's email, at signup
    checklist_dismissed: Mapped[bool] = mapped_column(Boolean, default=False)
    deletion_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # purged for good after it
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


def account_row(system, tenant_id: int, *, lock: bool = False) -> "TenantAccount":
    """The tenant's account in a system-role session, made (without a plan) if it has none yet."""
    from sqlalchemy import select

    query = select(TenantAccount).where(TenantAccount.tenant_id == tenant_id)
    row = system.scalar(query.with_for_update() if lock else query)
    if row is None:
        row = TenantAccount(tenant_id=tenant_id, seats=1, billing_status="none", read_only=False,
                            cancel_at_period_end=False, checklist_dismissed=False)
        system.add(row)
        system.flush()
    return row


class BillingEvent(db.Model):
    """A Stripe event, stored once by its id when its signature checked out; applied by a job."""

    __tablename__ = "billing_events"
    __table_args__ = (Index("ix_billing_events_unapplied", "created", postgresql_where=text("processed_at IS NULL")),)

    id: Mapped[str] = mapped_column(String(100), primary_key=True)
    type: Mapped[str] = mapped_column(String(80))
    created: Mapped[int] = mapped_column(BigInteger)  # Stripe's own timestamp: what "newer" means
    payload: Mapped[dict] = mapped_column(JSONB)
    tenant_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"))
    outcome: Mapped[str | None] = mapped_column(String(60))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    processed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Operator(db.Model):
    """A person running the SaaS (support, finance): not a user of any tenant, signs in at /ops/."""

    __tablename__ = "operators"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(200))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class OperatorSession(db.Model):
    """A sign-in to the operator console. The cookie holds only a random id; this row keeps its SHA-256, so logout
    (which revokes the row), expiry and deactivating the operator end the session whatever copies of the cookie exist."""

    __tablename__ = "operator_sessions"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    operator_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("operators.id", ondelete="CASCADE"), index=True)
    secret_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(String(64))


class OperatorAudit(db.Model):
    """Every operator action: who did what to which tenant, when."""

    __tablename__ = "operator_audit"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    operator_id: Mapped[int | None] = mapped_column(BigInteger, ForeignKey("operators.id", ondelete="SET NULL"))
    action: Mapped[str] = mapped_column(String(40))
    tenant_id: Mapped[int | None] = mapped_column(BigInteger)  # kept after the tenant is deleted
    detail: Mapped[dict] = mapped_column(JSONB, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class TenantExport(db.Model):
    """A complete export of one tenant (XLSX + JSON in a zip), made by a job."""

    __tablename__ = "tenant_exports"

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=True)
    tenant_id: Mapped[int] = mapped_column(BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"))
    requested_by: Mapped[str] = mapped_column(String(120))  # "operator:3" or "user:12"
    status: Mapped[str] = mapped_column(String(10), default="queued")  # queued | done | failed
    path: Mapped[str | None] = mapped_column(String(300))
    size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
