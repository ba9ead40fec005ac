from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..validation import Trimmed
from .models import CONDITION_OPS, KINDS, QUESTION_TYPES

CODE_RE = r"^[a-z][a-z0-9_]{0,39}$"


class OptionSchema(Schema):
    """A reason category of a "choice" question."""

    code = Trimmed(required=True, validate=validate.Regexp(CODE_RE, error=_l(
        "Lower-case letters, digits and _, starting with a letter.")))
    label_zh = Trimmed(required=True, validate=validate.Length(min=1, max=120))
    label_en = Trimmed(load_default="", validate=validate.Length(max=120))


class ConditionValue(fields.Field):
    """A score (0–10), an option's code, or a list of them (operator "in")."""

    def _deserialize(self, value, attr, data, **kwargs):
        items = value if isinstance(value, list) else [value]
        if not 1 <= len(items) <= 12:
            raise ValidationError(_l("Give one to twelve values."))
        out = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, (int, str)) or isinstance(item, str) and len(item) > 40:
                raise ValidationError(_l("A score or an option's code."))
            out.append(int(item) if isinstance(item, str) and item.strip().isdigit() else
                       item.strip() if isinstance(item, str) else item)
        return out if isinstance(value, list) else out[0]


class ConditionSchema(Schema):
    """Show the question only when the answer to an earlier question `question` compares to `value` by `op`."""

    question = Trimmed(required=True, validate=validate.Length(min=1, max=40))
    op = fields.String(required=True, validate=validate.OneOf(CONDITION_OPS, error=_l(
        "Choose one of the listed options.")), metadata={"description": "eq (=), ne (≠), le (≤), ge (≥), in"})
    value = ConditionValue(required=True, metadata={"description": "a score, an option code, or a list for `in`"})


class QuestionSchema(Schema):
    code = Trimmed(required=True, validate=validate.Regexp(CODE_RE, error=_l(
        "Lower-case letters, digits and _, starting with a letter.")))
    label_zh = Trimmed(required=True, validate=validate.Length(min=1, max=120))
    label_en = Trimmed(load_default="", validate=validate.Length(max=120))
    type = fields.String(load_default="score", validate=validate.OneOf(QUESTION_TYPES, error=_l(
        "Choose one of the listed options.")), metadata={"description": "score (the survey's scale) or choice "
                                                                         "(one reason category of `options`)"})
    options = fields.List(fields.Nested(OptionSchema), load_default=list, validate=validate.Length(max=12))
    required = fields.Boolean(load_default=None, allow_none=True, metadata={
        "description": "must be answered when shown (default: scores yes, choices no)"})
    condition = fields.Nested(ConditionSchema, load_default=None, allow_none=True)


class SurveySchema(Schema):
    id = fields.Integer(dump_only=True)
    name = Trimmed(required=True, validate=validate.Length(min=1, max=80))
    kind = fields.String(required=True, validate=validate.OneOf(KINDS, error=_l("Choose one of the listed options.")))
    questions = fields.List(fields.Nested(QuestionSchema), required=True, validate=validate.Length(min=1, max=12))
    low_score = fields.Integer(load_default=None, allow_none=True, validate=validate.Range(0, 10))
    escalation_hours = fields.Integer(load_default=24, validate=validate.Range(1, 24 * 14))
    expires_days = fields.Integer(load_default=14, validate=validate.Range(1, 90))
    throttle_days = fields.Integer(load_default=30, validate=validate.Range(0, 365))
    reminder_days = fields.Integer(load_default=3, validate=validate.Range(0, 30), metadata={
        "description": "one reminder to those who have not answered this many days after sending; 0: none"})
    message = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=300))
    ask_comment = fields.Boolean(load_default=True)
    active = fields.Boolean(load_default=True)
    version = fields.Integer(dump_only=True)


class SendSurveyParams(Schema):
    """Parameters of the "send survey" rule action."""

    survey_id = fields.Integer(required=True, strict=False, validate=validate.Range(1, 2**62))


class SendSurveySchema(Schema):
    survey_id = fields.Integer(required=True, validate=validate.Range(1, 2**62))
    customer_id = fields.Integer(required=True, validate=validate.Range(1, 2**62))


class AnswerSchema(Schema):
    """A public answer: {question code: score or option code} and an optional comment."""

    scores = fields.Dict(keys=fields.String(validate=validate.Length(max=40)),
                         values=fields.Raw(), required=True)
    comment = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=2000))

    @validates_schema
    def _size(self, data, **kwargs):
        if len(data.get("scores") or {}) > 12:
            raise ValidationError(_l("Too many answers."), "scores")


class SurveyAnswerOutSchema(Schema):
    question = fields.String()
    label = fields.String()
    score = fields.Integer(allow_none=True)
    choice = fields.String(allow_none=True, metadata={"description": "the reason category picked (choice questions)"})


class SurveyResponseSchema(Schema):
    id = fields.Integer()
    survey_id = fields.Integer()
    kind = fields.String()
    customer_id = fields.Integer()
    store_id = fields.Integer(allow_none=True)
    staff_id = fields.Integer(allow_none=True)
    score = fields.Integer()
    low = fields.Boolean()
    comment = fields.String(allow_none=True)
    submitted_at = fields.DateTime()
    escalation_task_id = fields.Integer(allow_none=True)
    answers = fields.List(fields.Nested(SurveyAnswerOutSchema))


class SurveyInvitationSchema(Schema):
    id = fields.Integer()
    survey_id = fields.Integer()
    customer_id = fields.Integer()
    channel = fields.String()
    sent_at = fields.DateTime()
    expires_at = fields.DateTime()
