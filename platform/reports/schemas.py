from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..validation import BoundedDecimal, Trimmed
from .models import CHARTS
from .periods import KINDS, period_of

ONE_OF = _l("Choose one of the listed options.")


class KpiArgs(Schema):
    """Period and filters of a KPI, from a query string (pages and API alike)."""

    period = fields.String(load_default="month", validate=validate.OneOf(KINDS, error=ONE_OF))
    date = fields.Date(load_default=None, metadata={"description": "a day of the period (default: today)"})
    start = fields.Date(load_default=None, metadata={"description": "custom period: first day"})
    end = fields.Date(load_default=None, metadata={"description": "custom period: last day"})
    store_id = fields.Integer(load_default=None, validate=validate.Range(1, 2**62))
    staff_id = fields.Integer(load_default=None, validate=validate.Range(1, 2**62))
    channel = Trimmed(load_default=None, validate=validate.Length(max=40))

    @validates_schema
    def _period(self, data, **kwargs):
        try:
            period_of(data["period"], data.get("date"), data.get("start"), data.get("end"))
        except ValueError as err:
            raise ValidationError(_l("Give a start and an end date, at most two years apart, in order.")
                                  if data["period"] == "custom" else ONE_OF, "end" if data["period"] == "custom"
                                  else "period") from err


class RecordArgs(KpiArgs):
    after = fields.Integer(load_default=None, validate=validate.Range(0, 2**62),
                           metadata={"description": "keyset: records with a greater id"})
    per_page = fields.Integer(load_default=50, validate=validate.Range(1, 500))


class DashboardItemSchema(Schema):
    kind = fields.String(required=True, validate=validate.OneOf(("kpi", "widget", "report"), error=ONE_OF))
    code = fields.String(required=True, validate=validate.Length(max=80))
    chart = fields.String(load_default="number", validate=validate.OneOf(CHARTS, error=ONE_OF))


class DashboardSchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Trimmed(required=True, validate=validate.Length(min=1, max=80))
    role_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 2**62))
    items = fields.List(fields.Nested(DashboardItemSchema), load_default=list)
    personal = fields.Boolean(load_default=False, metadata={
        "description": "the caller's own dashboard, seen and changed by them only (set on creation)"})
    home = fields.Boolean(load_default=None, allow_none=True, metadata={
        "description": "a personal dashboard: whether the owner's home page shows it instead of their role's"})


class KpiThresholdSchema(Schema):
    id = fields.Integer(dump_only=True)
    kpi_code = fields.String(required=True, validate=validate.Length(max=80))
    period = fields.String(load_default="month", validate=validate.OneOf(("day", "week", "month"), error=ONE_OF))
    direction = fields.String(load_default="below", validate=validate.OneOf(("above", "below"), error=ONE_OF))
    value = BoundedDecimal(required=True, as_string=False)  # bounded in services.save_threshold
    store_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 2**62))
    role_id = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(1, 2**62))
    active = fields.Boolean(load_default=True)
    crossed = fields.Boolean(dump_only=True)
    last_value = fields.Decimal(dump_only=True, as_string=True)


def period_from(args: dict):
    """The Period of loaded KpiArgs."""
    return period_of(args["period"], args.get("date"), args.get("start"), args.get("end"))
