"""WeChat Pay: payments (one per out_trade_no), the verified notifications (one per transaction or refund, so a
repeated notification is applied once), refunds. Amounts in fen (分), as WeChat Pay counts them."""
from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storecrm.sdk import TenantScoped, tenant_fk, utcnow


class Payment(TenantScoped):
    __tablename__ = "wechat_pay_payments"
    __table_args__ = (tenant_fk("customer_id", "customers", ondelete="SET NULL"),
                      UniqueConstraint("tenant_id", "out_trade_no"),
                      UniqueConstraint("tenant_id", "transaction_id"),
                      Index("ix_wechat_pay_payments_tenant_created", "tenant_id", "created_at"))

    out_trade_no: Mapped[str] = mapped_column(String(32))
    purpose: Mapped[str] = mapped_column(String(40))            # order | retail.topup | test | a plugin's purpose
    reference_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    description: Mapped[str] = mapped_column(String(127))
    amount_fen: Mapped[int] = mapped_column(Integer)
    trade_type: Mapped[str] = mapped_column(String(10))         # jsapi | native
    openid: Mapped[str | None] = mapped_column(String(64))
    prepay_id: Mapped[str | None] = mapped_column(String(64))
    code_url: Mapped[str | None] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(12), default="created")  # created | paid | failed | refunded
    transaction_id: Mapped[str | None] = mapped_column(String(32))
    refunded_fen: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    paid_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class Notification(TenantScoped):
    """A verified, decrypted notification: one per (event type, transaction or refund id)."""
    __tablename__ = "wechat_pay_notifications"
    __table_args__ = (UniqueConstraint("tenant_id", "event_type", "resource_key"),)

    notify_id: Mapped[str] = mapped_column(String(64))
    event_type: Mapped[str] = mapped_column(String(40))
    resource_key: Mapped[str] = mapped_column(String(64))      # transaction_id, or refund_id for refunds
    out_trade_no: Mapped[str] = mapped_column(String(32))
    amount_fen: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Refund(TenantScoped):
    __tablename__ = "wechat_pay_refunds"
    __table_args__ = (tenant_fk("payment_id", "wechat_pay_payments", ondelete="CASCADE"),
                      UniqueConstraint("tenant_id", "out_refund_no"))

    payment_id: Mapped[int] = mapped_column(BigInteger)
    out_refund_no: Mapped[str] = mapped_column(String(64))
    amount_fen: Mapped[int] = mapped_column(Integer)
    reason: Mapped[str | None] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(12), default="processing")  # processing | success | closed | abnormal
    refund_id: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
