from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import delete, func, select
from sqlalchemy.orm import selectinload

from ..access.models import Role
from ..audit.services import changed_only, record, snapshot
from ..events import StaffAccessChanged, emit
from ..extensions import db
from ..quotas import ensure_room
from ..stores.models import Store
from ..tenancy.models import get_scoped
from .models import User, UserStore
from .passwords import MIN_LENGTH, hash_password


def list_users(viewer: User | None = None) -> list[User]:
    """Everyone for HQ roles; store staff see the staff of their own stores."""
    query = select(User).options(selectinload(User.stores)).order_by(User.active.desc(), User.display_name)
    if viewer is not None and not viewer.sees_all_stores:
        colleagues = select(UserStore.user_id).where(UserStore.store_id.in_(viewer.store_ids or [-1]))
        query = query.where(User.id.in_(colleagues))
    return list(db.session.scalars(query))


def get_user(user_id) -> User | None:
    """The staff member `user_id` of the current tenant, or None."""
    return get_scoped(User, user_id)


def _validate(data: dict, user: User | None, actor: User | None) -> tuple[Role, list[Store]]:
    errors: dict[str, list[str]] = {}
    role = get_scoped(Role, data.get("role_id"))
    if role is None:
        errors["role_id"] = [_("Choose a role.")]
    elif role.is_owner and actor is not None and not actor.role.is_owner:
        errors["role_id"] = [_("Only an owner can make someone an owner.")]
    stores = [get_scoped(Store, sid) for sid in data.get("store_ids") or []]
    if any(s is None for s in stores):
        errors["store_ids"] = [_("Choose stores from the list.")]
    for column, label in (("email", "email"), ("mobile", "mobile")):
        value = data.get(column)
        if value:
            q = select(func.count()).select_from(User).where(getattr(User, column) == value)
            if user is not None:
                q = q.where(User.id != user.id)
            if db.session.scalar(q):
                errors[label] = [_("Another staff member already signs in with this.")]
    password = data.get("password")
    if user is None and not password:
        errors["password"] = [_("This field is required.")]
    elif password and len(password) < MIN_LENGTH:
        errors["password"] = [_("Use at least %(n)d characters.", n=MIN_LENGTH)]
    if user is not None and actor is not None and user.id == actor.id:
        if not data.get("active", True):
            errors["active"] = [_("You cannot deactivate yourself.")]
        if role is not None and role.id != user.role_id and user.role.is_owner and _owner_count() <= 1:
            errors["role_id"] = [_("The last owner keeps the owner role.")]
    if user is not None and user.role.is_owner and not (actor and actor.role.is_owner):
        errors.setdefault("role_id", []).append(_("Only an owner can edit an owner."))
    if errors:
        raise ValidationError(errors)
    return role, stores


def _owner_count() -> int:
    return db.session.scalar(select(func.count()).select_from(User).join(
        Role, (Role.tenant_id == User.tenant_id) & (Role.id == User.role_id)).where(Role.code == "owner", User.active))


def staff_with_role(role_code: str, store_id: int | None = None) -> list[User]:
    """Active staff holding the role, limited to those working in `store_id` (or seeing every store) when given."""
    query = (select(User).join(Role, (Role.tenant_id == User.tenant_id) & (Role.id == User.role_id))
             .where(Role.code == role_code, User.active.is_(True)).order_by(User.id))
    if store_id is not None:
        in_store = select(UserStore.user_id).where(UserStore.store_id == store_id)
        query = query.where((User.id.in_(in_store)) | (Role.data_scope == "all"))
    return list(db.session.scalars(query))


def default_assignee(owner_id: int | None, store_id: int | None) -> User | None:
    """Who takes work on a record nobody named: its owner while active, else the first manager of its store
    (or a manager who sees every store); None when the tenant has neither."""
    owner = get_user(owner_id) if owner_id else None
    if owner is not None and owner.active:
        return owner
    managers = staff_with_role("manager", store_id)
    return managers[0] if managers else None


def _set_stores(user: User, stores: list[Store]) -> None:
    db.session.execute(delete(UserStore).where(UserStore.user_id == user.id))
    for store in stores:
        db.session.add(UserStore(tenant_id=user.tenant_id, user_id=user.id, store_id=store.id))


def _state(user: User, store_ids: list[int]) -> dict:
    return {**snapshot(user), "store_ids": sorted(store_ids)}


def create_user(data: dict, actor: User | None = None) -> User:
    role, stores = _validate(data, None, actor)
    if data.get("active", True):
        ensure_room("seats")
    user = User(display_name=data["display_name"], email=data.get("email"), mobile=data.get("mobile"),
                role_id=role.id, active=data.get("active", True), locale=data.get("locale"),
                password_hash=hash_password(data["password"]))
    db.session.add(user)
    db.session.flush()
    _set_stores(user, stores)
    db.session.flush()
    record("create", "user", user.id, user.display_name, after=_state(user, [s.id for s in stores]))
    return user


def update_user(user: User, data: dict, actor: User | None = None) -> User:
    role, stores = _validate(data, user, actor)
    before = _state(user, user.store_ids)
    for key in ("display_name", "email", "mobile", "locale"):
        if key in data:
            setattr(user, key, data[key])
    user.role_id = role.id
    was_active = user.active
    if not was_active and data.get("active", True):
        ensure_room("seats", field="active")
    user.active = data.get("active", True)
    if data.get("password"):
        user.password_hash = hash_password(data["password"])
        user.auth_epoch += 1
    if data.get("password") or (was_active and not user.active):  # sessions end; with a new password, tokens too
        emit(StaffAccessChanged(user, password_changed=bool(data.get("password"))))
    _set_stores(user, stores)
    db.session.flush()
    db.session.expire(user, ["role", "stores"])
    old, new = changed_only(before, _state(user, [s.id for s in stores]))
    if new or data.get("password"):
        record("update", "user", user.id, user.display_name, before=old, after=new)
    return user


def set_own_locale(user: User, locale: str) -> None:
    if user.locale != locale:
        record("update", "user", user.id, user.display_name, before={"locale": user.locale}, after={"locale": locale})
        user.locale = locale
