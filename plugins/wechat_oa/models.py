"""WeChat Official Account: who follows the account (and which customer that is), and the callback events seen."""
from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storecrm.sdk import TenantScoped, tenant_fk, utcnow


class Follower(TenantScoped):
    """An openid of the tenant's Official Account: bound to a customer by web sign-in, followed or not (callback)."""
    __tablename__ = "wechat_oa_followers"
    __table_args__ = (tenant_fk("customer_id", "customers", ondelete="SET NULL"),
                      UniqueConstraint("tenant_id", "openid"))

    openid: Mapped[str] = mapped_column(String(64))
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    subscribed: Mapped[bool] = mapped_column(Boolean, default=False)
    subscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    unsubscribed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    bound_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CallbackEvent(TenantScoped):
    """An event WeChat's server pushed (subscribe, unsubscribe …): one row per (openid, CreateTime, event), so a
    replayed or retried push is applied once."""
    __tablename__ = "wechat_oa_callback_events"
    __table_args__ = (UniqueConstraint("tenant_id", "openid", "create_time", "event"),)

    openid: Mapped[str] = mapped_column(String(64))
    event: Mapped[str] = mapped_column(String(32))
    create_time: Mapped[int] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class SubscribeConsent(TenantScoped):
    """A user's answer to a subscribe message template (订阅通知): what the callback events
    `subscribe_msg_popup_event` / `subscribe_msg_change_event` reported, and what `subscribe_msg_sent_event` used up.

    A one-time subscription (一次性订阅) allows one message per "accept" (`credits`, spent by each send); a long-term
    one (长期订阅, mapped as `subscribe_long:`) allows messages while `status` is "accept"."""
    __tablename__ = "wechat_oa_subscribe_consents"
    __table_args__ = (UniqueConstraint("tenant_id", "openid", "template_id"),)

    openid: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16))          # accept | reject
    credits: Mapped[int] = mapped_column(Integer, default=0)
    last_event: Mapped[str] = mapped_column(String(64))    # e.g. popup:accept, sent:success, change:reject
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
