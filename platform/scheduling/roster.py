"""Who works when: weekly patterns turned into UTC intervals for given days, with leave, extra shifts and store
closures applied. `on_shift` and `staff_on_shift` are what other modules ask (lead assignment, escalation)."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import or_, select

from ..calendar import tenant_zone
from ..extensions import db
from ..tenancy.models import utcnow
from ..users.models import User
from .models import ScheduleException, WorkingPattern

Interval = tuple[datetime, datetime]


def local_moment(day: date, clock: time, zone) -> datetime:
    """`clock` on `day` in the tenant's zone, as UTC (09:00 in Berlin is 08:00 UTC in winter, 07:00 in summer)."""
    return datetime.combine(day, clock, tzinfo=zone).astimezone(timezone.utc)


def day_bounds(day: date, zone) -> Interval:
    """The tenant's calendar day as a UTC interval (23 or 25 hours on a day the clocks change)."""
    return local_moment(day, time(0), zone), local_moment(day + timedelta(days=1), time(0), zone)


def merge(intervals: list[Interval]) -> list[Interval]:
    out: list[list[datetime]] = []
    for start, end in sorted(intervals):
        if out and start <= out[-1][1]:
            out[-1][1] = max(out[-1][1], end)
        else:
            out.append([start, end])
    return [(s, e) for s, e in out]


def subtract(intervals: list[Interval], holes: list[Interval]) -> list[Interval]:
    out = []
    for start, end in intervals:
        pieces = [(start, end)]
        for h_start, h_end in holes:
            pieces = [p for s, e in pieces for p in ((s, min(e, h_start)), (max(s, h_end), e)) if p[0] < p[1]]
        out.extend(pieces)
    return out


class Roster:
    """Working intervals by (user id, store id) over the tenant days first..last, loaded in two queries."""

    def __init__(self, first: date, last: date, *, store_ids=None, user_ids=None):
        zone = tenant_zone()
        self.start, self.end = day_bounds(first, zone)[0], day_bounds(last, zone)[1]
        patterns = select(WorkingPattern)
        exceptions = select(ScheduleException).where(ScheduleException.starts_at < self.end,
                                                     ScheduleException.ends_at > self.start)
        if store_ids is not None:
            patterns = patterns.where(WorkingPattern.store_id.in_(store_ids))
            exceptions = exceptions.where(or_(ScheduleException.store_id.in_(store_ids),
                                              ScheduleException.kind == "leave"))
        if user_ids is not None:
            patterns = patterns.where(WorkingPattern.user_id.in_(user_ids))
            exceptions = exceptions.where(or_(ScheduleException.user_id.in_(user_ids),
                                              ScheduleException.kind == "closure"))
        raw: dict[tuple[int, int], list[Interval]] = defaultdict(list)
        by_weekday = defaultdict(list)
        for p in db.session.scalars(patterns):
            by_weekday[p.weekday].append(p)
        day = first
        while day <= last:
            for p in by_weekday[day.weekday()]:
                raw[(p.user_id, p.store_id)].append((local_moment(day, p.starts_at, zone),
                                                     local_moment(day, p.ends_at, zone)))
            day += timedelta(days=1)
        leave, closures = defaultdict(list), defaultdict(list)
        for ex in db.session.scalars(exceptions):
            if ex.kind == "extra_shift":
                raw[(ex.user_id, ex.store_id)].append((ex.starts_at, ex.ends_at))
            elif ex.kind == "leave":
                leave[ex.user_id].append((ex.starts_at, ex.ends_at))
            else:
                closures[ex.store_id].append((ex.starts_at, ex.ends_at))
        self.closures = dict(closures)
        self.windows = {key: kept for key, spans in raw.items()
                        if (kept := subtract(merge(spans), leave[key[0]] + closures[key[1]]))}

    def of(self, user_id: int, store_id: int | None = None) -> list[Interval]:
        if store_id is not None:
            return self.windows.get((user_id, store_id), [])
        return merge([i for (u, _s), spans in self.windows.items() if u == user_id for i in spans])

    def working_at(self, at: datetime) -> dict[int, int]:
        """{user id: store id} of everyone working at `at`."""
        return {u: s for (u, s), spans in self.windows.items() if any(a <= at < b for a, b in spans)}


def _around(at: datetime) -> tuple[date, date]:
    day = at.astimezone(tenant_zone()).date()
    return day - timedelta(days=1), day  # yesterday's rows too: an extra shift may run past midnight


def on_shift(user, at: datetime | None = None) -> bool:
    """Is this staff member working (at any store) at `at` (default now)? Patterns, extra shifts, leave and store
    closures count; an inactive account is never on shift."""
    at = at or utcnow()
    if not user.active:
        return False
    first, last = _around(at)
    return user.id in Roster(first, last, user_ids=[user.id]).working_at(at)


def staff_on_shift(store, at: datetime | None = None) -> list[User]:
    """The active staff members working at `store` at `at` (default now), by name."""
    at = at or utcnow()
    first, last = _around(at)
    ids = [u for u, s in Roster(first, last, store_ids=[store.id]).working_at(at).items() if s == store.id]
    if not ids:
        return []
    return list(db.session.scalars(select(User).where(User.id.in_(ids), User.active.is_(True))
                                   .order_by(User.display_name)))
