"""Car-audio install tables: the install job (施工服务单), its history, the audio system's components, the versioned
tuning records (调音记录) and the follow-up reasons. Every table is tenant-scoped with row-level security."""
from datetime import date, datetime

from sqlalchemy import BigInteger, Date, DateTime, Index, Integer, SmallInteger, String, Text, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from storecrm.sdk import TenantScoped, tenant_fk, utcnow


class InstallJob(TenantScoped):
    __tablename__ = "car_audio_jobs"
    __table_args__ = (
        tenant_fk("customer_id", "customers"),
        tenant_fk("store_id", "stores"),
        tenant_fk("vehicle_id", "assets", ondelete="SET NULL"),
        tenant_fk("audio_system_id", "assets", ondelete="SET NULL"),
        tenant_fk("order_id", "sales_documents", ondelete="SET NULL"),
        tenant_fk("technician_id", "users", ondelete="SET NULL"),
        tenant_fk("advisor_id", "users", ondelete="SET NULL"),
        tenant_fk("appointment_id", "appointments", ondelete="SET NULL"),
        tenant_fk("bay_id", "resources", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "number", name="uq_car_audio_jobs_tenant_number"),
        UniqueConstraint("tenant_id", "order_id", name="uq_car_audio_jobs_tenant_order"),
        Index("ix_car_audio_jobs_tenant_status", "tenant_id", "status", "id"),
        Index("ix_car_audio_jobs_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_car_audio_jobs_tenant_delivered", "tenant_id", "delivered_on"),
    )

    number: Mapped[str | None] = mapped_column(String(30))
    store_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    vehicle_id: Mapped[int | None] = mapped_column(BigInteger)
    audio_system_id: Mapped[int | None] = mapped_column(BigInteger)
    order_id: Mapped[int | None] = mapped_column(BigInteger)
    package_tier: Mapped[str | None] = mapped_column(String(10))  # entry | mid | high
    status: Mapped[str] = mapped_column(String(20), default="new")
    advisor_id: Mapped[int | None] = mapped_column(BigInteger)
    technician_id: Mapped[int | None] = mapped_column(BigInteger)
    appointment_id: Mapped[int | None] = mapped_column(BigInteger)
    bay_id: Mapped[int | None] = mapped_column(BigInteger)
    scheduled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    inspection: Mapped[dict] = mapped_column(JSONB, default=dict)  # scratches, warning lights, electrics, notes
    inspection_name: Mapped[str | None] = mapped_column(String(60))
    inspection_signature: Mapped[str | None] = mapped_column(Text)
    checked_in_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    checklist: Mapped[dict] = mapped_column(JSONB, default=dict)  # {step code: true}
    photos: Mapped[dict] = mapped_column(JSONB, default=dict)  # {kind: [file ids]}
    rework_count: Mapped[int] = mapped_column(SmallInteger, default=0)
    qc_passed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    accepted_name: Mapped[str | None] = mapped_column(String(60))
    acceptance_signature: Mapped[str | None] = mapped_column(Text)
    accepted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    delivered_on: Mapped[date | None] = mapped_column(Date)
    follow_up_due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    followed_up_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    follow_up_notes: Mapped[str | None] = mapped_column(Text)
    survey_invitation_id: Mapped[int | None] = mapped_column(BigInteger)
    complaint_task_id: Mapped[int | None] = mapped_column(BigInteger)
    notes: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class JobStep(TenantScoped):
    """One change of an install job's state: who, when, and the reason of a send-back."""

    __tablename__ = "car_audio_job_steps"
    __table_args__ = (
        tenant_fk("job_id", "car_audio_jobs", ondelete="CASCADE"),
        tenant_fk("user_id", "users", ondelete="SET NULL"),
        Index("ix_car_audio_job_steps_tenant_job", "tenant_id", "job_id", "id"),
    )

    job_id: Mapped[int] = mapped_column(BigInteger)
    from_status: Mapped[str | None] = mapped_column(String(20))
    to_status: Mapped[str] = mapped_column(String(20))
    reason: Mapped[str | None] = mapped_column(String(500))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Component(TenantScoped):
    """A part of a car's audio system (head unit, a speaker at a position, amplifier, DSP …), with its serial and
    warranty; `removed_at` once swapped out."""

    __tablename__ = "car_audio_components"
    __table_args__ = (
        tenant_fk("audio_system_id", "assets", ondelete="CASCADE"),
        tenant_fk("job_id", "car_audio_jobs", ondelete="SET NULL"),
        tenant_fk("item_id", "catalog_items", ondelete="SET NULL"),
        Index("ix_car_audio_components_tenant_system", "tenant_id", "audio_system_id"),
        Index("ix_car_audio_components_tenant_warranty", "tenant_id", "warranty_until"),
        Index("ix_car_audio_components_tenant_serial", "tenant_id", "serial"),
    )

    audio_system_id: Mapped[int] = mapped_column(BigInteger)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    item_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))  # COMPONENT_KINDS
    position: Mapped[str | None] = mapped_column(String(20))  # POSITIONS
    name: Mapped[str] = mapped_column(String(200))
    brand: Mapped[str | None] = mapped_column(String(80))
    serial: Mapped[str | None] = mapped_column(String(80))
    installed_on: Mapped[date] = mapped_column(Date)
    warranty_until: Mapped[date | None] = mapped_column(Date)
    warranty_reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    removed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class TuningRecord(TenantScoped):
    """A version of the audio system's tuning (EQ bands, crossovers, time alignment, phase, gain per channel)."""

    __tablename__ = "car_audio_tunings"
    __table_args__ = (
        tenant_fk("audio_system_id", "assets", ondelete="CASCADE"),
        tenant_fk("job_id", "car_audio_jobs", ondelete="SET NULL"),
        tenant_fk("technician_id", "users", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "audio_system_id", "version", name="uq_car_audio_tunings_tenant_system_version"),
        Index("ix_car_audio_tunings_tenant_job", "tenant_id", "job_id"),
    )

    audio_system_id: Mapped[int] = mapped_column(BigInteger)
    job_id: Mapped[int | None] = mapped_column(BigInteger)
    version: Mapped[int] = mapped_column(Integer)
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
    notes: Mapped[str | None] = mapped_column(Text)
    technician_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class FeedbackReason(TenantScoped):
    """A reason of dissatisfaction recorded at the follow-up (预约等待久, 调试效果不佳 …), for the reason chart."""

    __tablename__ = "car_audio_reasons"
    __table_args__ = (
        tenant_fk("job_id", "car_audio_jobs", ondelete="CASCADE"),
        tenant_fk("store_id", "stores"),
        Index("ix_car_audio_reasons_tenant_at", "tenant_id", "at"),
        Index("ix_car_audio_reasons_tenant_job", "tenant_id", "job_id"),
    )

    job_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int] = mapped_column(BigInteger)
    reason: Mapped[str] = mapped_column(String(30))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
