"""Setting up scheduling: resources, bookable services, weekly patterns, exceptions, staff skills and regions."""
from __future__ import annotations

from flask_babel import gettext as _
from marshmallow import ValidationError
from sqlalchemy import delete, func, select

from ..audit.services import record, record_changes, snapshot
from ..extensions import db
from ..stores.models import Store
from ..tenancy.models import get_scoped
from ..users.models import User
from .models import Resource, ScheduleException, ServiceType, StaffRegion, StaffSkill, WorkingPattern


def _store(user, store_id, field="store_id") -> Store:
    store = get_scoped(Store, store_id)
    if store is None or (user is not None and not (user.sees_all_stores or store.id in user.store_ids)):
        raise ValidationError({field: [_("Choose one of your stores.")]})
    return store


def _staff(user_id, field="user_id") -> User:
    staff = get_scoped(User, user_id)
    if staff is None or not staff.active:
        raise ValidationError({field: [_("Choose an active staff member.")]})
    return staff


def visible_store_ids(user) -> list[int] | None:
    """None: every store (HQ roles)."""
    return None if user.sees_all_stores else user.store_ids


# resources


def list_resources(user, store_id: int | None = None) -> list[Resource]:
    query = select(Resource).order_by(Resource.store_id, Resource.kind, Resource.name)
    ids = visible_store_ids(user)
    if ids is not None:
        query = query.where(Resource.store_id.in_(ids))
    if store_id is not None:
        query = query.where(Resource.store_id == store_id)
    return list(db.session.scalars(query))


def get_resource(user, resource_id) -> Resource | None:
    resource = get_scoped(Resource, resource_id)
    ids = visible_store_ids(user) if user is not None else None
    if resource is None or (ids is not None and resource.store_id not in ids):
        return None
    return resource


def _resource_name_free(store_id: int, name: str, resource_id: int | None) -> None:
    query = select(func.count()).select_from(Resource).where(Resource.store_id == store_id,
                                                              func.lower(Resource.name) == name.lower())
    if resource_id is not None:
        query = query.where(Resource.id != resource_id)
    if db.session.scalar(query):
        raise ValidationError({"name": [_("This store already has a resource with this name.")]})


def save_resource(user, resource: Resource | None, data: dict) -> Resource:
    _store(user, data["store_id"])
    _resource_name_free(data["store_id"], data["name"], resource.id if resource else None)
    if resource is None:
        resource = Resource(**data)
        db.session.add(resource)
        db.session.flush()
        record("create", "resource", resource.id, resource.name, after=snapshot(resource))
        return resource
    before = snapshot(resource)
    for key, value in data.items():
        setattr(resource, key, value)
    record_changes("resource", resource, before, resource.name)
    return resource


# service types


def list_service_types(*, active_only: bool = False, public_only: bool = False) -> list[ServiceType]:
    query = select(ServiceType).order_by(ServiceType.active.desc(), ServiceType.name)
    if active_only:
        query = query.where(ServiceType.active.is_(True))
    if public_only:
        query = query.where(ServiceType.public.is_(True))
    return list(db.session.scalars(query))


def save_service_type(service: ServiceType | None, data: dict) -> ServiceType:
    query = select(func.count()).select_from(ServiceType).where(func.lower(ServiceType.name) == data["name"].lower())
    if service is not None:
        query = query.where(ServiceType.id != service.id)
    if db.session.scalar(query):
        raise ValidationError({"name": [_("Another service already has this name.")]})
    data = {**data, "required_skills": {k.strip(): v for k, v in (data.get("required_skills") or {}).items()}}
    if service is None:
        service = ServiceType(**data)
        db.session.add(service)
        db.session.flush()
        record("create", "service_type", service.id, service.name, after=snapshot(service))
        return service
    before = snapshot(service)
    for key, value in data.items():
        setattr(service, key, value)
    record_changes("service_type", service, before, service.name)
    return service


# working patterns and exceptions


def list_patterns(user, store_id: int) -> list[WorkingPattern]:
    _store(user, store_id)
    return list(db.session.scalars(select(WorkingPattern).where(WorkingPattern.store_id == store_id)
                                   .order_by(WorkingPattern.weekday, WorkingPattern.starts_at, WorkingPattern.id)))


def add_pattern(user, data: dict) -> WorkingPattern:
    _store(user, data["store_id"])
    _staff(data["user_id"])
    overlapping = db.session.scalar(select(func.count()).select_from(WorkingPattern).where(
        WorkingPattern.user_id == data["user_id"], WorkingPattern.weekday == data["weekday"],
        WorkingPattern.starts_at < data["ends_at"], WorkingPattern.ends_at > data["starts_at"]))
    if overlapping:
        raise ValidationError({"starts_at": [_("This staff member already has a shift then.")]})
    pattern = WorkingPattern(**data)
    db.session.add(pattern)
    db.session.flush()
    record("create", "working_pattern", pattern.id, f"{data['weekday']} {data['starts_at']}-{data['ends_at']}")
    return pattern


def get_pattern(user, pattern_id) -> WorkingPattern | None:
    pattern = get_scoped(WorkingPattern, pattern_id)
    ids = visible_store_ids(user)
    if pattern is None or (ids is not None and pattern.store_id not in ids):
        return None
    return pattern


def delete_pattern(pattern: WorkingPattern) -> None:
    record("delete", "working_pattern", pattern.id, f"{pattern.weekday} {pattern.starts_at}-{pattern.ends_at}")
    db.session.delete(pattern)
    db.session.flush()


def list_exceptions(user, store_id: int, since) -> list[ScheduleException]:
    _store(user, store_id)
    staff = select(WorkingPattern.user_id).where(WorkingPattern.store_id == store_id)
    return list(db.session.scalars(select(ScheduleException).where(
        ScheduleException.ends_at > since,
        (ScheduleException.store_id == store_id) | ScheduleException.user_id.in_(staff))
        .order_by(ScheduleException.starts_at).limit(200)))


def add_exception(user, data: dict) -> ScheduleException:
    if data.get("store_id") is not None:
        _store(user, data["store_id"])
    if data.get("user_id") is not None:
        _staff(data["user_id"])
    exception = ScheduleException(**data)
    db.session.add(exception)
    db.session.flush()
    record("create", "schedule_exception", exception.id, f"{exception.kind} {exception.starts_at.isoformat()}")
    return exception


def get_exception(user, exception_id) -> ScheduleException | None:
    exception = get_scoped(ScheduleException, exception_id)
    ids = visible_store_ids(user)
    if exception is None or (ids is not None and exception.store_id is not None and exception.store_id not in ids):
        return None
    return exception


def delete_exception(exception: ScheduleException) -> None:
    record("delete", "schedule_exception", exception.id, exception.kind)
    db.session.delete(exception)
    db.session.flush()


# staff profile


def staff_profile(user_id: int) -> dict:
    return {"skills": {s.skill: s.level for s in db.session.scalars(
                select(StaffSkill).where(StaffSkill.user_id == user_id).order_by(StaffSkill.skill))},
            "regions": list(db.session.scalars(select(StaffRegion.region).where(StaffRegion.user_id == user_id)
                                               .order_by(StaffRegion.region)))}


def set_staff_profile(staff: User, data: dict) -> dict:
    before = staff_profile(staff.id)
    db.session.execute(delete(StaffSkill).where(StaffSkill.user_id == staff.id))
    db.session.execute(delete(StaffRegion).where(StaffRegion.user_id == staff.id))
    skills = {k.strip(): v for k, v in data.get("skills", {}).items()}
    db.session.add_all([StaffSkill(user_id=staff.id, skill=k, level=v) for k, v in skills.items()])
    db.session.add_all([StaffRegion(user_id=staff.id, region=r) for r in dict.fromkeys(data.get("regions", []))])
    db.session.flush()
    after = staff_profile(staff.id)
    record("update", "staff_schedule", staff.id, staff.display_name, before=before, after=after)
    return after
