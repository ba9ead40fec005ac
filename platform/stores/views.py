from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from ..validation import display_phone
from ..web.forms import flatten_errors, load_form, requires
from . import services
from .schemas import StoreSchema

bp = Blueprint("stores", __name__, url_prefix="/stores")


@bp.get("/")
@requires("stores.view")
def index():
    return render_template("stores/index.html", stores=services.stores_visible_to(current_user))


@bp.route("/new", methods=["GET", "POST"])
@requires("stores.manage")
def new():
    return _form(None)


@bp.route("/<int:store_id>", methods=["GET", "POST"])
@requires("stores.manage")
def edit(store_id):
    store = services.get_store(current_user, store_id)
    if store is None:
        abort(404)
    return _form(store)


def _form(store):
    from flask import request

    schema = StoreSchema()
    errors, values = {}, (schema.dump(store) if store else {"active": True})
    if store:
        values["phone"] = display_phone(store.phone)
    if request.method == "POST":
        data, errors = load_form(schema)
        values = dict(request.form)
        values["active"] = "active" in request.form
        if data is not None:
            try:
                saved = services.update_store(store, data) if store else services.create_store(data)
            except ValidationError as err:
                errors = flatten_errors(err.messages)
            else:
                flash(_("Store %(name)s saved.", name=saved.name), "success")
                return redirect(url_for("stores.index"))
    status = 422 if errors else 200
    return render_template("stores/form.html", store=store, values=values, errors=errors), status
