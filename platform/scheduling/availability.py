"""Free slots: the one availability function behind the staff calendar, the public booking page and the API.

A `Board` loads one store's days in a bounded number of queries (patterns, exceptions, qualified staff, resources,
appointments) and answers "what is free at this start?" in memory, the same way the database's exclusion
constraints judge: an appointment blocks [start, end + buffer) for its staff member and its resource unit."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import and_, exists, or_, select

from ..calendar import tenant_zone
from ..extensions import db
from ..tenancy.models import utcnow
from ..users.models import User
from .models import Appointment, Resource, ServiceType, StaffSkill
from .roster import Interval, Roster, day_bounds, local_moment, subtract

SLOT_STEP = timedelta(minutes=30)
MAX_RANGE_DAYS = 31


@dataclass(frozen=True)
class Slot:
    """A bookable start: who could do it and which resource units are free then."""

    starts_at: datetime
    ends_at: datetime
    staff_ids: tuple[int, ...]
    units: tuple[tuple[int, int], ...]  # (resource id, unit)


def qualified_staff(service: ServiceType) -> list[int]:
    """Active staff who hold every skill the service needs at its level or above (one query)."""
    query = select(User.id).where(User.active.is_(True))
    for skill, level in sorted((service.required_skills or {}).items()):
        query = query.where(exists().where(and_(StaffSkill.user_id == User.id, StaffSkill.skill == skill,
                                                StaffSkill.level >= int(level))))
    return list(db.session.scalars(query))


class Board:
    """One store, one service, tenant days first..last: everything availability needs, then pure computation."""

    def __init__(self, store, service: ServiceType, first: date, last: date, *, staff_id: int | None = None,
                 ignore_appointment_id: int | None = None, now: datetime | None = None):
        self.store, self.service, self.now = store, service, now or utcnow()
        self.zone = tenant_zone()
        self.first, self.last = first, last
        self.duration = timedelta(minutes=service.duration_minutes)
        self.buffer = timedelta(minutes=service.buffer_minutes)
        self.roster = Roster(first, last, store_ids=[store.id])
        if service.needs_staff:
            staff = [u for u in qualified_staff(service) if staff_id is None or u == staff_id]
            self.staff = {u: self.roster.of(u, store.id) for u in staff}
            self.staff = {u: spans for u, spans in self.staff.items() if spans}
        else:
            self.staff = {}
        self.resources = []
        if service.resource_kind:
            self.resources = list(db.session.scalars(
                select(Resource).where(Resource.store_id == store.id, Resource.kind == service.resource_kind,
                                       Resource.active.is_(True)).order_by(Resource.name, Resource.id)))
        start, end = day_bounds(first, self.zone)[0], day_bounds(last, self.zone)[1] + timedelta(days=1)
        touches = [Appointment.store_id == store.id]
        if self.staff:
            touches.append(Appointment.staff_id.in_(list(self.staff)))
        query = (select(Appointment.staff_id, Appointment.resource_id, Appointment.resource_unit,
                        Appointment.starts_at, Appointment.blocked_until)
                 .where(or_(*touches), Appointment.starts_at < end, Appointment.blocked_until > start,
                        Appointment.status.notin_(("cancelled", "no_show"))))
        if ignore_appointment_id is not None:
            query = query.where(Appointment.id != ignore_appointment_id)
        self.staff_busy: dict[int, list[Interval]] = defaultdict(list)
        self.unit_busy: dict[tuple[int, int], list[Interval]] = defaultdict(list)
        for staff, resource, unit, a_start, a_end in db.session.execute(query):
            if staff is not None:
                self.staff_busy[staff].append((a_start, a_end))
            if resource is not None:
                self.unit_busy[(resource, unit)].append((a_start, a_end))

    def _store_windows(self) -> list[Interval]:
        """Opening hours for services without staff, less closures."""
        if not (self.store.opens_at and self.store.closes_at):
            return []
        spans, day = [], self.first
        while day <= self.last:
            spans.append((local_moment(day, self.store.opens_at, self.zone),
                          local_moment(day, self.store.closes_at, self.zone)))
            day += timedelta(days=1)
        return subtract(spans, self.roster.closures.get(self.store.id, []))

    @staticmethod
    def _free(busy: list[Interval], start: datetime, end: datetime) -> bool:
        return not any(b_start < end and start < b_end for b_start, b_end in busy)

    def options(self, start: datetime, *, resource_id: int | None = None,
                walk_in: bool = False) -> tuple[list[int], list[tuple[int, int]]] | None:
        """(free staff ids, free resource units) for a booking starting at `start`, or None if it cannot be made.
        A walk-in needs no shift window (the person is in the store now), only a free calendar."""
        end, blocked = start + self.duration, start + self.duration + self.buffer
        staff: list[int] = []
        if self.service.needs_staff:
            staff = [u for u, spans in self.staff.items()
                     if (walk_in or any(a <= start and end <= b for a, b in spans))
                     and self._free(self.staff_busy[u], start, blocked)]
            if not staff:
                return None
        elif not walk_in and not any(a <= start and end <= b for a, b in self._store_windows()):
            return None
        units: list[tuple[int, int]] = []
        if self.service.resource_kind:
            units = [(r.id, n) for r in self.resources if resource_id is None or r.id == resource_id
                     for n in range(r.capacity) if self._free(self.unit_busy[(r.id, n)], start, blocked)]
            if not units:
                return None
        return staff, units

    def bookable(self, start: datetime) -> bool:
        """Inside the service's booking rules: minimum notice, how far ahead."""
        return (start >= self.now + timedelta(minutes=self.service.min_notice_minutes)
                and start <= self.now + timedelta(days=self.service.max_days_ahead))

    def candidate_starts(self) -> list[datetime]:
        windows = ([s for spans in self.staff.values() for s in spans] if self.service.needs_staff
                   else self._store_windows())
        starts = set()
        for a, b in windows:
            t = a
            while t + self.duration <= b:
                starts.add(t)
                t += SLOT_STEP
        return sorted(starts)

    def slots(self, *, resource_id: int | None = None) -> list[Slot]:
        out = []
        for start in self.candidate_starts():
            if not self.bookable(start):
                continue
            found = self.options(start, resource_id=resource_id)
            if found is not None:
                out.append(Slot(start, start + self.duration, tuple(found[0]), tuple(found[1])))
        return out


def availability(store, service: ServiceType, first: date, last: date | None = None, *, staff_id: int | None = None,
                 resource_id: int | None = None, now: datetime | None = None) -> list[Slot]:
    """Free slots of `service` at `store` on the tenant days first..last (at most 31 days), honouring working
    patterns, leave, extra shifts, store closures, existing appointments with their buffers, resource capacity,
    required skills, minimum notice and how far ahead the service may be booked. Optionally for one staff member
    or one resource."""
    last = last or first
    if last < first or (last - first).days >= MAX_RANGE_DAYS:
        raise ValueError("give 1 to 31 days")
    return Board(store, service, first, last, staff_id=staff_id, now=now).slots(resource_id=resource_id)


def next_slots(store, service: ServiceType, after: datetime, *, count: int = 3, now: datetime | None = None
               ) -> list[Slot]:
    """The first `count` free slots from `after` on, looking a week ahead (what a refused booking offers)."""
    day = after.astimezone(tenant_zone()).date()
    slots = Board(store, service, day, day + timedelta(days=6), now=now).slots()
    return [s for s in slots if s.starts_at >= after][:count]
