from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate, validates_schema

from ..validation import Trimmed
from .engine import entities
from .models import FIELD_TYPES

CHOOSE = _l("Choose one of the listed options.")


class Options(fields.Field):
    def _deserialize(self, value, attr, data, **kwargs):
        items = value if isinstance(value, list) else str(value).replace("，", ",").replace("\n", ",").split(",")
        out = []
        for item in (str(i).strip() for i in items):
            if item and item not in out:
                if len(item) > 60:
                    raise ValidationError(_l("An option has at most 60 characters."))
                out.append(item)
        return out

    def _serialize(self, value, attr, obj, **kwargs):
        return list(value or [])


class FieldDefinitionSchema(Schema):
    id = fields.Integer(dump_only=True)
    entity = fields.String(load_default="customer")
    code = Trimmed(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$",
                                                           error=_l("Use 2–40 lowercase letters, digits or _.")))
    label_zh = Trimmed(required=True, validate=validate.Length(max=60))
    label_en = Trimmed(required=True, validate=validate.Length(max=60))
    type = fields.String(required=True, validate=validate.OneOf(FIELD_TYPES, error=CHOOSE))
    required = fields.Boolean(load_default=False)
    options = Options(load_default=list)
    help = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=200))
    group = Trimmed(load_default=None, allow_none=True, validate=validate.Length(max=40))
    position = fields.Integer(load_default=100, strict=False, validate=validate.Range(min=0, max=10000))
    visible_roles = fields.List(fields.String(validate=validate.Length(max=40)), load_default=list)
    archived = fields.Boolean(dump_only=True)

    @validates_schema(skip_on_field_errors=False)
    def _entity(self, data, **kwargs):
        if "entity" in data and data["entity"] not in entities():
            raise ValidationError(CHOOSE, "entity")

    @validates_schema(skip_on_field_errors=False)
    def _options(self, data, **kwargs):
        if data.get("type") in ("select", "multi_select") and not data.get("options"):
            raise ValidationError(_l("Give the choices, separated by commas."), "options")
