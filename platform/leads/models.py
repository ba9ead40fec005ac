"""Leads (线索): channels they come from, campaigns, the leads themselves with their history, assignment rules and
the inbound deliveries of signed webhooks.

"Never two open leads for one mobile" is the database's job: a partial unique index on (tenant_id, mobile) over
the open statuses. Capture inserts and, when the index refuses, appends the enquiry to the open lead instead
(services.capture), so concurrent submissions of one mobile cannot make two open leads whatever the timing."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import (BigInteger, Boolean, CheckConstraint, Date, DateTime, Index, Integer, Numeric, String, Text,
                        UniqueConstraint, text)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.orm import Mapped, mapped_column

from ..tenancy.models import TenantScoped, Timestamped, tenant_fk, utcnow

CHANNEL_KINDS = ("web_form", "platform", "show", "phone", "walk_in", "import", "api", "other")
STATUSES = ("new", "contacted", "qualified", "won", "lost")
OPEN = ("new", "contacted", "qualified")
OPEN_SQL = "status IN ('new', 'contacted', 'qualified')"
LOST_REASONS = ("price", "competitor", "no_response", "not_interested", "bought_elsewhere", "invalid", "other")
SOURCES = ("form", "api", "webhook", "import", "staff")
# pool: straight into the public pool; weighted: by per-person weights; by_field: a field's value names the person
STRATEGIES = ("round_robin", "least_loaded", "pool", "weighted", "by_field")
EVENT_KINDS = ("captured", "enquiry", "assigned", "status", "follow_up", "escalated", "converted", "note",
               "stage", "pooled", "claimed", "reopened", "merged", "handed_over")
# the pools (公海): "open" holds open leads nobody owns; "lost" holds lost leads to revisit (战败线索池)
POOLS = ("open", "lost")
# what a repeat enquiry on a closed lead does: reopen that lead, or start a new one that points back to it
REPEAT_MODES = ("reopen", "new")
DEFAULT_WON_REPEAT_DAYS = 30
# the lead fields a by_field rule may read, and the condition trees of rules may test
ROUTING_FIELDS = ("interest", "region", "source")
# why a lead went to the public pool (公海): staff give one of the first four; the timer gives "not_followed_up"
POOL_REASONS = ("no_answer", "not_my_area", "not_ready", "other", "not_followed_up", "rule")
DEFAULT_POOL_AFTER_HOURS = 48
DEFAULT_CLAIMS_PER_DAY = 10
DEFAULT_FIRST_CONTACT_MINUTES = 24 * 60


class LeadChannel(TenantScoped, Timestamped):
    """Where leads come from (官网, 汽车之家, 车展 …): its signing secret for the inbound webhook, what it costs per month
    (entered by staff), the first-contact time it promises and the store its leads go to by default."""

    __tablename__ = "lead_channels"
    __table_args__ = (
        tenant_fk("store_id", "stores", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("cost_per_month >= 0", name="cost_not_negative"),
        CheckConstraint("first_contact_minutes BETWEEN 1 AND 20160", name="sla_range"),
    )

    name: Mapped[str] = mapped_column(String(80))
    kind: Mapped[str] = mapped_column(String(20), default="web_form")
    secret: Mapped[str] = mapped_column(String(80))  # HMAC-SHA256 key of the inbound webhook; shown once
    cost_per_month: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    first_contact_minutes: Mapped[int] = mapped_column(Integer, default=DEFAULT_FIRST_CONTACT_MINUTES)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class LeadCampaign(TenantScoped, Timestamped):
    """A campaign (an auto show, a poster run, an ad flight) within a channel, with its total cost."""

    __tablename__ = "lead_campaigns"
    __table_args__ = (
        tenant_fk("channel_id", "lead_channels", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "name"),
        CheckConstraint("cost >= 0", name="cost_not_negative"),
    )

    name: Mapped[str] = mapped_column(String(120))
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    cost: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class Lead(TenantScoped, Timestamped):
    """A person who asked (a car model, an audio package, a site survey): new → contacted → qualified → won / lost."""

    __tablename__ = "leads"
    __table_args__ = (
        tenant_fk("channel_id", "lead_channels"),
        tenant_fk("campaign_id", "lead_campaigns", ondelete="SET NULL"),
        tenant_fk("store_id", "stores", ondelete="SET NULL"),
        tenant_fk("owner_id", "users", ondelete="SET NULL"),
        tenant_fk("customer_id", "customers", ondelete="SET NULL"),
        tenant_fk("rule_id", "lead_assignment_rules", ondelete="SET NULL"),
        # One-ID: one open lead per mobile; the database refuses a second (services.capture relies on it)
        Index("uq_leads_open_mobile", "tenant_id", "mobile", unique=True, postgresql_where=text(OPEN_SQL)),
        Index("ix_leads_tenant_owner_status", "tenant_id", "owner_id", "status"),
        Index("ix_leads_tenant_status_created", "tenant_id", "status", "created_at"),
        Index("ix_leads_tenant_channel_created", "tenant_id", "channel_id", "created_at"),
        Index("ix_leads_tenant_customer", "tenant_id", "customer_id"),
        Index("ix_leads_tenant_mobile", "tenant_id", "mobile"),
        Index("ix_leads_tenant_pooled", "tenant_id", "pooled_at", postgresql_where=text("pooled_at IS NOT NULL")),
        tenant_fk("stage_id", "lead_stages", ondelete="SET NULL"),
        tenant_fk("asset_id", "assets", ondelete="SET NULL"),
        tenant_fk("quote_id", "sales_documents", ondelete="SET NULL"),
        CheckConstraint("status IN ('new', 'contacted', 'qualified', 'won', 'lost')", name="known_status"),
        CheckConstraint("status <> 'lost' OR lost_reason IS NOT NULL", name="lost_has_reason"),
        CheckConstraint("pool IS NULL OR pool IN ('open', 'lost')", name="known_pool"),
        CheckConstraint("(pool IS NULL) = (pooled_at IS NULL)", name="pool_when_pooled"),
        tenant_fk("merged_into_id", "leads", ondelete="SET NULL"),
    )

    name: Mapped[str] = mapped_column(String(80))
    mobile: Mapped[str] = mapped_column(String(20))  # E.164
    channel_id: Mapped[int] = mapped_column(BigInteger)
    campaign_id: Mapped[int | None] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    owner_id: Mapped[int | None] = mapped_column(BigInteger)
    rule_id: Mapped[int | None] = mapped_column(BigInteger)
    customer_id: Mapped[int | None] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12), default="new")
    lost_reason: Mapped[str | None] = mapped_column(String(20))
    lost_note: Mapped[str | None] = mapped_column(String(300))
    interest: Mapped[str | None] = mapped_column(String(120))  # car model, audio package, survey …
    notes: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str] = mapped_column(String(10), default="staff")
    consent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # PIPL: agreed to be contacted
    enquiries: Mapped[int] = mapped_column(Integer, default=1)
    last_enquiry_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    assigned_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_contact_deadline: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    first_contacted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    escalated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    qualified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    closed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # the tenant's own stage (已邀约, 已试驾 …) of a qualified lead, and when the lead entered its current step
    stage_id: Mapped[int | None] = mapped_column(BigInteger)
    stage_entered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # public pool (公海): since when the lead waits there without owner, and why it went there
    pooled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    pool_reason: Mapped[str | None] = mapped_column(String(20))
    pool: Mapped[str | None] = mapped_column(String(10))  # which pool: "open" or "lost" (POOLS)
    region: Mapped[str | None] = mapped_column(String(60))  # 地区 the person gave, else the store's city
    merged_into_id: Mapped[int | None] = mapped_column(BigInteger)  # merged by hand into that lead (closed as lost)
    touched_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))  # last assignment/claim/follow-up
    # what the conversion made for the sale
    asset_id: Mapped[int | None] = mapped_column(BigInteger)
    quote_id: Mapped[int | None] = mapped_column(BigInteger)

    @property
    def is_open(self) -> bool:
        return self.status in OPEN

    @property
    def first_contact_overdue(self) -> bool:
        return (self.is_open and self.first_contacted_at is None and self.first_contact_deadline is not None
                and self.first_contact_deadline < utcnow())


class LeadHistory(TenantScoped):
    """One line of a lead's history: captured, a repeat enquiry, assigned, a status change, a follow-up,
    escalated, converted. `data` holds what the line needs (the enquiry's interest, the old and new status …)."""

    __tablename__ = "lead_history"
    __table_args__ = (
        tenant_fk("lead_id", "leads", ondelete="CASCADE"),
        tenant_fk("user_id", "users", ondelete="SET NULL"),
        Index("ix_lead_history_tenant_lead_at", "tenant_id", "lead_id", "at"),
        # today's claims of a person (the daily claim limit of the pool)
        Index("ix_lead_history_tenant_claims", "tenant_id", "user_id", "at", postgresql_where=text("kind = 'claimed'")),
    )

    lead_id: Mapped[int] = mapped_column(BigInteger)
    kind: Mapped[str] = mapped_column(String(20))
    user_id: Mapped[int | None] = mapped_column(BigInteger)
    body: Mapped[str | None] = mapped_column(Text)
    data: Mapped[dict] = mapped_column(JSONB, default=dict)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LeadAssignmentRule(TenantScoped, Timestamped):
    """An ordered assignment rule: when a lead matches (channel, store; empty = any), give it to one of `staff_ids`
    (empty = the store's staff) who is ON SHIFT, by round robin or fewest open leads. Nobody on shift: the next rule,
    and at the end `fallback_user_id` of the first matching rule, else the store manager."""

    __tablename__ = "lead_assignment_rules"
    __table_args__ = (
        tenant_fk("channel_id", "lead_channels", ondelete="CASCADE"),
        tenant_fk("store_id", "stores", ondelete="CASCADE"),
        tenant_fk("fallback_user_id", "users", ondelete="SET NULL"),
        tenant_fk("last_user_id", "users", ondelete="SET NULL"),
        Index("ix_lead_assignment_rules_tenant_position", "tenant_id", "position"),
        CheckConstraint("strategy IN ('round_robin', 'least_loaded', 'pool', 'weighted', 'by_field')",
                        name="known_strategy"),
        CheckConstraint("first_contact_minutes IS NULL OR first_contact_minutes BETWEEN 1 AND 20160",
                        name="sla_range"),
    )

    name: Mapped[str] = mapped_column(String(80))
    position: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    channel_id: Mapped[int | None] = mapped_column(BigInteger)
    store_id: Mapped[int | None] = mapped_column(BigInteger)
    strategy: Mapped[str] = mapped_column(String(20), default="round_robin")
    staff_ids: Mapped[list] = mapped_column(JSONB, default=list)
    fallback_user_id: Mapped[int | None] = mapped_column(BigInteger)
    first_contact_minutes: Mapped[int | None] = mapped_column(Integer)  # overrides the channel's
    last_user_id: Mapped[int | None] = mapped_column(BigInteger)  # round robin's cursor, moved under a row lock
    # a condition tree (storecrm.conditions) over the lead's fields: channel, campaign, interest, store, region …
    conditions: Mapped[dict | None] = mapped_column(JSONB)
    weights: Mapped[dict] = mapped_column(JSONB, default=dict)  # weighted: {"user id": weight 1..100}
    field: Mapped[str | None] = mapped_column(String(40))  # by_field: which lead field (ROUTING_FIELDS)
    field_map: Mapped[dict] = mapped_column(JSONB, default=dict)  # by_field: {"value": user id}
    credits: Mapped[dict] = mapped_column(JSONB, default=dict)  # weighted: the smooth round robin's running credits


class LeadDelivery(TenantScoped):
    """A delivery of a channel's signed webhook, by the sender's delivery id: a replay is recognised and refused."""

    __tablename__ = "lead_deliveries"
    __table_args__ = (
        tenant_fk("channel_id", "lead_channels", ondelete="CASCADE"),
        tenant_fk("lead_id", "leads", ondelete="SET NULL"),
        UniqueConstraint("tenant_id", "channel_id", "delivery_id"),
    )

    channel_id: Mapped[int] = mapped_column(BigInteger)
    delivery_id: Mapped[str] = mapped_column(String(100))
    lead_id: Mapped[int | None] = mapped_column(BigInteger)
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class LeadStage(TenantScoped, Timestamped):
    """A tenant's own pipeline stage between contacted and won (已邀约, 已到店, 已试驾 …), in `position` order. A lead
    in such a stage has the status "qualified"; its `stage_id` says which stage."""

    __tablename__ = "lead_stages"
    __table_args__ = (
        UniqueConstraint("tenant_id", "name"),
        Index("ix_lead_stages_tenant_position", "tenant_id", "position"),
    )

    name: Mapped[str] = mapped_column(String(40))
    position: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(Boolean, default=True)


class LeadStageVisit(TenantScoped):
    """A lead's stay in one step of the pipeline (a status, or a tenant stage with status "qualified"): time in
    stage is `left_at - entered_at` (still there: now - entered_at)."""

    __tablename__ = "lead_stage_visits"
    __table_args__ = (
        tenant_fk("lead_id", "leads", ondelete="CASCADE"),
        tenant_fk("stage_id", "lead_stages", ondelete="SET NULL"),
        Index("ix_lead_stage_visits_tenant_lead", "tenant_id", "lead_id", "entered_at"),
    )

    lead_id: Mapped[int] = mapped_column(BigInteger)
    status: Mapped[str] = mapped_column(String(12))
    stage_id: Mapped[int | None] = mapped_column(BigInteger)
    entered_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    left_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class LeadSettings(TenantScoped, Timestamped):
    """The tenant's lead settings (one row; defaults when there is none): hours an owner has to follow a lead up
    before it returns to the public pool, and how many pool leads one person may claim per tenant day."""

    __tablename__ = "lead_settings"
    __table_args__ = (
        UniqueConstraint("tenant_id", name="uq_lead_settings_tenant_id"),
        CheckConstraint("pool_after_hours BETWEEN 1 AND 720", name="pool_hours_range"),
        CheckConstraint("claims_per_day BETWEEN 1 AND 500", name="claims_range"),
        CheckConstraint("repeat_mode IN ('reopen', 'new')", name="known_repeat_mode"),
        CheckConstraint("won_repeat_days BETWEEN 0 AND 3650", name="won_days_range"),
    )

    pool_after_hours: Mapped[int] = mapped_column(Integer, default=DEFAULT_POOL_AFTER_HOURS)
    claims_per_day: Mapped[int] = mapped_column(Integer, default=DEFAULT_CLAIMS_PER_DAY)
    # a repeat enquiry on a lost lead (or a won one closed more than won_repeat_days ago): reopen it or start anew
    repeat_mode: Mapped[str] = mapped_column(String(10), default="reopen")
    won_repeat_days: Mapped[int] = mapped_column(Integer, default=DEFAULT_WON_REPEAT_DAYS)
