"""Merging two records of one person, with survivorship per field, and undoing it."""
from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select, update

from ..audit.services import current_actor, record, snapshot
from ..events import CustomerMerged, CustomerUnmerged, emit
from ..extensions import db
from ..tenancy.models import get_scoped, utcnow
from .models import Customer, CustomerIdentity, CustomerMerge
from .services import visible

MERGEABLE = ("name", "mobile", "email", "gender", "birthday", "city", "address", "source", "notes", "store_id")


def merge(survivor: Customer, merged: Customer, choices: dict[str, str]) -> CustomerMerge:
    """Fold `merged` into `survivor`. `choices[field]` is "survivor" (default) or "merged"."""
    if survivor.id == merged.id:
        raise ValidationError({"other_id": [_("Choose a different customer to merge with.")]})
    if merged.deleted_at is not None or survivor.deleted_at is not None:
        raise ValidationError({"other_id": [_("This customer was already merged or deleted.")]})
    bad = [f for f, side in choices.items() if f not in MERGEABLE or side not in ("survivor", "merged")]
    if bad:
        raise ValidationError({"choices": [_("Unknown choice for: %(fields)s", fields=", ".join(sorted(bad)))]})
    survivor_before = snapshot(survivor)
    merged_identities = list(db.session.scalars(select(CustomerIdentity).where(
        CustomerIdentity.customer_id == merged.id)))
    # the merged record gives up its contact fields before the survivor takes them (unique identities)
    taken = {f: getattr(merged, f) for f in MERGEABLE}
    merged.deleted_at, merged.merged_into_id = utcnow(), survivor.id
    for field, side in choices.items():
        if side == "merged":
            setattr(survivor, field, taken[field])
    for field in MERGEABLE:  # fill what the survivor lacks
        if getattr(survivor, field) in (None, "") and taken[field] not in (None, ""):
            setattr(survivor, field, taken[field])
    db.session.execute(update(CustomerIdentity).where(CustomerIdentity.customer_id == merged.id)
                       .values(customer_id=survivor.id, primary=False))
    row = CustomerMerge(survivor_id=survivor.id, merged_id=merged.id, choices=choices,
                        survivor_before=survivor_before, moved_identity_ids=[i.id for i in merged_identities],
                        actor_id=current_actor().id)
    db.session.add(row)
    db.session.flush()
    db.session.expire_all()
    emit(CustomerMerged(survivor, merged))
    record("merge", "customer", survivor.id, f"{merged.name} (#{merged.id}) → {survivor.name} (#{survivor.id})",
           before=survivor_before, after=snapshot(survivor))
    return row


def unmerge(merge_row: CustomerMerge) -> Customer:
    """Restore the merged record, give its identities back, restore the survivor's fields."""
    if merge_row.undone_at is not None:
        raise ValidationError({"merge": [_("This merge was already undone.")]})
    survivor = db.session.get(Customer, (merge_row.tenant_id, merge_row.survivor_id))
    merged = db.session.get(Customer, (merge_row.tenant_id, merge_row.merged_id))
    later = db.session.scalar(select(func.count()).select_from(CustomerMerge).where(
        CustomerMerge.survivor_id == survivor.id, CustomerMerge.id > merge_row.id, CustomerMerge.undone_at.is_(None)))
    if later:
        raise ValidationError({"merge": [_("Undo the later merges into this customer first.")]})
    if merge_row.moved_identity_ids:
        db.session.execute(update(CustomerIdentity).where(CustomerIdentity.id.in_(merge_row.moved_identity_ids),
                                                          CustomerIdentity.customer_id == survivor.id)
                           .values(customer_id=merged.id))
    for field in MERGEABLE:
        value = merge_row.survivor_before.get(field)
        if field == "birthday" and value:
            from datetime import date

            value = date.fromisoformat(value)
        setattr(survivor, field, value)
    merged.deleted_at, merged.merged_into_id = None, None
    merge_row.undone_at = utcnow()
    db.session.flush()
    record("unmerge", "customer", survivor.id, f"{merged.name} (#{merged.id}) ← {survivor.name} (#{survivor.id})")
    emit(CustomerUnmerged(survivor, merged))
    return merged


def merges_of(customer_id: int) -> list[CustomerMerge]:
    return list(db.session.scalars(select(CustomerMerge).where(CustomerMerge.survivor_id == customer_id)
                                   .order_by(CustomerMerge.id.desc())))


def get_merge(merge_id) -> CustomerMerge | None:
    return get_scoped(CustomerMerge, merge_id)


def likely_duplicates(user, limit: int = 50) -> list[list[Customer]]:
    """Groups of live customers with the same name and the same birthday, city or store."""
    base = visible(user, select(Customer.id, func.lower(Customer.name).label("n"), Customer.birthday, Customer.city,
                                Customer.store_id)).subquery()
    from sqlalchemy import and_, or_

    other = base.alias("other")
    matches = db.session.execute(
        select(base.c.id, other.c.id).join(other, and_(base.c.n == other.c.n, base.c.id < other.c.id, or_(
            base.c.birthday == other.c.birthday, base.c.city == other.c.city, base.c.store_id == other.c.store_id)))
        .order_by(base.c.id).limit(limit * 4)).all()
    groups: dict[int, set[int]] = {}
    for a, b in matches:
        root = next((r for r, members in groups.items() if a in members or b in members), a)
        groups.setdefault(root, {root}).update({a, b})
    ids = {i for members in groups.values() for i in members}
    by_id = {c.id: c for c in db.session.scalars(select(Customer).where(Customer.id.in_(ids)))} if ids else {}
    return [sorted((by_id[i] for i in members), key=lambda c: c.id) for members in list(groups.values())[:limit]]
