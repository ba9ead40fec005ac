from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, UniqueConstraint
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, tenant_fk, utcnow


class Rule(TenantScoped):
    """IF trigger AND conditions THEN actions (rules/spec.py describes the JSON of each part)."""

    __tablename__ = "rules"
    __table_args__ = (Index("ix_rules_tenant_entity", "tenant_id", "entity", "enabled"),)

    name: Mapped[str] = mapped_column(String(80))
    entity: Mapped[str] = mapped_column(String(40))
    trigger: Mapped[dict] = mapped_column(JSONB, default=dict)
    conditions: Mapped[dict | None] = mapped_column(JSONB)
    actions: Mapped[list] = mapped_column(JSONB, default=list)
    enabled: Mapped[bool] = mapped_column(Boolean, default=False)
    enabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # sweeps never reach back before it
    run_hour: Mapped[int] = mapped_column(Integer, default=9)  # local hour date sweeps start at
    template: Mapped[str | None] = mapped_column(String(40))  # the built-in template it was copied from
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, onupdate=utcnow)


class RuleFiring(TenantScoped):
    """A rule fired once for one record and one occurrence (the unique key is what makes firing idempotent)."""

    __tablename__ = "rule_firings"
    __table_args__ = (
        tenant_fk("rule_id", "rules", ondelete="CASCADE"),
        UniqueConstraint("tenant_id", "rule_id", "record_id", "occurrence"),
        Index("ix_rule_firings_tenant_customer", "tenant_id", "customer_id", "fired_at"),
        Index("ix_rule_firings_tenant_rule", "tenant_id", "rule_id", "id"),
    )

    rule_id: Mapped[int] = mapped_column(BigInteger)
    entity: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    occurrence: Mapped[str] = mapped_column(String(80))
    status: Mapped[str] = mapped_column(String(10), default="claimed")  # claimed | done | failed | skipped
    outcome: Mapped[list] = mapped_column(JSONB, default=list)  # one line per action
    fired_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
