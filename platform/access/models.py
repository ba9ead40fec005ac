from __future__ import annotations

from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped

SCOPE_ALL = "all"  # HQ roles: every store's records
SCOPE_STORES = "stores"  # store staff: records of the stores they belong to


class Role(TenantScoped, Timestamped):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    permissions: Mapped[list[str]] = mapped_column(ARRAY(String(80)), default=list)
    data_scope: Mapped[str] = mapped_column(String(10), default=SCOPE_STORES)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def is_owner(self) -> bool:
        return self.code == "owner"
