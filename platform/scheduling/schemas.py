"""marshmallow schemas shared by the scheduling pages and the API."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..validation import Trimmed
from .models import EXCEPTION_KINDS, RESOURCE_KINDS, SOURCES, STATUSES

ONE_OF = _l("Choose one of the listed options.")
SKILL_RE = r"^[^\s{}<>]{1,60}$"


class ResourceSchema(Schema):
    id = fields.Integer(dump_only=True)
    store_id = fields.Integer(required=True)
    name = Trimmed(required=True, validate=validate.Length(min=1, max=80, error=_l("1 to {max} characters.")))
    kind = fields.String(required=True, validate=validate.OneOf(RESOURCE_KINDS, error=ONE_OF))
    capacity = fields.Integer(load_default=1, validate=validate.Range(min=1, max=50,
                                                                     error=_l("From {min} to {max}.")))
    active = fields.Boolean(load_default=True)


def _skills(value) -> None:
    if not isinstance(value, dict) or len(value) > 20:
        raise ValidationError(_l("Give skills as {skill: level}, at most 20."))
    for skill, level in value.items():
        if not isinstance(skill, str) or not skill.strip() or len(skill) > 60:
            raise ValidationError(_l("A skill name has 1 to 60 characters."))
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= 5:
            raise ValidationError(_l("A skill level is a whole number from 1 to 5."))


class ServiceTypeSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Trimmed(required=True, validate=validate.Length(min=1, max=120, error=_l("1 to {max} characters.")))
    duration_minutes = fields.Integer(required=True, validate=validate.Range(min=5, max=1440,
                                                                           error=_l("From {min} to {max}.")))
    buffer_minutes = fields.Integer(load_default=0, validate=validate.Range(min=0, max=480,
                                                                          error=_l("From {min} to {max}.")))
    required_skills = fields.Dict(load_default=dict, validate=_skills)
    needs_staff = fields.Boolean(load_default=True)
    resource_kind = fields.String(load_default=None, allow_none=True,
                                  validate=validate.OneOf(RESOURCE_KINDS, error=ONE_OF))
    catalog_item_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(min=1))
    min_notice_minutes = fields.Integer(load_default=60, validate=validate.Range(min=0, max=60 * 24 * 30,
                                                                                error=_l("From {min} to {max}.")))
    max_days_ahead = fields.Integer(load_default=30, validate=validate.Range(min=1, max=365,
                                                                           error=_l("From {min} to {max}.")))
    public = fields.Boolean(load_default=True)
    active = fields.Boolean(load_default=True)


class WorkingPatternSchema(Schema):
    id = fields.Integer(dump_only=True)
    user_id = fields.Integer(required=True)
    store_id = fields.Integer(required=True)
    weekday = fields.Integer(required=True, validate=validate.Range(min=0, max=6, error=_l("From {min} to {max}.")))
    starts_at = fields.Time(required=True, format="%H:%M")
    ends_at = fields.Time(required=True, format="%H:%M")

    @validates_schema(skip_on_field_errors=True)
    def _order(self, data, **kwargs):
        if data["ends_at"] <= data["starts_at"]:
            raise ValidationError(_l("The end must be after the start."), "ends_at")


class ScheduleExceptionSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(EXCEPTION_KINDS, error=ONE_OF))
    user_id = fields.Integer(load_default=None, allow_none=True)
    store_id = fields.Integer(load_default=None, allow_none=True)
    starts_at = fields.AwareDateTime(required=True, default_timezone=None)
    ends_at = fields.AwareDateTime(required=True, default_timezone=None)
    note = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))

    @validates_schema(skip_on_field_errors=True)
    def _shape(self, data, **kwargs):
        if data["ends_at"] <= data["starts_at"]:
            raise ValidationError(_l("The end must be after the start."), "ends_at")
        if (data["kind"] == "closure") != (data.get("user_id") is None):
            raise ValidationError(_l("A closure has no staff member; leave and extra shifts have one."), "user_id")
        if data["kind"] != "leave" and data.get("store_id") is None:
            raise ValidationError(_l("Choose the store."), "store_id")


class StaffProfileSchema(Schema):
    """A staff member's skills and regions, written whole."""

    skills = fields.Dict(load_default=dict, validate=_skills)
    regions = fields.List(Trimmed(validate=validate.Length(min=1, max=60)), load_default=list,
                          validate=validate.Length(max=50))


class SlotSchema(Schema):
    starts_at = fields.AwareDateTime()
    ends_at = fields.AwareDateTime()
    staff_ids = fields.List(fields.Integer())
    resource_ids = fields.Method("_resources")

    def _resources(self, slot):
        return sorted({r for r, _u in slot.units})


class AvailabilityArgs(Schema):
    store_id = fields.Integer(required=True)
    service_type_id = fields.Integer(required=True)
    date = fields.Date(required=True)
    until = fields.Date(load_default=None)
    staff_id = fields.Integer(load_default=None)
    resource_id = fields.Integer(load_default=None)

    @validates_schema(skip_on_field_errors=True)
    def _range(self, data, **kwargs):
        until = data.get("until") or data["date"]
        if until < data["date"] or (until - data["date"]).days > 30:
            raise ValidationError(_l("Ask for 1 to 31 days."), "until")


class AppointmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    store_id = fields.Integer(required=True)
    service_type_id = fields.Integer(required=True)
    customer_id = fields.Integer(required=True)
    asset_id = fields.Integer(load_default=None, allow_none=True)
    staff_id = fields.Integer(load_default=None, allow_none=True)
    resource_id = fields.Integer(load_default=None, allow_none=True)
    starts_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None)
    ends_at = fields.AwareDateTime(dump_only=True)
    walk_in = fields.Boolean(load_default=False)
    notes = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=2000))
    answers = fields.Dict(keys=fields.String(validate=validate.Length(max=60)),
                          values=fields.String(validate=validate.Length(max=500)), load_default=dict,
                          validate=validate.Length(max=20))
    status = fields.String(dump_only=True, metadata={"enum": list(STATUSES)})
    source = fields.String(dump_only=True, metadata={"enum": list(SOURCES)})
    arrived_at = fields.AwareDateTime(dump_only=True)
    started_at = fields.AwareDateTime(dump_only=True)
    completed_at = fields.AwareDateTime(dump_only=True)
    cancelled_at = fields.AwareDateTime(dump_only=True)
    cancel_reason = fields.String(dump_only=True)
    waiting_minutes = fields.Integer(dump_only=True, allow_none=True)

    @validates_schema(skip_on_field_errors=True)
    def _when(self, data, **kwargs):
        if not data.get("walk_in") and data.get("starts_at") is None:
            raise ValidationError(_l("Give a date and time."), "starts_at")


class RescheduleSchema(Schema):
    starts_at = fields.AwareDateTime(required=True, default_timezone=None)
    staff_id = fields.Integer(load_default=None, allow_none=True)
    resource_id = fields.Integer(load_default=None, allow_none=True)


class CancelSchema(Schema):
    reason = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))


class RecommendationArgs(Schema):
    store_id = fields.Integer(required=True)
    skills = fields.List(fields.String(validate=validate.Regexp(r"^[^:]{1,60}:[1-5]$",
                                                                 error=_l("Write each skill as name:level."))),
                         load_default=list, validate=validate.Length(max=20),
                         metadata={"description": "skill:level, repeatable"})
    region = Trimmed(load_default=None, validate=validate.Length(max=60))
    at = fields.AwareDateTime(load_default=None, default_timezone=None)
    customer_id = fields.Integer(load_default=None)
    asset_id = fields.Integer(load_default=None)


class RecommendationSchema(Schema):
    user_id = fields.Integer()
    name = fields.String()
    score = fields.Integer()
    on_shift = fields.Boolean()
    load = fields.Integer()
    reasons = fields.List(fields.String())
