from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import Boolean, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped

SCOPE_ALL = "all"  # HQ roles: every store's records
SCOPE_STORES = "stores"  # store staff: records of the stores they belong to

# Names of the built-in roles, shown in each user's language until a tenant renames the role.
BUILTIN_LABELS = {
    "owner": _l("Owner"),
    "admin": _l("Administrator"),
    "manager": _l("Store manager"),
    "advisor": _l("Sales / service advisor"),
    "technician": _l("Technician"),
}


class Role(TenantScoped, Timestamped):
    __tablename__ = "roles"
    __table_args__ = (UniqueConstraint("tenant_id", "code"),)

    code: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80), default="")  # "" = built-in name, translated
    permissions: Mapped[list[str]] = mapped_column(ARRAY(String(80)), default=list)
    data_scope: Mapped[str] = mapped_column(String(10), default=SCOPE_STORES)
    builtin: Mapped[bool] = mapped_column(Boolean, default=False)

    @property
    def label(self) -> str:
        """The name to show: the tenant's own, or the built-in name in the reader's language."""
        return self.name or str(BUILTIN_LABELS.get(self.code, self.code))

    @property
    def is_owner(self) -> bool:
        return self.code == "owner"
