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

from ..calendar import DEFAULT_ZONE
from ..tenancy.context import current_tenant_id
from ..tenancy.models import current_tenant_row

KINDS = ("day", "week", "month", "custom")
MAX_CUSTOM_DAYS = 731


def _facts() -> tuple[ZoneInfo, dict]:
    """The tenant's zone and settings, read from its row ONCE per request or job: a page of KPIs asks for them
    dozens of times, and the session does not keep the tenant's row alive between the asks."""
    if not has_app_context():
        return _read()
    key = current_tenant_id()
    cache = g.setdefault("_storecrm_report_tenant", {})
    if key not in cache:
        cache[key] = _read()
    return cache[key]


def _read() -> tuple[ZoneInfo, dict]:
    row = current_tenant_row()  # one lookup: the zone as storecrm.calendar reads it, and the settings
    return ZoneInfo(row.timezone or DEFAULT_ZONE), dict(row.settings or {})


def report_zone() -> ZoneInfo:
    return _facts()[0]


def report_settings() -> dict:
    """The tenant's settings as the reports read them (RFM thresholds), from the same one lookup as the zone."""
    return _facts()[1]


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
