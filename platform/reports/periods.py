"""Report periods in the tenant's calendar: a day, a week (Monday to Sunday), a month, or custom dates.

A period is a range of *local* dates; its bounds in UTC are the local midnights that start its first day and the
day after its last, in the tenant's zone (storecrm.calendar). In Shanghai "3 December" is 2 Dec 16:00 UTC to
3 Dec 16:00 UTC, so a customer created at 23:30 local time on the 3rd counts on the 3rd, as staff expect.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from zoneinfo import ZoneInfo

from flask import g, has_app_context

from ..calendar import tenant_zone
from ..tenancy.context import current_tenant_id

KINDS = ("day", "week", "month", "custom")
MAX_CUSTOM_DAYS = 731


def report_zone() -> ZoneInfo:
    """The tenant's zone, looked up once per request or job: a page of KPIs asks for it dozens of times, and the
    session does not keep the tenant's row alive between the asks."""
    if not has_app_context():
        return tenant_zone()
    key = (current_tenant_id(), "zone")
    cache = g.setdefault("_storecrm_report_zone", {})
    if key not in cache:
        cache[key] = tenant_zone()
    return cache[key]


def report_today() -> date:
    return datetime.now(report_zone()).date()


@dataclass(frozen=True)
class Period:
    """`first` to `last` (both local dates, inclusive)."""

    kind: str
    first: date
    last: date

    def bounds(self) -> tuple[datetime, datetime]:
        """[start, end) in UTC: local midnight of `first`, local midnight after `last`."""
        zone = report_zone()
        start = datetime.combine(self.first, time(), zone)
        end = datetime.combine(self.last + timedelta(days=1), time(), zone)
        return start.astimezone(timezone.utc), end.astimezone(timezone.utc)

    def previous(self) -> "Period":
        """The period before: yesterday, last week, last month, or as many days just before a custom range."""
        if self.kind == "month":
            last = self.first - timedelta(days=1)
            return Period("month", last.replace(day=1), last)
        days = (self.last - self.first).days + 1
        return Period(self.kind, self.first - timedelta(days=days), self.first - timedelta(days=1))

    @property
    def grain(self) -> str:
        """The bucket of its trend chart: hours make no sense for staff, so a day's trend is one bar."""
        days = (self.last - self.first).days + 1
        return "day" if days <= 62 else "week" if days <= 366 else "month"

    def as_args(self) -> dict:
        return {"period": self.kind, "start": self.first.isoformat(), "end": self.last.isoformat()}


def period_of(kind: str = "month", anchor: date | None = None, first: date | None = None,
              last: date | None = None) -> Period:
    """The period of `kind` containing `anchor` (default: today in the tenant's zone); "custom" takes first..last.
    ValueError for an unknown kind, a reversed range or one longer than two years."""
    anchor = anchor or report_today()
    if kind == "day":
        return Period("day", anchor, anchor)
    if kind == "week":
        monday = anchor - timedelta(days=anchor.weekday())
        return Period("week", monday, monday + timedelta(days=6))
    if kind == "month":
        first_day = anchor.replace(day=1)
        following = (first_day + timedelta(days=32)).replace(day=1)
        return Period("month", first_day, following - timedelta(days=1))
    if kind == "custom":
        if first is None or last is None:
            raise ValueError("custom periods need a start and an end date")
        if last < first:
            raise ValueError("the end date is before the start date")
        if (last - first).days + 1 > MAX_CUSTOM_DAYS:
            raise ValueError("a period may span at most two years")
        return Period("custom", first, last)
    raise ValueError(f"unknown period {kind!r}")
