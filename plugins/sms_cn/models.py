"""Which approved provider template each of the tenant's message templates goes out as, and one delivery record per
text handed to the provider (its message id, then the carrier's receipt)."""
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storecrm.sdk import TenantScoped, tenant_fk, utcnow


class TemplateMapping(TenantScoped):
    """Message template `code` (e.g. appointment.code) → the provider's approved template (SMS_123456789 at
    Aliyun, a numeric id at Tencent). `param_names`: the variables in the order Tencent's {1}, {2} … take them."""

    __tablename__ = "sms_cn_templates"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(60))
    provider_template: Mapped[str] = mapped_column(String(60))
    param_names: Mapped[str] = mapped_column(String(300), default="")
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class Delivery(TenantScoped):
    """A text the provider accepted or refused. `status`: submitted (accepted, no receipt yet) | delivered |
    failed (refused by the provider, or the carrier's receipt says it did not arrive). `message_id` is empty for the
    admin page's test texts, which do not go through the outbox."""

    __tablename__ = "sms_cn_deliveries"
    __table_args__ = (
        tenant_fk("message_id", "outbox_messages", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "provider", "provider_message_id"),
        Index("ix_sms_cn_deliveries_tenant_message", "tenant_id", "message_id"),
        Index("ix_sms_cn_deliveries_tenant_created", "tenant_id", "created_at"),
    )

    message_id: Mapped[int | None] = mapped_column(BigInteger)
    provider: Mapped[str] = mapped_column(String(10))
    phone: Mapped[str] = mapped_column(String(20))
    template: Mapped[str] = mapped_column(String(60))
    provider_message_id: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(10), default="submitted")
    error_code: Mapped[str | None] = mapped_column(String(80))
    error_text: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    reported_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
