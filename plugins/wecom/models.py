"""Which staff member is which WeCom member (企业微信 UserID)."""
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storecrm.sdk import TenantScoped, tenant_fk, utcnow


class Binding(TenantScoped):
    """A staff member bound to a WeCom member: staff notifications reach them as app messages."""

    __tablename__ = "wecom_bindings"
    __table_args__ = (
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "user_id"),
        UniqueConstraint("tenant_id", "wecom_userid"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    wecom_userid: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
