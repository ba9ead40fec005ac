"""Who gets a new lead: the first matching assignment rule with somebody ON SHIFT (storecrm.scheduling.roster),
by round robin, fewest open leads, weights or a field's value; when no rule finds anybody, the first matching
rule's fallback, else the store's manager.

A rule matches by its channel and store (empty = any) and its condition tree (storecrm.conditions over the
"lead" record type: channel, campaign, interest, store, region, source …).

Round robin and weighted are fair under concurrency because their state (`last_user_id`, `credits`) moves under a
row lock of the rule: two leads captured at once are served one after the other, never both from the same state.
Weighted uses the smooth weighted round robin (nginx's upstream balancer): each pick adds every candidate's weight
to their credit, takes the highest credit and subtracts the total, so over any run of picks each person's share
stays within one lead of weight/total — no random draws that drift under load."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import func, or_, select

from .. import conditions
from ..extensions import db
from ..scheduling.roster import on_shift, staff_on_shift
from ..stores.models import Store
from ..tenancy.models import get_scoped
from ..users.models import User
from ..users.services import staff_with_role
from .models import OPEN, ROUTING_FIELDS, Lead, LeadAssignmentRule


def matching_rules(lead: Lead) -> list[LeadAssignmentRule]:
    """Active rules whose channel, store (an empty one fits any) and condition tree fit the lead, in their order."""
    rules = db.session.scalars(select(LeadAssignmentRule).where(
        LeadAssignmentRule.active.is_(True),
        or_(LeadAssignmentRule.channel_id.is_(None), LeadAssignmentRule.channel_id == lead.channel_id),
        or_(LeadAssignmentRule.store_id.is_(None), LeadAssignmentRule.store_id == lead.store_id))
        .order_by(LeadAssignmentRule.position, LeadAssignmentRule.id))
    return [rule for rule in rules if not rule.conditions or conditions.evaluate("lead", rule.conditions, lead)]


def candidates(rule: LeadAssignmentRule, lead: Lead, at: datetime) -> list[User]:
    """The rule's people (or the store's staff) who are on shift at `at`, by id. A rule with a store asks who works
    at that store; a list of people without any store asks each person."""
    store = get_scoped(Store, rule.store_id or lead.store_id)
    wanted = {int(i) for i in rule.staff_ids or ()}
    if not wanted and rule.strategy == "by_field":  # the map names the people
        wanted = {int(i) for i in (rule.field_map or {}).values()}
    if not wanted and rule.strategy == "weighted" and store is None:  # the weights name the people
        wanted = {int(k) for k, w in (rule.weights or {}).items() if int(w or 0) > 0}
    if store is not None:
        working = staff_on_shift(store, at)
        return sorted((u for u in working if not wanted or u.id in wanted), key=lambda u: u.id)
    if not wanted:
        return []
    people = db.session.scalars(select(User).where(User.id.in_(wanted), User.active.is_(True)).order_by(User.id))
    return [u for u in people if on_shift(u, at)]


def _round_robin(rule: LeadAssignmentRule, people: list[User]) -> User:
    locked = _locked(rule)
    after = locked.last_user_id or 0
    chosen = next((u for u in people if u.id > after), people[0])
    locked.last_user_id = chosen.id
    db.session.flush()
    return chosen


def _locked(rule: LeadAssignmentRule) -> LeadAssignmentRule:
    return db.session.execute(select(LeadAssignmentRule).where(LeadAssignmentRule.id == rule.id)
                              .with_for_update().execution_options(populate_existing=True)).scalar_one()


def weight_of(rule: LeadAssignmentRule, user_id: int) -> int:
    """A person's weight in a weighted rule; people the rule does not weigh count 1."""
    try:
        return max(0, int((rule.weights or {}).get(str(user_id), 1)))
    except (TypeError, ValueError):
        return 1


def _weighted(rule: LeadAssignmentRule, people: list[User]) -> User | None:
    locked = _locked(rule)
    weighted = [(u, weight_of(locked, u.id)) for u in people]
    weighted = [(u, w) for u, w in weighted if w > 0]
    if not weighted:
        return None
    credits = {str(k): int(v) for k, v in (locked.credits or {}).items()}
    total = sum(w for _u, w in weighted)
    for user, weight in weighted:
        credits[str(user.id)] = credits.get(str(user.id), 0) + weight
    chosen = max(weighted, key=lambda uw: (credits[str(uw[0].id)], -uw[0].id))[0]
    credits[str(chosen.id)] -= total
    # only the people on shift keep a credit: someone back from leave starts even, not owed a burst of leads
    locked.credits = {str(u.id): credits[str(u.id)] for u, _w in weighted}
    db.session.flush()
    return chosen


def field_value(lead: Lead, field: str | None) -> str:
    return str(getattr(lead, field, None) or "").strip().lower() if field in ROUTING_FIELDS else ""


def _by_field(rule: LeadAssignmentRule, people: list[User], lead: Lead) -> User | None:
    """The person the rule's map names for the lead's value (model of interest → specialist), if on shift. A map key
    matches the whole value or a part of it ("Model Y" matches "Model Y 长续航")."""
    value = field_value(lead, rule.field)
    if not value:
        return None
    on_duty = {u.id: u for u in people}
    for key, user_id in sorted((rule.field_map or {}).items(), key=lambda kv: -len(kv[0])):  # longest key first
        wanted = key.strip().lower()
        if wanted and (value == wanted or wanted in value):
            try:
                return on_duty.get(int(user_id))
            except (TypeError, ValueError):
                return None
    return None


def _least_loaded(people: list[User]) -> User:
    load = dict(db.session.execute(select(Lead.owner_id, func.count()).where(
        Lead.owner_id.in_([u.id for u in people]), Lead.status.in_(OPEN)).group_by(Lead.owner_id)).all())
    return min(people, key=lambda u: (load.get(u.id, 0), u.id))


def choose(lead: Lead, at: datetime, *, exclude: frozenset = frozenset()) -> tuple[User | None,
                                                                                   LeadAssignmentRule | None, str]:
    """(owner, rule, how) for a new lead; how is "rule", "default" (no rule fits: the store's staff on
    shift), "fallback", "manager", "pool" (a rule sends it to the public pool) or "none". People in `exclude` (an
    advisor handing over because they leave) are never chosen."""
    rules = matching_rules(lead)
    for rule in rules:
        if rule.strategy == "pool":  # this rule's leads wait in the public pool for whoever claims them
            return None, rule, "pool"
        people = [u for u in candidates(rule, lead, at) if u.id not in exclude]
        if not people:
            continue
        if rule.strategy == "round_robin":
            chosen = _round_robin(rule, people)
        elif rule.strategy == "weighted":
            chosen = _weighted(rule, people)
        elif rule.strategy == "by_field":
            chosen = _by_field(rule, people, lead)
        else:
            chosen = _least_loaded(people)
        if chosen is not None:  # a by-field rule without a match, or all weights 0: the next rule
            return chosen, rule, "rule"
    if not rules and lead.store_id:  # no rule set up: the store's staff on shift, fewest open leads first
        store = get_scoped(Store, lead.store_id)
        people = sorted((u for u in staff_on_shift(store, at) if u.id not in exclude),
                        key=lambda u: u.id) if store is not None else []
        if people:
            return _least_loaded(people), None, "default"
    first = rules[0] if rules else None
    if first is not None and first.fallback_user_id:
        fallback = get_scoped(User, first.fallback_user_id)
        if fallback is not None and fallback.active and fallback.id not in exclude:
            return fallback, first, "fallback"
    store_id = lead.store_id or (first.store_id if first else None)
    managers = [m for m in (staff_with_role("manager", store_id) if store_id else []) if m.id not in exclude]
    if managers:
        return managers[0], first, "manager"
    return None, first, "none"
