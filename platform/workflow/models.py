from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Boolean, DateTime, Index, Integer, String, Text, UniqueConstraint, text
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, tenant_fk, utcnow


class WorkflowDefinition(TenantScoped):
    """One version of a tenant's state machine; saving makes a new version, running items keep theirs."""

    __tablename__ = "workflow_definitions"
    __table_args__ = (
        UniqueConstraint("tenant_id", "code", "version"),
        Index("ix_workflow_definitions_tenant_current", "tenant_id", "entity", postgresql_where=text("is_current")),
        tenant_fk("created_by_id", "users", ondelete="SET NULL"),
    )

    code: Mapped[str] = mapped_column(String(40))
    version: Mapped[int] = mapped_column(Integer, default=1)
    entity: Mapped[str] = mapped_column(String(40))
    name: Mapped[str] = mapped_column(String(80))
    spec: Mapped[dict] = mapped_column(JSONB, default=dict)  # states, transitions (see workflow/spec.py)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)  # new items may start
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class WorkflowItem(TenantScoped):
    """A record running through a workflow: its state, who holds it, its deadline and any pending approval."""

    __tablename__ = "workflow_items"
    __table_args__ = (
        tenant_fk("definition_id", "workflow_definitions"),
        tenant_fk("assignee_id", "users", ondelete="SET NULL"),
        Index("ix_workflow_items_tenant_record", "tenant_id", "entity", "record_id"),
        Index("ix_workflow_items_tenant_assignee", "tenant_id", "assignee_id", "deadline_at",
              postgresql_where=text("finished_at IS NULL")),
        Index("ix_workflow_items_tenant_open_state", "tenant_id", "definition_id", "state",
              postgresql_where=text("finished_at IS NULL")),
        Index("uq_workflow_items_running", "tenant_id", "entity", "record_id", "code", unique=True,
              postgresql_where=text("finished_at IS NULL")),
    )

    definition_id: Mapped[int] = mapped_column(BigInteger)
    code: Mapped[str] = mapped_column(String(40))
    entity: Mapped[str] = mapped_column(String(40))
    record_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    title: Mapped[str] = mapped_column(String(200), default="")
    state: Mapped[str] = mapped_column(String(40))
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    deadline_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalation_step: Mapped[int] = mapped_column(Integer, default=0)
    assignee_id: Mapped[int | None] = mapped_column(BigInteger)
    pending: Mapped[dict | None] = mapped_column(JSONB)  # an approval under way (workflow/approvals.py)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WorkflowStep(TenantScoped):
    """The history of an item: every start, transition, reject, approval vote and escalation."""

    __tablename__ = "workflow_steps"
    __table_args__ = (
        tenant_fk("item_id", "workflow_items", ondelete="CASCADE"),
        tenant_fk("actor_id", "users", ondelete="SET NULL"),
        Index("ix_workflow_steps_tenant_item", "tenant_id", "item_id", "id"),
    )

    item_id: Mapped[int] = mapped_column(BigInteger)
    action: Mapped[str] = mapped_column(String(20))  # start | move | reject | request | approve | decline | escalate
    transition: Mapped[str | None] = mapped_column(String(40))
    from_state: Mapped[str | None] = mapped_column(String(40))
    to_state: Mapped[str | None] = mapped_column(String(40))
    actor_id: Mapped[int | None] = mapped_column(BigInteger)
    comment: Mapped[str | None] = mapped_column(Text)
    seconds_in_state: Mapped[int | None] = mapped_column(Integer)
    files: Mapped[list[int]] = mapped_column(ARRAY(BigInteger), default=list)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
