from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, tenant_fk, utcnow


class ImportRun(TenantScoped):
    """One uploaded file and its way through mapping, the job, and the result."""

    __tablename__ = "import_runs"
    __table_args__ = (
        tenant_fk("user_id", "users"),
        Index("ix_import_runs_tenant_created", "tenant_id", "created_at"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20), default="customers")
    filename: Mapped[str] = mapped_column(String(200))
    stored_as: Mapped[str] = mapped_column(String(300))  # path relative to the upload root
    headers: Mapped[list] = mapped_column(JSONB, default=list)
    mapping: Mapped[dict] = mapped_column(JSONB, default=dict)  # column index (str) -> field
    default_store_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default="uploaded")  # uploaded|queued|running|done|failed
    total_rows: Mapped[int | None] = mapped_column(Integer)  # counted by the job, not in the upload request
    processed_rows: Mapped[int] = mapped_column(Integer, default=0)  # committed with each batch: resume point
    # the lease of the job working on the run: renewed with every batch; a stale one is resumed (services.process)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    attempt: Mapped[int] = mapped_column(Integer, default=0)  # the claim that may write; a newer one fences it off
    created_count: Mapped[int] = mapped_column(Integer, default=0)
    updated_count: Mapped[int] = mapped_column(Integer, default=0)
    failed_count: Mapped[int] = mapped_column(Integer, default=0)
    conflict_count: Mapped[int] = mapped_column(Integer, default=0)  # rows that would fold one person into another
    skipped_count: Mapped[int] = mapped_column(Integer, default=0)  # left out by choice (preview, update_existing)
    # what staff chose on the preview: update customers the file finds (or leave them), rows to leave out
    update_existing: Mapped[bool] = mapped_column(Boolean, default=True)
    skip_rows: Mapped[list] = mapped_column(JSONB, default=list)
    error: Mapped[str | None] = mapped_column(String(500))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ImportRowError(TenantScoped):
    __tablename__ = "import_row_errors"
    __table_args__ = (
        tenant_fk("run_id", "import_runs", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "run_id", "row_number"),
    )

    run_id: Mapped[int] = mapped_column(BigInteger)
    row_number: Mapped[int] = mapped_column(Integer)  # as the spreadsheet numbers it (header = 1)
    values: Mapped[list] = mapped_column(JSONB, default=list)
    messages: Mapped[dict] = mapped_column(JSONB, default=dict)  # field -> [reasons]
    kind: Mapped[str] = mapped_column(String(10), default="error")  # error | conflict (matching.match)


class SavedMapping(TenantScoped):
    """The column mapping last used for a file with these headers, offered again next time."""

    __tablename__ = "import_mappings"
    __table_args__ = (UniqueConstraint("tenant_id", "kind", "signature"),)

    kind: Mapped[str] = mapped_column(String(20))
    signature: Mapped[str] = mapped_column(String(64))
    mapping: Mapped[dict] = mapped_column(JSONB, default=dict)
