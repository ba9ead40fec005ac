"""First-contact deadlines that count the store's opening hours (stores.opens_at / closes_at, in the tenant's zone)
and skip its closures (holidays in the scheduling calendar: schedule exceptions of kind "closure").

A web lead at 23:00 with a 30-minute promise at a store open 09:00–18:00 is due at 09:30 the next morning, not at
23:30 when nobody is there to call back. A store without opening hours (or a channel of no store) counts the clock
around the day, as before."""
from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select

from ..calendar import tenant_zone
from ..extensions import db
from ..scheduling.models import ScheduleException
from ..scheduling.roster import local_moment, subtract

MAX_DAYS = 400  # a store closed for longer than this: fall back to the plain clock


def has_hours(store) -> bool:
    return bool(store is not None and store.opens_at and store.closes_at and store.opens_at < store.closes_at)


def deadline(store, start: datetime, minutes: int) -> datetime:
    """`start` + `minutes` of the store's opening hours (closures skipped); plain minutes without opening hours."""
    plain = start + timedelta(minutes=minutes)
    if not has_hours(store):
        return plain
    zone = tenant_zone()
    horizon = start + timedelta(days=MAX_DAYS)
    closures = [(c.starts_at, c.ends_at) for c in db.session.scalars(select(ScheduleException).where(
        ScheduleException.kind == "closure", ScheduleException.store_id == store.id,
        ScheduleException.ends_at > start, ScheduleException.starts_at < horizon).order_by(ScheduleException.starts_at))]
    left = timedelta(minutes=minutes)
    day = start.astimezone(zone).date()
    for _ in range(MAX_DAYS):
        window = (local_moment(day, store.opens_at, zone), local_moment(day, store.closes_at, zone))
        for begin, end in subtract([window], closures):
            begin = max(begin, start)
            if end <= begin:
                continue
            if end - begin >= left:
                return begin + left
            left -= end - begin
        day += timedelta(days=1)
    return plain


def _open_spans(store, start: datetime, end: datetime):
    """The store's open intervals (closures removed) that overlap start..end, in time order."""
    zone = tenant_zone()
    closures = [(c.starts_at, c.ends_at) for c in db.session.scalars(select(ScheduleException).where(
        ScheduleException.kind == "closure", ScheduleException.store_id == store.id,
        ScheduleException.ends_at > start, ScheduleException.starts_at < end).order_by(ScheduleException.starts_at))]
    day = start.astimezone(zone).date() - timedelta(days=1)   # a window of the day before may still be open
    last = end.astimezone(zone).date()
    while day <= last:
        window = (local_moment(day, store.opens_at, zone), local_moment(day, store.closes_at, zone))
        for begin, finish in subtract([window], closures):
            begin, finish = max(begin, start), min(finish, end)
            if begin < finish:
                yield begin, finish
        day += timedelta(days=1)


def working_minutes(store, start: datetime, end: datetime) -> int:
    """Whole minutes of the store's opening hours (closures skipped) between `start` and `end`: the inverse of
    `deadline`, for clocks that stop and resume (a complaint waiting for the customer) and for reporting a response
    time in the hours somebody could have answered. Plain minutes without opening hours; 0 when `end` <= `start`."""
    if end <= start:
        return 0
    if not has_hours(store) or end - start > timedelta(days=MAX_DAYS):
        return int((end - start).total_seconds() // 60)
    return int(sum(((b - a) for a, b in _open_spans(store, start, end)), timedelta()).total_seconds() // 60)
