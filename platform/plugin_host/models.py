from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped


class TenantPlugin(TenantScoped, Timestamped):
    """Whether a plugin is on for a tenant, since when, and the tenant's settings for it.

    The row is kept when the plugin is switched off, so switching it on again restores it
    (and does not seed defaults a second time). `version` is the plugin version this tenant last ran
    (`plugin_upgraded` fires when the installed one differs) and `grants_applied` the (role, permission) pairs of
    the plugin's default grants already given to this tenant's built-in roles: a later version's new pairs are
    added once, and a pair an admin took away is never given back. NULL in both: enabled before they were
    recorded (see `plugin_host.lifecycle`).
    """

    __tablename__ = "tenant_plugins"
    __table_args__ = (UniqueConstraint("tenant_id", "name"),)

    name: Mapped[str] = mapped_column(String(40))
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    first_enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    settings: Mapped[dict] = mapped_column(JSONB, default=dict)
    version: Mapped[str | None] = mapped_column(String(40))
    grants_applied: Mapped[list | None] = mapped_column(JSONB)  # [[role code, permission code], …]
