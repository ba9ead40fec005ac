from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from marshmallow import ValidationError

from ..web.forms import flash_errors, flatten_errors, requires
from ..web.i18n import current_code
from . import services
from ..web.schema_forms import describe
from ..hooks.runtime import host

bp = Blueprint("plugins", __name__, url_prefix="/modules")


@bp.get("/")
@requires("plugins.manage")
def index():
    return render_template("plugins/index.html", plugins=services.catalog(), locale=current_code())


@bp.post("/<name>/enable")
@requires("plugins.manage")
def enable(name):
    return _switch(name, services.enable, _("%(label)s is on."))


@bp.post("/<name>/disable")
@requires("plugins.manage")
def disable(name):
    return _switch(name, services.disable, _("%(label)s is off. Its data is kept."))


def _switch(name, action, message):
    info = host().infos.get(name)
    if info is None or info.system:
        abort(404)
    try:
        action(name)
    except ValidationError as err:
        flash_errors(err)
        return redirect(url_for("plugins.index"))
    flash(message % {"label": info.label_for(current_code())}, "success")
    return redirect(url_for("plugins.index"))


@bp.route("/<name>/settings", methods=["GET", "POST"])
@requires("plugins.manage")
def settings(name):
    info = host().infos.get(name)
    if info is None or info.system or info.settings_schema is None:
        abort(404)
    schema = info.settings_schema()
    values, errors = services.get_settings(name), {}
    if request.method == "POST":
        raw = {}
        for field in describe(schema):
            if field["kind"] == "bool":
                raw[field["name"]] = field["name"] in request.form
            elif field["name"] in request.form:
                raw[field["name"]] = request.form[field["name"]]
        try:
            services.save_settings(name, raw)
        except ValidationError as err:
            errors, values = flatten_errors(err.messages), {**values, **raw}
        else:
            flash(_("Settings saved."), "success")
            return redirect(url_for("plugins.settings", name=name))
    return render_template("plugins/settings.html", info=info, fields=describe(schema), values=values,
                           errors=errors, locale=current_code()), (422 if errors else 200)
