from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, tenant_fk, utcnow


class StoredFile(TenantScoped):
    """One uploaded file. The bytes live in the storage backend under `key`; rows say what they are."""

    __tablename__ = "stored_files"
    __table_args__ = (
        tenant_fk("uploaded_by", "users"),
        Index("ix_stored_files_tenant_created", "tenant_id", "created_at"),
    )

    key: Mapped[str] = mapped_column(String(200))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(100))
    size: Mapped[int] = mapped_column(BigInteger)
    width: Mapped[int | None] = mapped_column(Integer)
    height: Mapped[int | None] = mapped_column(Integer)
    thumbnail_key: Mapped[str | None] = mapped_column(String(200))
    uploaded_by: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    @property
    def is_image(self) -> bool:
        return self.content_type.startswith("image/")
