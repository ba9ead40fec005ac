"""REST API of car audio under /api/v1/car-audio: install jobs (keyset paging), their tuning records, a car's
audio system. Thin: the same services as the pages."""
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate

from storecrm.sdk import api_requires as requires, api_user, get_asset, unprocessable

from . import labels, services

blp = Blueprint("api_car_audio", __name__, url_prefix="/car-audio", description="Car-audio install jobs")

MAX_ID = 2**63 - 1


class JobSchema(Schema):
    id = fields.Integer()
    number = fields.String()
    status = fields.String(metadata={"enum": list(labels.STATUSES)})
    store_id = fields.Integer()
    customer_id = fields.Integer()
    vehicle_id = fields.Integer(allow_none=True)
    audio_system_id = fields.Integer(allow_none=True)
    order_id = fields.Integer(allow_none=True)
    package_tier = fields.String(allow_none=True)
    technician_id = fields.Integer(allow_none=True)
    bay_id = fields.Integer(allow_none=True)
    scheduled_at = fields.DateTime(allow_none=True)
    rework_count = fields.Integer()
    checklist = fields.Dict()
    photos = fields.Dict()
    accepted_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    followed_up_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class JobListArgs(Schema):
    status = fields.String(load_default=None, validate=validate.OneOf(list(labels.STATUSES)))
    per_page = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))
    after_id = fields.Integer(load_default=None, validate=validate.Range(min=1, max=MAX_ID))


class JobPage(Schema):
    items = fields.List(fields.Nested(JobSchema))
    next_after_id = fields.Integer(allow_none=True, metadata={"description": "pass as after_id for the next page"})


class TuningOutSchema(Schema):
    id = fields.Integer()
    audio_system_id = fields.Integer()
    job_id = fields.Integer(allow_none=True)
    version = fields.Integer()
    data = fields.Dict()
    notes = fields.String(allow_none=True)
    technician_id = fields.Integer(allow_none=True)
    created_at = fields.DateTime()


class TuningInSchema(Schema):
    eq = fields.List(fields.Dict(), load_default=list)
    crossovers = fields.List(fields.Dict(), load_default=list)
    channels = fields.Dict(load_default=dict)
    notes = fields.String(load_default=None, allow_none=True)


class ComponentSchema(Schema):
    id = fields.Integer()
    kind = fields.String()
    position = fields.String(allow_none=True)
    name = fields.String()
    brand = fields.String(allow_none=True)
    serial = fields.String(allow_none=True)
    item_id = fields.Integer(allow_none=True)
    installed_on = fields.Date()
    warranty_until = fields.Date(allow_none=True)
    removed_at = fields.DateTime(allow_none=True)
    card_url = fields.Method("get_card_url", allow_none=True,
                             metadata={"description": "The public electronic warranty card (signed link, no login); "
                                                      "null without a serial."})

    def get_card_url(self, component):
        from .views import card_url
        return card_url(component) if component.serial else None


class AudioSystemSchema(Schema):
    id = fields.Integer()
    name = fields.String()
    customer_id = fields.Integer()
    installed_on = fields.Date(allow_none=True)
    components = fields.List(fields.Nested(ComponentSchema))
    tunings = fields.List(fields.Nested(TuningOutSchema))


def _job(job_id):
    job = services.get_job(api_user(), job_id)
    if job is None:
        abort(404)
    return job


@blp.route("/jobs")
@blp.arguments(JobListArgs, location="query")
@blp.response(200, JobPage)
@requires("car_audio.view")
def list_jobs(args):
    """Install jobs you may see, newest first, by keyset: pass `next_after_id` back as `after_id`."""
    rows = services.list_jobs(api_user(), status=args["status"], limit=args["per_page"], after_id=args["after_id"])
    items = [job for job, _name in rows]
    return {"items": items, "next_after_id": items[-1].id if len(items) == args["per_page"] else None}


@blp.route("/jobs/<int:job_id>")
@blp.response(200, JobSchema)
@requires("car_audio.view")
def get_job(job_id):
    return _job(job_id)


@blp.route("/jobs/<int:job_id>/tunings")
@blp.response(200, TuningOutSchema(many=True))
@requires("car_audio.view")
def list_tunings(job_id):
    job = _job(job_id)
    return services.tunings_of(job.audio_system_id)


@blp.route("/jobs/<int:job_id>/tunings", methods=["POST"])
@blp.arguments(TuningInSchema)
@blp.response(201, TuningOutSchema)
@requires("car_audio.work")
def create_tuning(data, job_id):
    """A new version of the car's tuning: eq [{channel, freq_hz, gain_db, q}], crossovers [{channel, type hp|lp,
    freq_hz, slope}], channels {channel: {delay_ms, phase 0|180, gain_db}}."""
    job = _job(job_id)
    try:
        return services.record_tuning(api_user(), job, data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/tunings/<int:tuning_id>")
@blp.response(200, TuningOutSchema)
@requires("car_audio.view")
def get_tuning(tuning_id):
    record = services.get_tuning(api_user(), tuning_id)
    if record is None:
        abort(404)
    return record


@blp.route("/audio-systems/<int:asset_id>")
@blp.response(200, AudioSystemSchema)
@requires("car_audio.view")
def audio_system(asset_id):
    """A car's audio system: its components (with serials and warranty) and its tuning versions, newest first."""
    asset = get_asset(api_user(), asset_id)
    if asset is None or asset.type != "audio_system":
        abort(404)
    return {"id": asset.id, "name": asset.name, "customer_id": asset.customer_id, "installed_on": asset.installed_on,
            "components": services.components_of(asset.id), "tunings": services.tunings_of(asset.id)}
