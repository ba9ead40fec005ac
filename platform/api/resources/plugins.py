from flask import request
from flask_smorest import Blueprint, abort
from marshmallow import Schema, ValidationError, fields

from ...plugin_host import services
from ...hooks.runtime import host
from ...web.i18n import current_code
from ..auth import requires
from ..common import unprocessable

blp = Blueprint("api_plugins", __name__, url_prefix="/plugins", description="Modules (plugins) of your workspace")


class PluginStateSchema(Schema):
    name = fields.String()
    label = fields.String()
    version = fields.String()
    description = fields.String()
    requires = fields.List(fields.String())
    enabled = fields.Boolean()
    allowed = fields.Boolean()
    has_settings = fields.Boolean()


def _state(entry):
    info, locale = entry["info"], current_code()
    return {"name": entry["name"], "label": info.label_for(locale), "version": info.version,
            "description": info.description_for(locale), "requires": list(info.requires),
            "enabled": entry["enabled"], "allowed": entry["allowed"], "has_settings": entry["has_settings"]}


def _entry(name):
    entry = next((e for e in services.catalog() if e["name"] == name), None)  # system plugins are not listed
    if entry is None:
        abort(404)
    return entry


@blp.route("")
@blp.response(200, PluginStateSchema(many=True))
@requires("plugins.manage")
def list_plugins():
    """Installed modules and whether each is on for your workspace."""
    return [_state(e) for e in services.catalog()]


@blp.route("/<name>/enable", methods=["POST"])
@blp.response(200, PluginStateSchema)
@requires("plugins.manage")
def enable_plugin(name):
    """Switch a module on (and the modules it needs); defaults are seeded the first time only."""
    _entry(name)
    try:
        services.enable(name)
    except ValidationError as err:
        unprocessable(err)
    return _state(_entry(name))


@blp.route("/<name>/disable", methods=["POST"])
@blp.response(200, PluginStateSchema)
@requires("plugins.manage")
def disable_plugin(name):
    """Switch a module off; its data is kept."""
    _entry(name)
    try:
        services.disable(name)
    except ValidationError as err:
        unprocessable(err)
    return _state(_entry(name))


# Each module defines its own settings fields, so the document can only promise an object of them.
SETTINGS = {"type": "object", "description": "the module's settings by field name"}


@blp.route("/<name>/settings")
@blp.alt_response(200, schema=SETTINGS, success=True, description="The settings in force")
@requires("plugins.manage")
def get_plugin_settings(name):
    """The module's settings for your workspace (fields are defined by the module)."""
    info = host().infos.get(name)
    if info is None or info.system or info.settings_schema is None:
        abort(404)
    return services.get_settings(name)


@blp.route("/<name>/settings", methods=["PUT"])
@blp.alt_response(200, schema=SETTINGS, success=True, description="The settings as saved")
@blp.alt_response(422, response="UNPROCESSABLE_ENTITY")
@requires("plugins.manage")
def put_plugin_settings(name):
    """Replace the module's settings; invalid fields answer 422 with their messages."""
    info = host().infos.get(name)
    if info is None or info.system or info.settings_schema is None:
        abort(404)
    body = request.get_json(silent=True)
    if not isinstance(body, dict):
        abort(422, messages={"json": {"_schema": ["Send a JSON object."]}})
    try:
        return services.save_settings(name, body)
    except ValidationError as err:
        unprocessable(err)
