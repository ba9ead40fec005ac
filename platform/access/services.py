from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import func, select

from ..audit.services import record, record_changes, snapshot
from ..extensions import db
from ..hooks.runtime import default_grants, permissions
from ..tenancy.models import get_scoped
from .models import BUILTIN_LABELS, SCOPE_ALL, SCOPE_STORES, Role

BUILTIN_ROLES = [
    # code, data scope
    ("owner", SCOPE_ALL),
    ("admin", SCOPE_ALL),
    ("manager", SCOPE_STORES),
    ("advisor", SCOPE_STORES),
    ("technician", SCOPE_STORES),
]


def seed_builtin_roles() -> dict[str, Role]:
    """Create the built-in roles of the current tenant (idempotent), with the plugins' default grants."""
    grants = default_grants(only="core")  # plugins add theirs when a tenant enables them
    existing = {r.code: r for r in db.session.scalars(select(Role))}
    for code, scope in BUILTIN_ROLES:
        if code not in existing:
            role = Role(code=code, name="", data_scope=scope, builtin=True,
                        permissions=[] if code == "owner" else list(grants.get(code, [])))
            db.session.add(role)
            existing[code] = role
    db.session.flush()
    return existing


def list_roles() -> list[Role]:
    order = {code: i for i, (code, _s) in enumerate(BUILTIN_ROLES)}
    return sorted(db.session.scalars(select(Role)), key=lambda r: (order.get(r.code, 99), r.label))


def role_label(code: str) -> str:
    """A role named by its code (as workflow specs name them), in the reader's language: 店长, not "manager"."""
    role = db.session.scalar(select(Role).where(Role.code == code))
    return role.label if role is not None else str(BUILTIN_LABELS.get(code, code))


def get_role(role_id) -> Role | None:
    return get_scoped(Role, role_id)


def save_role(role: Role | None, data: dict) -> Role:
    errors = {}
    if role is not None and role.is_owner:
        raise ValidationError({"_schema": [_("The owner role always holds every permission.")]})
    unknown = [c for c in data["permissions"] if c not in permissions()]
    if unknown:
        errors["permissions"] = [_("Unknown permission: %(code)s", code=", ".join(unknown))]
    if role is None:
        taken = db.session.scalar(select(func.count()).select_from(Role).where(Role.code == data["code"]))
        if taken:
            errors["code"] = [_("Another role already uses this code.")]
    if errors:
        raise ValidationError(errors)
    if role is None:
        role = Role(code=data["code"], name=data["name"], permissions=sorted(data["permissions"]),
                    data_scope=data["data_scope"], builtin=False)
        db.session.add(role)
        db.session.flush()
        record("create", "role", role.id, role.label, after=snapshot(role))
        return role
    before = snapshot(role)
    role.name = data["name"]
    role.permissions = sorted(data["permissions"])
    role.data_scope = data["data_scope"]
    record_changes("role", role, before, role.label)
    return role
