from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _

from ..web.forms import load_form, requires
from . import services
from .schemas import CURRENCIES, TIMEZONES, TenantSettingsSchema

bp = Blueprint("tenancy", __name__, url_prefix="/settings")


@bp.route("/", methods=["GET", "POST"])
@requires("tenant.settings")
def settings():
    schema = TenantSettingsSchema()
    tenant = services.current_tenant_row()
    values, errors = services.settings_view(tenant), {}
    if request.method == "POST":
        data, errors = load_form(schema)
        values = dict(request.form)
        if data is not None:
            services.update_settings(data)
            flash(_("Settings saved."), "success")
            return redirect(url_for("tenancy.settings"))
    return render_template("tenancy/settings.html", values=values, errors=errors, timezones=TIMEZONES,
                           currencies=CURRENCIES), (422 if errors else 200)
