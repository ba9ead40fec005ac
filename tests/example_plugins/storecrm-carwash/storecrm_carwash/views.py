from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from storecrm.sdk import flatten_errors, requires

from . import services

bp = Blueprint("carwash", __name__, url_prefix="/carwash", template_folder="templates")


@bp.route("/", methods=["GET", "POST"])
@requires("carwash.view")
def index():
    errors = {}
    if request.method == "POST":
        from flask_login import current_user

        if not current_user.has_permission("carwash.record"):
            abort(403)
        raw = request.form.get("customer_id", "")
        try:
            services.record_wash(int(raw) if raw.isdigit() and len(raw) < 19 else 0, request.form.get("wash_type", ""))
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            flash(_("Car wash recorded."), "success")
            return redirect(url_for("carwash.index"))
    return render_template("carwash/index.html", washes=services.recent_washes(), types=services.wash_types(),
                           errors=errors), (422 if errors else 200)


@bp.get("/<int:wash_id>")
@requires("carwash.view")
def show(wash_id):
    wash = services.get_wash(wash_id)
    if wash is None:
        abort(404)
    return render_template("carwash/show.html", wash=wash)
