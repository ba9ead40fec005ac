from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from ..web.forms import flatten_errors, requires
from . import templates

bp = Blueprint("templates", __name__, url_prefix="/message-templates")


@bp.get("/")
@requires("tenant.settings")
def index():
    rows = [(b, templates.override_of(b.code)) for b in templates.available().values()]
    return render_template("notifications/templates.html", rows=rows)


@bp.route("/<code>", methods=["GET", "POST"])
@requires("tenant.settings")
def edit(code):
    builtin = templates.get(code)
    if builtin is None:
        abort(404)
    row = templates.override_of(code)
    values = {f: getattr(row, f) if row else "" for f in templates.FIELDS}
    errors = {}
    if request.method == "POST":
        values = {f: request.form.get(f, "") for f in templates.FIELDS}
        try:
            templates.save(code, values)
        except ValidationError as err:
            errors = flatten_errors(err.messages)
        else:
            flash(_("Template saved."), "success")
            return redirect(url_for("templates.index"))
    preview = templates.render(code, "zh_CN", {v: f"[{v}]" for v in builtin.variables}) if not errors else None
    return render_template("notifications/template_form.html", builtin=builtin, values=values, errors=errors,
                           preview=preview), (422 if errors else 200)
