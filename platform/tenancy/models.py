"""Tenant (platform table) and the TenantScoped base every tenant-owned model inherits."""
from __future__ import annotations

from datetime import datetime, timezone

from sqlalchemy import BigInteger, DateTime, ForeignKey, ForeignKeyConstraint, Identity, String, func
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from ..extensions import db
from .context import require_tenant_id


def utcnow() -> datetime:
    """The current time, timezone-aware in UTC (how every time is stored)."""
    return datetime.now(timezone.utc)


class Tenant(db.Model):
    """One chain (HQ plus its stores). Platform-level: not tenant-scoped, readable by the app role."""

    __tablename__ = "tenants"

    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True)
    slug: Mapped[str] = mapped_column(String(63), unique=True)
    name: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(20), default="active")  # active | suspended | deleted
    locale: Mapped[str] = mapped_column(String(10), default="zh_CN")
    timezone: Mapped[str] = mapped_column(String(64), default="Asia/Shanghai")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, server_default=func.now())
    # tenant-level preferences (e.g. duplicate_policy); editable by the tenant's admins
    settings: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")

    @property
    def is_active(self) -> bool:
        return self.status == "active"

    def __repr__(self) -> str:
        return f"<Tenant {self.slug}>"


class TenantScoped(db.Model):
    """Base of every tenant-owned table.

    Primary key (tenant_id, id); foreign keys to other tenant tables go through `tenant_fk`
    so they include tenant_id; unique constraints and indexes must lead with tenant_id
    (tests/test_schema_rules.py checks all of this, plus RLS, for every table).
    """

    __abstract__ = True

    tenant_id: Mapped[int] = mapped_column(
        BigInteger, ForeignKey("tenants.id", ondelete="CASCADE"), primary_key=True,
        default=lambda: require_tenant_id(), sort_order=-100,
    )
    id: Mapped[int] = mapped_column(BigInteger, Identity(), primary_key=True, sort_order=-99)


def tenant_fk(column: str, target: str, *, ondelete: str | None = None) -> ForeignKeyConstraint:
    """A foreign key (tenant_id, column) -> target(tenant_id, id); use in __table_args__.

    The referring row and the referred row are then guaranteed to belong to the same tenant.
    On delete of the target, only the referring column is nulled (not tenant_id), hence the
    explicit column list PostgreSQL 15+ accepts for SET NULL.
    """
    kwargs = {}
    if ondelete == "SET NULL":
        kwargs["ondelete"] = f"SET NULL ({column})"
    elif ondelete:
        kwargs["ondelete"] = ondelete
    return ForeignKeyConstraint(["tenant_id", column], [f"{target}.tenant_id", f"{target}.id"], **kwargs)


class Timestamped:
    """Mixin adding `created_at` and `updated_at` (UTC, set by the database and on update)."""

    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, sort_order=90)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow, sort_order=91)


MAX_ID = 2**63 - 1


def as_id(value) -> int | None:
    """A record id from user input (int or digits), or None if it cannot be one (bools, floats, out of range)."""
    if isinstance(value, (bool, float)):
        return None
    try:
        number = int(value.strip() if isinstance(value, str) else value)
    except (TypeError, ValueError):
        return None
    return number if 0 < number <= MAX_ID else None


def reserve_ids(model, n: int) -> list[int]:
    """n ids from the table's identity sequence, so bulk rows can be written (and referenced) without
    RETURNING — which would make the driver send one INSERT per row."""
    from sqlalchemy import text

    if n <= 0:
        return []
    return list(db.session.scalars(text("SELECT nextval(pg_get_serial_sequence(:table, 'id')) "
                                        "FROM generate_series(1, :n)"), {"table": model.__tablename__, "n": n}))


def current_tenant_row() -> Tenant:
    """The current tenant's row (one primary-key lookup the session caches); fails closed outside a tenant."""
    tenant_id = require_tenant_id()
    held = db.session.info.get(_HELD_ROW)
    if held is not None and held.id == tenant_id:  # an import asks once a row: skip the identity map's machinery
        return held
    row = db.session.get(Tenant, tenant_id)
    # held until the transaction ends: the identity map keeps rows only while something else does, so every call read
    # the row again — an import asked for the tenant's "today" once per row, one statement each. Not longer: sessions
    # don't expire rows on commit, and a worker thread's session would keep a tenant's old zone or quiet hours.
    db.session.info[_HELD_ROW] = row
    return row


_HELD_ROW = "storecrm_tenant_row"


@event.listens_for(Session, "after_commit")
@event.listens_for(Session, "after_rollback")
def _let_go_of_the_tenant_row(session) -> None:
    session.info.pop(_HELD_ROW, None)


def get_scoped(model, record_id):
    """The row of `model` with this id in the current tenant, or None (ids of other tenants included)."""
    record_id = as_id(record_id)
    if record_id is None:
        return None
    return db.session.get(model, (require_tenant_id(), record_id))
