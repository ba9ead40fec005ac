"""Dispatch (派单/派工): rank the technicians for a job, with the reasons for each place.

Signals, each worth points and one line of explanation: required skills and their level (a missing skill sinks a
candidate to the bottom), service region (smart-home visits), on shift at the job's time, load that day, and
history with this customer or asset. Plugins add their own signals through the `dispatch_signals` hook."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from flask_babel import gettext as _
from sqlalchemy import func, or_, select

from ..calendar import tenant_zone
from ..extensions import db
from ..hooks.runtime import tenant_hook
from ..tenancy.models import utcnow
from ..users.models import User, UserStore
from .models import Appointment, StaffRegion, StaffSkill, WorkingPattern
from .roster import Roster, day_bounds

MISSING_SKILL, SKILL, LEVEL_ABOVE, REGION, ON_SHIFT, OFF_SHIFT, PER_JOB, PER_VISIT = -100, 10, 2, 15, 20, -30, -5, 3


@dataclass
class Recommendation:
    """One candidate: score (higher is better) and the reasons, in the user's language."""

    user_id: int
    name: str
    score: int = 0
    on_shift: bool = False
    load: int = 0
    reasons: list[str] = field(default_factory=list)

    def add(self, points: int, reason: str) -> None:
        self.score += points
        self.reasons.append(reason)


def rank_technicians(store, *, skills: dict | None = None, region: str | None = None, at: datetime | None = None,
                     customer_id: int | None = None, asset_id: int | None = None) -> list[Recommendation]:
    """The staff of `store` (members of it, or with shifts there), best first, for a job needing `skills`
    ({skill: minimum level}) in `region` at `at` (default now) for this customer/asset. A fixed number of queries."""
    return rank_for_jobs(store, [{"skills": skills, "region": region, "at": at, "customer_id": customer_id,
                                  "asset_id": asset_id}])[0]


def rank_for_jobs(store, jobs: list[dict]) -> list[list[Recommendation]]:
    """`rank_technicians` for many jobs of one store at once (the dispatch board): the same queries for 1 or 200."""
    jobs = [{**job, "at": job.get("at") or utcnow(), "skills": job.get("skills") or {}} for job in jobs]
    if not jobs:
        return []
    members = select(UserStore.user_id).where(UserStore.store_id == store.id)
    shifts = select(WorkingPattern.user_id).where(WorkingPattern.store_id == store.id)
    users = list(db.session.execute(select(User.id, User.display_name).where(
        User.active.is_(True), or_(User.id.in_(members), User.id.in_(shifts))).order_by(User.display_name)))
    if not users:
        return [[] for _job in jobs]
    ids = [u for u, _n in users]
    held: dict[int, dict[str, int]] = {}
    for user_id, skill, level in db.session.execute(select(StaffSkill.user_id, StaffSkill.skill, StaffSkill.level)
                                                    .where(StaffSkill.user_id.in_(ids))):
        held.setdefault(user_id, {})[skill] = level
    regions: dict[int, set[str]] = {}
    if any(job.get("region") for job in jobs):
        for user_id, name in db.session.execute(select(StaffRegion.user_id, StaffRegion.region)
                                                .where(StaffRegion.user_id.in_(ids))):
            regions.setdefault(user_id, set()).add(name)
    zone = tenant_zone()
    days = sorted({job["at"].astimezone(zone).date() for job in jobs})
    roster = Roster(days[0], days[-1], user_ids=ids)
    lo, hi = day_bounds(days[0], zone)[0], day_bounds(days[-1], zone)[1]
    loads: dict[tuple[int, object], int] = {}
    for staff_id, starts_at in db.session.execute(select(Appointment.staff_id, Appointment.starts_at).where(
            Appointment.staff_id.in_(ids), Appointment.starts_at >= lo, Appointment.starts_at < hi,
            Appointment.status.notin_(("cancelled", "no_show")))):
        key = (staff_id, starts_at.astimezone(zone).date())
        loads[key] = loads.get(key, 0) + 1
    visits: dict[tuple[str, int, int], int] = {}
    customer_ids = {job["customer_id"] for job in jobs if job.get("customer_id")}
    asset_ids = {job["asset_id"] for job in jobs if job.get("asset_id") and not job.get("customer_id")}
    if customer_ids or asset_ids:
        done = select(Appointment.staff_id, Appointment.customer_id, Appointment.asset_id, func.count()).where(
            Appointment.staff_id.in_(ids), Appointment.status == "done",
            or_(Appointment.customer_id.in_(customer_ids or [0]), Appointment.asset_id.in_(asset_ids or [0]))
        ).group_by(Appointment.staff_id, Appointment.customer_id, Appointment.asset_id)
        for staff_id, customer, asset, count in db.session.execute(done):
            visits[("customer", customer, staff_id)] = visits.get(("customer", customer, staff_id), 0) + count
            if asset is not None:
                visits[("asset", asset, staff_id)] = visits.get(("asset", asset, staff_id), 0) + count
    hook = tenant_hook("dispatch_signals")
    return [_rank(job, users, held, regions, roster, loads, visits, zone, hook, store) for job in jobs]


def _rank(job, users, held, regions, roster, loads, visits, zone, hook, store) -> list[Recommendation]:
    at, skills, region = job["at"], job["skills"], job.get("region")
    working, day = roster.working_at(at), at.astimezone(zone).date()
    history = ("customer", job["customer_id"]) if job.get("customer_id") else (
        ("asset", job["asset_id"]) if job.get("asset_id") else None)
    ranked = []
    for user_id, name in users:
        rec = Recommendation(user_id, name)
        mine = held.get(user_id, {})
        for skill, level in sorted(skills.items()):
            has = mine.get(skill)
            if has is None or has < int(level):
                rec.add(MISSING_SKILL, _("Lacks %(skill)s (level %(level)s needed)", skill=skill, level=level))
            else:
                rec.add(SKILL + LEVEL_ABOVE * (has - int(level)), _("%(skill)s level %(level)s", skill=skill,
                                                                      level=has))
        if region:
            if region in regions.get(user_id, ()):
                rec.add(REGION, _("Covers %(region)s", region=region))
            else:
                rec.add(0, _("Does not cover %(region)s", region=region))
        rec.on_shift = user_id in working
        rec.add(ON_SHIFT if rec.on_shift else OFF_SHIFT, _("On shift") if rec.on_shift else _("Not on shift"))
        rec.load = loads.get((user_id, day), 0)
        rec.add(PER_JOB * rec.load, _("%(count)d jobs that day", count=rec.load))
        served = visits.get((*history, user_id), 0) if history else 0
        if served:
            rec.add(PER_VISIT * min(served, 5), _("Served this customer %(count)d times before", count=served))
        ranked.append(rec)
    signal_job = {"store_id": store.id, "skills": skills, "region": region, "at": at,
                  "customer_id": job.get("customer_id"), "asset_id": job.get("asset_id")}
    for extra in hook(job=signal_job, user_ids=[u for u, _n in users]):
        for user_id, (points, reason) in (extra or {}).items():
            for rec in ranked:
                if rec.user_id == user_id:
                    rec.add(int(points), str(reason))
    ranked.sort(key=lambda r: (-r.score, r.name))
    return ranked
