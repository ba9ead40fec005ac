from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from ..access.services import list_roles
from ..web.forms import flatten_errors, load_form, requires
from ..web.i18n import current_code
from . import services
from .engine import entities
from .models import FIELD_TYPES
from .schemas import FieldDefinitionSchema

bp = Blueprint("fields", __name__, url_prefix="/fields")


@bp.get("/")
@requires("fields.manage")
def index():
    return render_template("fields/index.html", definitions=services.list_definitions(), locale=current_code(),
                           entities=entities())


@bp.route("/new", methods=["GET", "POST"])
@requires("fields.manage")
def new():
    return _form(None)


@bp.route("/<int:definition_id>", methods=["GET", "POST"])
@requires("fields.manage")
def edit(definition_id):
    definition = services.get_definition(definition_id)
    if definition is None:
        abort(404)
    return _form(definition)


@bp.post("/<int:definition_id>/archive")
@requires("fields.manage")
def archive(definition_id):
    definition = services.get_definition(definition_id)
    if definition is None:
        abort(404)
    services.set_archived(definition, request.form.get("archived") == "1")
    flash(_("Field archived; its values are kept.") if definition.archived else _("Field restored."), "info")
    return redirect(url_for("fields.index"))


def _form(definition):
    schema = FieldDefinitionSchema(partial=("code",) if definition else ())
    values = schema.dump(definition) if definition else {"type": "text", "position": 100, "visible_roles": [],
                                                          "entity": request.args.get("entity", "customer")}
    if isinstance(values.get("options"), list):
        values["options"] = ", ".join(values["options"])
    errors = {}
    if request.method == "POST":
        data, errors = load_form(schema)
        values = {**request.form, "visible_roles": request.form.getlist("visible_roles")}
        if data is not None:
            if definition is not None:
                data["code"], data["entity"] = definition.code, definition.entity
            try:
                saved = services.save(definition, data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Field %(code)s saved.", code=saved.code), "success")
                return redirect(url_for("fields.index"))
    return render_template("fields/form.html", definition=definition, values=values, errors=errors, types=FIELD_TYPES,
                           entities=entities(),
                           roles=list_roles()), (422 if errors else 200)
