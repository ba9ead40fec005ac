"""Scheduling tables. Times are UTC `timestamptz`; weekly patterns are wall-clock times of the tenant's zone.

No double booking is the database's job: `appointments.during` is a `tstzrange` (start to end plus the service's
buffer) and two `EXCLUDE USING gist` constraints (btree_gist) refuse an overlapping live appointment of the same
staff member, or of the same unit of a resource. A resource of capacity N has units 0..N-1; booking takes a free
unit, so capacity is enforced by the same constraint. Cancelled and no-show appointments do not block."""
from __future__ import annotations

from datetime import datetime, time

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Computed, DateTime, Index, Integer, SmallInteger,
                        String, Text, Time, UniqueConstraint, text)
from sqlalchemy.dialects.postgresql import JSONB, TSTZRANGE, ExcludeConstraint
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped, tenant_fk

RESOURCE_KINDS = ("bay", "lift", "van", "room", "demo_car")
EXCEPTION_KINDS = ("leave", "extra_shift", "closure")
STATUSES = ("booked", "confirmed", "arrived", "in_service", "done", "no_show", "cancelled")
LIVE = ("booked", "confirmed", "arrived", "in_service", "done")  # these block the time; the others do not
SOURCES = ("staff", "public", "api")
BLOCKING = "status NOT IN ('cancelled', 'no_show')"


class StaffSkill(TenantScoped):
    """A skill a staff member has (安装, 调音, 电路 …) with a level 1–5."""

    __tablename__ = "staff_skills"
    __table_args__ = (
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "user_id", "skill"),
        Index("ix_staff_skills_tenant_skill", "tenant_id", "skill"),
        CheckConstraint("level BETWEEN 1 AND 5", name="level_range"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    skill: Mapped[str] = mapped_column(String(60))
    level: Mapped[int] = mapped_column(SmallInteger, default=1)


class StaffRegion(TenantScoped):
    """A service region (district, 区) a staff member covers for visits at the customer's place."""

    __tablename__ = "staff_regions"
    __table_args__ = (
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "user_id", "region"),
        Index("ix_staff_regions_tenant_region", "tenant_id", "region"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    region: Mapped[str] = mapped_column(String(60))


class WorkingPattern(TenantScoped):
    """One weekly shift: staff member `user_id` works at `store_id` on `weekday` (0 = Monday) from `starts_at` to
    `ends_at`, wall-clock times in the tenant's zone (a shift past midnight is two rows)."""

    __tablename__ = "working_patterns"
    __table_args__ = (
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        tenant_fk("store_id", "stores", ondelete="CASCADE"),
        Index("ix_working_patterns_tenant_store", "tenant_id", "store_id", "weekday"),
        Index("ix_working_patterns_tenant_user", "tenant_id", "user_id", "weekday"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int] = mapped_column(BigInteger)
    weekday: Mapped[int] = mapped_column(SmallInteger)
    starts_at: Mapped[time] = mapped_column(Time)
    ends_at: Mapped[time] = mapped_column(Time)


class ScheduleException(TenantScoped, Timestamped):
    """A change to the weekly pattern: `leave` (the person does not work), `extra_shift` (works at `store_id`),
    `closure` (the whole store is closed: no user)."""

    __tablename__ = "schedule_exceptions"
    __table_args__ = (
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        tenant_fk("store_id", "stores", ondelete="CASCADE"),
        Index("ix_schedule_exceptions_tenant_user", "tenant_id", "user_id", "starts_at"),
        Index("ix_schedule_exceptions_tenant_store", "tenant_id", "store_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("kind IN ('leave', 'extra_shift', 'closure')", name="known_kind"),
        CheckConstraint("(kind = 'closure') = (user_id IS NULL)", name="closure_has_no_user"),
        CheckConstraint("kind = 'leave' OR store_id IS NOT NULL", name="shift_and_closure_have_store"),
    )

    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    note: Mapped[str | None] = mapped_column(String(200))


class Resource(TenantScoped, Timestamped):
    """Something of a store that a booking occupies: a bay (工位), a lift, a van, a room; `capacity` parallel uses."""

    __tablename__ = "resources"
    __table_args__ = (
        tenant_fk("store_id", "stores", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "store_id", "name"),
        Index("ix_resources_tenant_store_kind", "tenant_id", "store_id", "kind"),
        CheckConstraint("capacity BETWEEN 1 AND 50", name="capacity_range"),
    )

    store_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20))
    capacity: Mapped[int] = mapped_column(SmallInteger, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class ServiceType(TenantScoped, Timestamped):
    """A bookable service: how long it takes, the gap after it, the skills it needs, the resource kind it uses."""

    __tablename__ = "service_types"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("duration_minutes BETWEEN 5 AND 1440", name="duration_range"),
        CheckConstraint("buffer_minutes BETWEEN 0 AND 480", name="buffer_range"),
    )

    name: Mapped[str] = mapped_column(String(120))
    duration_minutes: Mapped[int] = mapped_column(Integer)
    buffer_minutes: Mapped[int] = mapped_column(Integer, default=0)
    required_skills: Mapped[dict] = mapped_column(JSONB, default=dict)  # {skill: minimum level}
    needs_staff: Mapped[bool] = mapped_column(Boolean, default=True)
    resource_kind: Mapped[str | None] = mapped_column(String(20))
    # TODO(catalog): a (tenant_id, catalog_item_id) foreign key once the catalog (branch commerce-stock) is on main
    catalog_item_id: Mapped[int | None] = mapped_column(BigInteger)
    min_notice_minutes: Mapped[int] = mapped_column(Integer, default=60)
    max_days_ahead: Mapped[int] = mapped_column(Integer, default=30)
    public: Mapped[bool] = mapped_column(Boolean, default=True)  # offered on the public booking page
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Appointment(TenantScoped, Timestamped):
    """A booking of a service at a store for a customer (and asset), with staff and a resource unit."""

    __tablename__ = "appointments"
    __table_args__ = (
        tenant_fk("store_id", "stores"),
        tenant_fk("customer_id", "customers"),
        tenant_fk("asset_id", "assets", ondelete="SET NULL"),
        tenant_fk("service_type_id", "service_types"),
        tenant_fk("staff_id", "users", ondelete="SET NULL"),
        tenant_fk("resource_id", "resources", ondelete="SET NULL"),
        tenant_fk("created_by_id", "users", ondelete="SET NULL"),
        Index("ix_appointments_tenant_store_start", "tenant_id", "store_id", "starts_at"),
        Index("ix_appointments_tenant_customer", "tenant_id", "customer_id", "starts_at"),
        Index("ix_appointments_tenant_staff_start", "tenant_id", "staff_id", "starts_at"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("blocked_until >= ends_at", name="buffer_after_end"),
        CheckConstraint("(resource_id IS NULL) = (resource_unit IS NULL)", name="unit_with_resource"),
        CheckConstraint("resource_unit >= 0", name="unit_not_negative"),
        CheckConstraint("status IN ('booked', 'confirmed', 'arrived', 'in_service', 'done', 'no_show', "
                        "'cancelled')", name="known_status"),
        ExcludeConstraint(("tenant_id", "="), ("staff_id", "="), ("during", "&&"),
                          name="appointments_staff_no_overlap", using="gist", where=text(BLOCKING)),
        ExcludeConstraint(("tenant_id", "="), ("resource_id", "="), ("resource_unit", "="), ("during", "&&"),
                          name="appointments_resource_no_overlap", using="gist", where=text(BLOCKING)),
    )

    store_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    asset_id: Mapped[int | None] = mapped_column(BigInteger)
    service_type_id: Mapped[int] = mapped_column(BigInteger)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    resource_id: Mapped[int | None] = mapped_column(BigInteger)
    resource_unit: Mapped[int | None] = mapped_column(SmallInteger)
    starts_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ends_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    blocked_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))  # ends_at plus the service's buffer
    during = mapped_column(TSTZRANGE, Computed("tstzrange(starts_at, blocked_until, '[)')", persisted=True))
    status: Mapped[str] = mapped_column(String(20), default="booked")
    source: Mapped[str] = mapped_column(String(20), default="staff")
    walk_in: Mapped[bool] = mapped_column(Boolean, default=False)
    arrived_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    started_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancelled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    cancel_reason: Mapped[str | None] = mapped_column(String(200))
    answers: Mapped[dict] = mapped_column(JSONB, default=dict)  # booking questions (plate, mileage, symptom)
    notes: Mapped[str | None] = mapped_column(Text)
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def waiting_minutes(self) -> int | None:
        """Arrival to done, the dealer KPI 客户等待时长 (split by appointment vs walk-in)."""
        if self.arrived_at and self.completed_at:
            return int((self.completed_at - self.arrived_at).total_seconds() // 60)
        return None
