"""Funnel numbers per channel, campaign or staff member for a period of tenant days, counted in SQL.

A lead counts in the period it was captured in. Contacted = has a first contact; qualified = reached qualified
(or won); conversion = won / leads. Cost: a channel's monthly cost pro rata over the days of the period (a
fortnight of a 3,000/month channel is 1,500 in a 30-day month); a campaign's total cost. Cost per lead and per
won lead divide that cost, in the tenant's currency, rounded to cents."""
from __future__ import annotations

import calendar as cal
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import func, select

from ..calendar import tenant_zone
from ..extensions import db
from ..scheduling.roster import day_bounds
from ..users.models import User
from .models import Lead, LeadCampaign, LeadChannel
from .services import visible
from ..tenancy.models import utcnow
from .models import LeadStageVisit
from .services import pipeline_steps

GROUPS = ("channel", "campaign", "owner")
CENT = Decimal("0.01")


@dataclass
class FunnelRow:
    key: int | None
    name: str
    leads: int
    contacted: int
    qualified: int
    won: int
    lost: int
    avg_first_contact_minutes: float | None
    cost: Decimal | None = None

    @property
    def conversion(self) -> float | None:
        return self.won / self.leads if self.leads else None

    @property
    def contact_rate(self) -> float | None:
        return self.contacted / self.leads if self.leads else None

    @property
    def cost_per_lead(self) -> Decimal | None:
        return (self.cost / self.leads).quantize(CENT, ROUND_HALF_UP) if self.cost is not None and self.leads else None

    @property
    def cost_per_won(self) -> Decimal | None:
        return (self.cost / self.won).quantize(CENT, ROUND_HALF_UP) if self.cost is not None and self.won else None


def prorated(monthly: Decimal, first: date, last: date) -> Decimal:
    """`monthly` spread over the days first..last (inclusive), month by month."""
    total, day = Decimal("0"), first
    while day <= last:
        days_in_month = cal.monthrange(day.year, day.month)[1]
        month_end = day.replace(day=days_in_month)
        span = (min(month_end, last) - day).days + 1
        total += monthly * span / days_in_month
        day = month_end + timedelta(days=1)
    return total.quantize(CENT, ROUND_HALF_UP)


def funnel(user, first: date, last: date, by: str = "channel") -> list[FunnelRow]:
    """One row per channel / campaign / owner with leads captured on the tenant days first..last."""
    column = {"channel": Lead.channel_id, "campaign": Lead.campaign_id, "owner": Lead.owner_id}[by]
    zone = tenant_zone()
    start, end = day_bounds(first, zone)[0], day_bounds(last, zone)[1]
    minutes = func.avg(func.extract("epoch", Lead.first_contacted_at - Lead.created_at) / 60)
    query = visible(user, select(
        column, func.count(), func.count(Lead.first_contacted_at),
        func.count().filter(Lead.status.in_(("qualified", "won")) | Lead.qualified_at.is_not(None)),
        func.count().filter(Lead.status == "won"), func.count().filter(Lead.status == "lost"), minutes)
        .where(Lead.created_at >= start, Lead.created_at < end).group_by(column))
    rows = db.session.execute(query).all()
    keys = [r[0] for r in rows if r[0] is not None]
    names, costs = _names_and_costs(by, keys, first, last)
    out = [FunnelRow(key, names.get(key, "—"), n, contacted, qualified, won, lost,
                     None if avg is None else round(float(avg), 1), costs.get(key))
           for key, n, contacted, qualified, won, lost, avg in rows]
    return sorted(out, key=lambda r: (-r.leads, r.name))


def _names_and_costs(by: str, keys: list, first: date, last: date) -> tuple[dict, dict]:
    if not keys:
        return {}, {}
    if by == "channel":
        channels = db.session.scalars(select(LeadChannel).where(LeadChannel.id.in_(keys)))
        found = {c.id: c for c in channels}
        return ({k: c.name for k, c in found.items()},
                {k: prorated(c.cost_per_month or Decimal("0"), first, last) for k, c in found.items()})
    if by == "campaign":
        found = {c.id: c for c in db.session.scalars(select(LeadCampaign).where(LeadCampaign.id.in_(keys)))}
        return {k: c.name for k, c in found.items()}, {k: c.cost for k, c in found.items()}
    return dict(db.session.execute(select(User.id, User.display_name).where(User.id.in_(keys))).all()), {}


def totals(rows: list[FunnelRow]) -> FunnelRow:
    """The period's totals over every row (average first-contact time weighted by contacted leads)."""
    contacted = sum(r.contacted for r in rows)
    weighted = sum((r.avg_first_contact_minutes or 0) * r.contacted for r in rows)
    costs = [r.cost for r in rows if r.cost is not None]
    return FunnelRow(None, "", sum(r.leads for r in rows), contacted, sum(r.qualified for r in rows),
                     sum(r.won for r in rows), sum(r.lost for r in rows),
                     round(weighted / contacted, 1) if contacted else None, sum(costs) if costs else None)


@dataclass
class StageRow:
    key: str  # "new", "contacted", "qualified", "stage:<id>", "won"
    name: str
    reached: int  # leads of the period that ever entered this step
    now: int  # of them, still there
    avg_hours: float | None  # average time spent in the step (a lead still there counts until now)
    conversion: float | None = None  # reached / reached of the previous step


def stage_funnel(user, first: date, last: date) -> list[StageRow]:
    """The pipeline's steps in order for leads captured on the tenant days first..last: how many reached each step
    (a stage-visit row), how many are still there, and the average time in the step — one SQL GROUP BY over
    lead_stage_visits."""

    zone = tenant_zone()
    start, end = day_bounds(first, zone)[0], day_bounds(last, zone)[1]
    now = utcnow()
    step = func.coalesce(func.nullif(func.concat("stage:", LeadStageVisit.stage_id), "stage:"),
                         LeadStageVisit.status)
    hours = func.avg(func.extract("epoch", func.coalesce(LeadStageVisit.left_at, now) - LeadStageVisit.entered_at)
                     / 3600)
    query = visible(user, select(step, func.count(func.distinct(LeadStageVisit.lead_id)),
                                 func.count(func.distinct(LeadStageVisit.lead_id)).filter(
                                     LeadStageVisit.left_at.is_(None)), hours)
                    .join(Lead, Lead.id == LeadStageVisit.lead_id)
                    .where(Lead.created_at >= start, Lead.created_at < end).group_by(step))
    found = {key: (reached, still, avg) for key, reached, still, avg in db.session.execute(query).all()}
    rows, previous = [], None
    for key, name in pipeline_steps():
        reached, still, avg = found.get(key, (0, 0, None))
        if key == "won":
            still, avg = 0, None  # won is the end, not a place to wait
        rows.append(StageRow(key, name, reached, still, None if avg is None else round(float(avg), 1),
                             (reached / previous) if previous else None))
        previous = reached
    return rows
