from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from ..access.models import SCOPE_ALL, Role
from ..extensions import db
from ..stores.models import Store
from ..tenancy.models import TenantScoped, Timestamped, tenant_fk


class UserStore(db.Model):
    """Which stores a staff member works in (store-scoped roles see only these)."""

    __tablename__ = "user_stores"
    __table_args__ = (
        tenant_fk("user_id", "users", ondelete="CASCADE"),
        tenant_fk("store_id", "stores", ondelete="CASCADE"),
        Index("ix_user_stores_tenant_store", "tenant_id", "store_id"),
    )
    tenant_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    user_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    store_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class User(TenantScoped, Timestamped):
    """A staff member of the tenant: role, stores, language; signs in to the web UI and the API."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("tenant_id", "email"),
        UniqueConstraint("tenant_id", "mobile"),
        tenant_fk("role_id", "roles"),
        Index("ix_users_tenant_role", "tenant_id", "role_id"),
    )

    email: Mapped[str | None] = mapped_column(String(254))
    mobile: Mapped[str | None] = mapped_column(String(20))  # E.164
    display_name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(200))
    role_id: Mapped[int] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    locale: Mapped[str | None] = mapped_column(String(10))
    last_login_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Bumped on password change and "log out everywhere": every session and reset link dies.
    auth_epoch: Mapped[int] = mapped_column(Integer, default=0)

    role: Mapped[Role] = relationship(lazy="joined", foreign_keys=[role_id], viewonly=True,
                                      primaryjoin="and_(User.tenant_id == Role.tenant_id, User.role_id == Role.id)")
    stores: Mapped[list[Store]] = relationship(  # read when needed: HQ users never need them
        secondary="user_stores", lazy="select", order_by=Store.name, viewonly=True,
        primaryjoin="and_(User.tenant_id == UserStore.tenant_id, User.id == UserStore.user_id)",
        secondaryjoin="and_(Store.tenant_id == UserStore.tenant_id, Store.id == UserStore.store_id)",
    )

    # Flask-Login protocol (the session id, not the user id, is the login identity: see auth.sessions)
    is_authenticated = True
    is_anonymous = False

    @property
    def is_active(self) -> bool:
        return self.active

    def has_permission(self, code: str) -> bool:
        return self.role.is_owner or code in (self.role.permissions or ())

    @property
    def sees_all_stores(self) -> bool:
        return self.role.is_owner or self.role.data_scope == SCOPE_ALL

    @property
    def store_ids(self) -> list[int]:
        return [s.id for s in self.stores]

    @property
    def login_name(self) -> str:
        return self.email or self.mobile or ""

    def get_id(self) -> str | None:
        return getattr(self, "login_identity", None)
