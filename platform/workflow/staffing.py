"""Who a workflow item may go to: the people who can open its record (assignment), and where an escalation lands
when nobody in the record's store holds the role it names (the HQ holder of the role, else the tenant's owner), with
the warning admins see on the definition page about such gaps."""
from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from .. import conditions
from ..access.models import Role
from ..extensions import db
from ..stores.models import Store
from ..users.models import User, UserStore
from ..users.services import staff_with_role
from .models import WorkflowDefinition, WorkflowItem


def can_open(user: User, entity: str, store_id) -> bool:
    """Whether `user` may open a record of `entity` kept in `store_id`: the entity's view permission and the
    store scope (HQ roles every store, store staff their own; records of no store everyone with the permission)."""
    ent = conditions.entities().get(entity)
    permission = ent.view_permission if ent is not None else "customers.view"
    return bool(user.active and user.has_permission(permission) and
                (user.sees_all_stores or store_id is None or store_id in user.store_ids))


def assignable_staff(item: WorkflowItem) -> list[User]:
    """Active staff who can open the item's record, by name: the only people an item may be assigned to."""
    users = db.session.scalars(select(User).options(selectinload(User.stores)).where(User.active.is_(True))
                               .order_by(User.display_name, User.id))
    return [u for u in users if can_open(u, item.entity, item.store_id)]


def hq_holders(role_code: str) -> list[User]:
    """Active holders of the role who work in no particular store (HQ staff)."""
    in_a_store = select(UserStore.user_id)
    return list(db.session.scalars(
        select(User).join(Role, (Role.tenant_id == User.tenant_id) & (Role.id == User.role_id))
        .where(Role.code == role_code, User.active.is_(True), User.id.not_in(in_a_store)).order_by(User.id)))


def escalation_targets(role_code: str, store_id) -> list[User]:
    """Who an escalation to `role_code` reaches for a record of `store_id`: the role's holders in that store (and
    HQ roles seeing every store); when there are none, the HQ holders of the role; else the tenant's owners — an
    escalation never vanishes because a store lacks a manager."""
    for found in (staff_with_role(role_code, store_id), hq_holders(role_code), staff_with_role("owner")):
        if found:
            return found
    return []


@dataclass(frozen=True)
class CoverageGap:
    """A role a definition escalates to (or asks for approval) that nobody holds in some stores."""

    kind: str  # "escalation" | "approval"
    role: str
    stores: tuple[str, ...]  # store names
    fallback: str  # "hq" | "owner" | "none": where an escalation goes instead


def coverage_gaps(definition: WorkflowDefinition) -> list[CoverageGap]:
    """The roles of the definition's escalations and approvals with nobody in one or more active stores, with
    those stores; one query for the holders whatever the number of roles and stores."""
    spec = definition.spec
    wanted: dict[str, set[str]] = {}
    for state in spec.get("states") or []:
        for step in state.get("escalation") or []:
            if step.get("role") and step.get("action") in ("notify_role", "reassign"):
                wanted.setdefault(step["role"], set()).add("escalation")
    for t in spec.get("transitions") or []:
        approval = t.get("approval") or {}
        for role in list(approval.get("roles") or []) + [r for tier in approval.get("tiers") or []
                                                         for step in tier.get("steps") or [] for r in step]:
            wanted.setdefault(role, set()).add("approval")
    if not wanted:
        return []
    stores = list(db.session.execute(select(Store.id, Store.name).where(Store.active.is_(True))
                                     .order_by(Store.code, Store.id)))
    holders = db.session.execute(
        select(Role.code, Role.data_scope, UserStore.store_id)
        .select_from(User).join(Role, (Role.tenant_id == User.tenant_id) & (Role.id == User.role_id))
        .outerjoin(UserStore, UserStore.user_id == User.id)
        .where(User.active.is_(True), Role.code.in_(set(wanted) | {"owner"}))).all()
    everywhere = {code for code, scope, _store in holders if scope == "all"}
    in_store = {(code, store_id) for code, _scope, store_id in holders if store_id is not None}
    hq = {code for code, _scope, store_id in holders if store_id is None}
    gaps = []
    for role in sorted(wanted):
        if role in everywhere or role == "owner":
            continue
        empty = tuple(name for store_id, name in stores if (role, store_id) not in in_store)
        if not empty:
            continue
        fallback = "hq" if role in hq else "owner" if "owner" in {c for c, _s, _st in holders} else "none"
        for kind in sorted(wanted[role], reverse=True):  # escalation first
            gaps.append(CoverageGap(kind, role, empty, fallback))
    return gaps
