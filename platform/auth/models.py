from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..tenancy.models import TenantScoped, tenant_fk, utcnow
from ..users.models import User


class UserSession(TenantScoped):
    """A browser login. The cookie holds its id and a secret whose SHA-256 is stored here."""

    __tablename__ = "user_sessions"
    __table_args__ = (
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        Index("ix_user_sessions_tenant_user", "tenant_id", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    secret_hash: Mapped[str] = mapped_column(String(64))
    auth_epoch: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    ip: Mapped[str | None] = mapped_column(String(64))
    user_agent: Mapped[str | None] = mapped_column(String(300))

    user: Mapped[User] = relationship(
        lazy="joined", viewonly=True, primaryjoin="and_(UserSession.tenant_id == User.tenant_id, UserSession.user_id == User.id)",
        foreign_keys="[UserSession.tenant_id, UserSession.user_id]",
    )


class ApiToken(TenantScoped):
    """A personal API token. Shown once; only its SHA-256 is kept."""

    __tablename__ = "api_tokens"
    __table_args__ = (
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        Index("ix_api_tokens_tenant_user", "tenant_id", "user_id"),
    )

    user_id: Mapped[int] = mapped_column(BigInteger)
    name: Mapped[str] = mapped_column(String(80))
    secret_hash: Mapped[str] = mapped_column(String(64))
    hint: Mapped[str] = mapped_column(String(12))  # last characters, to tell tokens apart
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(
        lazy="joined", viewonly=True, primaryjoin="and_(ApiToken.tenant_id == User.tenant_id, ApiToken.user_id == User.id)",
        foreign_keys="[ApiToken.tenant_id, ApiToken.user_id]",
    )
