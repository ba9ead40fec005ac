"""Points: each earning is a batch with its own expiry day; redemption takes the oldest first; the ledger
(`retail_point_entries`) always sums to the member's balance.

Refunds after the points were spent — the stated rule: the points the refunded amount earned are taken back, first
from the purchase's own batch, then from the member's other batches (oldest first); what is still missing makes the
balance negative (a debt, shown to staff), and the next earnings pay the debt before they make a new batch usable.
We neither block the refund (the shopper is owed the money) nor forget the points (they would be spent twice).
Invariant: balance = sum(ledger); when the balance is 0 or more, it also equals the batches' remaining points."""
import calendar
from datetime import date
from decimal import ROUND_FLOOR, Decimal

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import select

from storecrm.sdk import db, plugin_settings, tenant_today

from .models import EarningRule, Member, PointBatch, PointEntry


def lock(member_id) -> Member:
    """The member row, locked: every points and stored-value change of one member runs one after the other."""
    return db.session.scalar(select(Member).where(Member.id == member_id).with_for_update()
                             .execution_options(populate_existing=True))


def add_months(day: date, months: int) -> date:
    month = day.month - 1 + months
    year, month = day.year + month // 12, month % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def expiry_for(day: date) -> date:
    return add_months(day, int(plugin_settings("retail")["points_valid_months"]))


def points_for(lines, *, eligible_fraction: Decimal, tier_multiplier: Decimal, today: date | None = None) -> int:
    """Points for purchase `lines` ([(category_id, amount)]): per yuan (a category's own rate where a rule gives
    one), times the tier's multiplier and the best points campaign running today, on the share of the amount that
    was paid with money (not stored value, not points)."""
    today = today or tenant_today()
    base = Decimal(str(plugin_settings("retail")["points_per_yuan"]))
    rules = list(db.session.scalars(select(EarningRule).where(EarningRule.active.is_(True))))
    live = [r for r in rules if (r.starts_on is None or r.starts_on <= today) and (r.ends_on is None or today <= r.ends_on)]
    per_category = {r.category_id: r.points_per_yuan for r in live if r.kind == "category" and r.points_per_yuan is not None}
    campaign = max([r.multiplier for r in live if r.kind == "multiplier" and r.multiplier] or [Decimal(1)])
    raw = sum((Decimal(amount) * per_category.get(category, base) for category, amount in lines), Decimal(0))
    total = raw * eligible_fraction * tier_multiplier * campaign
    return int(total.to_integral_value(rounding=ROUND_FLOOR))


def earn(member_id, points: int, *, purchase_id=None, today: date | None = None, note=None) -> PointBatch | None:
    if points <= 0:
        return None
    member = lock(member_id)
    today = today or tenant_today()
    debt = max(-member.points_balance, 0)
    batch = PointBatch(member_id=member.id, earned=points, remaining=max(points - debt, 0),
                       expires_on=expiry_for(today), purchase_id=purchase_id)
    db.session.add(batch)
    db.session.add(PointEntry(member_id=member.id, kind="earn", points=points, purchase_id=purchase_id, note=note))
    member.points_balance += points
    db.session.flush()
    return batch


def _take(member: Member, points: int, *, first_purchase_id=None) -> int:
    """Take up to `points` from the batches (a purchase's own batch first, then oldest expiry first); returns how
    many were taken."""
    query = select(PointBatch).where(PointBatch.member_id == member.id, PointBatch.remaining > 0)
    batches = list(db.session.scalars(query.order_by(PointBatch.expires_on, PointBatch.id)))
    if first_purchase_id is not None:
        batches.sort(key=lambda b: b.purchase_id != first_purchase_id)
    taken = 0
    for batch in batches:
        if taken == points:
            break
        bite = min(batch.remaining, points - taken)
        batch.remaining -= bite
        taken += bite
    return taken


def redeem(member_id, points: int, note: str | None = None, *, purchase_id=None) -> PointEntry:
    if not isinstance(points, int) or points <= 0:
        raise ValidationError({"points": [_("Enter a whole number of points above zero.")]})
    member = lock(member_id)
    if member.points_balance < points:
        raise ValidationError({"points": [_("Not enough points (balance %(n)s).", n=member.points_balance)]})
    _take(member, points)
    entry = PointEntry(member_id=member.id, kind="redeem", points=-points, purchase_id=purchase_id, note=note)
    db.session.add(entry)
    member.points_balance -= points
    db.session.flush()
    return entry


def reverse(member_id, points: int, *, purchase_id=None, note=None) -> None:
    """Take back points a refunded purchase earned (the rule in the module's docstring: may go negative)."""
    if points <= 0:
        return
    member = lock(member_id)
    _take(member, points, first_purchase_id=purchase_id)
    db.session.add(PointEntry(member_id=member.id, kind="reverse", points=-points, purchase_id=purchase_id, note=note))
    member.points_balance -= points
    db.session.flush()


def expire_due(today: date | None = None) -> int:
    """Expire the batches whose last day was before `today` (the tenant's calendar). Returns points expired."""
    today = today or tenant_today()
    due = list(db.session.execute(select(PointBatch.member_id).where(
        PointBatch.remaining > 0, PointBatch.expires_on < today).distinct()).scalars())
    total = 0
    for member_id in sorted(due):
        member = lock(member_id)
        batches = db.session.scalars(select(PointBatch).where(
            PointBatch.member_id == member.id, PointBatch.remaining > 0, PointBatch.expires_on < today)
            .with_for_update())
        gone = 0
        for batch in batches:
            gone += batch.remaining
            batch.remaining = 0
        if gone:
            db.session.add(PointEntry(member_id=member.id, kind="expire", points=-gone, note=None))
            member.points_balance -= gone
            total += gone
    db.session.flush()
    return total


def expiring_within(member_id, days: int, today: date | None = None) -> int:
    from datetime import timedelta

    today = today or tenant_today()
    rows = db.session.scalars(select(PointBatch.remaining).where(
        PointBatch.member_id == member_id, PointBatch.remaining > 0,
        PointBatch.expires_on >= today, PointBatch.expires_on <= today + timedelta(days=days)))
    return sum(rows)


def ledger_of(member_id, limit: int = 50):
    return list(db.session.scalars(select(PointEntry).where(PointEntry.member_id == member_id)
                                   .order_by(PointEntry.id.desc()).limit(limit)))


def batches_of(member_id):
    return list(db.session.scalars(select(PointBatch).where(PointBatch.member_id == member_id)
                                   .order_by(PointBatch.expires_on, PointBatch.id)))
