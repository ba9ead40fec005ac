"""Saved list views and bulk actions on selected customers."""
from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import or_, select

from ..audit.services import record
from ..extensions import db
from ..tenancy.models import get_scoped
from ..users.models import User
from .models import Customer, SavedView
from .services import visible

MAX_SELECTED = 500
VIEW_KEYS = ("q", "tag", "status", "owner")  # plus cf_* custom field filters


def views_for(user) -> list[SavedView]:
    return list(db.session.scalars(select(SavedView).where(
        SavedView.entity == "customers", or_(SavedView.user_id == user.id, SavedView.shared))
        .order_by(SavedView.name)))


def save_view(user, name: str, args: dict, shared: bool) -> SavedView:
    name = (name or "").strip()
    if not name or len(name) > 60:
        raise ValidationError({"view_name": [_("Give the view a name of 1 to 60 characters.")]})
    query = {k: v[:100] for k, v in args.items() if (k in VIEW_KEYS or k.startswith("cf_")) and v}
    view = SavedView(user_id=user.id, entity="customers", name=name, query=query, shared=shared)
    db.session.add(view)
    db.session.flush()
    record("create", "saved_view", view.id, name, after={"query": query, "shared": shared})
    return view


def delete_view(user, view_id) -> bool:
    view = get_scoped(SavedView, view_id)
    if view is None or view.user_id != user.id:
        return False
    db.session.delete(view)
    return True


def selected(user, ids: list[str]) -> list[Customer]:
    """The selected customers this user may see (ids of others, or of other tenants, are ignored)."""
    numbers = [int(i) for i in ids if str(i).isdigit() and len(str(i)) < 19]
    if not numbers:
        raise ValidationError({"ids": [_("Select at least one customer.")]})
    if len(numbers) > MAX_SELECTED:
        raise ValidationError({"ids": [_("Select at most %(n)d customers at a time.", n=MAX_SELECTED)]})
    return list(db.session.scalars(visible(user, select(Customer)).where(Customer.id.in_(numbers))))


def apply(user, action: str, ids: list[str], value: str) -> int:
    customers = selected(user, ids)
    value = (value or "").strip()
    if action in ("add_tag", "remove_tag"):
        if not value or len(value) > 40:
            raise ValidationError({"value": [_("Give a tag of 1 to 40 characters.")]})
        for c in customers:
            before = list(c.tags or [])
            c.tags = before + [value] if action == "add_tag" and value not in before else \
                [t for t in before if t != value] if action == "remove_tag" else before
            if c.tags != before:
                record("update", "customer", c.id, c.name, before={"tags": before}, after={"tags": c.tags})
    elif action == "assign_owner":
        owner = get_scoped(User, value) if value.isdigit() and len(value) < 19 else None
        if owner is None or not owner.active:
            raise ValidationError({"value": [_("Choose an active staff member.")]})
        for c in customers:
            if c.owner_id != owner.id:
                record("update", "customer", c.id, c.name, before={"owner_id": c.owner_id}, after={"owner_id": owner.id})
                c.owner_id = owner.id
    else:
        raise ValidationError({"action": [_("Choose one of the listed options.")]})
    db.session.flush()
    return len(customers)
