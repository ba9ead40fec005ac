from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped, tenant_fk, utcnow

INTERACTION_KINDS = ("call", "visit", "message", "note")
PRIORITIES = ("low", "normal", "high")
TASK_STATUSES = ("open", "done", "cancelled")


class Interaction(TenantScoped):
    """A call, visit, message or note with a customer, on their timeline."""

    __tablename__ = "interactions"
    __table_args__ = (
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        tenant_fk("user_id", "users", ondelete="SET NULL"),
        Index("ix_interactions_tenant_customer_at", "tenant_id", "customer_id", "occurred_at"),
    )

    customer_id: Mapped[int] = mapped_column(BigInteger)
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(12))
    body: Mapped[str] = mapped_column(Text)
    occurred_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Task(TenantScoped, Timestamped):
    """A to-do for a staff member, optionally about a customer or another record; open or done, with a due time."""

    __tablename__ = "tasks"
    __table_args__ = (
        tenant_fk("assignee_id", "users"),
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        tenant_fk("created_by_id", "users", ondelete="SET NULL"),
        Index("ix_tasks_tenant_assignee_status_due", "tenant_id", "assignee_id", "status", "due_at"),
        Index("ix_tasks_tenant_customer", "tenant_id", "customer_id"),
    )

    title: Mapped[str] = mapped_column(String(200))
    notes: Mapped[str | None] = mapped_column(Text)
    due_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    remind_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # a timer notifies the assignee
    assignee_id: Mapped[int] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    # a record of another module (asset, repair order …) this task is about
    related_type: Mapped[str | None] = mapped_column(String(40))
    related_id: Mapped[int | None] = mapped_column(BigInteger)
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    status: Mapped[str] = mapped_column(String(10), default="open")
    done_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_by_id: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def overdue(self) -> bool:
        return self.status == "open" and self.due_at is not None and self.due_at < utcnow()
