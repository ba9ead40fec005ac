from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from ..validation import Trimmed, storable_offset
from .models import INTERACTION_KINDS, PRIORITIES, TASK_STATUSES

CHOOSE = _l("Choose one of the listed options.")


class InteractionSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(required=True, validate=validate.OneOf(INTERACTION_KINDS, error=CHOOSE))
    body = Trimmed(required=True, validate=validate.Length(max=5000, error=_l("At most {max} characters.")))
    occurred_at = fields.AwareDateTime(load_default=None, allow_none=True, default_timezone=None,
                                       validate=storable_offset)
    user_id = fields.Integer(dump_only=True, allow_none=True)  # null once the user is deleted
    customer_id = fields.Integer(dump_only=True)


class TaskSchema(Schema):
    id = fields.Integer(dump_only=True)
    title = Trimmed(required=True, validate=validate.Length(max=200, error=_l("At most {max} characters.")))
    notes = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=5000))
    due_at = fields.DateTime(load_default=None, allow_none=True, validate=storable_offset)
    remind_at = fields.DateTime(load_default=None, allow_none=True, validate=storable_offset,
                                metadata={"description": "when to notify the assignee (in-app and email)"})
    assignee_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                                 validate=validate.Range(min=1, max=2**63 - 1))
    customer_id = fields.Integer(load_default=None, allow_none=True, strict=False,
                                 validate=validate.Range(min=1, max=2**63 - 1))
    related_type = fields.String(dump_only=True, allow_none=True)  # the record whose rule made the task, else null
    related_id = fields.Integer(dump_only=True, allow_none=True)
    priority = fields.String(load_default="normal", validate=validate.OneOf(PRIORITIES, error=CHOOSE))
    status = fields.String(load_default="open", validate=validate.OneOf(TASK_STATUSES, error=CHOOSE))
    done_at = fields.DateTime(dump_only=True, allow_none=True)  # null until done
    overdue = fields.Boolean(dump_only=True)
