"""The WeCom page: credentials, staff bindings, a test message, recent deliveries and failures."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from marshmallow import ValidationError

from storecrm.sdk import flatten_errors, limiter, refuse, requires

from . import services

bp = Blueprint("wecom", __name__, url_prefix="/wecom", template_folder="templates")


def _page(errors=None, values=None, status=200):
    values = values or {}
    settings = services.settings()
    messages = services.recent()
    return render_template("wecom/index.html", settings=settings, configured=services.configured(settings),
                           staff=services.staff(), bindings=services.bindings(), errors=errors or {},
                           values=values, messages=messages,
                           failures=[m for m in messages if m.status == "dead" or m.last_error]), status


@bp.get("/")
@requires("wecom.manage")
def index():
    return _page()


@bp.post("/bindings")
@requires("wecom.manage")
def save_bindings():
    errors = {}
    for person in services.staff():
        field = f"userid-{person.id}"
        if field not in request.form:
            continue
        try:
            services.bind(current_user, person.id, request.form.get(field, ""))
        except ValidationError as err:
            errors.update(flatten_errors(err.messages))
    if errors:
        refuse()
        return _page(errors, dict(request.form.items()), 422)
    flash(_("Bindings saved."), "success")
    return redirect(url_for("wecom.index"))


@bp.post("/test")
@requires("wecom.manage")
@limiter.limit("10 per minute")
def test_send():
    values = {"staff": request.form.get("staff", "")}
    try:
        services.test_send(current_user, request.form.get("staff", type=int) or 0)
    except ValidationError as err:
        refuse()
        return _page(flatten_errors(err.messages), values, 422)
    flash(_("Test message accepted by WeCom."), "success")
    return redirect(url_for("wecom.index"))
