from __future__ import annotations

from datetime import datetime

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, DateTime, Index, Integer, SmallInteger, String, Text,
                        UniqueConstraint)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped, tenant_fk, utcnow

KINDS = ("csat", "nps")
SCALE = {"csat": (1, 5), "nps": (0, 10)}
QUESTION_TYPES = ("score", "choice")
CONDITION_OPS = ("eq", "ne", "le", "ge", "in")


class Survey(TenantScoped, Timestamped):
    """A satisfaction survey the tenant sends: CSAT (1–5 per dimension) or NPS (0–10, one question).

    questions: [{"code", "label_zh", "label_en"}] — the CSAT dimensions, or NPS's one question. A score at or
    below `low_score` escalates: a task for the store's manager due `escalation_hours` later. `version` grows with
    every edit of the questions; an invitation keeps the version it was sent with. `throttle_days`: a customer gets
    at most one invitation of this survey in that many days, however many jobs they had."""

    __tablename__ = "surveys"
    __table_args__ = (Index("ix_surveys_tenant_active", "tenant_id", "active"),)

    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(4))
    questions: Mapped[list] = mapped_column(JSONB, default=list)
    low_score: Mapped[int] = mapped_column(SmallInteger)
    escalation_hours: Mapped[int] = mapped_column(Integer, default=24)
    expires_days: Mapped[int] = mapped_column(Integer, default=14)
    throttle_days: Mapped[int] = mapped_column(Integer, default=30)
    # one reminder to those who have not answered, this many days after the invitation (None: no reminder)
    reminder_days: Mapped[int | None] = mapped_column(Integer, default=3, server_default="3")
    message: Mapped[str | None] = mapped_column(String(300))  # the SMS, with {link}
    ask_comment: Mapped[bool] = mapped_column(Boolean, default=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    # {"<version>": questions} of every earlier version: an invitation is answered with the questions it was sent with
    past_questions: Mapped[dict] = mapped_column(JSONB, default=dict, server_default="{}")

    def questions_of(self, version: int | None) -> list:
        """The questions of `version` (the current ones when it is the current or an unknown version)."""
        if version is None or version == self.version:
            return self.questions
        return (self.past_questions or {}).get(str(version)) or self.questions


class SurveyInvitation(TenantScoped):
    """One survey sent to one customer, about one record (a task, an asset, an order …), answerable once through
    the link holding its token (only the token's SHA-256 is stored)."""

    __tablename__ = "survey_invitations"
    __table_args__ = (
        tenant_fk("survey_id", "surveys", ondelete="CASCADE"),
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        tenant_fk("store_id", "stores"),
        tenant_fk("staff_id", "users", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "token_hash"),
        UniqueConstraint("tenant_id", "reminder_token_hash"),
        Index("ix_survey_invitations_tenant_survey_sent", "tenant_id", "survey_id", "sent_at"),
        Index("ix_survey_invitations_tenant_customer", "tenant_id", "customer_id", "sent_at"),
    )

    survey_id: Mapped[int] = mapped_column(BigInteger)
    survey_version: Mapped[int] = mapped_column(Integer, default=1)
    customer_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    related_type: Mapped[str | None] = mapped_column(String(40))
    related_id: Mapped[int | None] = mapped_column(BigInteger)
    token_hash: Mapped[str] = mapped_column(String(64))
    channel: Mapped[str] = mapped_column(String(10))
    sent_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    answered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the one reminder: when it was queued, and the hash of the token of its link (the first link keeps working)
    reminded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    reminder_token_hash: Mapped[str | None] = mapped_column(String(64))


class SurveyResponse(TenantScoped):
    """The one answer to an invitation (the unique key makes a second one impossible, even in a race).
    `score`: the NPS score, or the lowest CSAT score; `low`: at or below the survey's threshold."""

    __tablename__ = "survey_responses"
    __table_args__ = (
        tenant_fk("invitation_id", "survey_invitations", ondelete="CASCADE"),
        tenant_fk("survey_id", "surveys", ondelete="CASCADE"),
        tenant_fk("customer_id", "customers", ondelete="CASCADE"),
        tenant_fk("store_id", "stores"),
        tenant_fk("staff_id", "users", ondelete="SET NULL"),
        tenant_fk("escalation_task_id", "tasks", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "invitation_id"),
        Index("ix_survey_responses_tenant_survey_at", "tenant_id", "survey_id", "submitted_at"),
        Index("ix_survey_responses_tenant_customer", "tenant_id", "customer_id", "submitted_at"),
        Index("ix_survey_responses_tenant_kind_at", "tenant_id", "kind", "submitted_at"),
    )

    invitation_id: Mapped[int] = mapped_column(BigInteger)
    survey_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(4))
    customer_id: Mapped[int] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    staff_id: Mapped[int | None] = mapped_column(BigInteger)
    score: Mapped[int] = mapped_column(SmallInteger)
    low: Mapped[bool] = mapped_column(Boolean, default=False)
    comment: Mapped[str | None] = mapped_column(Text)
    submitted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    escalation_task_id: Mapped[int | None] = mapped_column(BigInteger)


class SurveyAnswer(TenantScoped):
    """One answer of a response: a score (a CSAT dimension, NPS's question) or a reason category picked (`choice`,
    the option's code; `label` is then the option as the customer saw it). Questions hidden by their condition have
    no row."""

    __tablename__ = "survey_answers"
    __table_args__ = (
        tenant_fk("response_id", "survey_responses", ondelete="CASCADE"),
        Index("ix_survey_answers_tenant_response", "tenant_id", "response_id"),
        CheckConstraint("score IS NOT NULL OR choice IS NOT NULL", name="score_or_choice"),
    )

    response_id: Mapped[int] = mapped_column(BigInteger)
    question: Mapped[str] = mapped_column(String(40))
    label: Mapped[str] = mapped_column(String(120))
    score: Mapped[int | None] = mapped_column(SmallInteger)
    choice: Mapped[str | None] = mapped_column(String(40))
