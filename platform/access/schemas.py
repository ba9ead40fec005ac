from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields, validate

from ..validation import Trimmed
from .models import SCOPE_ALL, SCOPE_STORES


class RoleSchema(Schema):
    id = fields.Integer(dump_only=True)
    code = Trimmed(required=True, validate=validate.Regexp(r"^[a-z][a-z0-9_]{1,39}$",
                                                           error=_l("Use 2–40 lowercase letters, digits or _.")))
    name = Trimmed(required=True, validate=validate.Length(max=80, error=_l("At most {max} characters.")))
    permissions = fields.List(fields.String(), load_default=list)
    data_scope = fields.String(load_default=SCOPE_STORES, validate=validate.OneOf(
        [SCOPE_ALL, SCOPE_STORES], error=_l("Choose one of the listed options.")))
    builtin = fields.Boolean(dump_only=True)
