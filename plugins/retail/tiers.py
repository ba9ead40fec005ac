"""Tiers: reached by spend (net of refunds) or points earned over a rolling window (settings: tier_window_days).

Evaluation (daily job, and an upgrade check after every purchase): a member who qualifies for a higher tier moves up
at once. One who qualifies for a lower tier keeps theirs through a grace period (settings: tier_grace_days), counted
from the first evaluation that found them below; if they still fall short after it, they move down to the tier they
qualify for. Every change is kept (`retail_tier_changes`) and the member gets an SMS through the outbox."""
from datetime import date, datetime, time, timedelta
from decimal import Decimal

from sqlalchemy import func, select

from storecrm.sdk import db, emit_event, plugin_settings, send_template, tenant_today, tenant_zone, utcnow

from .members import MemberEvent, customer_of, tier_named, tiers  # noqa: F401  (tier_named re-exported)
from .models import Member, PointEntry, Purchase, TierChange
from .points import lock


def _window_start(today: date) -> datetime:
    days = int(plugin_settings("retail")["tier_window_days"])
    return datetime.combine(today - timedelta(days=days - 1), time(), tzinfo=tenant_zone())


def standing(member_ids=None, today: date | None = None) -> dict:
    """{member_id: (spend, points earned)} over the rolling window, in two grouped queries."""
    today = today or tenant_today()
    start = _window_start(today)
    spend_q = (select(Purchase.member_id, func.sum(Purchase.amount - Purchase.refunded))
               .where(Purchase.at >= start).group_by(Purchase.member_id))
    points_q = (select(PointEntry.member_id, func.sum(PointEntry.points))
                .where(PointEntry.at >= start, PointEntry.kind.in_(("earn", "reverse"))).group_by(PointEntry.member_id))
    if member_ids is not None:
        spend_q = spend_q.where(Purchase.member_id.in_(member_ids))
        points_q = points_q.where(PointEntry.member_id.in_(member_ids))
    spend = dict(db.session.execute(spend_q).all())
    pts = dict(db.session.execute(points_q).all())
    return {m: (Decimal(spend.get(m) or 0), int(pts.get(m) or 0)) for m in set(spend) | set(pts)}


def qualified(spend: Decimal, pts: int, ladder):
    best = ladder[0] if ladder else None
    for tier in ladder:
        by_spend = tier.min_spend is not None and spend >= tier.min_spend
        by_points = tier.min_points is not None and pts >= tier.min_points
        if by_spend or by_points or (tier.min_spend is None and tier.min_points is None):
            best = tier
    return best


def _move(member: Member, to, reason: str) -> None:
    db.session.add(TierChange(member_id=member.id, from_tier=member.tier_code, to_tier=to.code, reason=reason))
    before = member.tier_code
    member.tier_code = to.code
    member.tier_since, member.below_since = utcnow(), None
    customer = customer_of(member)
    if customer is not None and customer.mobile:
        code = "retail.tier_upgraded" if reason == "upgrade" else "retail.tier_changed"
        send_template("sms", customer.mobile, code, {"tier": to.name}, customer=customer,
                      dedupe_key=f"retail-tier-{member.id}-{to.code}-{tenant_today().isoformat()}")
    emit_event(MemberEvent("customer", customer, "retail.tier_changed", {"tier": [before, to.code]}))


def evaluate(today: date | None = None) -> dict:
    """Evaluate every member; returns {"upgraded": [ids], "downgraded": [ids]}."""
    today = today or tenant_today()
    ladder = tiers()
    if not ladder:
        return {"upgraded": [], "downgraded": []}
    rank = {t.code: i for i, t in enumerate(ladder)}
    figures = standing(today=today)
    grace = int(plugin_settings("retail")["tier_grace_days"])
    out = {"upgraded": [], "downgraded": []}
    for member in db.session.scalars(select(Member).order_by(Member.id)).all():
        spend, pts = figures.get(member.id, (Decimal(0), 0))
        target = qualified(spend, pts, ladder)
        current = rank.get(member.tier_code, 0)
        if rank[target.code] > current:
            _move(lock(member.id), target, "upgrade")
            out["upgraded"].append(member.id)
        elif rank[target.code] < current:
            if member.below_since is None:
                member.below_since = today
            if (today - member.below_since).days >= grace:
                _move(lock(member.id), target, "downgrade")
                out["downgraded"].append(member.id)
        elif member.below_since is not None:
            member.below_since = None
    db.session.flush()
    return out


def upgrade_now(member_id, today: date | None = None) -> None:
    """After a purchase: move up at once if the member now qualifies for a higher tier (never down here)."""
    ladder = tiers()
    if not ladder:
        return
    member = lock(member_id)
    spend, pts = standing([member_id], today).get(member_id, (Decimal(0), 0))
    target = qualified(spend, pts, ladder)
    rank = {t.code: i for i, t in enumerate(ladder)}
    if rank[target.code] > rank.get(member.tier_code, 0):
        _move(member, target, "upgrade")


def history_of(member_id):
    return list(db.session.scalars(select(TierChange).where(TierChange.member_id == member_id)
                                   .order_by(TierChange.id.desc())))
