from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields

from ...notifications import templates
from ..auth import requires
from ..common import unprocessable

blp = Blueprint("api_templates", __name__, url_prefix="/message-templates",
                description="The wording of messages StoreCRM sends, per tenant, in Chinese and English")


class TemplateSchema(Schema):
    code = fields.String(dump_only=True)
    variables = fields.List(fields.String(), dump_only=True)
    customised = fields.Boolean(dump_only=True)
    subject_zh = fields.String(load_default="")
    subject_en = fields.String(load_default="")
    body_zh = fields.String(load_default="")
    body_en = fields.String(load_default="")


def _out(code):
    builtin, row = templates.available()[code], templates.override_of(code)
    return {"code": code, "variables": list(builtin.variables), "customised": row is not None,
            **{f: (getattr(row, f) if row else "") or getattr(builtin, f) for f in templates.FIELDS}}


@blp.route("")
@blp.response(200, TemplateSchema(many=True))
@requires("tenant.settings")
def list_templates():
    """Every message code with the text in force (the tenant's, or the built-in one)."""
    return [_out(code) for code in templates.available()]


@blp.route("/<code>", methods=["PUT"])
@blp.arguments(TemplateSchema)
@blp.response(200, TemplateSchema)
@requires("tenant.settings")
def put_template(data, code):
    """Placeholders are `{name}` from `variables`; an empty field falls back to the built-in text."""
    if code not in templates.available():
        abort(404)
    try:
        templates.save(code, data)
    except ValidationError as err:
        unprocessable(err)
    return _out(code)
