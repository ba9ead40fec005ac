from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..access.services import list_roles
from ..stores.services import stores_visible_to
from ..validation import display_phone
from ..web.forms import flatten_errors, load_form, requires
from . import services
from .schemas import UserSchema

bp = Blueprint("users", __name__, url_prefix="/users")


@bp.get("/")
@requires("users.view")
def index():
    return render_template("users/index.html", users=services.list_users(current_user))


@bp.route("/new", methods=["GET", "POST"])
@requires("users.manage")
def new():
    return _form(None)


@bp.route("/<int:user_id>", methods=["GET", "POST"])
@requires("users.manage")
def edit(user_id):
    user = services.get_user(user_id)
    if user is None:
        abort(404)
    return _form(user)


def _form(user):
    schema = UserSchema()
    errors = {}
    values = schema.dump(user) if user else {"active": True, "store_ids": []}
    if user:
        values["store_ids"] = user.store_ids
        values["mobile"] = display_phone(user.mobile)
    if request.method == "POST":
        data, errors = load_form(schema)
        values = {**request.form, "active": "active" in request.form,
                  "store_ids": [int(v) for v in request.form.getlist("store_ids") if v.isdigit()]}
        if data is not None:
            try:
                saved = services.update_user(user, data, current_user) if user else \
                    services.create_user(data, current_user)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Staff member %(name)s saved.", name=saved.display_name), "success")
                return redirect(url_for("users.index"))
    return render_template("users/form.html", user=user, values=values, errors=errors, roles=list_roles(),
                           stores=stores_visible_to(current_user)), (422 if errors else 200)
