"""Who gets a new lead: the first matching assignment rule with somebody ON SHIFT (storecrm.scheduling.roster),
by round robin or fewest open leads; when no rule finds anybody, the first matching rule's fallback, else the
store's manager.

Round robin is fair under concurrency because its cursor (`last_user_id`) moves under a row lock of the rule: two
leads captured at once are served one after the other, never both to the same person."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from ..extensions import db
from ..scheduling.roster import on_shift, staff_on_shift
from ..stores.models import Store
from ..tenancy.models import get_scoped
from ..users.models import User
from ..users.services import staff_with_role
from .models import OPEN, Lead, LeadAssignmentRule


def matching_rules(lead: Lead) -> list[LeadAssignmentRule]:
    """Active rules whose channel and store fit the lead (an empty condition fits any), in their order."""
    return list(db.session.scalars(select(LeadAssignmentRule).where(
        LeadAssignmentRule.active.is_(True),
        or_(LeadAssignmentRule.channel_id.is_(None), LeadAssignmentRule.channel_id == lead.channel_id),
        or_(LeadAssignmentRule.store_id.is_(None), LeadAssignmentRule.store_id == lead.store_id))
        .order_by(LeadAssignmentRule.position, LeadAssignmentRule.id)))


def candidates(rule: LeadAssignmentRule, lead: Lead, at: datetime) -> list[User]:
    """The rule's people (or the store's staff) who are on shift at `at`, by id. A rule with a store asks who works
    at that store; a list of people without any store asks each person."""
    store = get_scoped(Store, rule.store_id or lead.store_id)
    wanted = {int(i) for i in rule.staff_ids or ()}
    if store is not None:
        working = staff_on_shift(store, at)
        return sorted((u for u in working if not wanted or u.id in wanted), key=lambda u: u.id)
    if not wanted:
        return []
    people = db.session.scalars(select(User).where(User.id.in_(wanted), User.active.is_(True)).order_by(User.id))
    return [u for u in people if on_shift(u, at)]


def _round_robin(rule: LeadAssignmentRule, people: list[User]) -> User:
    locked = db.session.execute(select(LeadAssignmentRule).where(LeadAssignmentRule.id == rule.id)
                                .with_for_update().execution_options(populate_existing=True)).scalar_one()
    after = locked.last_user_id or 0
    chosen = next((u for u in people if u.id > after), people[0])
    locked.last_user_id = chosen.id
    db.session.flush()
    return chosen


def _least_loaded(people: list[User]) -> User:
    load = dict(db.session.execute(select(Lead.owner_id, func.count()).where(
        Lead.owner_id.in_([u.id for u in people]), Lead.status.in_(OPEN)).group_by(Lead.owner_id)).all())
    return min(people, key=lambda u: (load.get(u.id, 0), u.id))


def choose(lead: Lead, at: datetime) -> tuple[User | None, LeadAssignmentRule | None, str]:
    """(owner, rule, how) for a new lead; how is "rule", "default" (no rule fits: the store's staff on
    shift), "fallback", "manager", "pool" (a rule sends it to the public pool) or "none"."""
    rules = matching_rules(lead)
    for rule in rules:
        if rule.strategy == "pool":  # this rule's leads wait in the public pool for whoever claims them
            return None, rule, "pool"
        people = candidates(rule, lead, at)
        if people:
            chosen = _round_robin(rule, people) if rule.strategy == "round_robin" else _least_loaded(people)
            return chosen, rule, "rule"
    if not rules and lead.store_id:  # no rule set up: the store's staff on shift, fewest open leads first
        store = get_scoped(Store, lead.store_id)
        people = sorted(staff_on_shift(store, at), key=lambda u: u.id) if store is not None else []
        if people:
            return _least_loaded(people), None, "default"
    first = rules[0] if rules else None
    if first is not None and first.fallback_user_id:
        fallback = get_scoped(User, first.fallback_user_id)
        if fallback is not None and fallback.active:
            return fallback, first, "fallback"
    store_id = lead.store_id or (first.store_id if first else None)
    managers = staff_with_role("manager", store_id) if store_id else []
    if managers:
        return managers[0], first, "manager"
    return None, first, "none"
