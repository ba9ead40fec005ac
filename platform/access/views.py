from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from ..hooks.runtime import permissions
from ..web.forms import flatten_errors, load_form, requires
from . import services
from .schemas import RoleSchema

bp = Blueprint("access", __name__, url_prefix="/roles")


@bp.get("/")
@requires("roles.manage")
def roles():
    return render_template("access/roles.html", roles=services.list_roles(), registry=permissions())


@bp.route("/new", methods=["GET", "POST"])
@requires("roles.manage")
def new_role():
    return _form(None)


@bp.route("/<int:role_id>", methods=["GET", "POST"])
@requires("roles.manage")
def edit_role(role_id):
    role = services.get_role(role_id)
    if role is None:
        abort(404)
    return _form(role)


def _form(role):
    schema = RoleSchema(partial=("code",) if role else ())
    errors = {}
    values = schema.dump(role) if role else {"permissions": [], "data_scope": "stores"}
    if role:
        values["name"] = role.label
    if request.method == "POST":
        if role is not None and role.is_owner:
            abort(403)
        data, errors = load_form(schema)
        values = {**request.form, "permissions": request.form.getlist("permissions"),
                  "code": role.code if role else request.form.get("code")}
        if data is not None:
            try:
                if role is not None:
                    data["code"] = role.code
                saved = services.save_role(role, data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Role %(name)s saved.", name=saved.name), "success")
                return redirect(url_for("access.roles"))
    return render_template("access/role_form.html", role=role, values=values, errors=errors,
                           registry=permissions()), (422 if errors else 200)
