from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields, validate

from ...fields import services
from ...fields.schemas import FieldDefinitionSchema
from ..auth import requires
from ..common import patch_load, unprocessable

blp = Blueprint("api_fields", __name__, url_prefix="/fields", description="Custom field definitions")


class FieldListArgs(Schema):
    entity = fields.String(load_default=None, validate=validate.Length(max=40),
                           metadata={"description": "customer, asset or a plugin's extensible entity"})


@blp.route("")
@blp.arguments(FieldListArgs, location="query")
@blp.response(200, FieldDefinitionSchema(many=True))
@requires("customers.view")
def list_fields(args):
    """Definitions of custom fields (archived ones included, flagged), optionally of one entity."""
    return services.list_definitions(args["entity"])


@blp.route("", methods=["POST"])
@blp.arguments(FieldDefinitionSchema)
@blp.response(201, FieldDefinitionSchema)
@requires("fields.manage")
def create_field(data):
    try:
        return services.save(None, data)
    except ValidationError as err:
        unprocessable(err)


@blp.route("/<int:definition_id>", methods=["PATCH"])
@blp.arguments(FieldDefinitionSchema(partial=True))
@blp.response(200, FieldDefinitionSchema)
@requires("fields.manage")
def update_field(data, definition_id):
    """Change labels, choices, required … (the code stays); stored values are never rewritten."""
    definition = services.get_definition(definition_id)
    if definition is None:
        abort(404)
    loaded = patch_load(FieldDefinitionSchema(), FieldDefinitionSchema().dump(definition))
    loaded["code"], loaded["entity"] = definition.code, definition.entity
    return services.save(definition, loaded)
