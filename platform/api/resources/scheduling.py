"""Scheduling under /api/v1: resources, service types, staff schedules, availability, appointments and their
actions, dispatch recommendations. Thin: the same services as the pages (storecrm.scheduling)."""
from __future__ import annotations

from flask_babel import gettext as _
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy import select

from ...calendar import tenant_zone
from ...extensions import db
from ...scheduling import booking, setup
from ...scheduling.availability import availability as free_slots
from ...scheduling.dispatch import rank_technicians
from ...scheduling.models import Appointment, ServiceType
from ...scheduling.roster import day_bounds, staff_on_shift
from ...scheduling.schemas import (AppointmentSchema, AvailabilityArgs, CancelSchema, RecommendationArgs,
                                   RecommendationSchema, RescheduleSchema, ResourceSchema, ScheduleExceptionSchema,
                                   ServiceTypeSchema, SlotSchema, StaffProfileSchema, WorkingPatternSchema)
from ...stores.services import get_store
from ...tenancy.models import get_scoped, utcnow
from ...customers.services import get_customer
from ...users.models import User
from ..auth import api_user, requires
from ..common import patch_load, unprocessable

MAX_ID = 2**63 - 1
resources_blp = Blueprint("api_resources", __name__, url_prefix="/resources",
                          description="Bookable resources of a store: bays (工位), lifts, vans, rooms")
services_blp = Blueprint("api_service_types", __name__, url_prefix="/service-types",
                         description="Bookable services: duration, buffer, skills, resource kind")
schedules_blp = Blueprint("api_staff_schedules", __name__, url_prefix="/staff-schedules",
                          description="Weekly working patterns, leave / extra shifts / closures, skills, on shift")
availability_blp = Blueprint("api_availability", __name__, url_prefix="/availability",
                             description="Free slots (the same function as the calendar and the public page)")
appointments_blp = Blueprint("api_appointments", __name__, url_prefix="/appointments",
                             description="Appointments and their actions; the database refuses double booking")
dispatch_blp = Blueprint("api_dispatch", __name__, url_prefix="/dispatch", description="Dispatch recommendations")
BLUEPRINTS = [resources_blp, services_blp, schedules_blp, availability_blp, appointments_blp, dispatch_blp]


class StoreArgs(Schema):
    store_id = fields.Integer(required=True, validate=validate.Range(min=1, max=MAX_ID))


class OptionalStoreArgs(Schema):
    store_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))


class OnShiftArgs(StoreArgs):
    at = fields.AwareDateTime(load_default=None, default_timezone=None)


class StaffOutSchema(Schema):
    id = fields.Integer()
    display_name = fields.String()


class AppointmentListArgs(StoreArgs):
    date = fields.Date(required=True)
    until = fields.Date(load_default=None)


def _store(store_id):
    """The store a query names: one the token's user may see, else 404 (ids of other tenants do not exist)."""
    store = get_store(api_user(), store_id)
    if store is None:
        abort(404)
    return store


def _run(fn, *args, **kwargs):
    try:
        return fn(*args, **kwargs)
    except booking.SlotTaken as err:
        abort(409, message=_("This time was just taken. Please choose another time."),
              next_slots=SlotSchema(many=True).dump(err.next_slots))
    except ValidationError as err:
        unprocessable(err)


# resources


@resources_blp.route("")
@resources_blp.arguments(OptionalStoreArgs, location="query")
@resources_blp.response(200, ResourceSchema(many=True))
@requires("scheduling.view")
def list_resources(args):
    """Resources of the stores you may see (or of one store)."""
    return setup.list_resources(api_user(), args["store_id"])


@resources_blp.route("", methods=["POST"])
@resources_blp.arguments(ResourceSchema)
@resources_blp.response(201, ResourceSchema)
@requires("scheduling.manage")
def create_resource(data):
    return _run(setup.save_resource, api_user(), None, data)


def _resource(resource_id):
    resource = setup.get_resource(api_user(), resource_id)
    if resource is None:
        abort(404)
    return resource


@resources_blp.route("/<int:resource_id>")
@resources_blp.response(200, ResourceSchema)
@requires("scheduling.view")
def get_resource(resource_id):
    return _resource(resource_id)


@resources_blp.route("/<int:resource_id>", methods=["PATCH"])
@resources_blp.arguments(ResourceSchema(partial=True))
@resources_blp.response(200, ResourceSchema)
@requires("scheduling.manage")
def update_resource(data, resource_id):
    resource = _resource(resource_id)
    return _run(setup.save_resource, api_user(), resource, patch_load(ResourceSchema(), ResourceSchema().dump(resource)))


# service types


@services_blp.route("")
@services_blp.response(200, ServiceTypeSchema(many=True))
@requires("scheduling.view")
def list_service_types():
    return setup.list_service_types()


@services_blp.route("", methods=["POST"])
@services_blp.arguments(ServiceTypeSchema)
@services_blp.response(201, ServiceTypeSchema)
@requires("scheduling.manage")
def create_service_type(data):
    return _run(setup.save_service_type, None, data)


def _service(service_id) -> ServiceType:
    service = get_scoped(ServiceType, service_id)
    if service is None:
        abort(404)
    return service


@services_blp.route("/<int:service_id>")
@services_blp.response(200, ServiceTypeSchema)
@requires("scheduling.view")
def get_service_type(service_id):
    return _service(service_id)


@services_blp.route("/<int:service_id>", methods=["PATCH"])
@services_blp.arguments(ServiceTypeSchema(partial=True))
@services_blp.response(200, ServiceTypeSchema)
@requires("scheduling.manage")
def update_service_type(data, service_id):
    service = _service(service_id)
    return _run(setup.save_service_type, service, patch_load(ServiceTypeSchema(), ServiceTypeSchema().dump(service)))


# staff schedules


@schedules_blp.route("/patterns")
@schedules_blp.arguments(StoreArgs, location="query")
@schedules_blp.response(200, WorkingPatternSchema(many=True))
@requires("scheduling.view")
def list_patterns(args):
    """The weekly working pattern of a store (wall-clock times of the tenant's zone; weekday 0 is Monday)."""
    return setup.list_patterns(api_user(), _store(args["store_id"]).id)


@schedules_blp.route("/patterns", methods=["POST"])
@schedules_blp.arguments(WorkingPatternSchema)
@schedules_blp.response(201, WorkingPatternSchema)
@requires("scheduling.manage")
def create_pattern(data):
    return _run(setup.add_pattern, api_user(), data)


@schedules_blp.route("/patterns/<int:pattern_id>", methods=["DELETE"])
@schedules_blp.response(204)
@requires("scheduling.manage")
def delete_pattern(pattern_id):
    pattern = setup.get_pattern(api_user(), pattern_id)
    if pattern is None:
        abort(404)
    setup.delete_pattern(pattern)


@schedules_blp.route("/exceptions")
@schedules_blp.arguments(StoreArgs, location="query")
@schedules_blp.response(200, ScheduleExceptionSchema(many=True))
@requires("scheduling.view")
def list_exceptions(args):
    """Leave, extra shifts and closures of a store's staff that have not ended."""
    return setup.list_exceptions(api_user(), _store(args["store_id"]).id, utcnow())


@schedules_blp.route("/exceptions", methods=["POST"])
@schedules_blp.arguments(ScheduleExceptionSchema)
@schedules_blp.response(201, ScheduleExceptionSchema)
@requires("scheduling.manage")
def create_exception(data):
    return _run(setup.add_exception, api_user(), data)


@schedules_blp.route("/exceptions/<int:exception_id>", methods=["DELETE"])
@schedules_blp.response(204)
@requires("scheduling.manage")
def delete_exception(exception_id):
    exception = setup.get_exception(api_user(), exception_id)
    if exception is None:
        abort(404)
    setup.delete_exception(exception)


def _staff(user_id) -> User:
    staff = get_scoped(User, user_id)
    if staff is None:
        abort(404)
    return staff


@schedules_blp.route("/staff/<int:user_id>")
@schedules_blp.response(200, StaffProfileSchema)
@requires("scheduling.view")
def get_staff_profile(user_id):
    """A staff member's skills ({skill: level 1–5}) and service regions."""
    return setup.staff_profile(_staff(user_id).id)


@schedules_blp.route("/staff/<int:user_id>", methods=["PUT"])
@schedules_blp.arguments(StaffProfileSchema)
@schedules_blp.response(200, StaffProfileSchema)
@requires("scheduling.manage")
def put_staff_profile(data, user_id):
    return _run(setup.set_staff_profile, _staff(user_id), data)


@schedules_blp.route("/on-shift")
@schedules_blp.arguments(OnShiftArgs, location="query")
@schedules_blp.response(200, StaffOutSchema(many=True))
@requires("scheduling.view")
def on_shift(args):
    """Staff working at the store at `at` (default now)."""
    return staff_on_shift(_store(args["store_id"]), args["at"])


# availability


@availability_blp.route("")
@availability_blp.arguments(AvailabilityArgs, location="query")
@availability_blp.response(200, SlotSchema(many=True))
@requires("scheduling.view")
def availability(args):
    """Free slots of a service at a store from `date` to `until` (at most 31 days)."""
    store = _store(args["store_id"])
    service = get_scoped(ServiceType, args["service_type_id"])
    if service is None or not service.active:
        unprocessable(ValidationError({"service_type_id": [_("Choose an active service.")]}))
    return free_slots(store, service, args["date"], args["until"], staff_id=args["staff_id"],
                      resource_id=args["resource_id"])


# appointments


@appointments_blp.route("")
@appointments_blp.arguments(AppointmentListArgs, location="query")
@appointments_blp.response(200, AppointmentSchema(many=True))
@requires("scheduling.view")
def list_appointments(args):
    """A store's appointments starting on the tenant days `date` to `until` (at most 31), in time order."""
    store = _store(args["store_id"])
    until = args["until"] or args["date"]
    if until < args["date"] or (until - args["date"]).days > 30:
        unprocessable(ValidationError({"until": [_("Ask for 1 to 31 days.")]}))
    lo, hi = day_bounds(args["date"], tenant_zone())[0], day_bounds(until, tenant_zone())[1]
    return list(db.session.scalars(select(Appointment).where(
        Appointment.store_id == store.id, Appointment.starts_at >= lo, Appointment.starts_at < hi)
        .order_by(Appointment.starts_at, Appointment.id).limit(2000)))


@appointments_blp.route("", methods=["POST"])
@appointments_blp.arguments(AppointmentSchema)
@appointments_blp.response(201, AppointmentSchema)
@appointments_blp.alt_response(409, description="The time was just taken; `next_slots` lists the next free ones")
@requires("scheduling.book")
def create_appointment(data):
    """Book (or take a walk-in with `walk_in: true`, starting now). Honours `Idempotency-Key`."""
    return _run(booking.book, api_user(), data, source="api")


def _appointment(appointment_id) -> Appointment:
    appointment = get_scoped(Appointment, appointment_id)
    if appointment is None or get_store(api_user(), appointment.store_id) is None:
        abort(404)
    return appointment


@appointments_blp.route("/<int:appointment_id>")
@appointments_blp.response(200, AppointmentSchema)
@requires("scheduling.view")
def get_appointment(appointment_id):
    return _appointment(appointment_id)


@appointments_blp.route("/<int:appointment_id>/reschedule", methods=["POST"])
@appointments_blp.arguments(RescheduleSchema)
@appointments_blp.response(200, AppointmentSchema)
@appointments_blp.alt_response(409, description="The new time is taken; `next_slots` lists the next free ones")
@requires("scheduling.book")
def reschedule_appointment(data, appointment_id):
    return _run(booking.reschedule, api_user(), _appointment(appointment_id), data)


def _action(action):
    def view(data, appointment_id):
        return _run(booking.act, api_user(), _appointment(appointment_id), action, reason=data.get("reason"))

    view.__name__ = f"{action}_appointment"
    view.__doc__ = f"Action `{action}` (refused with 422 when the status does not allow it)."
    return view


for _name in booking.TRANSITIONS:
    appointments_blp.route(f"/<int:appointment_id>/{_name.replace('_', '-')}", methods=["POST"],
                           endpoint=f"{_name}_appointment")(
        appointments_blp.arguments(CancelSchema)(appointments_blp.response(200, AppointmentSchema)(
            requires("scheduling.book")(_action(_name)))))


# dispatch


@dispatch_blp.route("/recommendations")
@dispatch_blp.arguments(RecommendationArgs, location="query")
@dispatch_blp.response(200, RecommendationSchema(many=True))
@requires("scheduling.view")
def recommendations(args):
    """Staff of a store ranked for a job (skills `name:level`, region, time, customer/asset history), with reasons."""
    skills = {}
    for item in args["skills"]:
        name, _sep, level = item.rpartition(":")
        skills[name] = int(level)
    if args["customer_id"] is not None and get_scoped_customer(args["customer_id"]) is None:
        unprocessable(ValidationError({"customer_id": [_("Choose an existing customer.")]}))
    return rank_technicians(_store(args["store_id"]), skills=skills, region=args["region"], at=args["at"],
                            customer_id=args["customer_id"], asset_id=args["asset_id"])


def get_scoped_customer(customer_id):
    return get_customer(api_user(), customer_id)

